"""Property tests (Hypothesis) for the broadcasting binary ops of ops/elementwise.py: for random
mutually broadcastable shape pairs, values and both inputs' gradients match PyTorch (float64,
through the shared oracle; gradcheck is left to the parametrized tests for speed)."""
import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes
from oracle import check

import gradkit as gk

SHAPE_PAIRS = mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=4)
SETTINGS = settings(max_examples=30, deadline=None)


def _inputs(shapes, seed, b_low=None):
    """Values in [-2, 2]; with b_low, |second input| is at least b_low (either sign)."""
    rng = np.random.default_rng(seed)
    sa, sb = shapes.input_shapes
    a = rng.uniform(-2, 2, sa)
    b = rng.uniform(-2, 2, sb)
    if b_low is not None:
        b = np.sign(b + (b == 0)) * rng.uniform(b_low, 2, sb)
    return a, b


def _check_binary(fn, torch_fn, a, b, shapes):
    out = check(fn, torch_fn, inputs=[a, b], gradcheck=False)
    assert out[0].shape == shapes.result_shape


@SETTINGS
@given(shapes=SHAPE_PAIRS, seed=st.integers(0, 2**16))
def test_add(shapes, seed):
    a, b = _inputs(shapes, seed)
    _check_binary(lambda a, b: a + b, None, a, b, shapes)


@SETTINGS
@given(shapes=SHAPE_PAIRS, seed=st.integers(0, 2**16))
def test_sub(shapes, seed):
    a, b = _inputs(shapes, seed)
    _check_binary(lambda a, b: a - b, None, a, b, shapes)


@SETTINGS
@given(shapes=SHAPE_PAIRS, seed=st.integers(0, 2**16))
def test_mul(shapes, seed):
    a, b = _inputs(shapes, seed)
    _check_binary(lambda a, b: a * b, None, a, b, shapes)


@SETTINGS
@given(shapes=SHAPE_PAIRS, seed=st.integers(0, 2**16))
def test_div(shapes, seed):
    a, b = _inputs(shapes, seed, b_low=0.3)  # denominators away from 0
    _check_binary(lambda a, b: a / b, None, a, b, shapes)


@SETTINGS
@given(shapes=SHAPE_PAIRS, seed=st.integers(0, 2**16))
def test_maximum(shapes, seed):
    a, b = _inputs(shapes, seed)
    _check_binary(gk.maximum, torch.maximum, a, b, shapes)


@SETTINGS
@given(shapes=SHAPE_PAIRS, seed=st.integers(0, 2**16))
def test_minimum_with_ties(shapes, seed):
    # values on a coarse grid: ties are frequent, and PyTorch splits their gradient in half
    a, b = _inputs(shapes, seed)
    _check_binary(gk.minimum, torch.minimum, np.round(a), np.round(b), shapes)


@SETTINGS
@given(shapes=SHAPE_PAIRS, seed=st.integers(0, 2**16))
def test_pow_positive_base(shapes, seed):
    a, b = _inputs(shapes, seed)
    _check_binary(lambda a, b: a ** b, None, np.abs(a) + 0.2, b, shapes)


@SETTINGS
@given(shapes=mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=4),
       seed=st.integers(0, 2**16))
def test_where(shapes, seed):
    rng = np.random.default_rng(seed)
    sc, sa, sb = shapes.input_shapes
    cond = rng.random(sc) > 0.5
    out = check(gk.where, torch.where, inputs=[cond, rng.standard_normal(sa),
                                               rng.standard_normal(sb)], gradcheck=False)
    assert out[0].shape == shapes.result_shape


@SETTINGS
@given(shapes=SHAPE_PAIRS, seed=st.integers(0, 2**16))
def test_mixed_dtypes_promote_and_keep_each_inputs_grad_dtype(shapes, seed):
    # float32 (op) float64 -> float64 unless the float64 one is 0-d and the float32 one is not
    a_np, b_np = _inputs(shapes, seed)
    a = gk.tensor(a_np, dtype=gk.float32, requires_grad=True)
    b = gk.tensor(b_np, dtype=gk.float64, requires_grad=True)
    y = a * b
    expected = gk.float32 if (b.ndim == 0 and a.ndim > 0) else gk.float64
    ta = torch.tensor(a_np, dtype=torch.float32)
    tb = torch.tensor(b_np, dtype=torch.float64)
    assert str(y.dtype) == str((ta * tb).dtype).replace("torch.", "")
    assert y.dtype == expected
    y.sum().backward()
    assert a.grad.dtype == gk.float32 and a.grad.shape == a.shape
    assert b.grad.dtype == gk.float64 and b.grad.shape == b.shape
