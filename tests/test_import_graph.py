"""gradkit's modules import each other without a cycle: every package reads bottom-up.

The test reads every module's imports (at the top and inside functions alike: an import inside a
function is a dependency too, it only runs later), resolves them to gradkit's modules, adds the
package ``__init__`` that importing a submodule runs, and looks for a cycle. One is allowed, and
documented where it is: the block at the bottom of tensor.py that binds the ops and the autograd
engine once the Tensor class exists.

``gradkit/__init__.py`` is the facade: it gathers the public names from every package, so it sits
above all of them, and only the doors on top (the command line, ``gradkit.tf``, the demo) may
import it; a module inside imports the module that owns a name, never ``gradkit`` itself.
"""
import ast
import os
from pathlib import Path

import gradkit

SRC = Path(gradkit.__file__).resolve().parents[1]
ALLOWED = "# === the one import that closes a cycle"   # tensor.py: imports below it are exempt
DOORS = ("gradkit.cli", "gradkit.tf", "gradkit.demo", "gradkit.__main__")   # may import the facade


def _modules():
    mods = {}
    for path in sorted((SRC / "gradkit").rglob("*.py")):
        name = ".".join(path.relative_to(SRC).with_suffix("").parts)
        mods[name[:-len(".__init__")] if name.endswith(".__init__") else name] = path
    return mods


def _imports(name, path, mods):
    """The gradkit modules that module ``name`` imports (anywhere in it), as (target, line)."""
    text = path.read_text(encoding="utf-8")
    cut = text.index(ALLOWED) if name == "gradkit.tensor" else len(text)
    exempt_from = text[:cut].count("\n") + 1
    here = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(text)):
        if not isinstance(node, (ast.Import, ast.ImportFrom)) or node.lineno > exempt_from:
            continue
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            base = node.module or ""
            if node.level:
                parts = here.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            # `from pkg import name`: the module pkg.name if there is one, else pkg itself
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base
                       for a in node.names]
        for t in targets:
            while t and t not in mods:
                t = t.rpartition(".")[0]
            if t.startswith("gradkit") and t != name:
                yield t, node.lineno


def _graph():
    mods = _modules()
    graph = {m: {} for m in mods}
    for m, path in mods.items():
        for t, line in _imports(m, path, mods):
            # importing a.b.c runs a/__init__ and a/b/__init__ first (already running when m is
            # inside them: only an explicit import of an enclosing package counts then)
            graph[m].setdefault(t, line)
            parts = t.split(".")
            for i in range(1, len(parts)):
                dep = ".".join(parts[:i])
                if dep in mods and dep != m and not m.startswith(dep + "."):
                    graph[m].setdefault(dep, line)
    return graph


def _cycles(graph):
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(graph[w])))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def test_no_module_imports_back_up_its_own_chain():
    graph = _graph()
    graph["gradkit"] = {}   # the facade imports everything; who imports it is the next test
    cycles = _cycles(graph)
    described = []
    for comp in cycles:
        edges = [f"    {a} -> {b} (line {graph[a][b]})" for a in comp for b in graph[a] if b in comp]
        described.append(f"cycle of {len(comp)} modules:\n" + "\n".join(edges))
    assert not cycles, ("import cycles (move the shared piece down a layer, or import the lower "
                        "module instead of the package):\n" + "\n".join(described))


def test_only_the_doors_import_the_facade():
    graph = _graph()
    inside = sorted(f"{m} (line {deps['gradkit']})" for m, deps in graph.items()
                    if "gradkit" in deps and not m.startswith(DOORS))
    assert not inside, ("these modules import the gradkit package itself (and with it every "
                        "package); import the module that owns the name instead: "
                        + ", ".join(inside))


def test_the_checker_sees_a_cycle_through_a_function_level_import():
    graph = {"a": {"b": 1}, "b": {"c": 2}, "c": {"a": 3}, "d": {"a": 4}}
    assert _cycles(graph) == [["a", "b", "c"]]
    graph = _graph()
    # the allowed block is exempt, and nothing else in tensor.py points up
    assert "gradkit.ops" not in graph["gradkit.tensor"]
    # _unsupported (the "not supported yet" error) imports nothing of gradkit's: a leaf
    assert set(graph["gradkit.tensor"]) == {"gradkit.backend", "gradkit.devices", "gradkit.random",
                                            "gradkit._unsupported"}
    assert not graph["gradkit._unsupported"]
    # a function-level import counts: ops/activation.py's dropout draws from gradkit.random
    assert "gradkit.random" in graph["gradkit.ops.activation"]


def test_data_imports_no_model_code():
    graph = _graph()
    reach, todo = set(), ["gradkit.data"]
    while todo:
        for dep in graph[todo.pop()]:
            if dep not in reach:
                reach.add(dep)
                todo.append(dep)
    assert not reach & {"gradkit.nn", "gradkit.optim", "gradkit.keras", "gradkit.io"}, sorted(reach)
