"""autograd.functional.jacobian / hessian against torch.autograd.functional, in float64."""
import numpy as np
import pytest
import torch

import gradkit as gk
from gradkit.autograd.functional import hessian, jacobian

RNG = np.random.default_rng(0)


def _pair(shape):
    a = RNG.standard_normal(shape)
    return gk.tensor(a), torch.tensor(a)


def _same(ours, theirs):
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            _same(o, t)
        return
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-12)


def test_one_input_one_output():
    x, tx = _pair((2, 3))
    f = lambda lib: (lambda v: lib.tanh(v) @ v.T * v.sum())   # (2, 2) from (2, 3)
    _same(jacobian(f(gk), x), torch.autograd.functional.jacobian(f(torch), tx))


def test_tuples_of_inputs_and_outputs_and_unconnected_zeros():
    (x, tx), (y, ty) = _pair((3,)), _pair((2,))
    f = lambda lib: (lambda a, b: (a * b.sum(), lib.exp(a)))   # output 2 ignores b
    _same(jacobian(f(gk), (x, y)), torch.autograd.functional.jacobian(f(torch), (tx, ty)))
    with pytest.raises(RuntimeError, match="output 1 does not depend on input 1"):
        jacobian(f(gk), (x, y), strict=True)


def test_create_graph_gives_a_differentiable_jacobian():
    x, tx = _pair((3,))
    x.requires_grad_(True)
    tx.requires_grad_(True)
    f = lambda v: v ** 3
    ours = jacobian(f, x, create_graph=True).sum()
    theirs = torch.autograd.functional.jacobian(f, tx, create_graph=True).sum()
    (g,) = gk.grad(ours, x)
    (tg,) = torch.autograd.grad(theirs, tx)
    np.testing.assert_allclose(g.numpy(), tg.numpy(), rtol=1e-12)
    assert not jacobian(f, x).requires_grad          # without create_graph: detached


def test_hessian_matches_torch_for_one_and_two_inputs():
    x, tx = _pair((4,))
    f = lambda lib: (lambda v: (lib.sin(v) * v).sum() * v[0])
    _same(hessian(f(gk), x), torch.autograd.functional.hessian(f(torch), tx))
    (a, ta), (b, tb) = _pair((2,)), _pair((3,))
    g = lambda a, b: (a ** 2).sum() * (b ** 3).sum()
    _same(hessian(g, (a, b)), torch.autograd.functional.hessian(g, (ta, tb)))


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="jacobian: inputs must be a Tensor or a tuple of Tensors, got list"):
        jacobian(lambda v: v, [[1.0]])
    with pytest.raises(ValueError, match="reverse mode only"):
        jacobian(lambda v: v, gk.tensor([1.0]), strategy="forward-mode")
    with pytest.raises(RuntimeError, match="single-element Tensor, got shape \\(2,\\)"):
        hessian(lambda v: v * 2, gk.tensor([1.0, 2.0]))
