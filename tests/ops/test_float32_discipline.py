"""float32 discipline (issue 7): every public op, layer, loss and optimizer keeps float32 float32.

For each case the inputs are float32 leaves; the test asserts

* the output dtype is float32, or the dtype the op is documented to return (``argmax`` int64,
  comparisons bool, ``x.double()`` float64, ...);
* after ``backward()`` every input's ``.grad`` is float32 with the input's shape, AND the gradient
  that reached the input was already float32: the engine casts a leaf's gradient to the leaf's
  dtype, which would otherwise hide a backward that silently computes in float64. A hook on each
  leaf sees the gradient before that cast;
* no float64 tensor is made anywhere on the way, forward or backward (every op's result goes
  through ``Tensor._make``, which the ``float64_made`` fixture watches): an op that upcasts
  internally and casts back would pass the first two checks and still cost float64 time.

The ops are enumerated from the public namespaces (``gradkit``, ``gradkit.nn.functional``, the
methods and operators of ``Tensor``, the layers and losses of ``gradkit.nn``, the optimizers of
``gradkit.optim``); ``test_every_public_name_is_walked_or_excluded`` fails when a public name is
neither walked here nor listed, with its reason, in one of the ``EXCLUDED_*`` tables, so a new op
can't silently escape the walk. Names bound to the same object (``clip`` is ``clamp``,
``F.relu`` is ``gk.relu``) are walked once.

Mixed float32/float64 operands follow the promotion rules and are tested in test_properties.py,
not here. Shapes are tiny: the whole file is about dtypes, values are tested elsewhere.
"""
import math
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

import gradkit as gk
import gradkit.nn.functional as F
from gradkit import nn, optim

F32, F64, F16 = gk.float32, gk.float64, gk.float16
I64, BOOL = gk.int64, gk.bool_


# === inputs =======================================================================================
class Inputs:
    """The inputs of one case. ``x`` makes a float32 leaf that requires grad (its gradient is
    checked); ``c`` a float32 constant; ``idx`` an int64 index tensor; ``mask`` a bool tensor.
    ``leaf`` registers an existing tensor (a layer's parameter) for the gradient checks."""

    def __init__(self, seed=0):
        self.rng = np.random.default_rng(seed)
        self.leaves = []
        self.raw = {}  # id(leaf) -> dtypes of the gradients that reached it (before any cast)
        self.names = {}  # id(leaf) -> a name for messages (a layer's parameter name)

    def _array(self, shape, low, high):
        return self.rng.uniform(low, high, shape).astype(np.float32)

    def x(self, *shape, low=-2.0, high=2.0):
        return self.leaf(gk.tensor(self._array(shape, low, high), requires_grad=True))

    def c(self, *shape, low=-2.0, high=2.0):
        return gk.tensor(self._array(shape, low, high))

    def idx(self, high, *shape):
        return gk.tensor(self.rng.integers(0, high, shape).astype(np.int64))

    def mask(self, *shape):
        return gk.tensor(self.rng.random(shape) < 0.5)

    def leaf(self, t, name=None):
        self.leaves.append(t)
        self.names[id(t)] = name or f"input {len(self.leaves) - 1}"
        seen = self.raw.setdefault(id(t), [])
        t.register_hook(lambda g: seen.append(g.dtype))
        return t


def _flat(out):
    """Output(s) of an op -> a flat list of Tensors (tuples of states, None weights dropped)."""
    if isinstance(out, gk.Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    if out is None:
        return []
    raise TypeError(f"unexpected output {type(out).__name__}")


def _check_outputs(outs, expected, who):
    exp = list(expected) if isinstance(expected, (tuple, list)) else [expected] * len(outs)
    assert len(exp) == len(outs), f"{who}: {len(outs)} outputs, expected dtypes {exp}"
    for i, (o, e) in enumerate(zip(outs, exp)):
        assert o.dtype == e, f"{who}: output {i} is {o.dtype}, expected {e}"


def _backward(outs, who):
    """Backpropagate a float upstream gradient (in each output's own dtype) from every output
    that requires grad."""
    diff = [o for o in outs if o.requires_grad]
    assert diff, f"{who}: no output requires grad, but the op is differentiable"
    rng = np.random.default_rng(1)
    ups = [gk.tensor(rng.standard_normal(o.shape).astype(o.dtype)) for o in diff]
    if len(diff) == 1:
        diff[0].backward(ups[0])
    else:
        sum((o * u).sum() for o, u in zip(diff, ups)).backward()


def _check_grads(r, who):
    for t in r.leaves:
        name = r.names[id(t)]
        assert t.grad is not None, f"{who}: {name} got no gradient"
        assert t.grad.dtype == t.dtype == F32, f"{who}: {name}.grad is {t.grad.dtype}"
        assert t.grad.shape == t.shape, f"{who}: {name}.grad is {t.grad.shape}, not {t.shape}"
        raw = set(r.raw[id(t)])
        assert raw == {F32}, (f"{who}: the gradient reached {name} as {sorted(map(str, raw))} "
                              "(the engine cast it back to float32): a backward upcasts")


@pytest.fixture(autouse=True)
def _default_float32():
    """The walk is about float32 inputs: factories (gk.randn, layers' parameters) must make them
    whatever another test left the default at."""
    old = gk.get_default_dtype()
    gk.set_default_dtype(F32)
    yield
    gk.set_default_dtype(old)


@pytest.fixture
def float64_made(monkeypatch):
    """A list that collects where each float64 tensor made during the test came from."""
    made = []
    make = gk.Tensor.__dict__["_make"].__func__

    def watching_make(data, node=None):
        if data.dtype == F64:
            f = sys._getframe(1)
            cls = f.f_locals.get("cls")  # Function.apply's op class, when the result has no node
            made.append(repr(node) if node is not None else cls.name() if isinstance(cls, type)
                        else f"{f.f_code.co_filename.rsplit('/', 2)[-1]}:{f.f_lineno}")
        return make(data, node)

    monkeypatch.setattr(gk.Tensor, "_make", staticmethod(watching_make))
    return made


def _no_float64(made, who):
    assert not made, f"{who}: float64 tensors made on the way (an internal upcast): {made}"


# === the op table =================================================================================
class Case(NamedTuple):
    id: str                 # test id: "gk.pad[reflect]"
    key: str                # the public name walked: "gk.pad", "F.conv2d", "Tensor.__add__"
    build: Callable         # build(fn, r) -> output(s); fn is the object named by key
    out: object             # expected output dtype (one for all outputs, or a tuple per output)
    grad: bool              # differentiable: run backward and check every input's gradient


CASES = []
NAMESPACES = {"gk": gk, "F": F, "Tensor": gk.Tensor, "linalg": gk.linalg}


def _resolve(key):
    ns, name = key.split(".", 1)
    return NAMESPACES[ns].__dict__[name] if ns == "Tensor" else getattr(NAMESPACES[ns], name)


_NOT_FOR_METHODS = set()  # ids of the cases that Tensor methods don't reuse (see op)


def op(key, build, variant=None, out=F32, grad=True, method=True):
    """Add a case. ``method=False``: the build doesn't pass a tensor as the first argument, so it
    is not reused for the Tensor method of the same name."""
    _resolve(key)  # a typo fails at import
    CASES.append(Case(key + (f"[{variant}]" if variant else ""), key, build, out, grad))
    if not method:
        _NOT_FOR_METHODS.add(CASES[-1].id)


def unary(key, shape=(3, 4), low=-2.0, high=2.0, variant=None, **kw):
    op(key, lambda f, r: f(r.x(*shape, low=low, high=high), **kw), variant)


def nograd(key, build, out, variant=None):
    op(key, build, variant, out=out, grad=False)


# --- elementwise: arithmetic ----------------------------------------------------------------------
for name in ["add", "sub", "mul"]:
    op(f"gk.{name}", lambda f, r: f(r.x(3, 4), r.x(3, 4)))
    op(f"gk.{name}", lambda f, r: f(r.x(2, 3, 4), r.x(4)), "broadcast")
    op(f"gk.{name}", lambda f, r: f(r.x(3, 4), 2.5), "python_scalar")
    op(f"gk.{name}", lambda f, r: f(r.x(3, 4), 3), "python_int")
op("gk.div", lambda f, r: f(r.x(3, 4), r.x(3, 4, low=0.5)))
op("gk.div", lambda f, r: f(r.x(2, 3, 4), r.x(3, 1, low=0.5)), "broadcast")
op("gk.div", lambda f, r: f(r.x(3, 4), 3), "python_int")
op("gk.div", lambda f, r: f(2.0, r.x(3, 4, low=0.5)), "scalar_over_tensor", method=False)
op("gk.pow", lambda f, r: f(r.x(3, 4), 2), "int_exponent")
op("gk.pow", lambda f, r: f(r.x(3, 4, low=0.5), 0.5), "float_exponent")
op("gk.pow", lambda f, r: f(r.x(3, 4, low=0.5), r.x(3, 4)), "tensor_exponent")
op("gk.pow", lambda f, r: f(r.x(3, 4, low=0.0, high=0.0), r.x(4, low=0.5)), "zero_base")
op("gk.pow", lambda f, r: f(2.0, r.x(3, 4)), "scalar_base", method=False)
unary("gk.neg")
unary("gk.square")
# --- exp / log / trigonometric --------------------------------------------------------------------
unary("gk.exp")
unary("gk.log", low=0.5)
unary("gk.log1p", low=-0.5)
unary("gk.expm1")
unary("gk.sqrt", low=0.5)
unary("gk.rsqrt", low=0.5)
unary("gk.sin")
unary("gk.cos")
unary("gk.tanh")
# --- activations (ops/activation.py) --------------------------------------------------------------
unary("gk.sigmoid", low=-30.0, high=30.0)  # both branches of the overflow-free formula
unary("gk.relu")
unary("gk.leaky_relu")
unary("gk.leaky_relu", variant="slope", negative_slope=0.2)
unary("gk.elu")
unary("gk.elu", variant="alpha", alpha=0.5)
unary("gk.erf", low=-5.0, high=5.0)
unary("gk.gelu", low=-5.0, high=5.0)
unary("gk.gelu", low=-5.0, high=5.0, variant="tanh", approximate="tanh")
unary("gk.silu")
unary("gk.softplus", low=-30.0, high=30.0)  # both the log1p branch and the linear one
unary("gk.softplus", variant="beta", beta=2.0, threshold=5.0)
op("gk.dropout", lambda f, r: f(r.x(4, 5), 0.5))
op("gk.dropout", lambda f, r: f(r.x(4, 5), 0.5, training=False), "eval")
op("gk.dropout", lambda f, r: f(r.x(4, 5), 0.0), "p0")
# --- piecewise ------------------------------------------------------------------------------------
unary("gk.abs")
op("gk.clamp", lambda f, r: f(r.x(3, 4), -0.5, 0.5))
op("gk.clamp", lambda f, r: f(r.x(3, 4), min=0.0), "min_only")
op("gk.clamp", lambda f, r: f(r.x(3, 4), max=0.0), "max_only")
for name in ["maximum", "minimum"]:
    op(f"gk.{name}", lambda f, r: f(r.x(3, 4), r.x(4)))
    op(f"gk.{name}", lambda f, r: f(r.x(3, 4), 0.5), "python_scalar")
    # ties: the gradient is split in half between the inputs
    op(f"gk.{name}", lambda f, r: f(r.x(3, 4, low=1.0, high=1.0), r.x(3, 4, low=1.0, high=1.0)),
       "ties")
op("gk.where", lambda f, r: f(r.mask(3, 4), r.x(3, 4), r.x(4)), method=False)
op("gk.where", lambda f, r: f(r.mask(3, 4), r.x(3, 4), 0.0), "python_scalar", method=False)
op("gk.where", lambda f, r: f(r.mask(3, 4), 1.0, 0.0), "two_scalars", grad=False, method=False)
nograd("gk.where", lambda f, r: f(r.x(3, 4) > 0), I64, "indices")
op("gk.cast", lambda f, r: f(r.x(3, 4), F32), "float32")
op("gk.cast", lambda f, r: f(r.x(3, 4), F64), "float64", out=F64)
op("gk.cast", lambda f, r: f(r.x(3, 4), F16), "float16", out=F16)
op("gk.cast", lambda f, r: f(r.x(3, 4), I64), "int64", out=I64, grad=False)
# --- without gradient: documented result dtypes ---------------------------------------------------
for name in ["eq", "ne", "lt", "le", "gt", "ge"]:
    nograd(f"gk.{name}", lambda f, r: f(r.x(3, 4), r.x(4)), BOOL)
    nograd(f"gk.{name}", lambda f, r: f(r.x(3, 4), 0.5), BOOL, "python_scalar")
for name in ["logical_and", "logical_or", "logical_xor"]:
    nograd(f"gk.{name}", lambda f, r: f(r.x(3, 4), r.mask(3, 4)), BOOL)
for name in ["logical_not", "isnan", "isinf", "isfinite"]:
    nograd(f"gk.{name}", lambda f, r: f(r.x(3, 4)), BOOL)
for name in ["floor", "ceil", "round", "trunc", "sign"]:  # piecewise constant: no gradient
    nograd(f"gk.{name}", lambda f, r: f(r.x(3, 4)), F32)
for name in ["floor_divide", "remainder"]:
    nograd(f"gk.{name}", lambda f, r: f(r.x(3, 4), r.x(4, low=0.5)), F32)
    nograd(f"gk.{name}", lambda f, r: f(r.x(3, 4), 2), F32, "python_int")
# --- reductions -----------------------------------------------------------------------------------
for name in ["sum", "mean"]:
    unary(f"gk.{name}")
    unary(f"gk.{name}", variant="dim", dim=1)
    unary(f"gk.{name}", (2, 3, 4), variant="dims_keepdim", dim=(0, 2), keepdim=True)
for name in ["var", "std"]:
    unary(f"gk.{name}", low=0.5)
    unary(f"gk.{name}", variant="dim", dim=1)
    unary(f"gk.{name}", variant="correction0_keepdim", dim=0, correction=0, keepdim=True)
    unary(f"gk.{name}", variant="unbiased_false", dim=1, unbiased=False)
unary("gk.prod", low=0.5)
unary("gk.prod", variant="dim", dim=1)
op("gk.prod", lambda f, r: f(r.x(3, 4) * gk.tensor(np.eye(3, 4, dtype=np.float32)), dim=1),
   "zeros")  # the exclusive-product path for inputs with zeros
op("gk.prod", lambda f, r: f(r.x(3, 4) * gk.tensor(np.eye(3, 4, dtype=np.float32))), "zeros_all")
unary("gk.cumsum", dim=1)
unary("gk.cumsum", (2, 3, 4), variant="dim0", dim=0)
for name in ["amax", "amin"]:
    unary(f"gk.{name}")
    unary(f"gk.{name}", variant="dim", dim=1)
    op(f"gk.{name}", lambda f, r: f(r.x(3, 4, low=1.0, high=1.0), dim=1), "ties")
for name in ["max", "min"]:
    unary(f"gk.{name}")
    op(f"gk.{name}", lambda f, r: f(r.x(3, 4, low=1.0, high=1.0)), "ties")
    op(f"gk.{name}", lambda f, r: f(r.x(3, 4), dim=1), "dim", out=(F32, I64))
    op(f"gk.{name}", lambda f, r: f(r.x(3, 4), 0, keepdim=True), "dim_keepdim", out=(F32, I64))
for name in ["argmax", "argmin"]:
    nograd(f"gk.{name}", lambda f, r: f(r.x(3, 4)), I64)
    nograd(f"gk.{name}", lambda f, r: f(r.x(3, 4), dim=1), I64, "dim")
for name in ["all", "any"]:
    nograd(f"gk.{name}", lambda f, r: f(r.x(3, 4)), BOOL)
    nograd(f"gk.{name}", lambda f, r: f(r.x(3, 4), dim=1), BOOL, "dim")
unary("gk.logsumexp", dim=1)
unary("gk.logsumexp", (2, 3, 4), low=-50.0, high=50.0, variant="dims", dim=(1, 2), keepdim=True)
for name in ["softmax", "log_softmax"]:
    unary(f"gk.{name}", low=-30.0, high=30.0, dim=1)
    unary(f"gk.{name}", (2, 3, 4), variant="dim0", dim=0)
for p in [2, 1, 3, 0.5, math.inf, -math.inf, "fro"]:
    op("gk.norm", lambda f, r, p=p: f(r.x(3, 4), p), f"p{p}")
op("gk.norm", lambda f, r: f(r.x(3, 4), 2, dim=1, keepdim=True), "p2_dim")
op("gk.norm", lambda f, r: f(r.x(3, 4), 3, dim=0), "p3_dim")
# --- shape ----------------------------------------------------------------------------------------
op("gk.reshape", lambda f, r: f(r.x(3, 4), 2, 6))
op("gk.reshape", lambda f, r: f(r.x(3, 4), (-1,)), "tuple")
op("gk.view", lambda f, r: f(r.x(3, 4), 4, 3))
unary("gk.flatten", (2, 3, 4))
unary("gk.flatten", (2, 3, 4), variant="start_dim", start_dim=1)
op("gk.squeeze", lambda f, r: f(r.x(3, 1, 4)))
op("gk.squeeze", lambda f, r: f(r.x(3, 1, 4), 1), "dim")
op("gk.unsqueeze", lambda f, r: f(r.x(3, 4), 1))
op("gk.permute", lambda f, r: f(r.x(2, 3, 4), 2, 0, 1))
op("gk.transpose", lambda f, r: f(r.x(2, 3, 4), 0, 2))
op("gk.swapaxes", lambda f, r: f(r.x(2, 3, 4), 0, 2))
op("gk.broadcast_to", lambda f, r: f(r.x(3, 1), (2, 3, 4)))
op("gk.expand", lambda f, r: f(r.x(3, 1), 2, 3, 4))
op("gk.expand", lambda f, r: f(r.x(3, 1), -1, 4), "minus_one")
op("gk.sum_to_shape", lambda f, r: f(r.x(2, 3, 4), (3, 1)))
op("gk.flip", lambda f, r: f(r.x(3, 4), 1))
op("gk.flip", lambda f, r: f(r.x(3, 4), (0, 1)), "dims")
op("gk.repeat", lambda f, r: f(r.x(3, 4), 2, 1))
op("gk.repeat", lambda f, r: f(r.x(3, 4), 2, 1, 3), "new_dim")
op("gk.tile", lambda f, r: f(r.x(3, 4), (2, 2)))
op("gk.cat", lambda f, r: f([r.x(2, 4), r.x(3, 4)]), method=False)
op("gk.cat", lambda f, r: f([r.x(3, 2), r.x(3, 4)], dim=1), "dim1", method=False)
op("gk.stack", lambda f, r: f([r.x(3, 4), r.x(3, 4)]), method=False)
op("gk.stack", lambda f, r: f([r.x(3, 4), r.x(3, 4)], dim=2), "dim2", method=False)
op("gk.tril", lambda f, r: f(r.x(3, 4)))
op("gk.triu", lambda f, r: f(r.x(2, 3, 4), 1), "batched")
op("gk.argsort", lambda f, r: f(r.x(3, 4), 1), out=I64, grad=False)
# --- indexing -------------------------------------------------------------------------------------
op("gk.getitem", lambda f, r: f(r.x(3, 4), (slice(1, None), 2)), "basic")
op("gk.getitem", lambda f, r: f(r.x(3, 4), (None, Ellipsis, slice(None, None, 2))), "none_ellipsis")
op("gk.getitem", lambda f, r: f(r.x(3, 4), gk.tensor([0, 2, 0])), "int_array_repeats")
op("gk.getitem", lambda f, r: f(r.x(3, 4), r.mask(3, 4)), "bool_mask")
op("gk.getitem", lambda f, r: f(r.x(3, 4), 1), "int")
op("gk.narrow", lambda f, r: f(r.x(3, 4), 1, 1, 2))
op("gk.split", lambda f, r: f(r.x(5, 4), 2))
op("gk.split", lambda f, r: f(r.x(3, 5), [2, 3], dim=1), "sections")
op("gk.chunk", lambda f, r: f(r.x(5, 4), 2))
op("gk.unbind", lambda f, r: f(r.x(3, 4), 1))
op("gk.gather", lambda f, r: f(r.x(3, 4), 1, r.idx(4, 3, 5)))
op("gk.scatter_add", lambda f, r: f(r.x(3, 4), 1, r.idx(4, 3, 5), r.x(3, 5)))
op("gk.index_select", lambda f, r: f(r.x(3, 4), 1, gk.tensor([3, 0, 3])))
op("gk.take_along_dim", lambda f, r: f(r.x(3, 4), r.idx(4, 3, 2), 1))
op("gk.masked_fill", lambda f, r: f(r.x(3, 4), r.mask(3, 4), -1e9))
op("gk.masked_fill", lambda f, r: f(r.x(3, 4), r.mask(4), 0), "broadcast_int")
for mode in ["constant", "reflect", "replicate", "circular"]:
    op("gk.pad", lambda f, r, mode=mode: f(r.x(2, 3, 4), (1, 2, 2, 1), mode=mode), mode)
op("gk.pad", lambda f, r: f(r.x(2, 3, 4), (1, 1), value=0.5), "constant_value")
op("gk.pad", lambda f, r: f(r.x(2, 3, 4), (-1, 2)), "negative_crop")
nograd("gk.one_hot", lambda f, r: f(r.idx(4, 5), 4), I64)
# --- linear algebra -------------------------------------------------------------------------------
op("gk.matmul", lambda f, r: f(r.x(3, 4), r.x(4, 2)), "2d")
op("gk.matmul", lambda f, r: f(r.x(2, 3, 4), r.x(4, 5)), "batch_by_matrix")
op("gk.matmul", lambda f, r: f(r.x(2, 1, 3, 4), r.x(3, 4, 2)), "broadcast_batch")
op("gk.matmul", lambda f, r: f(r.x(4), r.x(4, 2)), "vector_matrix")
op("gk.matmul", lambda f, r: f(r.x(3, 4), r.x(4)), "matrix_vector")
op("gk.matmul", lambda f, r: f(r.x(4), r.x(4)), "vector_vector")
op("gk.mm", lambda f, r: f(r.x(3, 4), r.x(4, 2)))
op("gk.bmm", lambda f, r: f(r.x(2, 3, 4), r.x(2, 4, 5)))
op("gk.dot", lambda f, r: f(r.x(4), r.x(4)))
op("gk.outer", lambda f, r: f(r.x(3), r.x(4)))
# svd: LAPACK's sgesdd for float32; every output float32, and the backward (through U, S and Vh)
op("gk.svd", lambda f, r: f(r.x(4, 3)))
op("gk.svd", lambda f, r: f(r.x(2, 3, 4), some=False), "full_batched")
op("gk.svd", lambda f, r: f(r.x(3, 4), compute_uv=False), "compute_uv_false")
op("linalg.svd", lambda f, r: f(r.x(4, 3), full_matrices=False), "reduced")
op("linalg.svd", lambda f, r: f(r.x(2, 3, 4)), "full_batched")
op("linalg.svdvals", lambda f, r: f(r.x(2, 4, 3)))
# --- copies and writes (ops/inplace.py) -----------------------------------------------------------
unary("gk.clone")
op("gk.inplace", lambda f, r: f(r.x(3, 4).clone(), gk.add, r.x(4), name="add_"))


def _setitem(f, r, index, value):
    y = r.x(3, 4).clone()
    f(y, index, value)
    return y


op("gk.setitem", lambda f, r: _setitem(f, r, (slice(0, 2),), r.x(4)), "tensor")
op("gk.setitem", lambda f, r: _setitem(f, r, (1, 2), 0.5), "python_scalar")
op("gk.setitem", lambda f, r: _setitem(f, r, gk.tensor([0, 0]), r.x(4)), "int_array")
op("gk.setitem", lambda f, r: _setitem(f, r, r.mask(3, 4), 0.0), "bool_mask")

# --- nn.functional --------------------------------------------------------------------------------
unary("F.relu6", low=-8.0, high=8.0)
unary("F.hardtanh")
unary("F.hardtanh", variant="range", min_val=-0.5, max_val=1.5)
unary("F.logsigmoid", low=-30.0, high=30.0)
unary("F.softsign")
unary("F.normalize")
unary("F.normalize", variant="p1_dim0", p=1.0, dim=0)
op("F.cosine_similarity", lambda f, r: f(r.x(3, 4), r.x(3, 4)))
op("F.cosine_similarity", lambda f, r: f(r.x(3, 4), r.x(4), dim=-1), "broadcast")
op("F.linear", lambda f, r: f(r.x(2, 4), r.x(3, 4), r.x(3)))
op("F.linear", lambda f, r: f(r.x(2, 5, 4), r.x(3, 4)), "batched_no_bias")
op("F.bilinear", lambda f, r: f(r.x(2, 3), r.x(2, 4), r.x(5, 3, 4), r.x(5)))
op("F.conv1d", lambda f, r: f(r.x(2, 3, 9), r.x(4, 3, 3), r.x(4)))
op("F.conv1d", lambda f, r: f(r.x(2, 4, 9), r.x(4, 2, 3), None, stride=2, padding=1, dilation=2,
                               groups=2), "stride_pad_dilation_groups")
op("F.conv2d", lambda f, r: f(r.x(2, 3, 6, 6), r.x(4, 3, 3, 3), r.x(4)))
op("F.conv2d", lambda f, r: f(r.x(2, 4, 7, 6), r.x(4, 2, 3, 2), r.x(4), stride=(2, 1),
                               padding=1, dilation=(1, 2), groups=2), "stride_pad_dilation_groups")
op("F.conv2d", lambda f, r: f(r.x(3, 6, 6), r.x(4, 3, 1, 1)), "unbatched_1x1")
op("F.conv_transpose1d", lambda f, r: f(r.x(2, 3, 5), r.x(3, 4, 3), r.x(4)))
op("F.conv_transpose1d", lambda f, r: f(r.x(2, 4, 5), r.x(4, 2, 3), r.x(4), stride=2, padding=1,
                                         output_padding=1, groups=2, dilation=1), "stride_groups")
op("F.conv_transpose2d", lambda f, r: f(r.x(2, 3, 4, 4), r.x(3, 2, 3, 3), r.x(2)))
op("F.conv_transpose2d", lambda f, r: f(r.x(2, 4, 4, 3), r.x(4, 1, 3, 2), None, stride=2,
                                         padding=1, output_padding=1, groups=2, dilation=(1, 2)),
   "stride_groups_dilation")
for k in ["1d", "2d"]:
    shape = (2, 3, 7) if k == "1d" else (2, 3, 7, 6)
    op(f"F.max_pool{k}", lambda f, r, s=shape: f(r.x(*s), 2))
    op(f"F.max_pool{k}", lambda f, r, s=shape: f(r.x(*s), 3, stride=2, padding=1, dilation=1,
                                                   ceil_mode=True), "pad_ceil")
    op(f"F.max_pool{k}", lambda f, r, s=shape: f(r.x(*s), 2, dilation=2), "dilation")
    op(f"F.max_pool{k}", lambda f, r, s=shape: f(r.x(*s), 2, return_indices=True),
       "return_indices", out=(F32, I64))
    op(f"F.avg_pool{k}", lambda f, r, s=shape: f(r.x(*s), 2))
    op(f"F.avg_pool{k}", lambda f, r, s=shape: f(r.x(*s), 3, stride=2, padding=1, ceil_mode=True,
                                                   count_include_pad=False), "pad_ceil_exclude")
    op(f"F.adaptive_avg_pool{k}", lambda f, r, s=shape: f(r.x(*s), 3))
    op(f"F.adaptive_max_pool{k}", lambda f, r, s=shape: f(r.x(*s), 3))
    op(f"F.adaptive_max_pool{k}", lambda f, r, s=shape: f(r.x(*s), 3, return_indices=True),
       "return_indices", out=(F32, I64))
op("F.avg_pool2d", lambda f, r: f(r.x(2, 3, 6, 6), 2, divisor_override=3), "divisor_override")
op("F.adaptive_avg_pool2d", lambda f, r: f(r.x(2, 3, 7, 5), (2, None)), "none_size")
op("F.max_pool1d", lambda f, r: f(r.x(3, 7), 2), "unbatched")
op("F.avg_pool2d", lambda f, r: f(r.x(3, 5, 5), 2), "unbatched")
op("F.adaptive_avg_pool1d", lambda f, r: f(r.x(3, 7), 2), "unbatched")
op("F.adaptive_max_pool2d", lambda f, r: f(r.x(3, 5, 5), 2), "unbatched")
op("F.conv1d", lambda f, r: f(r.x(3, 9), r.x(4, 3, 3), r.x(4), padding="same"), "unbatched_same")


def _batch_norm(f, r, training, affine=True):
    rm, rv = r.c(3), r.c(3, low=0.5)
    y = f(r.x(4, 3, 5), rm, rv, r.x(3) if affine else None, r.x(3) if affine else None,
          training=training)
    assert rm.dtype == rv.dtype == F32, "running statistics left float32"
    return y


op("F.batch_norm", lambda f, r: _batch_norm(f, r, True), "train")
op("F.batch_norm", lambda f, r: _batch_norm(f, r, False), "eval")
op("F.batch_norm", lambda f, r: _batch_norm(f, r, True, affine=False), "train_no_affine")
op("F.batch_norm", lambda f, r: f(r.x(4, 3), None, None, training=True), "no_running_stats")
op("F.layer_norm", lambda f, r: f(r.x(2, 3, 4), (4,), r.x(4), r.x(4)))
op("F.layer_norm", lambda f, r: f(r.x(2, 3, 4), (3, 4)), "no_affine_2d")
op("F.rms_norm", lambda f, r: f(r.x(2, 3, 4), (4,), r.x(4)))
op("F.rms_norm", lambda f, r: f(r.x(2, 3, 4), (3, 4), eps=1e-6), "no_weight_eps")
op("F.group_norm", lambda f, r: f(r.x(2, 4, 5), 2, r.x(4), r.x(4)))
op("F.group_norm", lambda f, r: f(r.x(2, 4, 3, 3), 4), "no_affine_2d")
op("F.instance_norm", lambda f, r: f(r.x(2, 3, 5), weight=r.x(3), bias=r.x(3)))


def _instance_norm_running(f, r):
    rm, rv = r.c(3), r.c(3, low=0.5)
    y = f(r.x(2, 3, 4, 4), rm, rv)
    assert rm.dtype == rv.dtype == F32, "running statistics left float32"
    return y


op("F.instance_norm", _instance_norm_running, "running_stats_2d")
op("F.embedding", lambda f, r: f(r.idx(5, 2, 3), r.x(5, 4)), method=False)
op("F.embedding", lambda f, r: f(r.idx(5, 2, 3), r.x(5, 4), padding_idx=0), "padding_idx",
   method=False)
op("F.embedding", lambda f, r: f(r.idx(5, 2, 3), r.x(5, 4), max_norm=1.0), "max_norm",
   method=False)
op("F.embedding", lambda f, r: f(gk.tensor([[0, 0, 1]]), r.x(5, 4), scale_grad_by_freq=True),
   "scale_grad_by_freq", method=False)
op("F.scaled_dot_product_attention", lambda f, r: f(r.x(2, 3, 4), r.x(2, 5, 4), r.x(2, 5, 6)))
op("F.scaled_dot_product_attention",
   lambda f, r: f(r.x(2, 2, 3, 4), r.x(2, 2, 5, 4), r.x(2, 2, 5, 4), attn_mask=r.mask(3, 5) | True),
   "bool_mask")
op("F.scaled_dot_product_attention",
   lambda f, r: f(r.x(2, 3, 4), r.x(2, 5, 4), r.x(2, 5, 4), attn_mask=r.c(3, 5)), "float_mask")
op("F.scaled_dot_product_attention",
   lambda f, r: f(r.x(2, 4, 4), r.x(2, 4, 4), r.x(2, 4, 4), is_causal=True, scale=0.3),
   "causal_scale")
op("F.scaled_dot_product_attention",
   lambda f, r: f(r.x(2, 4, 4), r.x(2, 4, 4), r.x(2, 4, 4), dropout_p=0.5), "dropout")
op("F.scaled_dot_product_attention",
   lambda f, r: f(r.x(2, 4, 3, 4), r.x(2, 2, 5, 4), r.x(2, 2, 5, 4), enable_gqa=True), "gqa")
op("F.apply_rotary_pos_emb", lambda f, r: f(r.x(2, 3, 5, 4), r.c(5, 4), r.c(5, 4)),
   method=False)


def _mha(f, r, **kw):
    e, h = 4, 2
    q, k, v = r.x(3, 2, e), r.x(5, 2, e), r.x(5, 2, e)
    return f(q, k, v, e, h, r.x(3 * e, e), r.x(3 * e), None, None, False, 0.0, r.x(e, e), r.x(e),
             **kw)


op("F.multi_head_attention_forward", lambda f, r: _mha(f, r), out=(F32, F32))
op("F.multi_head_attention_forward",
   lambda f, r: _mha(f, r, key_padding_mask=gk.tensor([[False] * 4 + [True]] * 2),
                     attn_mask=r.c(3, 5), average_attn_weights=False),
   "masks_per_head_weights", out=(F32, F32))
op("F.multi_head_attention_forward", lambda f, r: _mha(f, r, need_weights=False), "no_weights")


# --- losses (nn.functional) -----------------------------------------------------------------------
def loss(key, build, variant=None, reductions=("mean", "sum", "none")):
    """A loss case per reduction."""
    for red in reductions:
        op(key, lambda f, r, red=red: build(f, r, red), f"{variant}-{red}" if variant else red,
           method=False)


loss("F.mse_loss", lambda f, r, red: f(r.x(3, 4), r.x(3, 4), reduction=red))
loss("F.l1_loss", lambda f, r, red: f(r.x(3, 4), r.x(3, 4), reduction=red))
loss("F.huber_loss", lambda f, r, red: f(r.x(3, 4), r.x(3, 4), reduction=red, delta=0.5))
loss("F.smooth_l1_loss", lambda f, r, red: f(r.x(3, 4), r.x(3, 4), reduction=red, beta=0.5))
loss("F.cross_entropy", lambda f, r, red: f(r.x(4, 5), r.idx(5, 4), reduction=red))
# class-probability targets are differentiated too (as PyTorch): their gradient is checked
loss("F.cross_entropy", lambda f, r, red: f(r.x(4, 5), r.x(4, 5, low=0.0, high=1.0).softmax(1),
                                            reduction=red), "probabilities")
loss("F.cross_entropy",
     lambda f, r, red: f(r.x(4, 5), gk.tensor([0, 1, -100, 4]), weight=r.c(5, low=0.5),
                         ignore_index=-100, reduction=red), "weight_ignore_index")
loss("F.cross_entropy", lambda f, r, red: f(r.x(4, 5), gk.tensor([0, -100, 1, 4]), reduction=red),
     "ignore_index")
loss("F.cross_entropy", lambda f, r, red: f(r.x(4, 5, 3), r.idx(5, 4, 3), label_smoothing=0.1,
                                            reduction=red), "kdim_label_smoothing")
loss("F.cross_entropy",
     lambda f, r, red: f(r.x(4, 5), r.x(4, 5, low=0.0, high=1.0).softmax(1),
                         weight=r.c(5, low=0.5), label_smoothing=0.2, reduction=red),
     "probabilities_weight_smoothing")
loss("F.cross_entropy", lambda f, r, red: f(r.x(5), gk.tensor(2), reduction=red), "unbatched")
loss("F.nll_loss", lambda f, r, red: f(r.x(4, 5).log_softmax(1), r.idx(5, 4), reduction=red))
loss("F.nll_loss",
     lambda f, r, red: f(r.x(4, 5, 3), gk.tensor([[0, 1, 2], [3, 4, 1], [1, 1, 1], [2, 2, 0]]),
                         weight=r.c(5, low=0.5), ignore_index=1, reduction=red),
     "kdim_weight_ignore_index")
loss("F.binary_cross_entropy",
     lambda f, r, red: f(r.x(3, 4, low=0.05, high=0.95), r.x(3, 4, low=0.0, high=1.0),
                         reduction=red))
loss("F.binary_cross_entropy",
     lambda f, r, red: f(r.x(3, 4, low=0.05, high=0.95), r.c(3, 4, low=0.0, high=1.0),
                         weight=r.c(4, low=0.5), reduction=red), "weight")
loss("F.binary_cross_entropy_with_logits",
     lambda f, r, red: f(r.x(3, 4, low=-30.0, high=30.0), r.x(3, 4, low=0.0, high=1.0),
                         reduction=red))
loss("F.binary_cross_entropy_with_logits",
     lambda f, r, red: f(r.x(3, 4), r.c(3, 4, low=0.0, high=1.0), weight=r.c(3, 1, low=0.5),
                         pos_weight=r.c(4, low=0.5), reduction=red), "weight_pos_weight")
loss("F.kl_div", lambda f, r, red: f(r.x(3, 4).log_softmax(1), r.x(3, 4, low=0.0, high=1.0),
                                     reduction=red))
loss("F.kl_div", lambda f, r, red: f(r.x(3, 4).log_softmax(1), r.x(3, 4).log_softmax(1),
                                     reduction=red, log_target=True), "log_target")
op("F.kl_div", lambda f, r: f(r.x(3, 4).log_softmax(1), r.x(3, 4, low=0.0, high=1.0),
                              reduction="batchmean"), "batchmean", method=False)
loss("F.cosine_embedding_loss",
     lambda f, r, red: f(r.x(4, 3), r.x(4, 3), gk.tensor([1, -1, 1, -1]), margin=0.2,
                         reduction=red))


# --- Tensor methods and operators -----------------------------------------------------------------
def _clone_inplace(name, *args):
    """An in-place method on a non-leaf copy (a leaf that requires grad refuses in-place ops)."""
    def build(f, r):
        y = r.x(3, 4).clone()
        out = f(y, *[a(r) if callable(a) else a for a in args])
        assert out is y
        return y
    return build


for name, args in [("add_", [lambda r: r.x(4)]), ("sub_", [lambda r: r.x(3, 4)]),
                   ("mul_", [lambda r: r.x(4)]), ("div_", [lambda r: r.x(3, 4, low=0.5)]),
                   ("pow_", [2]), ("clamp_", [-0.5, 0.5]),
                   ("masked_fill_", [lambda r: r.mask(3, 4), 0.0]),
                   ("copy_", [lambda r: r.x(3, 4)]), ("fill_", [0.5]), ("zero_", [])]:
    op(f"Tensor.{name}", _clone_inplace(name, *args))
    if name in ("add_", "sub_", "mul_", "div_"):
        op(f"Tensor.{name}", _clone_inplace(name, 2.5), "python_scalar")
op("Tensor.add_", _clone_inplace("add_", lambda r: r.x(4), 0.5), "alpha")
op("Tensor.add", lambda f, r: f(r.x(3, 4), r.x(4), alpha=0.5), "alpha")
op("Tensor.sub", lambda f, r: f(r.x(3, 4), r.x(4), alpha=2), "alpha")
for name, out in [("float", F32), ("double", F64), ("half", F16)]:
    op(f"Tensor.{name}", lambda f, r: f(r.x(3, 4)), out=out)
for name, out in [("long", I64), ("int", gk.int32), ("bool", BOOL)]:
    nograd(f"Tensor.{name}", lambda f, r: f(r.x(3, 4)), out)
op("Tensor.to", lambda f, r: f(r.x(3, 4), F32), "float32")
op("Tensor.to", lambda f, r: f(r.x(3, 4), "cpu"), "cpu")
op("Tensor.to", lambda f, r: f(r.x(3, 4), dtype=F64), "float64", out=F64)
op("Tensor.type", lambda f, r: f(r.x(3, 4), F32), "float32")
op("Tensor.type_as", lambda f, r: f(r.x(3, 4), r.c(2)))
op("Tensor.type_as", lambda f, r: f(r.x(3, 4), gk.zeros(2, dtype=F64)), "float64", out=F64)
unary("Tensor.cpu")
unary("Tensor.contiguous")
nograd("Tensor.detach", lambda f, r: f(r.x(3, 4)), F32)
unary("Tensor.reciprocal", low=0.5)
unary("Tensor.t")
op("Tensor.T", lambda f, r: r.x(3, 4).T)
op("Tensor.mT", lambda f, r: r.x(2, 3, 4).mT)
op("Tensor.expand_as", lambda f, r: f(r.x(3, 1), r.c(2, 3, 4)))
op("Tensor.reshape_as", lambda f, r: f(r.x(3, 4), r.c(2, 6)))
op("Tensor.view_as", lambda f, r: f(r.x(3, 4), r.c(12)))
op("Tensor.softmax", lambda f, r: f(r.x(3, 4)), "default_dim")
op("Tensor.log_softmax", lambda f, r: f(r.x(3, 4)), "default_dim")
for name in ["__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__"]:
    op(f"Tensor.{name}", lambda f, r: f(r.x(3, 4), r.x(4)))
    op(f"Tensor.{name}", lambda f, r: f(r.x(3, 4), 2.5), "python_scalar")
op("Tensor.__rtruediv__", lambda f, r: f(r.x(3, 4, low=0.5), 2.5), "python_scalar")
op("Tensor.__pow__", lambda f, r: f(r.x(3, 4), 3))
op("Tensor.__pow__", lambda f, r: f(r.x(3, 4, low=0.5), r.x(4)), "tensor")
op("Tensor.__rpow__", lambda f, r: f(r.x(3, 4), 2.0))
unary("Tensor.__neg__")
unary("Tensor.__pos__")
unary("Tensor.__abs__")
op("Tensor.__matmul__", lambda f, r: f(r.x(3, 4), r.x(4, 2)))
op("Tensor.__rmatmul__", lambda f, r: f(r.x(4, 2), r.c(3, 4).array), "ndarray_left")
nograd("Tensor.__floordiv__", lambda f, r: f(r.x(3, 4), 2.0), F32)
nograd("Tensor.__rfloordiv__", lambda f, r: f(r.x(3, 4, low=0.5), 2.0), F32)
nograd("Tensor.__mod__", lambda f, r: f(r.x(3, 4), 2.0), F32)
for name in ["__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"]:
    nograd(f"Tensor.{name}", lambda f, r: f(r.x(3, 4), 0.5), BOOL)
nograd("Tensor.__invert__", lambda f, r: f(r.mask(3, 4)), BOOL)
for name in ["__and__", "__or__", "__xor__"]:
    nograd(f"Tensor.{name}", lambda f, r: f(r.mask(3, 4), r.mask(3, 4)), BOOL)
for name in ["__iadd__", "__isub__", "__imul__", "__itruediv__"]:
    op(f"Tensor.{name}", lambda f, r: f(r.x(3, 4).clone(), r.x(4, low=0.5)))
    op(f"Tensor.{name}", lambda f, r: f(r.x(3, 4).clone(), 2.5), "python_scalar")
op("Tensor.__getitem__", lambda f, r: f(r.x(3, 4), (slice(None), gk.tensor([1, 1]))))
op("Tensor.__setitem__", lambda f, r: _setitem(f, r, (slice(None), 1), r.x(3)))
op("Tensor.__iter__", lambda f, r: list(f(r.x(3, 4))))

# Tensor methods that share a gk op's name and argument order (x first) also run that op's cases.
for _name in [n for n, v in vars(gk.Tensor).items() if not n.startswith("_") and callable(v)]:
    for _c in [c for c in CASES if c.key == f"gk.{_name}" and c.id not in _NOT_FOR_METHODS]:
        CASES.append(_c._replace(id="Tensor." + _c.id[3:], key=f"Tensor.{_name}"))

# --- the API-coverage pass (tests/compat/test_api_coverage_*.py compares them with PyTorch) ------
op("gk.einsum", lambda f, r: f("ij,jk->ik", r.x(3, 4), r.x(4, 2)), method=False)
op("gk.roll", lambda f, r: f(r.x(3, 4), 1, 1))
op("gk.meshgrid", lambda f, r: f(r.x(3), r.x(4)), out=(F32, F32), method=False)
op("gk.repeat_interleave", lambda f, r: f(r.x(3, 4), 2, 1))
op("gk.nan_to_num", lambda f, r: f(r.x(3, 4)))
op("gk.scatter", lambda f, r: f(r.x(3, 4), 1, gk.tensor([[0], [1], [2]]), r.x(3, 1)))
op("gk.index_add", lambda f, r: f(r.x(3, 4), 0, gk.tensor([0, 2]), r.x(2, 4)))
op("gk.masked_scatter", lambda f, r: f(r.x(3, 4), r.mask(3, 4), r.x(12)))
nograd("gk.nonzero", lambda f, r: f(r.x(3, 4) > 0), I64)
op("gk.unfold", lambda f, r: f(r.x(3, 5), 1, 2, 1))
nograd("gk.histc", lambda f, r: f(r.x(20), 5), F32)
op("Tensor.nan_to_num", lambda f, r: f(r.x(3, 4)))
op("Tensor.roll", lambda f, r: f(r.x(3, 4), 1, 1))
op("Tensor.repeat_interleave", lambda f, r: f(r.x(3, 4), 2, 1))
op("Tensor.unfold", lambda f, r: f(r.x(3, 5), 1, 2, 1))
op("Tensor.scatter", lambda f, r: f(r.x(3, 4), 1, gk.tensor([[0], [1], [2]]), r.x(3, 1)))
op("Tensor.index_add", lambda f, r: f(r.x(3, 4), 0, gk.tensor([0, 2]), r.x(2, 4)))
op("Tensor.masked_scatter", lambda f, r: f(r.x(3, 4), r.mask(3, 4), r.x(12)))
nograd("Tensor.nonzero", lambda f, r: f(r.x(3, 4) > 0), I64)
op("Tensor.clamp_min", lambda f, r: f(r.x(3, 4), 0.1))
op("Tensor.clamp_max", lambda f, r: f(r.x(3, 4), 0.1))
op("Tensor.unflatten", lambda f, r: f(r.x(3, 4), 1, (2, 2)))
for name, args in [("clamp_min_", [0.1]), ("clamp_max_", [0.1]), ("log_", []),
                   ("masked_scatter_", [lambda r: r.mask(3, 4), lambda r: r.x(12)]),
                   ("index_add_", [0, gk.tensor([0, 2]), lambda r: r.x(2, 4)]),
                   ("scatter_", [1, gk.tensor([[0], [1], [2]]), lambda r: r.x(3, 1)]),
                   ("scatter_add_", [1, gk.tensor([[0], [1], [2]]), lambda r: r.x(3, 1)])]:
    op(f"Tensor.{name}", _clone_inplace(name, *args))
op("F.conv3d", lambda f, r: f(r.x(1, 2, 3, 4, 4), r.x(3, 2, 2, 2, 2), r.x(3), padding=1))
op("F.glu", lambda f, r: f(r.x(2, 4)))
op("F.prelu", lambda f, r: f(r.x(2, 3, 4), r.x(3)))
op("F.dropout1d", lambda f, r: f(r.x(2, 3, 4), 0.5))
op("F.dropout2d", lambda f, r: f(r.x(2, 3, 4, 4), 0.5))
op("F.interpolate", lambda f, r: f(r.x(1, 2, 3, 3), scale_factor=2, mode="bilinear"))
op("F.upsample", lambda f, r: f(r.x(1, 2, 3), size=5, mode="nearest"))
op("F.grid_sample", lambda f, r: f(r.x(1, 2, 3, 3), r.x(1, 2, 2, 2, low=-1.0, high=1.0)))

_UNIQUE = {}
for _c in CASES:
    assert _c.id not in _UNIQUE, f"duplicate case id {_c.id}"
    _UNIQUE[_c.id] = _c


def _walk(case):
    r = Inputs()
    outs = _flat(case.build(_resolve(case.key), r))
    _check_outputs(outs, case.out, case.id)
    if case.grad:
        _backward(outs, case.id)
        _check_grads(r, case.id)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_op_keeps_float32(case, float64_made):
    _walk(case)
    if F64 not in (case.out if isinstance(case.out, tuple) else (case.out,)):
        _no_float64(float64_made, case.id)


# === creation: factories make float32 by default, ``*_like`` keep float32 =========================
CREATION = {
    "tensor": lambda: gk.tensor([[1.0, 2.0]]),
    "as_tensor": lambda: gk.as_tensor(np.ones(3, np.float32)),
    "from_numpy": lambda: gk.from_numpy(np.ones(3, np.float32)),
    "zeros": lambda: gk.zeros(2, 3),
    "ones": lambda: gk.ones((2, 3)),
    "empty": lambda: gk.empty(2, 3),
    "full": lambda: gk.full((2, 3), 1.5),
    "arange": lambda: gk.arange(0.0, 1.0, 0.25),
    "linspace": lambda: gk.linspace(0, 1, 5),
    "eye": lambda: gk.eye(3),
    "rand": lambda: gk.rand(2, 3),
    "randn": lambda: gk.randn(2, 3),
    "zeros_like": lambda: gk.zeros_like(gk.randn(2, 3)),
    "ones_like": lambda: gk.ones_like(gk.randn(2, 3)),
    "empty_like": lambda: gk.empty_like(gk.randn(2, 3)),
    "full_like": lambda: gk.full_like(gk.randn(2, 3), 0.5),
    "rand_like": lambda: gk.rand_like(gk.randn(2, 3)),
    "randn_like": lambda: gk.randn_like(gk.randn(2, 3)),
}
CREATION_INT = {  # documented integer results
    "randint": lambda: gk.randint(0, 5, (3,)),
    "randperm": lambda: gk.randperm(5),
}


@pytest.mark.parametrize("name", list(CREATION) + list(CREATION_INT))
def test_creation_dtype(name):
    t = (CREATION.get(name) or CREATION_INT[name])()
    assert t.dtype == (F32 if name in CREATION else I64), f"gk.{name} made {t.dtype}"


# === layers =======================================================================================
def _mha_kw(r):
    return {"key_padding_mask": gk.tensor([[False] * 4 + [True]] * 2), "attn_mask": r.c(3, 5)}


LAYERS = {
    # name: build(r) -> (module, args, kwargs); the case's variant after "-"
    "Identity": lambda r: (nn.Identity(), [r.x(2, 3)], {}),
    "Linear": lambda r: (nn.Linear(4, 3), [r.x(2, 4)], {}),
    "Linear-no_bias_3d": lambda r: (nn.Linear(4, 3, bias=False), [r.x(2, 5, 4)], {}),
    "Bilinear": lambda r: (nn.Bilinear(3, 4, 2), [r.x(2, 3), r.x(2, 4)], {}),
    "Flatten": lambda r: (nn.Flatten(), [r.x(2, 3, 4)], {}),
    "Conv3d": lambda r: (nn.Conv3d(2, 3, 2, padding=1), [r.x(1, 2, 3, 3, 3)], {}),
    "GLU": lambda r: (nn.GLU(), [r.x(2, 4)], {}),
    "PReLU": lambda r: (nn.PReLU(3), [r.x(2, 3, 4)], {}),
    "Dropout1d": lambda r: (nn.Dropout1d(0.5), [r.x(2, 3, 4)], {}),
    "Dropout2d": lambda r: (nn.Dropout2d(0.5), [r.x(2, 3, 4, 4)], {}),
    "Upsample": lambda r: (nn.Upsample(scale_factor=2, mode="bilinear"), [r.x(1, 2, 3, 3)], {}),
    "Unflatten": lambda r: (nn.Unflatten(1, (3, 4)), [r.x(2, 12)], {}),
    "Dropout": lambda r: (nn.Dropout(0.5), [r.x(4, 5)], {}),
    "Dropout-eval": lambda r: (nn.Dropout(0.5).eval(), [r.x(4, 5)], {}),
    "ReLU": lambda r: (nn.ReLU(), [r.x(3, 4)], {}),
    "LeakyReLU": lambda r: (nn.LeakyReLU(0.1), [r.x(3, 4)], {}),
    "ELU": lambda r: (nn.ELU(), [r.x(3, 4)], {}),
    "GELU": lambda r: (nn.GELU(), [r.x(3, 4)], {}),
    "GELU-tanh": lambda r: (nn.GELU("tanh"), [r.x(3, 4)], {}),
    "SiLU": lambda r: (nn.SiLU(), [r.x(3, 4)], {}),
    "Sigmoid": lambda r: (nn.Sigmoid(), [r.x(3, 4)], {}),
    "Tanh": lambda r: (nn.Tanh(), [r.x(3, 4)], {}),
    "Softplus": lambda r: (nn.Softplus(beta=2.0, threshold=3.0), [r.x(3, 4)], {}),
    "Softmax": lambda r: (nn.Softmax(dim=1), [r.x(3, 4)], {}),
    "LogSoftmax": lambda r: (nn.LogSoftmax(dim=1), [r.x(3, 4)], {}),
    "ReLU6": lambda r: (nn.ReLU6(), [r.x(3, 4, low=-8.0, high=8.0)], {}),
    "Hardtanh": lambda r: (nn.Hardtanh(), [r.x(3, 4)], {}),
    "LogSigmoid": lambda r: (nn.LogSigmoid(), [r.x(3, 4)], {}),
    "Conv1d": lambda r: (nn.Conv1d(4, 6, 3, stride=2, padding=1, groups=2), [r.x(2, 4, 8)], {}),
    "Conv2d": lambda r: (nn.Conv2d(3, 4, 3, padding=1), [r.x(2, 3, 5, 5)], {}),
    "Conv2d-padding_same_dilation": lambda r: (nn.Conv2d(3, 4, 3, padding="same", dilation=2,
                                                         bias=False), [r.x(2, 3, 6, 6)], {}),
    "Conv1d-padding_mode_circular": lambda r: (
        nn.Conv1d(3, 2, 3, padding=2, padding_mode="circular"), [r.x(2, 3, 6)], {}),
    "Conv2d-padding_mode_reflect": lambda r: (nn.Conv2d(3, 2, 3, padding=1, padding_mode="reflect"),
                                              [r.x(2, 3, 5, 5)], {}),
    "Conv2d-padding_mode_replicate": lambda r: (nn.Conv2d(3, 2, 3, padding=(1, 2),
                                                          padding_mode="replicate"),
                                                [r.x(2, 3, 5, 5)], {}),
    "ConvTranspose1d": lambda r: (nn.ConvTranspose1d(4, 2, 3, stride=2, output_padding=1, groups=2),
                                  [r.x(2, 4, 5)], {}),
    "ConvTranspose2d": lambda r: (nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1),
                                  [r.x(2, 3, 4, 4)], {}),
    "MaxPool1d": lambda r: (nn.MaxPool1d(2), [r.x(2, 3, 7)], {}),
    "MaxPool2d": lambda r: (nn.MaxPool2d(3, stride=2, padding=1, return_indices=True),
                            [r.x(2, 3, 6, 6)], {}),
    "AvgPool1d": lambda r: (nn.AvgPool1d(3, stride=2, padding=1), [r.x(2, 3, 7)], {}),
    "AvgPool2d": lambda r: (nn.AvgPool2d(2, ceil_mode=True), [r.x(2, 3, 5, 5)], {}),
    "AdaptiveAvgPool1d": lambda r: (nn.AdaptiveAvgPool1d(3), [r.x(2, 3, 7)], {}),
    "AdaptiveAvgPool2d": lambda r: (nn.AdaptiveAvgPool2d((2, 3)), [r.x(2, 3, 5, 7)], {}),
    "AdaptiveMaxPool1d": lambda r: (nn.AdaptiveMaxPool1d(3), [r.x(2, 3, 7)], {}),
    "AdaptiveMaxPool2d": lambda r: (nn.AdaptiveMaxPool2d(2, return_indices=True),
                                    [r.x(2, 3, 5, 5)], {}),
    "BatchNorm1d": lambda r: (nn.BatchNorm1d(3), [r.x(4, 3)], {}),
    "BatchNorm1d-3d_eval": lambda r: (nn.BatchNorm1d(3).eval(), [r.x(4, 3, 5)], {}),
    "BatchNorm2d": lambda r: (nn.BatchNorm2d(3), [r.x(2, 3, 4, 4)], {}),
    "BatchNorm2d-no_momentum": lambda r: (nn.BatchNorm2d(3, momentum=None), [r.x(2, 3, 2, 2)], {}),
    "BatchNorm3d": lambda r: (nn.BatchNorm3d(2), [r.x(2, 2, 2, 3, 3)], {}),
    "LayerNorm": lambda r: (nn.LayerNorm(4), [r.x(2, 3, 4)], {}),
    "LayerNorm-no_bias_2d": lambda r: (nn.LayerNorm((3, 4), bias=False), [r.x(2, 3, 4)], {}),
    "LayerNorm-no_affine": lambda r: (nn.LayerNorm(4, elementwise_affine=False),
                                      [r.x(2, 3, 4)], {}),
    "RMSNorm": lambda r: (nn.RMSNorm(4), [r.x(2, 3, 4)], {}),
    "GroupNorm": lambda r: (nn.GroupNorm(2, 4), [r.x(2, 4, 3, 3)], {}),
    "InstanceNorm1d": lambda r: (nn.InstanceNorm1d(3, affine=True, track_running_stats=True),
                                 [r.x(2, 3, 5)], {}),
    "InstanceNorm2d": lambda r: (nn.InstanceNorm2d(3), [r.x(2, 3, 4, 4)], {}),
    "Embedding": lambda r: (nn.Embedding(6, 4, padding_idx=0), [r.idx(6, 2, 3)], {}),
    "Embedding-max_norm": lambda r: (nn.Embedding(6, 4, max_norm=1.0), [r.idx(6, 2, 3)], {}),
    "RNN": lambda r: (nn.RNN(3, 4), [r.x(5, 2, 3)], {}),
    "RNN-relu_2layers_bidirectional_h0": lambda r: (
        nn.RNN(3, 4, num_layers=2, nonlinearity="relu", bidirectional=True),
        [r.x(5, 2, 3), r.x(4, 2, 4)], {}),
    "LSTM": lambda r: (nn.LSTM(3, 4), [r.x(5, 2, 3)], {}),
    "LSTM-2layers_bidirectional_batch_first_state": lambda r: (
        nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True),
        [r.x(2, 5, 3), (r.x(4, 2, 4), r.x(4, 2, 4))], {}),
    "RNN-2layers_dropout_no_bias": lambda r: (nn.RNN(3, 4, num_layers=2, dropout=0.5, bias=False),
                                               [r.x(5, 2, 3)], {}),
    "GRU": lambda r: (nn.GRU(3, 4), [r.x(5, 2, 3)], {}),
    "GRU-2layers_bidirectional_h0_unbatched": lambda r: (
        nn.GRU(3, 4, num_layers=2, bidirectional=True), [r.x(5, 3), r.x(4, 4)], {}),
    "RNNCell": lambda r: (nn.RNNCell(3, 4), [r.x(2, 3), r.x(2, 4)], {}),
    "LSTMCell": lambda r: (nn.LSTMCell(3, 4), [r.x(2, 3), (r.x(2, 4), r.x(2, 4))], {}),
    "LSTMCell-no_state": lambda r: (nn.LSTMCell(3, 4), [r.x(2, 3)], {}),
    "GRUCell": lambda r: (nn.GRUCell(3, 4), [r.x(2, 3), r.x(2, 4)], {}),
    "MultiheadAttention": lambda r: (nn.MultiheadAttention(4, 2), [r.x(3, 2, 4)] * 3, {}),
    "MultiheadAttention-cross_masks_dropout": lambda r: (
        nn.MultiheadAttention(4, 2, dropout=0.5), [r.x(3, 2, 4), r.x(5, 2, 4), r.x(5, 2, 4)],
        _mha_kw(r)),
    "MultiheadAttention-kdim_vdim_bias_kv_zero_attn_batch_first": lambda r: (
        nn.MultiheadAttention(4, 2, add_bias_kv=True, add_zero_attn=True, kdim=3, vdim=5,
                              batch_first=True),
        [r.x(2, 3, 4), r.x(2, 5, 3), r.x(2, 5, 5)],
        {"average_attn_weights": False}),
    "MultiheadAttention-unbatched": lambda r: (nn.MultiheadAttention(4, 2), [r.x(3, 4)] * 3, {}),
    "TransformerEncoderLayer": lambda r: (
        nn.TransformerEncoderLayer(4, 2, dim_feedforward=8), [r.x(3, 2, 4)], {}),
    "TransformerEncoderLayer-norm_first_gelu_batch_first_mask": lambda r: (
        nn.TransformerEncoderLayer(4, 2, dim_feedforward=8, activation="gelu", norm_first=True,
                                   batch_first=True),
        [r.x(2, 3, 4)], {"src_mask": nn.Transformer.generate_square_subsequent_mask(3),
                             "src_key_padding_mask": gk.tensor([[False, False, True]] * 2)}),
    "TransformerDecoderLayer": lambda r: (
        nn.TransformerDecoderLayer(4, 2, dim_feedforward=8), [r.x(3, 2, 4), r.x(5, 2, 4)], {}),
    "TransformerDecoderLayer-norm_first_causal": lambda r: (
        nn.TransformerDecoderLayer(4, 2, dim_feedforward=8, norm_first=True),
        [r.x(3, 2, 4), r.x(5, 2, 4)],
        {"tgt_mask": nn.Transformer.generate_square_subsequent_mask(3), "tgt_is_causal": True}),
    "TransformerEncoder": lambda r: (
        nn.TransformerEncoder(nn.TransformerEncoderLayer(4, 2, dim_feedforward=8), 2,
                              norm=nn.LayerNorm(4)), [r.x(3, 2, 4)], {}),
    "TransformerDecoder": lambda r: (
        nn.TransformerDecoder(nn.TransformerDecoderLayer(4, 2, dim_feedforward=8), 2,
                              norm=nn.LayerNorm(4)), [r.x(3, 2, 4), r.x(5, 2, 4)], {}),
    "Transformer-batch_first_norm_first": lambda r: (
        nn.Transformer(4, 2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=8,
                       batch_first=True, norm_first=True), [r.x(2, 5, 4), r.x(2, 3, 4)], {}),
    "Transformer": lambda r: (
        nn.Transformer(4, 2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=8),
        [r.x(5, 2, 4), r.x(3, 2, 4)],
        {"tgt_mask": nn.Transformer.generate_square_subsequent_mask(3)}),
    "Sequential": lambda r: (nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)),
                             [r.x(2, 4)], {}),
}


def _float_buffers(m):
    return {n: b for n, b in m.named_buffers() if b is not None and b.dtype.kind == "f"}


@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_keeps_float32(name, float64_made):
    r = Inputs()
    m, args, kw = LAYERS[name](r)
    params = dict(m.named_parameters())
    for pname, p in params.items():
        assert p.dtype == F32, f"{name}: parameter {pname} is {p.dtype}"
        r.leaf(p, pname)
    for bname, b in _float_buffers(m).items():
        assert b.dtype == F32, f"{name}: buffer {bname} is {b.dtype}"
    outs = _flat(m(*args, **kw))
    for i, o in enumerate(outs):
        expected = I64 if (name.startswith(("MaxPool", "AdaptiveMaxPool")) and i == 1) else F32
        assert o.dtype == expected, f"{name}: output {i} is {o.dtype}, expected {expected}"
    # running statistics updated in training mode (BatchNorm, InstanceNorm) stay float32
    for bname, b in _float_buffers(m).items():
        assert b.dtype == F32, f"{name}: buffer {bname} became {b.dtype} in forward"
    _backward([o for o in outs if o.dtype.kind == "f"], name)
    _check_grads(r, name)
    _no_float64(float64_made, name)


# === losses (nn modules) ==========================================================================
LOSSES = {
    "MSELoss": lambda r: (nn.MSELoss(), [r.x(3, 4), r.x(3, 4)]),
    "L1Loss": lambda r: (nn.L1Loss(reduction="sum"), [r.x(3, 4), r.x(3, 4)]),
    "HuberLoss": lambda r: (nn.HuberLoss(delta=0.5), [r.x(3, 4), r.x(3, 4)]),
    "SmoothL1Loss": lambda r: (nn.SmoothL1Loss(beta=0.5), [r.x(3, 4), r.x(3, 4)]),
    "CrossEntropyLoss": lambda r: (nn.CrossEntropyLoss(), [r.x(4, 5), r.idx(5, 4)]),
    "CrossEntropyLoss-weight_smoothing": lambda r: (
        nn.CrossEntropyLoss(weight=r.c(5, low=0.5), label_smoothing=0.1, ignore_index=2),
        [r.x(4, 5), r.idx(5, 4)]),
    "CrossEntropyLoss-probabilities": lambda r: (
        nn.CrossEntropyLoss(), [r.x(4, 5), r.c(4, 5, low=0.0, high=1.0).softmax(1)]),
    "NLLLoss": lambda r: (nn.NLLLoss(weight=r.c(5, low=0.5)),
                          [r.x(4, 5).log_softmax(1), r.idx(5, 4)]),
    "BCELoss": lambda r: (nn.BCELoss(weight=r.c(4, low=0.5)),
                          [r.x(3, 4, low=0.05, high=0.95), r.c(3, 4, low=0.0, high=1.0)]),
    "BCEWithLogitsLoss": lambda r: (nn.BCEWithLogitsLoss(pos_weight=r.c(4, low=0.5)),
                                    [r.x(3, 4), r.x(3, 4, low=0.0, high=1.0)]),
    "KLDivLoss": lambda r: (nn.KLDivLoss(reduction="batchmean"),
                            [r.x(3, 4).log_softmax(1), r.x(3, 4, low=0.0, high=1.0)]),
    "CosineEmbeddingLoss": lambda r: (nn.CosineEmbeddingLoss(margin=0.1, reduction="none"),
                                      [r.x(4, 3), r.x(4, 3), gk.tensor([1, -1, -1, 1])]),
}


@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_keeps_float32(name, float64_made):
    r = Inputs()
    m, args = LOSSES[name](r)
    for bname, b in _float_buffers(m).items():
        assert b.dtype == F32, f"{name}: buffer {bname} is {b.dtype}"
    assert not list(m.parameters()), f"{name}: a loss with parameters needs their checks here"
    out = m(*args)
    assert out.dtype == F32, f"{name}: loss is {out.dtype}"
    _backward([out], name)
    _check_grads(r, name)
    _no_float64(float64_made, name)


# === optimizers ===================================================================================
OPTIMIZERS = {
    "SGD": lambda ps: optim.SGD(ps, lr=0.1),
    "SGD-momentum_nesterov_wd": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True,
                                                     weight_decay=0.01),
    "SGD-dampening_maximize": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.5,
                                                   maximize=True),
    "Adagrad": lambda ps: optim.Adagrad(ps, lr=0.1),
    "Adagrad-lr_decay_wd_initial": lambda ps: optim.Adagrad(ps, lr=0.1, lr_decay=0.01,
                                                            weight_decay=0.01,
                                                            initial_accumulator_value=0.1),
    "RMSprop": lambda ps: optim.RMSprop(ps, lr=0.01),
    "RMSprop-centered_momentum_wd": lambda ps: optim.RMSprop(ps, lr=0.01, centered=True,
                                                             momentum=0.9, weight_decay=0.01),
    "Adadelta": lambda ps: optim.Adadelta(ps, weight_decay=0.01),
    "Adam": lambda ps: optim.Adam(ps, lr=0.01),
    "Adam-amsgrad_wd_maximize": lambda ps: optim.Adam(ps, lr=0.01, amsgrad=True, weight_decay=0.01,
                                                      maximize=True),
    "AdamW": lambda ps: optim.AdamW(ps, lr=0.01),
    "AdamW-amsgrad": lambda ps: optim.AdamW(ps, lr=0.01, amsgrad=True),
    "Adamax": lambda ps: optim.Adamax(ps, lr=0.01, weight_decay=0.01),
    "NAdam": lambda ps: optim.NAdam(ps, lr=0.01),
    "NAdam-decoupled_wd": lambda ps: optim.NAdam(ps, lr=0.01, weight_decay=0.01,
                                                 decoupled_weight_decay=True),
    "Lion": lambda ps: optim.Lion(ps, lr=0.01, weight_decay=0.01),
}


def _state_arrays(value):
    if isinstance(value, gk.Tensor):
        return [value.array]
    if isinstance(value, (np.ndarray, np.generic)):
        return [np.asarray(value)]
    if isinstance(value, (tuple, list)):
        return [a for v in value for a in _state_arrays(v)]
    return []  # Python numbers (the step counter)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_optimizer_keeps_float32(name):
    model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2))
    params = list(model.parameters())
    arrays = [p.array for p in params]
    opt = OPTIMIZERS[name](params)
    x = gk.randn(5, 4)
    for _ in range(3):
        opt.zero_grad()
        (model(x) ** 2).mean().backward()
        opt.step()
    for i, (p, a) in enumerate(zip(params, arrays)):
        assert p.dtype == F32, f"{name}: parameter {i} became {p.dtype}"
        assert p.array is a, f"{name}: parameter {i}'s array was replaced, not updated in place"
        assert p.grad.dtype == F32, f"{name}: parameter {i}'s grad became {p.grad.dtype}"
        for k, v in opt.state[p].items():
            for arr in _state_arrays(v):
                if arr.dtype.kind == "f":
                    assert arr.dtype == F32, f"{name}: state[{k!r}] of parameter {i} is {arr.dtype}"
    # scratch buffers are keyed by dtype: a float64 one means part of the step ran in float64
    scratch = getattr(opt, "_scratch", {})
    assert all(dt == F32 for dt in scratch), f"{name}: scratch buffers {list(scratch)}"


# === helpers around training: gradient clipping, penalties, init ==================================
def _model_with_grads():
    model = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    (model(gk.randn(5, 4)) ** 2).sum().backward()
    return list(model.parameters())


HELPERS = {
    "nn.utils.clip_grad_norm_": lambda ps: nn.utils.clip_grad_norm_(ps, 0.01),
    "nn.utils.clip_grad_norm_-inf": lambda ps: nn.utils.clip_grad_norm_(ps, 0.01, math.inf),
    "nn.utils.clip_grad_value_": lambda ps: nn.utils.clip_grad_value_(ps, 0.01),
    "nn.utils.parameters_to_vector": lambda ps: nn.utils.parameters_to_vector(ps),
    "nn.utils.vector_to_parameters": lambda ps: nn.utils.vector_to_parameters(
        gk.zeros(sum(p.numel() for p in ps), dtype=F64), ps),
}


@pytest.mark.parametrize("name", list(HELPERS))
def test_grad_helpers_keep_float32(name):
    ps = _model_with_grads()
    out = HELPERS[name](ps)
    if out is not None:
        assert out.dtype == F32, f"{name} returned {out.dtype}"
    for p in ps:
        assert p.dtype == F32 and p.grad.dtype == F32, f"{name}: {p.dtype}, grad {p.grad.dtype}"


@pytest.mark.parametrize("name", ["l1_penalty", "l2_penalty"])
def test_penalty_keeps_float32(name, float64_made):
    r = Inputs()
    out = getattr(optim, name)([r.x(3, 4), r.x(4)], 1e-3)
    assert out.dtype == F32
    _backward([out], name)
    _check_grads(r, name)
    _no_float64(float64_made, name)


INITS = ["uniform_", "normal_", "constant_", "zeros_", "ones_", "eye_", "xavier_uniform_",
         "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "trunc_normal_"]


@pytest.mark.parametrize("name", INITS)
def test_init_keeps_float32(name):
    p = nn.Parameter(gk.zeros(3, 4))
    args = (0.5,) if name == "constant_" else ()
    with gk.no_grad():
        getattr(nn.init, name)(p, *args)
    assert p.dtype == F32, f"nn.init.{name} made the parameter {p.dtype}"


# === completeness =================================================================================
# Public names that are not walked, each with its reason. Keep it short: an op belongs in the walk.
EXCLUDED_GK = {
    # not ops: the autograd API, grad mode, random state, checkpoints, dtype settings, predicates
    "autograd", "grad", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
    "inference_mode", "manual_seed", "seed", "get_rng_state", "set_rng_state", "save", "load",
    "nn", "optim", "get_default_dtype", "set_default_dtype", "is_tensor", "numel",
    "Tensor",  # the class itself: its methods and operators are walked as Tensor.<name>
    # return a Python bool, not a tensor
    "allclose", "equal",
    # return (values, indices): the values are a gather of x (walked as gk.gather), the indices
    # int64; their dtypes are checked against torch in tests/ops/test_sorting.py
    "sort", "topk",
    # draws int64 indices; the float32 weights are only read
    "multinomial",
    # devices and switches (gradkit/devices.py, backends/): no arrays
    "device", "use_deterministic_algorithms", "are_deterministic_algorithms_enabled",
    "set_float32_matmul_precision", "get_float32_matmul_precision",
    # dtype facts, shapes, generators and legacy typed constructors (tests/compat/
    # test_api_coverage_ops.py): no float math
    "dtype", "finfo", "iinfo", "Size", "Generator", "FloatTensor", "DoubleTensor", "HalfTensor",
    "LongTensor", "IntTensor", "ShortTensor", "CharTensor", "ByteTensor", "BoolTensor",
    "is_autocast_enabled",
}
EXCLUDED_F = set()
EXCLUDED_TENSOR = {
    # the autograd API, not ops
    "backward", "register_hook", "retain_grad", "requires_grad_", "detach_",
    # metadata, or a conversion out of gradkit (Python numbers, lists, ndarrays)
    "dim", "size", "numel", "element_size", "is_floating_point", "item", "tolist", "numpy",
    "__init__", "__array__", "__float__", "__int__", "__index__", "__bool__", "__len__",
    "__hash__", "__repr__", "__str__", "__format__",
    # raises without a GPU backend (tests/test_devices.py)
    "cuda",
    # (values, indices), as gk.sort/gk.topk above
    "sort", "topk",
    # in-place random fills keep self's dtype (float32 and float64): tests/test_tensor_data.py
    "normal_", "uniform_", "bernoulli_", "exponential_",
    # factories with self's dtype unless told: checked in tests/ops/test_sorting.py
    "new_zeros", "new_ones", "new_empty", "new_full", "new_tensor",
    # metadata: always True (NumPy arrays gradkit makes are contiguous enough for every op)
    "is_contiguous",
}
EXCLUDED_NN = {
    # bases and containers: no math of their own (Sequential is walked as a layer)
    "Module", "Parameter", "ModuleList", "ModuleDict", "RNNBase", "RNNCellBase",
    "Buffer", "ParameterList", "ParameterDict",
    # built from a quantized weight, not from sizes; they compute in the input's dtype (float32
    # and float64 against PyTorch in tests/nn/test_quantized.py)
    "QuantizedLinear", "QuantizedEmbedding",
    # holds a module and calls it (no math of its own): tests/nn/test_parallel.py
    "DataParallel",
}
# the abstract base; LBFGS needs a closure, its float32 run is in tests/optim/test_lbfgs.py
EXCLUDED_OPTIM = {"Optimizer", "LBFGS"}


def _public(module, names=None):
    names = names if names is not None else [n for n in dir(module) if not n.startswith("_")]
    return {n: getattr(module, n) for n in names
            if callable(getattr(module, n)) and not isinstance(getattr(module, n), np.dtype)
            and not isinstance(getattr(module, n), type(np))}


def _walked():
    """The objects the walk calls, by identity (so aliases count as walked)."""
    objs = [_resolve(c.key) for c in CASES]
    objs += [getattr(gk, n) for n in list(CREATION) + list(CREATION_INT)]
    return {id(o) for o in objs}


def test_every_public_name_is_walked_or_excluded():
    walked = _walked()
    keys = {c.key for c in CASES}
    missing = []
    gk_public = _public(gk, [n for n in gk.__all__ if not isinstance(getattr(gk, n), np.dtype)])
    for n, obj in gk_public.items():
        if n not in EXCLUDED_GK and id(obj) not in walked:
            missing.append(f"gk.{n}")
    for n, obj in _public(F).items():
        if n not in EXCLUDED_F and id(obj) not in walked:
            missing.append(f"F.{n}")
    for n, v in vars(gk.Tensor).items():
        is_op = callable(v) or (isinstance(v, property) and n in ("T", "mT"))
        if not is_op or n in EXCLUDED_TENSOR or (n.startswith("_") and not n.startswith("__")):
            continue
        if n in ("__weakref__", "__module__", "__doc__", "__slots__", "__array_priority__"):
            continue
        if f"Tensor.{n}" not in keys and id(v) not in walked:
            missing.append(f"Tensor.{n}")
    layer_names = {k.split("-")[0] for k in LAYERS} | {k.split("-")[0] for k in LOSSES}
    for n in nn.__all__:
        obj = getattr(nn, n)
        if isinstance(obj, type) and n not in EXCLUDED_NN and n not in layer_names:
            missing.append(f"nn.{n}")
    opt_names = {k.split("-")[0] for k in OPTIMIZERS}
    for n in optim.__all__:
        obj = getattr(optim, n)
        if isinstance(obj, type) and n not in EXCLUDED_OPTIM and n not in opt_names:
            missing.append(f"optim.{n}")
    for n in [n for n in dir(nn.init) if n.endswith("_") and not n.startswith("_")]:
        if n not in INITS:
            missing.append(f"nn.init.{n}")
    assert not missing, ("public names neither walked by this file nor listed in an EXCLUDED_* "
                         f"table with a reason: {missing}")


def _doc_op_names():
    """The op names in docs/ops.md: the first column of its op tables, and its "Without gradient"
    and in-place lists (``logical_and/or/xor/not`` is four names)."""
    names = set()
    text = (Path(__file__).resolve().parents[2] / "docs" / "ops.md").read_text()
    for part in text.split("\n\n"):
        if part.startswith("| "):
            part = " ".join(row.split("|")[1] for row in part.splitlines())
        elif part.startswith("`add_"):  # the in-place list; the prose after it names no ops
            part = part.split(".")[0]
        elif not part.startswith("Without gradient"):
            continue
        for tok in re.findall(r"`([^`]*)`", part):
            tok = re.sub(r"logical_(\w+(?:/\w+)+)",
                         lambda m: " ".join("logical_" + w for w in m.group(1).split("/")), tok)
            names.update(re.findall(r"(?:^|[\s./])([a-z_][a-z_0-9]*)(?=[\s(/]|$)", tok))
    return {n for n in names if len(n) > 1}  # not the operands (x, a, b, p)


def test_every_op_in_the_docs_table_is_walked():
    names = _doc_op_names()
    assert {"sum_to_shape", "logical_xor", "masked_fill_", "to"} <= names, "docs/ops.md parse"
    walked, keys = _walked(), {c.key for c in CASES}
    missing = [n for n in sorted(names) if f"gk.{n}" not in keys and f"Tensor.{n}" not in keys
               and f"linalg.{n}" not in keys
               and not (hasattr(gk, n) and id(getattr(gk, n)) in walked)]
    assert not missing, f"ops in docs/ops.md that this file does not walk: {missing}"


def test_exclusions_are_not_stale():
    """An excluded name must still exist (a renamed op must not leave its exclusion behind)."""
    for n in EXCLUDED_GK:
        assert hasattr(gk, n), n
    for n in EXCLUDED_TENSOR:
        assert n in vars(gk.Tensor), n
    for n in EXCLUDED_NN:
        assert hasattr(nn, n), n
