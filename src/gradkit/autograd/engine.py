"""The backward pass: reverse topological order over the recorded graph, chain rule at each node.

Kahn's algorithm, iterative (a chain of 100,000 ops needs no recursion): count, for each node,
how many consumers inside the graph will send it a gradient; run a node's backward once all of
them have. Gradients meeting at a node are summed; at a leaf they are added into ``.grad``.
Unless ``retain_graph``, each node frees its saved arrays right after its backward has run.
"""
import numpy as np

from . import grad_mode
from .function import Function

_grad = grad_mode.state


def _sum(a, b):
    return b if a is None else a + b


def _check_grad(node, i, g):
    if not np.isfinite(g.data).all():
        trace = getattr(node, "_trace", None)
        where = (f"\nThe forward call that created it: {trace[0]}, line {trace[1]}: {trace[2]}"
                 if trace else "")
        raise RuntimeError(
            f"detect_anomaly: function '{node.name()}' returned nan or inf values in its gradient "
            f"for input {i}.{where}")


def run_backward(roots, root_grads, retain_graph=False, create_graph=False, inputs=None,
                 allow_unused=False):
    """Backpropagate ``root_grads`` from ``roots``.

    With ``inputs=None`` gradients are accumulated into the leaves' ``.grad``. With a list of
    tensors, nothing is accumulated: the gradients with respect to exactly those tensors are
    returned (``gk.grad``).
    """
    capture = None
    if inputs is not None:
        # key: a leaf tensor (by identity) or the node that produced a non-leaf input
        capture = {}
        for t in inputs:
            if not t.requires_grad:
                raise RuntimeError(
                    "grad: one of the inputs does not require grad; create it with "
                    "requires_grad=True or call .requires_grad_()")
            capture[id(t._node) if t._node is not None else id(t)] = None
    results = {}

    # 1. the nodes reachable from the roots, and how many consumers each has
    deps = {}
    stack = []
    for r in roots:
        n = r._node
        if n is not None and n not in deps:
            deps[n] = 0
            stack.append(n)
    while stack:
        n = stack.pop()
        for p in n.parents:
            if p is None or not isinstance(p, Function):
                continue
            if p in deps:
                deps[p] += 1
            else:
                deps[p] = 1
                stack.append(p)

    grads = {}
    prev_mode = _grad.enabled
    _grad.enabled = create_graph
    try:
        for r, g in zip(roots, root_grads):
            if r._node is None:
                _to_leaf(r, g, capture, results, create_graph)
            else:
                grads[r._node] = _sum(grads.get(r._node), g)
        ready = [n for n, d in deps.items() if d == 0]
        anomaly = Function.anomaly_enabled
        while ready:
            node = ready.pop()
            g = grads.pop(node, None)
            if g is not None:
                if node._hooks:
                    for h in node._hooks:
                        r = h(g)
                        if r is not None:
                            g = r
                if node._retained is not None:
                    t = node._retained()
                    if t is not None:
                        t.grad = g.detach() if t.grad is None else (t.grad + g).detach()
                if capture is not None and id(node) in capture:
                    results[id(node)] = _sum(results.get(id(node)), g)
                in_grads = node.backward(g)
                if type(in_grads) is not tuple:
                    in_grads = (in_grads,)
                if not retain_graph:
                    node._release()
            else:
                in_grads = (None,) * len(node.parents)
            for i, (p, ig) in enumerate(zip(node.parents, in_grads)):
                if p is None:
                    continue
                if ig is not None and anomaly:
                    _check_grad(node, i, ig)
                if isinstance(p, Function):
                    if ig is not None:
                        grads[p] = _sum(grads.get(p), ig)
                    deps[p] -= 1
                    if deps[p] == 0:
                        ready.append(p)
                elif ig is not None:
                    _to_leaf(p, ig, capture, results, create_graph)
    finally:
        _grad.enabled = prev_mode

    if capture is None:
        return None
    out = []
    for t in inputs:
        key = id(t._node) if t._node is not None else id(t)
        g = results.get(key)
        if g is None and not allow_unused:
            raise RuntimeError(
                "grad: one of the differentiated tensors appears to not have been used in the "
                "graph. Set allow_unused=True if this is the desired behavior.")
        out.append(g)
    return out


def _to_leaf(leaf, g, capture, results, create_graph):
    if leaf._hooks:
        for h in leaf._hooks:
            r = h(g)
            if r is not None:
                g = r
    if g.shape != leaf.data.shape:
        raise RuntimeError(
            f"internal error: gradient of shape {g.shape} for a leaf of shape {leaf.shape}")
    if g.dtype != leaf.data.dtype:
        g = g.to(leaf.data.dtype)
    if capture is not None:
        if id(leaf) in capture:
            results[id(leaf)] = _sum(results.get(id(leaf)), g)
        return
    if not create_graph:
        g = g.detach()
    leaf.grad = g if leaf.grad is None else leaf.grad + g
