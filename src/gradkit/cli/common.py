"""What every ``gradkit`` command shares: its two kinds of error, the types of its numeric
options, a plain-text table, an atomic JSON write and a run folder written as a whole.

A problem is one line on stderr, never a traceback: exit status 2 for the user's mistake
(``UsageError``, as argparse's usage errors), 1 otherwise (``CLIError``).
"""
import argparse
import contextlib
import json
import os
import secrets
import shutil
import tempfile

from ..io import atomic_write_bytes

__all__ = ["CLIError", "UsageError", "Interrupted", "number", "positive_int", "positive_float",
           "non_negative_float", "fraction", "open_fraction", "probability", "fmt", "plural",
           "table", "write_json", "check_out", "staged_folder"]


class CLIError(Exception):
    """A problem to report in one line (exit status 1), not a traceback."""
    status = 1


class UsageError(CLIError):
    """The user's mistake (a model that is not installed or not there, a missing input file, an
    option that does not fit): one line, exit status 2, as argparse's usage errors."""
    status = 2


class Interrupted(CLIError):
    """Ctrl-C, after the command cleaned up: one line saying what was (not) kept, exit status
    130 (128 + SIGINT), as a shell reports it."""
    status = 130


# === numeric options ========================================================================
def number(convert, ok, expected):
    """An argparse type: ``convert(text)``, refused with "expected <expected>, got ..." unless
    ``ok(value)``. One rule for every numeric option of every command."""
    def parse(text):
        try:
            v = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not ok(v):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {v}")
        return v
    return parse


positive_int = number(int, lambda v: v >= 1, "a positive integer")
positive_float = number(float, lambda v: v > 0, "a positive number")
non_negative_float = number(float, lambda v: v >= 0, "a number >= 0")
fraction = number(float, lambda v: 0 <= v < 1, "a fraction in [0, 1)")
open_fraction = number(float, lambda v: 0 < v < 1, "a fraction in (0, 1)")
probability = number(float, lambda v: 0 < v <= 1, "a number in (0, 1]")


# === output =================================================================================
def fmt(v):
    if v is None:
        return "-"
    return f"{v:.4f}" if abs(v) < 1000 else f"{v:,.1f}"


def plural(n, word):
    """``plural(1, "epoch")`` is "1 epoch", ``plural(1437, "sample")`` "1,437 samples"."""
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def table(rows, header):
    """A plain-text table: one list of cells per row, columns padded to their widest cell."""
    cells = [header] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    fmt = [("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
           for r in cells]
    return "\n".join([fmt[0], line] + fmt[1:])


def write_json(path, obj):
    atomic_write_bytes(path, (json.dumps(obj, indent=2) + "\n").encode("utf-8"))


# === the run folder: refused if taken, written whole ==========================================
def _nearest_existing(path):
    """``path`` or its closest ancestor that exists (``.`` for a relative path's top)."""
    while not os.path.lexists(path):
        parent = os.path.dirname(path) or "."
        if parent == path:
            break
        path = parent
    return path


def check_out(folder, overwrite, names=None):
    """Refuse ``--out folder`` before any work: a file; a non-empty folder without --overwrite;
    with --overwrite and a run's own file ``names``, a folder holding anything else (--overwrite
    replaces a run, never someone's folder; ``names=None``: the command writes into the folder
    and replaces nothing else); a place where nothing can be created."""
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise UsageError(f"--out {folder}: is a file; give a folder for the run")
    if os.path.isdir(folder) and os.listdir(folder):
        if not overwrite:
            raise UsageError(f"--out {folder}: the folder exists and is not empty; give a new "
                             "folder, or add --overwrite to write over it")
        others = [] if names is None else sorted(set(os.listdir(folder)) - set(names))
        if others:
            shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
            raise UsageError(f"--out {folder}: holds files that are not a run's ({shown}), and "
                             "--overwrite replaces the whole folder; give a new folder")
    base = _nearest_existing(os.path.dirname(os.path.normpath(folder)) or ".")  # the stage's place
    if not os.path.isdir(base):
        raise UsageError(f"--out {folder}: {base} is a file, so no folder can be made under it; "
                         "give another place, e.g. --out runs/NAME")
    try:  # os.access says yes to root even on /proc: try it
        os.rmdir(tempfile.mkdtemp(dir=base, prefix=".gradkit-probe-"))
    except OSError as e:
        raise UsageError(f"--out {folder}: cannot create a folder in {base} ({e.strerror}); give "
                         "a place you can write to, e.g. --out runs/NAME") from None


@contextlib.contextmanager
def staged_folder(folder, overwrite, names):
    """Yield a new, empty temporary sibling of ``folder`` to write the run into; when the block
    ends normally, it becomes ``folder`` in one rename (an old run that --overwrite replaces is
    removed only then). On any error or Ctrl-C the temporary folder, and any parent folder made
    for it, is removed: a run is there whole or not at all, never half, never mixed with an
    older one."""
    folder = os.path.abspath(folder)
    parent = os.path.dirname(folder)
    made = []  # the missing parents, outermost first
    p = parent
    while not os.path.lexists(p):
        made.insert(0, p)
        p = os.path.dirname(p)
    stage = os.path.join(parent, f".{os.path.basename(folder)}.{secrets.token_hex(4)}.partial")
    try:
        os.makedirs(parent, exist_ok=True)
        os.mkdir(stage)
    except OSError as e:
        _remove_empty(made)
        raise UsageError(f"--out {folder}: cannot create it ({e.strerror}); give a place you "
                         "can write to, e.g. --out runs/NAME") from None
    old = None
    try:
        yield stage
        check_out(folder, overwrite, names)  # again: it may have been written meanwhile
        if os.path.lexists(folder):  # an empty folder, or the run --overwrite replaces
            old = stage[:-len(".partial")] + ".old"
            os.rename(folder, old)
        try:
            os.rename(stage, folder)
        except OSError:
            if old is not None:
                os.rename(old, folder)
                old = None
            raise
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        _remove_empty(made)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _remove_empty(folders):
    for f in reversed(folders):
        try:
            os.rmdir(f)
        except OSError:
            break
