"""No package reads the core's private fields: ``_internal.py`` is the protocol between them.

A Tensor's version counter (``_vc``), its fast constructor (``_make``) and the marks an exception
carries through the layers (``_gk_named``, ``_gk_layer``) belong to the core (tensor.py,
autograd/, ops/, backend.py) and to ``_internal.py``, which offers them to the packages above as
``wrap``, ``bump_version``, ``share_version``, ``error_layer``/``set_error_layer`` and
``error_is_named``/``name_error``. A package that writes ``t._vc[0] += 1`` itself works until
the counter changes shape; one that forgets it silently switches the in-place check off.

The scan reads tokens, so comments and docstrings may name the fields: an attribute access
(``x._vc``, ``Tensor._make``, ``e._gk_named``) or a string that is exactly the field's name
(``getattr(e, "_gk_layer", None)``) counts. (A namedtuple's own ``_make`` would count too: build
it with ``cls(*values)`` instead.)
"""
import io
import re
import tokenize
from pathlib import Path

import numpy as np
import pytest

import gradkit
from gradkit import _internal

PKG = Path(gradkit.__file__).resolve().parent
CORE = ("tensor.py", "autograd/", "ops/", "backend.py", "_internal.py")
FIELDS = {"_vc", "_make"}                 # a Tensor's: flagged as attributes (x._vc, Tensor._make)
MARKS = {"_gk_named", "_gk_layer"}        # an exception's: flagged wherever they are written
PRIVATE = FIELDS | MARKS
# before Python 3.12 an f-string is one STRING token: its text is searched instead
_IN_FSTRING = re.compile(r"\.(_vc|_make)\b|\b_gk_(named|layer)\b")

# Files allowed to keep a private use while work moves them onto _internal: none now. An entry
# for a clean file fails test_the_allow_list_names_only_files_that_still_need_it.
ALLOWED = set()


def private_uses(source):
    """(line, text) of every use of a private field in ``source``, comments and docstrings
    aside."""
    hits, prev = [], None
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.NAME and (tok.string in MARKS or tok.string in FIELDS
                                          and prev is not None and prev.string == "."):
            hits.append((tok.start[0], tok.line.strip()))
        elif tok.type == tokenize.STRING and (
                tok.string[0] in "'\"" and tok.string.strip("'\"") in PRIVATE   # getattr(x, "_vc")
                or tok.string[:2].lower() in ("f'", 'f"') and _IN_FSTRING.search(tok.string)):
            hits.append((tok.start[0], tok.line.strip()))
        if tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT):
            prev = tok
    return hits


def _outside_core():
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG).as_posix()
        if not rel.startswith(CORE):
            yield rel, path


def test_no_package_outside_the_core_reads_its_private_fields():
    found = [f"src/gradkit/{rel}:{line}: {text}"
             for rel, path in _outside_core() if rel not in ALLOWED
             for line, text in private_uses(path.read_text(encoding="utf-8"))]
    assert not found, ("private fields of Tensor or of the exception marks used outside the "
                       "core; call gradkit._internal instead (wrap, bump_version, share_version, "
                       "set_error_layer, name_error, ...):\n" + "\n".join(found))


def test_the_allow_list_names_only_files_that_still_need_it():
    files = dict(_outside_core())
    missing = sorted(rel for rel in ALLOWED if rel not in files)
    clean = sorted(rel for rel in ALLOWED if rel in files
                   and not private_uses(files[rel].read_text(encoding="utf-8")))
    assert not missing and not clean, (f"remove from ALLOWED in {Path(__file__).name}: "
                                       + ", ".join(missing + clean))


def test_the_scan_sees_attributes_and_names_but_not_comments_or_docstrings():
    source = '''
"""Docstrings may say Tensor._make(a) and t._vc[0] += 1."""
def f(t, e, a, m):
    # a comment may too: t._vc[0] += 1
    t._vc[0] += 1
    y = Tensor._make(a)
    make = Tensor._make
    e._gk_layer = m
    return getattr(e, "_gk_named", False), "the _vc field", _make(a)   # a function of its own
print(f"version {t._vc[0]}")
'''
    assert [line for line, _ in private_uses(source)] == [5, 6, 7, 8, 9, 10]


# === the protocol does what the packages relied on ============================================
def test_bump_version_switches_the_in_place_check_on():
    x = gradkit.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()                     # saves x
    x.array[0] = 5.0
    _internal.bump_version(x)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


def test_share_version_makes_a_write_to_the_base_visible_through_the_view():
    base = gradkit.tensor([1.0, 2.0])
    view = _internal.share_version(_internal.wrap(base.array[:1]), base)
    _internal.bump_version(base)
    assert view._version == base._version == 1


def test_name_error_prefixes_once_and_keeps_the_innermost_layer():
    e = ValueError("bad input")
    inner, outer = object(), object()
    _internal.set_error_layer(e, inner)
    _internal.set_error_layer(e, outer)
    assert _internal.error_layer(e) is inner and not _internal.error_is_named(e)
    _internal.name_error(e, "in layer 'fc' (Linear): ")
    assert _internal.error_is_named(e) and e.args == ("in layer 'fc' (Linear): bad input",)


def test_as_array_reads_a_tensor_that_requires_grad_without_a_copy():
    x = gradkit.tensor([1.0, 2.0], requires_grad=True)
    assert _internal.as_array(x) is x.array
    assert _internal.as_array([1, 2], np.float32).dtype == np.float32
