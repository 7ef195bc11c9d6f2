"""Embedding (gradkit/nn/embedding.py, nn/functional/embedding.py) against PyTorch: the lookup and
the scatter-add of the gradient rows (repeated indices, padding_idx, scale_grad_by_freq),
max_norm's in-place renormalisation, second derivatives, default init and errors."""
import numpy as np
import pytest
import torch

import gradkit as gk
import gradkit.nn.functional as F
from gradkit import nn
from tests.oracle import check

TF = torch.nn.functional
RTOL, ATOL = 1e-6, 1e-9


def _copy_from_torch(g, t):
    g.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})


INDEX_CASES = [np.array([0, 3, 3, 1, 3]), np.array([[1, 2], [2, 1], [0, 0]]),
               np.array(4), np.zeros((2, 0), np.int64), np.array([[[5, 0, 5]]], np.int32)]


@pytest.mark.parametrize("idx", INDEX_CASES, ids=["repeated", "2d", "scalar", "empty", "3d_int32"])
def test_functional_embedding_matches_torch(idx):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((6, 3))
    check(lambda w: F.embedding(gk.tensor(idx), w),
          lambda w: TF.embedding(torch.tensor(idx), w), inputs=[w])


@pytest.mark.parametrize("padding_idx", [0, 3, -1])
@pytest.mark.parametrize("scale", [False, True])
def test_functional_padding_and_scale_grad_by_freq_match_torch(padding_idx, scale):
    rng = np.random.default_rng(1)
    idx = np.array([[0, 3, 3, 5], [5, 5, 1, 3]])
    check(lambda w: F.embedding(gk.tensor(idx), w, padding_idx=padding_idx,
                                scale_grad_by_freq=scale),
          lambda w: TF.embedding(torch.tensor(idx), w, padding_idx=padding_idx,
                                 scale_grad_by_freq=scale),
          inputs=[rng.standard_normal((6, 4))],
          gradcheck=False)  # both options change the gradient on purpose: not the derivative


@pytest.mark.parametrize("padding_idx", [None, 2])
def test_module_matches_torch_and_padding_row(padding_idx):
    rng = np.random.default_rng(2)
    t = torch.nn.Embedding(7, 5, padding_idx=padding_idx).double()
    g = nn.Embedding(7, 5, padding_idx=padding_idx).double()
    assert list(g.state_dict()) == list(t.state_dict()) and repr(g) == repr(t)
    if padding_idx is not None:
        assert not g.weight.array[padding_idx].any()  # initialised to zero
    _copy_from_torch(g, t)
    idx = np.array([[2, 6, 6, 0], [2, 2, 4, 6]])
    gy, ty = g(gk.tensor(idx)), t(torch.tensor(idx))
    np.testing.assert_allclose(gy.array, ty.detach().numpy(), rtol=RTOL)
    up = rng.standard_normal(gy.shape)
    (gy * gk.tensor(up)).sum().backward()
    (ty * torch.tensor(up)).sum().backward()
    np.testing.assert_allclose(g.weight.grad.array, t.weight.grad.numpy(), rtol=RTOL, atol=ATOL)
    if padding_idx is not None:
        assert not g.weight.grad.array[padding_idx].any()  # no gradient for the padding row


def test_float32_matches_torch():
    rng = np.random.default_rng(3)
    t = torch.nn.Embedding(50, 16)
    g = nn.Embedding(50, 16)
    _copy_from_torch(g, t)
    idx = rng.integers(0, 50, (8, 30))
    gy, ty = g(gk.tensor(idx)), t(torch.tensor(idx))
    assert gy.dtype == gk.float32
    np.testing.assert_array_equal(gy.array, ty.detach().numpy())
    (gy * gy).sum().backward()
    (ty * ty).sum().backward()
    assert g.weight.grad.dtype == gk.float32
    np.testing.assert_allclose(g.weight.grad.array, t.weight.grad.numpy(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("norm_type", [2.0, 1.0])
def test_max_norm_renormalises_looked_up_rows_like_torch(norm_type):
    rng = np.random.default_rng(4)
    t = torch.nn.Embedding(6, 4, max_norm=1.5, norm_type=norm_type).double()
    g = nn.Embedding(6, 4, max_norm=1.5, norm_type=norm_type).double()
    _copy_from_torch(g, t)
    idx = np.array([[0, 2, 2], [5, 0, 1]])
    gy, ty = g(gk.tensor(idx)), t(torch.tensor(idx))
    np.testing.assert_allclose(gy.array, ty.detach().numpy(), rtol=RTOL)
    np.testing.assert_allclose(g.weight.array, t.weight.detach().numpy(), rtol=RTOL)  # rows 3, 4 untouched
    up = rng.standard_normal(gy.shape)
    (gy * gk.tensor(up)).sum().backward()
    (ty * torch.tensor(up)).sum().backward()
    np.testing.assert_allclose(g.weight.grad.array, t.weight.grad.numpy(), rtol=RTOL)


def _grad_norm2(lib, F_, w, idx, **kw):
    """|dL/dW|² with L = Σ embedding(idx, W)³, differentiable in W."""
    if lib is torch:
        (d,) = torch.autograd.grad((F_.embedding(torch.tensor(idx), w, **kw) ** 3).sum(), w,
                                   create_graph=True)
    else:
        (d,) = gk.grad((F_.embedding(gk.tensor(idx), w, **kw) ** 3).sum(), w, create_graph=True)
    return (d * d).sum()


def test_second_derivatives_match_torch():
    rng = np.random.default_rng(5)
    idx = np.array([1, 0, 1, 3])
    w = rng.standard_normal((4, 3))
    gw, tw = gk.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    (a,) = gk.grad(_grad_norm2(gk, F, gw, idx, padding_idx=0), gw)
    (b,) = torch.autograd.grad(_grad_norm2(torch, TF, tw, idx, padding_idx=0), tw)
    np.testing.assert_allclose(a.array, b.numpy(), rtol=RTOL, atol=ATOL)


def test_second_derivatives_with_scale_grad_by_freq_match_torch_and_are_exact():
    rng = np.random.default_rng(6)
    idx = np.array([1, 0, 1, 3, 1])
    w = rng.standard_normal((4, 3))
    gw, tw = gk.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    (a,) = gk.grad(_grad_norm2(gk, F, gw, idx, scale_grad_by_freq=True), gw)
    (b,) = torch.autograd.grad(_grad_norm2(torch, TF, tw, idx, scale_grad_by_freq=True), tw)
    np.testing.assert_allclose(a.array, b.numpy(), rtol=RTOL, atol=ATOL)
    num = np.zeros_like(w)  # central differences of w -> |dL/dW|²
    for k in np.ndindex(w.shape):
        for sign in (1, -1):
            wp = w.copy()
            wp[k] += sign * 1e-6
            num[k] += sign * _grad_norm2(gk, F, gk.tensor(wp, requires_grad=True), idx,
                                         scale_grad_by_freq=True).item() / 2e-6
    np.testing.assert_allclose(a.array, num, rtol=1e-5, atol=1e-6)


def test_from_pretrained_is_frozen_and_copies():
    w = gk.randn(5, 3)
    emb = nn.Embedding.from_pretrained(w)
    assert not emb.weight.requires_grad
    assert emb.weight.array is not w.array
    np.testing.assert_array_equal(emb(gk.tensor([4, 0])).array, w.array[[4, 0]])
    assert nn.Embedding.from_pretrained(w, freeze=False).weight.requires_grad


def test_default_init_is_standard_normal_like_torch():
    g, t = nn.Embedding(1000, 64), torch.nn.Embedding(1000, 64)
    gv, tv = g.weight.array.astype(np.float64).ravel(), t.weight.detach().numpy().ravel()
    assert g.weight.dtype == gk.float32
    se = 1 / np.sqrt(gv.size)
    assert abs(gv.mean()) < 5 * se and abs(tv.mean()) < 5 * se
    np.testing.assert_allclose(gv.std(), tv.std(), rtol=0.02)
    np.testing.assert_allclose(gv.std(), 1.0, rtol=0.02)


def test_tied_weights_get_both_gradients():
    # the output layer reuses the embedding matrix: one Parameter, both gradients summed
    emb = nn.Embedding(6, 4).double()
    temb = torch.nn.Embedding(6, 4).double()
    _copy_from_torch(emb, temb)
    idx = np.array([[1, 2, 2]])
    (F.linear(emb(gk.tensor(idx)), emb.weight).tanh().sum()).backward()
    (TF.linear(temb(torch.tensor(idx)), temb.weight).tanh().sum()).backward()
    np.testing.assert_allclose(emb.weight.grad.array, temb.weight.grad.numpy(), rtol=RTOL)


def test_index_errors_name_index_and_num_embeddings():
    emb = nn.Embedding(10, 3)
    with pytest.raises(IndexError, match=r"index 12 is out of range for num_embeddings=10 "
                                         r"\(valid indices: 0 to 9\)"):
        emb(gk.tensor([1, 12, 3]))
    with pytest.raises(IndexError, match=r"index -1 is out of range for num_embeddings=10"):
        emb(gk.tensor([-1]))
    with pytest.raises(TypeError, match=r"indices must be an integer tensor.*float32"):
        emb(gk.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"padding_idx 10 must be within num_embeddings"):
        nn.Embedding(10, 3, padding_idx=10)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(10, 3)

        def forward(self, x):
            return self.tok(x)

    with pytest.raises(IndexError, match=r"in layer 'tok' \(Embedding\).*index 10"):
        Net()(gk.tensor([[10]]))
