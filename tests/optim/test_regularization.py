"""L1/L2 penalties and their relation to weight_decay; gradient accumulation over k micro-batches
(each loss scaled by 1/k) gives the same step as one k-times-larger batch."""
import numpy as np
import pytest
import torch

import gradkit as gk
import gradkit.nn as nn
import gradkit.nn.functional as F
from gradkit.optim import l1_penalty, l2_penalty


def test_l1_penalty_value_and_gradient():
    rng = np.random.default_rng(0)
    w1, w2 = rng.standard_normal((3, 4)), rng.standard_normal(5)
    w2[0] = 0.0
    a, b = nn.Parameter(gk.tensor(w1)), nn.Parameter(gk.tensor(w2))
    pen = l1_penalty([a, b], 0.3)
    assert pen.shape == ()
    assert pen.item() == pytest.approx(0.3 * (np.abs(w1).sum() + np.abs(w2).sum()))
    pen.backward()
    np.testing.assert_allclose(a.grad.array, 0.3 * np.sign(w1))
    np.testing.assert_allclose(b.grad.array, 0.3 * np.sign(w2))  # 0 at w = 0, as torch's abs
    tb = torch.tensor(w2, requires_grad=True)
    (0.3 * tb.abs().sum()).backward()
    np.testing.assert_allclose(b.grad.array, tb.grad.numpy())


def test_l2_penalty_value_and_gradient():
    w = nn.Parameter(gk.tensor([1.0, -2.0, 3.0]))
    pen = l2_penalty(w, 0.1)
    assert pen.item() == pytest.approx(0.05 * 14)
    pen.backward()
    np.testing.assert_allclose(w.grad.array, 0.1 * np.array([1.0, -2.0, 3.0]), rtol=1e-6)


def test_penalty_errors():
    with pytest.raises(ValueError, match="l1_penalty: lam must be >= 0, got -1"):
        l1_penalty([nn.Parameter(gk.ones(2))], -1)
    with pytest.raises(ValueError, match="empty parameter list"):
        l2_penalty([], 0.1)


def _linear_model(seed=0, dtype=gk.float64):
    gk.manual_seed(seed)
    return nn.Linear(6, 3, dtype=dtype)


def _copy(model):
    m = _linear_model(seed=99)
    m.load_state_dict({k: v.array.copy() for k, v in model.state_dict().items()})
    return m


def test_sgd_weight_decay_equals_l2_penalty_in_the_loss():
    rng = np.random.default_rng(1)
    x, y = gk.tensor(rng.standard_normal((10, 6))), gk.tensor(rng.standard_normal((10, 3)))
    a = _linear_model()
    b = _copy(a)
    opt_a = gk.optim.SGD(a.parameters(), lr=0.1, momentum=0.9, weight_decay=0.05)
    opt_b = gk.optim.SGD(b.parameters(), lr=0.1, momentum=0.9)
    for _ in range(10):
        opt_a.zero_grad()
        F.mse_loss(a(x), y).backward()
        opt_a.step()
        opt_b.zero_grad()
        (F.mse_loss(b(x), y) + l2_penalty(b.parameters(), 0.05)).backward()
        opt_b.step()
    for pa, pb in zip(a.parameters(), b.parameters()):
        np.testing.assert_allclose(pa.array, pb.array, rtol=1e-12)


def test_l1_drives_weights_towards_zero():
    rng = np.random.default_rng(2)
    x = gk.tensor(rng.standard_normal((64, 6)))
    y = gk.tensor((rng.standard_normal((64, 6)) @ np.diag([1, 0, 0, 0, 0, 0.0]))[:, :3])
    plain, sparse = _linear_model(), _linear_model()
    for model, lam in ((plain, 0.0), (sparse, 0.05)):
        opt = gk.optim.SGD(model.parameters(), lr=0.05)
        for _ in range(300):
            opt.zero_grad()
            (F.mse_loss(model(x), y) + l1_penalty([model.weight], lam)).backward()
            opt.step()
    assert np.abs(sparse.weight.array).sum() < 0.5 * np.abs(plain.weight.array).sum()


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
@pytest.mark.parametrize("opt_name,kw", [("SGD", dict(lr=0.1, momentum=0.9)),
                                         ("Adam", dict(lr=0.01)),
                                         ("AdamW", dict(lr=0.01, weight_decay=0.1))])
def test_gradient_accumulation_equals_one_big_batch(loss, opt_name, kw):
    k, b = 4, 8
    rng = np.random.default_rng(3)
    x = rng.standard_normal((k * b, 6))
    if loss == "mse":
        y = rng.standard_normal((k * b, 3))
        loss_fn = F.mse_loss
    else:
        y = rng.integers(0, 3, k * b)
        loss_fn = F.cross_entropy
    big = _linear_model()
    acc = _copy(big)
    opt_big = getattr(gk.optim, opt_name)(big.parameters(), **kw)
    opt_acc = getattr(gk.optim, opt_name)(acc.parameters(), **kw)
    for _ in range(3):
        # one batch of k·b samples
        opt_big.zero_grad()
        loss_fn(big(gk.tensor(x)), gk.tensor(y)).backward()
        opt_big.step()
        # k micro-batches of b, each loss scaled by 1/k, gradients summed in .grad, one step
        opt_acc.zero_grad()
        for i in range(k):
            sl = slice(i * b, (i + 1) * b)
            (loss_fn(acc(gk.tensor(x[sl])), gk.tensor(y[sl])) / k).backward()
        opt_acc.step()
    for pa, pb in zip(big.parameters(), acc.parameters()):
        np.testing.assert_allclose(pb.array, pa.array, rtol=1e-10, atol=1e-13)
