"""Losses vs PyTorch: every reduction, weights, ignore_index, label smoothing, probabilities, numerics."""
import warnings

import numpy as np
import pytest
import torch

import gradkit as gk
import gradkit.nn as nn
import gradkit.nn.functional as F
from oracle import check

TF = torch.nn.functional
RED = ["mean", "sum", "none"]
rng = np.random.default_rng(0)


@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"])
def test_regression_losses(name, reduction):
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    y[np.abs(x - y) < 0.05] += 0.2     # away from |d| = 0 kinks
    check(lambda a: getattr(F, name)(a, gk.tensor(y), reduction=reduction),
          lambda a: getattr(TF, name)(a, torch.tensor(y), reduction=reduction), inputs=[x])


@pytest.mark.parametrize("beta", [0.5, 2.0])
def test_smooth_l1_and_huber_parameters(beta):
    x, y = rng.standard_normal(10) * 2, rng.standard_normal(10)
    check(lambda a: F.smooth_l1_loss(a, gk.tensor(y), beta=beta),
          lambda a: TF.smooth_l1_loss(a, torch.tensor(y), beta=beta), inputs=[x])
    check(lambda a: F.huber_loss(a, gk.tensor(y), delta=beta),
          lambda a: TF.huber_loss(a, torch.tensor(y), delta=beta), inputs=[x])


@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("ignore", [False, True])
def test_cross_entropy_class_indices(reduction, weighted, smoothing, ignore):
    x = rng.standard_normal((6, 4))
    t = np.array([0, 3, 1, 2, 3, 1])
    if ignore:
        t[2] = -100
    w = rng.uniform(0.5, 2, 4) if weighted else None
    kw = dict(reduction=reduction, label_smoothing=smoothing)
    check(lambda a: F.cross_entropy(a, gk.tensor(t), weight=None if w is None else gk.tensor(w), **kw),
          lambda a: TF.cross_entropy(a, torch.tensor(t), weight=None if w is None else torch.tensor(w), **kw),
          inputs=[x])


@pytest.mark.parametrize("reduction", RED)
def test_cross_entropy_extra_dims_for_sequences(reduction):
    x = rng.standard_normal((2, 5, 3, 2))     # (N, C, d1, d2)
    t = rng.integers(0, 5, (2, 3, 2))
    t[0, 1, 1] = 7
    check(lambda a: F.cross_entropy(a, gk.tensor(t), reduction=reduction, ignore_index=7),
          lambda a: TF.cross_entropy(a, torch.tensor(t), reduction=reduction, ignore_index=7), inputs=[x])


@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_probabilities(reduction, smoothing):
    x = rng.standard_normal((4, 3))
    p = rng.dirichlet(np.ones(3), 4)
    w = rng.uniform(0.5, 2, 3)
    check(lambda a: F.cross_entropy(a, gk.tensor(p), weight=gk.tensor(w), reduction=reduction, label_smoothing=smoothing),
          lambda a: TF.cross_entropy(a, torch.tensor(p), weight=torch.tensor(w), reduction=reduction, label_smoothing=smoothing),
          inputs=[x])


@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_probability_targets_get_their_gradient(reduction, smoothing):
    # the target is differentiated too (dℓ/dt = -w log p), as in PyTorch
    x = rng.standard_normal((4, 3, 2))
    p = rng.dirichlet(np.ones(3), (4, 2)).transpose(0, 2, 1)
    w = rng.uniform(0.5, 2, 3)
    check(lambda a, t: F.cross_entropy(a, t, weight=gk.tensor(w), reduction=reduction, label_smoothing=smoothing),
          lambda a, t: TF.cross_entropy(a, t, weight=torch.tensor(w), reduction=reduction, label_smoothing=smoothing),
          inputs=[x, p])


def test_cross_entropy_unbatched():
    x = rng.standard_normal(5)
    check(lambda a: F.cross_entropy(a, gk.tensor(2)), lambda a: TF.cross_entropy(a, torch.tensor(2)), inputs=[x])


def test_cross_entropy_bad_label_names_label_and_class_count():
    with pytest.raises(IndexError, match=r"target 10 at position \(2,\) is out of range for 10 classes"):
        nn.CrossEntropyLoss()(gk.randn(4, 10), gk.tensor([1, 2, 10, 3]))
    with pytest.raises(IndexError, match=r"target -1 .* 3 classes"):
        F.nll_loss(gk.randn(2, 3), gk.tensor([0, -1]))
    with pytest.raises(TypeError, match="integers"):
        F.nll_loss(gk.randn(2, 3), gk.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"expected target shape \(4,\)"):
        F.cross_entropy(gk.randn(4, 3), gk.tensor([0, 1]))


@pytest.mark.parametrize("reduction", RED)
def test_nll_loss_weighted(reduction):
    x = np.log(rng.dirichlet(np.ones(4), 5))
    t = np.array([0, 1, 2, 3, 3])
    w = rng.uniform(0.5, 2, 4)
    check(lambda a: F.nll_loss(a, gk.tensor(t), weight=gk.tensor(w), reduction=reduction),
          lambda a: TF.nll_loss(a, torch.tensor(t), weight=torch.tensor(w), reduction=reduction), inputs=[x])


@pytest.mark.parametrize("reduction", RED)
def test_bce_and_bce_with_logits(reduction):
    p = rng.uniform(0.05, 0.95, (4, 3))
    y = rng.integers(0, 2, (4, 3)).astype(float)
    w = rng.uniform(0.5, 2, 3)
    check(lambda a: F.binary_cross_entropy(a, gk.tensor(y), weight=gk.tensor(w), reduction=reduction),
          lambda a: TF.binary_cross_entropy(a, torch.tensor(y), weight=torch.tensor(w), reduction=reduction),
          inputs=[p])
    x = rng.standard_normal((4, 3)) * 3
    pw = rng.uniform(0.5, 3, 3)
    check(lambda a: F.binary_cross_entropy_with_logits(a, gk.tensor(y), reduction=reduction, pos_weight=gk.tensor(pw)),
          lambda a: TF.binary_cross_entropy_with_logits(a, torch.tensor(y), reduction=reduction, pos_weight=torch.tensor(pw)),
          inputs=[x])


def test_bce_with_logits_stable_at_1e4():
    x = gk.tensor([1e4, -1e4, 1e4, -1e4], requires_grad=True)
    y = gk.tensor([1.0, 0.0, 0.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
        loss.sum().backward()
    np.testing.assert_allclose(loss.array, [0, 0, 1e4, 1e4])
    np.testing.assert_allclose(x.grad.array, [0, 0, 1, -1])


def test_bce_clamps_log_at_minus_100_and_rejects_logits():
    loss = F.binary_cross_entropy(gk.tensor([0.0, 1.0]), gk.tensor([1.0, 0.0]), reduction="none")
    np.testing.assert_allclose(loss.array, [100, 100])
    with pytest.raises(ValueError, match="with_logits"):
        F.binary_cross_entropy(gk.tensor([2.0]), gk.tensor([1.0]))


@pytest.mark.filterwarnings("ignore:reduction. .mean. divides")
@pytest.mark.parametrize("reduction", ["mean", "sum", "none", "batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    q = np.log(rng.dirichlet(np.ones(4), 3))
    p = rng.dirichlet(np.ones(4), 3)
    p[0, 1] = 0.0
    tgt = np.log(p + 1e-3) if log_target else p
    check(lambda a: F.kl_div(a, gk.tensor(tgt), reduction=reduction, log_target=log_target),
          lambda a: TF.kl_div(a, torch.tensor(tgt), reduction=reduction, log_target=log_target), inputs=[q])


def test_cosine_embedding_loss():
    a, b = rng.standard_normal((5, 4)), rng.standard_normal((5, 4))
    y = np.array([1, -1, 1, -1, -1])
    check(lambda x1, x2: F.cosine_embedding_loss(x1, x2, gk.tensor(y), margin=0.1),
          lambda x1, x2: TF.cosine_embedding_loss(x1, x2, torch.tensor(y), margin=0.1), inputs=[a, b])


@pytest.mark.parametrize("gmod,tmod", [
    (nn.MSELoss(), torch.nn.MSELoss()), (nn.L1Loss(reduction="sum"), torch.nn.L1Loss(reduction="sum")),
    (nn.HuberLoss(delta=0.5), torch.nn.HuberLoss(delta=0.5)), (nn.SmoothL1Loss(), torch.nn.SmoothL1Loss()),
])
def test_loss_modules(gmod, tmod):
    x, y = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    check(lambda a: gmod(a, gk.tensor(y)), lambda a: tmod(a, torch.tensor(y)), inputs=[x])


def test_cross_entropy_module_with_weight_and_smoothing():
    w = rng.uniform(0.5, 2, 3)
    g = nn.CrossEntropyLoss(weight=gk.tensor(w), label_smoothing=0.1)
    t = torch.nn.CrossEntropyLoss(weight=torch.tensor(w), label_smoothing=0.1)
    x, y = rng.standard_normal((5, 3)), np.array([0, 1, 2, 2, 1])
    check(lambda a: g(a, gk.tensor(y)), lambda a: t(a, torch.tensor(y)), inputs=[x])


def test_shape_mismatch_and_bad_reduction():
    with pytest.raises(ValueError, match=r"mse_loss: input shape \(4, 1\) and target shape \(4,\)"):
        F.mse_loss(gk.randn(4, 1), gk.randn(4))
    with pytest.raises(ValueError, match="reduction must be"):
        nn.MSELoss(reduction="avg")


# ---- the fused softmax-cross-entropy node (2-D logits, class indices, no weight/smoothing)
def test_fused_cross_entropy_second_order_matches_torch():
    x = rng.standard_normal((5, 4))
    t = np.array([0, 3, 1, -100, 2])
    gx = gk.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    (g1,) = gk.grad(F.cross_entropy(gx, gk.tensor(t)), gx, create_graph=True)
    (h,) = gk.grad((g1 * g1).sum(), gx)
    (tg1,) = torch.autograd.grad(TF.cross_entropy(tx, torch.tensor(t)), tx, create_graph=True)
    (th,) = torch.autograd.grad((tg1 * tg1).sum(), tx)
    np.testing.assert_allclose(g1.array, tg1.detach().numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(h.array, th.numpy(), rtol=1e-9, atol=1e-14)


def test_fused_cross_entropy_retain_graph_second_backward():
    x = gk.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    loss = F.cross_entropy(x, gk.tensor([1, 2, 3]))
    loss.backward(retain_graph=True)
    first = x.grad.array.copy()
    loss.backward()
    np.testing.assert_allclose(x.grad.array, 2 * first, rtol=1e-12)


def test_fused_cross_entropy_float32_and_all_ignored():
    x = rng.standard_normal((6, 5)).astype(np.float32)
    t = np.array([4, 0, 1, 2, 3, 0])
    g = gk.tensor(x, requires_grad=True)
    tt = torch.tensor(x, requires_grad=True)
    F.cross_entropy(g, gk.tensor(t)).backward()
    TF.cross_entropy(tt, torch.tensor(t)).backward()
    assert g.grad.dtype == gk.float32
    np.testing.assert_allclose(g.grad.array, tt.grad.numpy(), rtol=1e-5, atol=1e-7)
    all_ignored = F.cross_entropy(gk.tensor(x), gk.tensor([-100] * 6))
    assert np.isnan(all_ignored.item())
    assert np.isnan(TF.cross_entropy(torch.tensor(x), torch.tensor([-100] * 6)).item())
