"""How much of the PyTorch API that real programs use does gradkit cover?

    python -m benchmarks.api_coverage                    # the table: coverage, then uncovered names
    python -m benchmarks.api_coverage --min-share 0.5    # list uncovered names used by >= 0.5% of files
    python -m benchmarks.api_coverage --all              # every name, covered or not

The corpus is PyTorch code installed on this machine (the test dependencies pinned in
pyproject.toml, so the numbers rerun): Hugging Face transformers' model files
(``transformers/models/*/modeling_*.py``), peft, accelerate, sentence-transformers,
torchvision's model definitions, and the PyTorch-side programs of ``tests/compat/programs``.
Only files that import torch count. Each file is parsed with ``ast`` and these uses are
collected, once per file:

* ``torch.X`` (and ``torch.linalg.X``, ``torch.nn.init.X``, ...): every attribute chain rooted at
  a name bound to torch or one of its submodules (``import torch as th``, ``from torch import nn``,
  ``import torch.nn.functional as F``), and every ``from torch... import X``; the chain is cut at
  the first object that is not a module, so ``torch.nn.Linear(...).weight`` counts
  ``torch.nn.Linear``;
* ``Tensor.X``: a method call ``obj.X(...)`` where ``X`` is a method of ``torch.Tensor`` and
  ``obj`` is neither a module bound by an import nor ``self``/``cls``/``super()``, and an
  attribute read ``obj.X`` where ``X`` is a property of ``torch.Tensor`` (``.shape``, ``.grad``).
  Names that other common types share (``str.split``, ``list.sort``) are counted too: they
  overstate the Tensor method's share, never understate it; three that nearly always mean another
  type (``dict.values()``, ``list.index``, ``.name``) are left out.

The share of a name is the share of corpus files that use it. A name is covered when the same
path exists in gradkit (``torch.nn.functional.X`` -> ``gradkit.nn.functional.X``,
``Tensor.X`` -> ``gradkit.Tensor.X``); a name gradkit refuses with "not supported" is absent.
"""
import argparse
import ast
import importlib
import inspect
import sys
import types
from collections import Counter, defaultdict
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def corpus():
    """(source, path) for every corpus file, in a fixed order. The packages are found, not
    imported (importing peft pulls in half of transformers)."""
    from importlib.metadata import version
    from importlib.util import find_spec

    def under(dist, pattern="**/*.py"):
        return sorted(Path(find_spec(dist).origin).parent.glob(pattern))

    v = {d: version(d.replace("_", "-")) for d in
         ("transformers", "peft", "accelerate", "sentence_transformers", "torchvision")}
    sources = {
        f"transformers {v['transformers']} (models/*/modeling_*.py)":
            under("transformers", "models/*/modeling_*.py"),
        f"peft {v['peft']}": under("peft"),
        f"accelerate {v['accelerate']}": under("accelerate"),
        f"sentence-transformers {v['sentence_transformers']}": under("sentence_transformers"),
        f"torchvision {v['torchvision']} (models/)": under("torchvision", "models/**/*.py"),
        "gradkit tests/compat/programs/pytorch": sorted(
            (ROOT / "tests/compat/programs/pytorch").glob("*.py")),
    }
    for source, paths in sources.items():
        for p in paths:
            if "/tests/" in str(p) and "compat/programs" not in str(p):
                continue
            yield source, p


# --------------------------------------------------------------------------- what torch has
TENSOR_METHODS = {n for n in dir(torch.Tensor) if not n.startswith("_")
                  and callable(getattr(torch.Tensor, n, None))}
TENSOR_PROPERTIES = {n for n in dir(torch.Tensor) if not n.startswith("_")
                     and not callable(getattr(torch.Tensor, n, None))}
# calls on self/cls are the program's own methods (Module.to, Module.float, ...), not Tensor's
NOT_TENSOR_RECEIVERS = {"self", "cls"}
# Tensor names that, called on an unknown object, nearly always mean another type's: dict.values(),
# list.index / str.index, .name of a config or a parameter group. Not counted (see --all).
SHARED_WITH_OTHER_TYPES = {"values", "index", "name"}
TENSOR_METHODS -= SHARED_WITH_OTHER_TYPES
TENSOR_PROPERTIES -= SHARED_WITH_OTHER_TYPES


def _resolve(path):
    """Cut a dotted torch path after the first non-module object: the name a program uses."""
    parts = path.split(".")
    obj, kept = None, []
    for i, part in enumerate(parts):
        name = ".".join(parts[:i + 1])
        if i == 0:
            obj = torch
        else:
            try:
                obj = getattr(obj, part)
            except AttributeError:
                try:
                    obj = importlib.import_module(name)
                except Exception:
                    return ".".join(parts[:i + 1])  # not in torch 2.x: kept as written
        kept.append(part)
        if not isinstance(obj, types.ModuleType):
            return ".".join(kept)
    return ".".join(kept)  # the module itself (import torch.distributed as dist)


class _FileUses(ast.NodeVisitor):
    def __init__(self):
        self.alias = {}          # local name -> torch path it is bound to
        self.modules = set()     # every local name bound by an import (np, math, torch, ...)
        self.uses = set()

    # imports bind names
    def visit_Import(self, node):
        for a in node.names:
            local = a.asname or a.name.split(".")[0]
            self.modules.add(local)
            if a.name == "torch" or a.name.startswith("torch."):
                self.alias[local] = a.name if a.asname else "torch"

    def visit_ImportFrom(self, node):
        mod = node.module or ""
        if node.level or not (mod == "torch" or mod.startswith("torch.")):
            for a in node.names:
                self.modules.add(a.asname or a.name)
            return
        for a in node.names:
            if a.name == "*":
                continue
            path = f"{mod}.{a.name}"
            self.alias[a.asname or a.name] = path
            resolved = _resolve(path)
            if resolved == path and isinstance(_lookup(path), types.ModuleType):
                self.modules.add(a.asname or a.name)
            else:
                self.uses.add(resolved)

    def visit_Attribute(self, node):
        chain, base = [], node
        while isinstance(base, ast.Attribute):
            chain.append(base.attr)
            base = base.value
        if isinstance(base, ast.Name) and base.id in self.alias:
            path = ".".join([self.alias[base.id]] + chain[::-1])
            self.uses.add(_resolve(path))
            return  # the chain is done; its inner nodes are prefixes of it
        self._tensor_use(node)
        self.generic_visit(node)

    def visit_Call(self, node):
        f = node.func
        if isinstance(f, ast.Attribute) and f.attr in TENSOR_METHODS and _tensor_receiver(
                f.value, self.modules | set(self.alias)):
            self.uses.add(f"Tensor.{f.attr}")
        self.generic_visit(node)

    def _tensor_use(self, node):
        if (node.attr in TENSOR_PROPERTIES and isinstance(node.ctx, ast.Load)
                and _tensor_receiver(node.value, self.modules | set(self.alias))):
            self.uses.add(f"Tensor.{node.attr}")


def _tensor_receiver(value, module_names):
    if isinstance(value, ast.Name):
        return value.id not in module_names and value.id not in NOT_TENSOR_RECEIVERS
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "super":
        return False
    if isinstance(value, ast.Constant):  # "sep".join(...), "{}".format(...)
        return False
    return True


def _lookup(path):
    try:
        return importlib.import_module(path)
    except Exception:
        mod, _, name = path.rpartition(".")
        try:
            return getattr(importlib.import_module(mod), name)
        except Exception:
            return None


def file_uses(path):
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError):
        return None
    v = _FileUses()
    # imports first (a program may use a name above the line that imports it, inside a function)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            v.visit_Import(node)
        elif isinstance(node, ast.ImportFrom):
            v.visit_ImportFrom(node)
    if not any(p == "torch" or p.startswith("torch.") for p in v.alias.values()):
        return None  # not a PyTorch file
    v.visit_Import = v.visit_ImportFrom = lambda node: None
    v.visit(tree)
    return v.uses


# --------------------------------------------------------------------------- what gradkit has
def family(name):
    if name.startswith("Tensor."):
        return "Tensor methods"
    if name.startswith("torch.nn.functional."):
        return "torch.nn.functional"
    if name.startswith("torch.nn.") and name.count(".") == 2:
        return "torch.nn"
    if name.count(".") == 1:
        return "torch"
    return "torch submodules"  # torch.linalg.X, torch.nn.init.X, torch.utils.data.X, ...


FAMILIES = ["torch", "torch.nn", "torch.nn.functional", "Tensor methods", "torch submodules"]


def covered(name):
    import gradkit

    if name.startswith("Tensor."):
        attr = name.split(".", 1)[1]
        return hasattr(gradkit.Tensor, attr) or attr in gradkit.Tensor.__slots__
    parts = name.split(".")
    obj = gradkit
    for i, part in enumerate(parts[1:], 1):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            try:
                obj = importlib.import_module("gradkit." + ".".join(parts[1:i + 1]))
            except ImportError:
                return False
        except Exception:  # a module-level __getattr__ that raises something else
            return False
    return True


def measure():
    shares, files_per_source, n = Counter(), Counter(), 0
    for source, path in corpus():
        uses = file_uses(path)
        if uses is None:
            continue
        n += 1
        files_per_source[source] += 1
        shares.update(uses)
    return {k: v / n for k, v in shares.items()}, files_per_source, n


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--min-share", type=float, default=1.0,
                    help="list uncovered names used by at least this percentage of files")
    ap.add_argument("--all", action="store_true", help="list every name, covered or not")
    args = ap.parse_args(argv)

    shares, per_source, n = measure()
    print(f"corpus: {n} files that import torch")
    for s, k in per_source.items():
        print(f"  {k:5d}  {s}")
    print()
    by_family = defaultdict(list)
    for name, share in shares.items():
        by_family[family(name)].append((share, name, covered(name)))

    print("| family | names used | covered | share of names covered | weighted by use |")
    print("| --- | ---: | ---: | ---: | ---: |")
    tot = [0, 0, 0.0, 0.0]
    for fam in FAMILIES:
        rows = by_family[fam]
        c = sum(1 for _, _, ok in rows if ok)
        w = sum(s for s, _, ok in rows if ok)
        ws = sum(s for s, _, _ in rows)
        tot = [tot[0] + len(rows), tot[1] + c, tot[2] + w, tot[3] + ws]
        print(f"| {fam} | {len(rows)} | {c} | {c / max(len(rows), 1):.1%} | {w / max(ws, 1e-12):.1%} |")
    print(f"| all | {tot[0]} | {tot[1]} | {tot[1] / tot[0]:.1%} | {tot[2] / tot[3]:.1%} |")

    # the names in >= min-share of files: how many, how many covered
    common = [(s, nm, ok) for rows in by_family.values() for s, nm, ok in rows
              if s * 100 >= args.min_share]
    print(f"\nnames used by >= {args.min_share:g}% of files: {len(common)}, covered "
          f"{sum(ok for *_, ok in common)} ({sum(ok for *_, ok in common) / max(len(common), 1):.1%})")
    title = "every name" if args.all else f"uncovered, used by >= {args.min_share:g}% of files"
    print(f"\n{title}:\n")
    print("| name | share of files | files | covered |")
    print("| --- | ---: | ---: | :---: |")
    for s, nm, ok in sorted(common if not args.all else
                            [r for rows in by_family.values() for r in rows], reverse=True):
        if args.all or not ok:
            print(f"| `{nm}` | {s:.1%} | {round(s * n)} | {'yes' if ok else 'no'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
