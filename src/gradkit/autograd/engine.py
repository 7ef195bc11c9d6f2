"""The backward pass: reverse topological order over the recorded graph, chain rule at each node.

Kahn's algorithm, iterative (a chain of 100,000 ops needs no recursion): count, for each node,
how many consumers inside the graph will send it a gradient; run a node's backward once all of
them have. Gradients meeting at a node are summed; at a leaf they are added into ``.grad``
(outside create_graph on the arrays, in place into a buffer the engine allocated: ``_sum``).
Unless ``retain_graph``, each node frees its saved arrays right after its backward has run.
"""
import numpy as np

from . import grad_mode
from .function import Function
from ..tensor import Tensor

_grad = grad_mode.state


def _sum(prev, g, owned, key):
    """prev + g: two gradients for one tensor (``key``, its node or the leaf); g if prev is None.

    Outside create_graph the sum is done on the arrays, not as a recorded add: the first time
    into a new buffer, and then in place into that buffer, which this backward allocated for
    ``key`` alone (``owned`` maps id(key) to it). No other gradient array is ever written: a
    backward may hand one gradient to two inputs, and a leaf's ``.grad`` may be the caller's
    array. Under create_graph ``owned`` is None and the sum is a differentiable op. A gradient
    that is not a plain Tensor (recurrent.py's StepGrads) brings its own ``+``.
    """
    if prev is None:
        return g
    if owned is None or type(prev) is not Tensor or type(g) is not Tensor:
        return prev + g
    a, b = prev.array, g.array
    if a.shape != b.shape or a.dtype != b.dtype:  # only a .grad the caller set can differ
        return prev + g
    if owned.get(id(key)) is prev:  # (a hook may have set a leaf's .grad anew meanwhile)
        a += b
        return prev
    total = Tensor._make(np.add(a, b, out=np.empty_like(a)))  # out=: a 0-d sum stays an array
    owned[id(key)] = total
    return total


def _check_grad(node, i, g):
    if not np.isfinite(g.array).all():
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
    deps = {r._node: 0 for r in roots if r._node is not None}
    tops = list(deps)  # the roots' nodes, each once
    stack = list(tops)
    while stack:
        for p in stack.pop().parents:
            if isinstance(p, Function):  # not a leaf, not None
                if p in deps:
                    deps[p] += 1
                else:
                    deps[p] = 1
                    stack.append(p)

    grads = {}
    owned = None if create_graph else {}
    prev_mode = _grad.enabled
    _grad.enabled = create_graph
    try:
        for r, g in zip(roots, root_grads):
            if r._node is None:
                _to_leaf(r, g, capture, results, owned)
            else:
                grads[r._node] = _sum(grads.get(r._node), g, owned, r._node)
        ready = [n for n in tops if deps[n] == 0]  # only a root's node can have no consumer
        anomaly = Function.anomaly_enabled
        while ready:
            node = ready.pop()
            parents = node.parents
            g = grads.pop(node, None)
            if owned:
                owned.pop(id(node), None)  # keep a summed gradient no longer than g needs it
            if g is None:  # no gradient reached this node; its parents still stop waiting for it
                in_grads = (None,) * len(parents)
            else:
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
                    results[id(node)] = _sum(results.get(id(node)), g, owned, node)
                in_grads = node.backward(g)
                if type(in_grads) is not tuple:
                    in_grads = (in_grads,)
                if not retain_graph:
                    node._release()
                if anomaly:
                    for i, (p, ig) in enumerate(zip(parents, in_grads)):
                        if p is not None and ig is not None:
                            _check_grad(node, i, ig)
            for p, ig in zip(parents, in_grads):
                if isinstance(p, Function):
                    if ig is not None:
                        prev = grads.get(p)
                        grads[p] = ig if prev is None else _sum(prev, ig, owned, p)
                    left = deps[p] - 1
                    deps[p] = left
                    if left == 0:
                        ready.append(p)
                elif p is not None and ig is not None:
                    _to_leaf(p, ig, capture, results, owned)
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


def _to_leaf(leaf, g, capture, results, owned):
    if leaf._hooks:
        for h in leaf._hooks:
            r = h(g)
            if r is not None:
                g = r
    data = leaf.array
    if g.array.shape != data.shape:
        raise RuntimeError(
            f"internal error: gradient of shape {g.shape} for a leaf of shape {leaf.shape}")
    if g.array.dtype != data.dtype:
        g = g.to(data.dtype)
    if capture is not None:
        if id(leaf) in capture:
            results[id(leaf)] = _sum(results.get(id(leaf)), g, owned, leaf)
        return
    if leaf.grad is None:
        leaf.grad = g if owned is None else g.detach()  # create_graph (owned None): keep g's graph
    else:
        leaf.grad = _sum(leaf.grad, g, owned, leaf)
