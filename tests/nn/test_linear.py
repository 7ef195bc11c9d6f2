"""Linear, Bilinear, activation modules, Dropout: vs PyTorch, gradcheck, default init."""
import numpy as np
import pytest
import torch

import gradkit as gk
import gradkit.nn as nn
import gradkit.nn.functional as F
from oracle import check


def _copy_from_torch(g, t):
    g.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})


@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4), (4,)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(shape, bias):
    rng = np.random.default_rng(0)
    w, b = rng.standard_normal((3, 4)), rng.standard_normal(3)
    if bias:
        check(lambda x, w, b: F.linear(x, w, b), lambda x, w, b: torch.nn.functional.linear(x, w, b),
              inputs=[rng.standard_normal(shape), w, b])
    else:
        check(lambda x, w: F.linear(x, w), lambda x, w: torch.nn.functional.linear(x, w),
              inputs=[rng.standard_normal(shape), w])


def test_linear_module_float32_matches_torch_and_keys():
    t = torch.nn.Linear(6, 4)
    g = nn.Linear(6, 4)
    _copy_from_torch(g, t)
    x = np.random.default_rng(1).standard_normal((8, 6)).astype(np.float32)
    gy, ty = g(gk.tensor(x)), t(torch.tensor(x))
    np.testing.assert_allclose(gy.array, ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert gy.dtype == gk.float32
    (gy * gy).sum().backward()
    (ty * ty).sum().backward()
    np.testing.assert_allclose(g.weight.grad.array, t.weight.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(g.bias.grad.array, t.bias.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_linear_second_order():
    rng = np.random.default_rng(2)
    x = gk.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    w = gk.tensor(rng.standard_normal((2, 4)), requires_grad=True)
    xt = torch.tensor(x.array, requires_grad=True)
    wt = torch.tensor(w.array, requires_grad=True)
    (gx,) = gk.grad(F.linear(x, w).tanh().sum(), x, create_graph=True)
    (gw,) = gk.grad((gx * gx).sum(), w)
    (tgx,) = torch.autograd.grad(torch.nn.functional.linear(xt, wt).tanh().sum(), xt, create_graph=True)
    (tgw,) = torch.autograd.grad((tgx * tgx).sum(), wt)
    np.testing.assert_allclose(gw.array, tgw.numpy(), rtol=1e-9)


def test_bilinear_matches_torch():
    t = torch.nn.Bilinear(3, 4, 2).double()
    g = nn.Bilinear(3, 4, 2)
    _copy_from_torch(g, t)
    g.double()
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((5, 3)), rng.standard_normal((5, 4))
    check(lambda a, b: g(a, b), lambda a, b: t(a, b), inputs=[a, b], gradcheck=False)


def test_default_init_statistics_match_torch():
    g = nn.Linear(400, 300)
    t = torch.nn.Linear(400, 300)
    bound = 1 / np.sqrt(400)
    for a, b in [(g.weight.array, t.weight.detach().numpy()), (g.bias.array, t.bias.detach().numpy())]:
        assert np.abs(a).max() <= bound
        assert a.std() == pytest.approx(b.std(), rel=0.1)       # U(-b, b): std b/√3
        assert a.std() == pytest.approx(bound / np.sqrt(3), rel=0.1)
        assert abs(a.mean()) < 4 * bound / np.sqrt(3) / np.sqrt(a.size)


@pytest.mark.parametrize("gmod,tmod", [
    (nn.ReLU(), torch.nn.ReLU()), (nn.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)),
    (nn.ELU(0.7), torch.nn.ELU(0.7)), (nn.GELU(), torch.nn.GELU()),
    (nn.GELU("tanh"), torch.nn.GELU("tanh")), (nn.SiLU(), torch.nn.SiLU()),
    (nn.Sigmoid(), torch.nn.Sigmoid()), (nn.Tanh(), torch.nn.Tanh()),
    (nn.Softplus(2.0, 5.0), torch.nn.Softplus(2.0, 5.0)), (nn.Softmax(dim=1), torch.nn.Softmax(dim=1)),
    (nn.LogSoftmax(dim=0), torch.nn.LogSoftmax(dim=0)), (nn.ReLU6(), torch.nn.ReLU6()),
    (nn.Hardtanh(-0.5, 0.5), torch.nn.Hardtanh(-0.5, 0.5)), (nn.LogSigmoid(), torch.nn.LogSigmoid()),
])
def test_activation_modules_match_torch(gmod, tmod):
    x = np.random.default_rng(4).uniform(-3, 3, (3, 4))
    x[np.abs(x) < 0.05] = 0.3      # away from kinks
    x[np.abs(np.abs(x) - 0.5) < 0.05] = 0.3
    check(gmod, tmod, inputs=[x])


def test_dropout_module_train_and_eval():
    d = nn.Dropout(0.3)
    x = gk.ones(200, 200)
    y = d(x)
    zeros = (y.array == 0).mean()
    assert abs(zeros - 0.3) < 0.02
    np.testing.assert_allclose(y.array[y.array != 0], 1 / 0.7, rtol=1e-6)
    d.eval()
    assert d(x) is x
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


def test_dropout_gradient_uses_the_same_mask():
    x = gk.ones(50, 50, requires_grad=True)
    y = F.dropout(x, 0.5, training=True)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.array, y.array)
