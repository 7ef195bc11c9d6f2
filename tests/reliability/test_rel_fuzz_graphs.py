"""Fuzzed op graphs against PyTorch (issue 15, "Probes in the suite"): Hypothesis writes a small
random program (3 to 8 ops from the table below, applied to float64 leaves), which runs once in
gradkit and once in PyTorch, the same code on both (``import gradkit as torch`` runs PyTorch
code). The forward value and the gradient of every leaf (backward of ``(out * W).sum()``, W a fixed
random weight) must agree to 1e-10.

A program is planned first in plain Python, tracking the shape, so that every op drawn is valid
where it is applied (a matmul gets a weight of matching rows, a cat a partner of matching shape);
then ``_run`` executes the plan with ``T`` = gradkit or torch. On a failure Hypothesis prints the
shrunk program (``note``), which reads as the code that failed.
"""
import math

import numpy as np
import torch
from hypothesis import given, note, settings
from hypothesis import strategies as st

import gradkit as gk

MAX_DIMS, MAX_SIDE = 4, 4
TOL = 1e-10


# === planning: the op table ===================================================================
# Each entry: name -> (applies(shape) -> bool, plan(draw, shape, leaves) -> (step, new_shape)).
# A step is a tuple (name, args...) that _apply turns into code; leaves is the list of extra
# input shapes, which a step appends to and refers to by index.

def _broadcast_partner(draw, shape):
    """A shape that broadcasts with ``shape``: each trailing dim kept or 1, maybe fewer dims,
    maybe one extra leading dim."""
    keep = draw(st.integers(0, len(shape)))
    dims = [draw(st.sampled_from([d, 1])) for d in shape[len(shape) - keep:]]
    if len(shape) < MAX_DIMS and draw(st.booleans()):
        dims = [draw(st.integers(1, 3))] + ([1] * (len(shape) - keep)) + dims
    return tuple(dims)


def _out_shape(a, b):
    return tuple(np.broadcast_shapes(a, b))


def _plan_binary(name):
    def plan(draw, shape, leaves):
        other = _broadcast_partner(draw, shape)
        leaves.append(("safe" if name == "div" else "any", other))
        flip = name != "div" and draw(st.booleans())     # leaf op h, as well as h op leaf
        return (name, len(leaves) - 1, flip), _out_shape(shape, other)
    return plan


def _plan_unary(name):
    return lambda draw, shape, leaves: ((name,), shape)


def _plan_div_by_square(draw, shape, leaves):
    return ("div_by_1_plus_square",), shape              # h / (1 + h²): the same tensor twice


def _plan_matmul(draw, shape, leaves):
    k = draw(st.integers(1, MAX_SIDE))
    leaves.append(("any", (shape[-1], k)))
    return ("matmul", len(leaves) - 1), shape[:-1] + (k,)


def _plan_dim_op(name):
    def plan(draw, shape, leaves):
        dim = draw(st.integers(-len(shape), len(shape) - 1))
        if name in ("softmax", "log_softmax"):
            return (name, dim), shape
        keepdim = draw(st.booleans())
        d = dim % len(shape)
        new = shape[:d] + ((1,) if keepdim else ()) + shape[d + 1:]
        return (name, dim, keepdim), new
    return plan


def _factorisations(n, parts):
    if parts == 1:
        return [(n,)]
    return [(f,) + rest for f in range(1, n + 1) if n % f == 0
            for rest in _factorisations(n // f, parts - 1)]


def _plan_reshape(draw, shape, leaves):
    n = math.prod(shape)
    options = [s for parts in range(1, MAX_DIMS + 1) for s in _factorisations(n, parts)
               if max(s) <= 2 * MAX_SIDE]
    new = draw(st.sampled_from(options))
    if draw(st.booleans()):                              # one dim given as -1
        i = draw(st.integers(0, len(new) - 1))
        return ("reshape", new[:i] + (-1,) + new[i + 1:]), new
    return ("reshape", new), new


def _plan_transpose(draw, shape, leaves):
    d0 = draw(st.integers(-len(shape), len(shape) - 1))
    d1 = draw(st.integers(-len(shape), len(shape) - 1))
    new = list(shape)
    new[d0], new[d1] = new[d1], new[d0]
    return ("transpose", d0, d1), tuple(new)


def _plan_permute(draw, shape, leaves):
    perm = tuple(draw(st.permutations(range(len(shape)))))
    return ("permute", perm), tuple(shape[p] for p in perm)


def _plan_index(draw, shape, leaves):
    d = draw(st.integers(0, len(shape) - 1))
    n = shape[d]
    kind = draw(st.sampled_from(["slice", "int", "list"]))
    if kind == "slice":
        start = draw(st.integers(-n, n - 1))
        stop = draw(st.one_of(st.none(), st.integers(-n, n)))
        step = draw(st.integers(1, 3))
        idx = slice(start, stop, step)
        size = len(range(*idx.indices(n)))
        if size == 0:                                    # keep tensors non-empty
            idx, size = slice(None, None, step), len(range(0, n, step))
        new = shape[:d] + (size,) + shape[d + 1:]
    elif kind == "int":
        idx = draw(st.integers(-n, n - 1))
        new = shape[:d] + shape[d + 1:]
    else:                                                # repeats accumulate in the gradient
        idx = draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=5))
        new = shape[:d] + (len(idx),) + shape[d + 1:]
    return ("index", d, idx), new


def _plan_cat(draw, shape, leaves):
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    d = dim % len(shape)
    k = draw(st.integers(1, 3))
    other = shape[:d] + (k,) + shape[d + 1:]
    leaves.append(("any", other))
    first = draw(st.booleans())
    return ("cat", len(leaves) - 1, dim, first), shape[:d] + (shape[d] + k,) + shape[d + 1:]


def _plan_where(draw, shape, leaves):
    other = _broadcast_partner(draw, shape)
    leaves.append(("any", other))
    by_sign = draw(st.booleans())        # condition from h itself (h > 0) or a fixed random mask
    if by_sign:
        return ("where_positive", len(leaves) - 1), _out_shape(shape, other)
    both = _out_shape(shape, other)
    mask = _broadcast_partner(draw, both)
    leaves.append(("mask", mask))
    return ("where_mask", len(leaves) - 2, len(leaves) - 1), _out_shape(both, mask)


def _fits(shape):
    return len(shape) <= MAX_DIMS and all(s <= 2 * MAX_SIDE for s in shape)


HAS_DIMS = lambda s: len(s) >= 1     # noqa: E731
ANY = lambda s: True                 # noqa: E731
TABLE = {
    "add": (ANY, _plan_binary("add")),
    "mul": (ANY, _plan_binary("mul")),
    "sub": (ANY, _plan_binary("sub")),
    "div": (ANY, _plan_binary("div")),
    "div_by_1_plus_square": (ANY, _plan_div_by_square),
    "matmul": (HAS_DIMS, _plan_matmul),
    "exp_tanh": (ANY, _plan_unary("exp_tanh")),
    "tanh": (ANY, _plan_unary("tanh")),
    "sigmoid": (ANY, _plan_unary("sigmoid")),
    "relu": (ANY, _plan_unary("relu")),
    "softmax": (HAS_DIMS, _plan_dim_op("softmax")),
    "log_softmax": (HAS_DIMS, _plan_dim_op("log_softmax")),
    "sum": (HAS_DIMS, _plan_dim_op("sum")),
    "mean": (HAS_DIMS, _plan_dim_op("mean")),
    "max": (HAS_DIMS, _plan_dim_op("max")),
    "reshape": (ANY, _plan_reshape),
    "transpose": (HAS_DIMS, _plan_transpose),
    "permute": (HAS_DIMS, _plan_permute),
    "index": (HAS_DIMS, _plan_index),
    "cat": (HAS_DIMS, _plan_cat),
    "where": (ANY, _plan_where),
}


@st.composite
def programs(draw):
    """(input shape, steps, extra leaves, seed): a valid random program of 3 to 8 ops."""
    shape = tuple(draw(st.lists(st.integers(1, MAX_SIDE), min_size=1, max_size=3)))
    start, leaves, steps = shape, [], []
    n, tries = draw(st.integers(3, 8)), 0
    while len(steps) < n and tries < 3 * n:
        tries += 1
        names = [k for k, (ok, _) in TABLE.items() if ok(shape)]
        name = draw(st.sampled_from(names))
        tried = list(leaves)
        step, new = TABLE[name][1](draw, shape, tried)
        if not _fits(new):                               # keep it small: draw another
            continue
        leaves, shape = tried, new
        steps.append(step)
    return start, steps, leaves, draw(st.integers(0, 2**16))


# === running a plan with T = gradkit or torch ==================================================
def _apply(T, step, h, leaves):
    name, *a = step
    if name in ("add", "mul", "sub", "div"):
        other = leaves[a[0]]
        x, y = (other, h) if a[1] else (h, other)
        return {"add": x + y, "mul": x * y, "sub": x - y, "div": x / y}[name]
    if name == "div_by_1_plus_square":
        return h / (1 + h * h)
    if name == "matmul":
        return h @ leaves[a[0]]
    if name == "exp_tanh":
        return T.exp(T.tanh(h))
    if name in ("tanh", "sigmoid", "relu"):
        return getattr(T, name)(h)
    if name in ("softmax", "log_softmax"):
        return getattr(T, name)(h, dim=a[0])
    if name in ("sum", "mean"):
        return getattr(h, name)(dim=a[0], keepdim=a[1])
    if name == "max":
        return h.max(dim=a[0], keepdim=a[1])[0]
    if name == "reshape":
        return h.reshape(*a[0])
    if name == "transpose":
        return h.transpose(a[0], a[1])
    if name == "permute":
        return h.permute(*a[0])
    if name == "index":
        return h[(slice(None),) * a[0] + (a[1],)]
    if name == "cat":
        other = leaves[a[0]]
        return T.cat([h, other] if a[2] else [other, h], dim=a[1])
    if name == "where_positive":
        return T.where(h > 0, h, leaves[a[0]])
    if name == "where_mask":
        return T.where(leaves[a[1]], h, leaves[a[0]])
    raise AssertionError(name)


def _arrays(start, leaves, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, start)
    extra = []
    for kind, shape in leaves:
        if kind == "mask":
            extra.append(rng.random(shape) > 0.5)
        elif kind == "safe":                             # |denominator| in [0.5, 2]
            extra.append(rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 2, shape))
        else:
            extra.append(rng.uniform(-2, 2, shape))
    return [x] + extra


def _run(T, arrays, steps, weight_rng_seed):
    leaves = [T.tensor(a, requires_grad=True, dtype=T.float64) if a.dtype.kind == "f"
              else T.tensor(a) for a in arrays]
    h = leaves[0]
    for step in steps:
        h = _apply(T, step, h, leaves[1:])
    w = np.random.default_rng(weight_rng_seed).standard_normal(tuple(h.shape))
    (h * T.tensor(w, dtype=T.float64)).sum().backward()
    grads = [None if leaf.grad is None else np.asarray(leaf.grad.detach().numpy())
             for leaf in leaves if leaf.requires_grad]
    return np.asarray(h.detach().numpy()), grads


def _describe(start, steps, leaves):
    lines = [f"x = leaf{start}"] + [f"leaf {i + 1}: {kind} {s}" for i, (kind, s) in
                                    enumerate(leaves)]
    return "\n".join(lines + [f"h = {step}" for step in steps])


@settings(max_examples=100, deadline=None)
@given(programs())
def test_random_op_graph_matches_pytorch(program):
    start, steps, leaves, seed = program
    note(_describe(start, steps, leaves))
    arrays = _arrays(start, leaves, seed)
    g_out, g_grads = _run(gk, arrays, steps, seed + 1)
    t_out, t_grads = _run(torch, arrays, steps, seed + 1)
    assert g_out.shape == t_out.shape
    np.testing.assert_allclose(g_out, t_out, rtol=TOL, atol=TOL, err_msg="forward value")
    for i, (g, t) in enumerate(zip(g_grads, t_grads)):
        assert (g is None) == (t is None), f"leaf {i}: gradkit grad {g}, torch grad {t}"
        if g is not None:
            assert g.shape == t.shape, f"leaf {i}: grad shape {g.shape} vs torch {t.shape}"
            np.testing.assert_allclose(g, t, rtol=TOL, atol=TOL, err_msg=f"gradient of leaf {i}")


def test_the_table_covers_every_op_the_issue_names():
    """The fuzzer draws from every op family issue 15 lists (a guard against a table that
    silently loses entries)."""
    assert set(TABLE) >= {"add", "mul", "sub", "div", "matmul", "exp_tanh", "tanh", "sigmoid",
                          "relu", "softmax", "log_softmax", "sum", "mean", "max", "reshape",
                          "transpose", "permute", "index", "cat", "where"}
