"""``tensor.data`` is a Tensor that shares the tensor's memory and is cut from the graph, as
PyTorch's (issue 14 item 2): hand-written updates and initialisations written for PyTorch
(``p.data.add_``, ``p.data.normal_``, ``p.data.copy_``, ``p.data = t``) run unchanged and do what
they do in PyTorch. ``.array`` is the NumPy array itself."""
import numpy as np
import pytest
import torch

import gradkit as gk
from gradkit import nn


def test_data_is_a_tensor_sharing_memory_without_grad():
    p = nn.Parameter(gk.tensor([1.0, 2.0, 3.0]))
    d = p.data
    assert isinstance(d, gk.Tensor) and not isinstance(d, nn.Parameter)
    assert d.requires_grad is False and d.grad_fn is None and d.is_leaf
    assert np.shares_memory(d.array, p.array)
    assert d.array is p.array
    d[0] = 10.0                     # a write through .data is a write into p
    assert p.array[0] == 10.0


def test_hand_written_sgd_step_through_data_equals_pytorch():
    rng = np.random.default_rng(0)
    w0, x0 = rng.normal(size=(4, 3)), rng.normal(size=(5, 4))
    mine = nn.Parameter(gk.tensor(w0))
    ref = torch.nn.Parameter(torch.tensor(w0))
    for _ in range(3):
        for w, x, lib in ((mine, gk.tensor(x0), gk), (ref, torch.tensor(x0), torch)):
            loss = (lib.tanh(x @ w) ** 2).sum()
            if w.grad is not None:
                w.grad.data.zero_()
            loss.backward()
            w.data.add_(w.grad.data, alpha=-0.1)     # the tutorials' update
            w.data.mul_(0.99)                       # and a hand-written weight decay
    np.testing.assert_allclose(mine.array, ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mine.grad.array, ref.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_initialisation_through_data():
    gk.manual_seed(0)
    lin = nn.Linear(400, 300)
    lin.weight.data.normal_(0.0, 0.02)
    lin.bias.data.zero_()
    w = lin.weight.array
    assert abs(w.mean()) < 1e-3 and abs(w.std() - 0.02) < 1e-3
    assert not lin.bias.array.any()
    lin.weight.data.uniform_(-0.5, 0.5)
    assert -0.5 <= w.min() and w.max() <= 0.5 and abs(w.mean()) < 0.01
    lin.weight.data.fill_(0.25)
    assert (lin.weight.array == 0.25).all()
    lin.weight.data.copy_(gk.ones(300, 400))
    assert (lin.weight.array == 1).all() and lin.weight.dtype == np.float32
    gk.manual_seed(1)
    a = gk.empty(1000).bernoulli_(0.3)
    assert set(np.unique(a.array)) <= {0.0, 1.0} and abs(a.array.mean() - 0.3) < 0.05
    e = gk.empty(20000).exponential_(2.0)
    assert abs(e.array.mean() - 0.5) < 0.02 and e.array.min() >= 0


@pytest.mark.parametrize("fill", ["normal_", "uniform_", "bernoulli_", "exponential_"])
@pytest.mark.parametrize("dtype", [gk.float32, gk.float64])
def test_random_fills_keep_the_dtype(fill, dtype):
    gk.manual_seed(0)
    t = gk.zeros(4, 3, dtype=dtype)
    assert getattr(t.data, fill)() is not None and t.dtype == dtype and t.shape == (4, 3)
    assert t.array.any()


def test_random_fills_follow_the_global_seed_and_a_generator():
    gk.manual_seed(7)
    a = gk.empty(5).normal_()
    gk.manual_seed(7)
    b = gk.empty(5).normal_()
    np.testing.assert_array_equal(a.array, b.array)
    c = gk.empty(5).normal_(generator=np.random.default_rng(3))
    np.testing.assert_array_equal(c.array, np.random.default_rng(3).normal(0, 1, 5).astype(np.float32))


def test_assigning_data_replaces_the_values_shape_and_dtype():
    p = nn.Parameter(gk.zeros(3))
    p.data = gk.ones(2, 2, dtype=gk.float64)
    assert p.shape == (2, 2) and p.dtype == np.float64 and p.requires_grad
    p.data = np.arange(4.0).reshape(2, 2)      # an array as well
    assert p.array[1, 1] == 3.0
    t = torch.nn.Parameter(torch.zeros(3))
    t.data = torch.ones(2, 2, dtype=torch.float64)
    assert tuple(t.shape) == p.shape and t.requires_grad == p.requires_grad


def test_writes_through_data_are_hidden_from_autograd_as_in_pytorch():
    # PyTorch: .data has its own version counter, so a graph that saved x does not notice
    # (the gradient then uses the new values); detach() shares it and the backward refuses
    for lib in (gk, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = (x * x).sum()
        x.data.mul_(2.0)
        y.backward()
        np.testing.assert_allclose(np.asarray(x.grad.detach()), [4.0, 8.0])
    x = gk.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    x.detach().mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


def test_an_in_place_random_fill_of_a_leaf_that_requires_grad_is_refused():
    x = gk.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="normal_: a leaf tensor that requires grad"):
        x.normal_()
    x.data.normal_()    # through .data, as in PyTorch
    assert x.array.any()


def test_grad_data_and_data_of_a_computed_tensor():
    x = gk.tensor([1.0, -2.0], requires_grad=True)
    y = x * 3
    d = y.data
    assert d.grad_fn is None and not d.requires_grad and d.array is y.array
    y.sum().backward()
    g = x.grad.data
    assert isinstance(g, gk.Tensor) and g.array is x.grad.array
