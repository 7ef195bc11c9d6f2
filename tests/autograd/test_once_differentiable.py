"""autograd.function.once_differentiable, as PyTorch's: the decorated backward runs without a
graph; differentiating through it again raises, never gives a silent zero."""
import numpy as np
import pytest
import torch

import gradkit as gk
from gradkit.autograd.function import once_differentiable


def _square(lib, decorator):
    class Square(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @decorator
        def backward(ctx, grad):
            x, = ctx.saved_tensors
            assert not grad.requires_grad or not lib.is_grad_enabled()  # no graph inside
            return lib.tensor(2 * x.detach().numpy() * grad.detach().numpy())
    return Square


def test_first_derivatives_equal_pytorchs():
    for lib, dec in ((gk, once_differentiable), (torch, torch.autograd.function.once_differentiable)):
        x = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
        _square(lib, dec).apply(x).sum().backward()
        assert np.array_equal(x.grad.numpy(), [2.0, -4.0, 6.0])


def test_a_second_derivative_through_it_raises_as_in_pytorch():
    for lib, dec in ((gk, once_differentiable), (torch, torch.autograd.function.once_differentiable)):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        v = lib.tensor([1.0, 1.0], requires_grad=True)   # a grad_output that requires grad
        y = _square(lib, dec).apply(x)
        (gx,) = lib.autograd.grad(y, [x], grad_outputs=[v], create_graph=True)
        assert gx.requires_grad
        with pytest.raises(RuntimeError, match="differentiate twice a function that was marked "
                                               "with @once_differentiable"):
            gx.sum().backward()
