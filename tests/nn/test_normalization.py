"""BatchNorm, LayerNorm, RMSNorm, GroupNorm, InstanceNorm (gradkit/nn/normalization.py and
nn/functional/normalization.py) against PyTorch: the functional forms through the shared oracle
(values, every input's gradient, gradcheck), the modules with weights moved by state_dict
(outputs, input and parameter gradients, running statistics), train vs eval, second
derivatives, default init and error messages."""
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


def _pair(cls, *args, **kw):
    t = getattr(torch.nn, cls)(*args, **kw).double()
    g = getattr(nn, cls)(*args, **kw).double()
    with torch.no_grad():  # non-trivial affine parameters, so that they matter
        for p in t.parameters():
            p.copy_(torch.randn_like(p))
    _copy_from_torch(g, t)
    return g, t


def _compare_step(g, t, x, rng, rtol=RTOL, atol=ATOL):
    """One forward and backward of both modules on x; compare output, input and parameter
    gradients, and every buffer (running statistics) afterwards."""
    gx = gk.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    gy, ty = g(gx), t(tx)
    np.testing.assert_allclose(gy.array, ty.detach().numpy(), rtol=rtol, atol=atol)
    up = rng.standard_normal(gy.shape).astype(x.dtype)
    (gy * gk.tensor(up)).sum().backward()
    (ty * torch.tensor(up)).sum().backward()
    np.testing.assert_allclose(gx.grad.array, tx.grad.numpy(), rtol=rtol, atol=atol,
                               err_msg="input gradient")
    gp = dict(g.named_parameters())
    for name, p in t.named_parameters():
        np.testing.assert_allclose(gp[name].grad.array, p.grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"gradient of {name}")
    gb = dict(g.named_buffers())
    for name, b in t.named_buffers():
        np.testing.assert_allclose(gb[name].array, b.numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"buffer {name}")
    return gy


# === F.batch_norm ==========================================================
BN_SHAPES = [(4, 3), (3, 2, 4), (2, 3, 2, 2)]


@pytest.mark.parametrize("shape", BN_SHAPES)
def test_functional_batch_norm_training_matches_torch(shape):
    C = shape[1]
    rng = np.random.default_rng(0)
    check(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
          lambda x, w, b: TF.batch_norm(x, None, None, w, b, training=True),
          inputs=[rng.standard_normal(shape), rng.standard_normal(C), rng.standard_normal(C)])


@pytest.mark.parametrize("shape", BN_SHAPES)
def test_functional_batch_norm_eval_matches_torch(shape):
    C = shape[1]
    rng = np.random.default_rng(1)
    rm, rv = rng.standard_normal(C), rng.uniform(0.5, 2.0, C)
    check(lambda x, w, b: F.batch_norm(x, gk.tensor(rm), gk.tensor(rv), w, b, eps=1e-3),
          lambda x, w, b: TF.batch_norm(x, torch.tensor(rm), torch.tensor(rv), w, b, eps=1e-3),
          inputs=[rng.standard_normal(shape), rng.standard_normal(C), rng.standard_normal(C)])


def test_functional_batch_norm_without_affine_and_running_update():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 3, 5))
    g_rm, g_rv = gk.zeros(3, dtype=gk.float64), gk.ones(3, dtype=gk.float64)
    t_rm, t_rv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    check(lambda x: F.batch_norm(x, g_rm, g_rv, training=True, momentum=0.3),
          lambda x: TF.batch_norm(x, t_rm, t_rv, training=True, momentum=0.3), inputs=[x],
          gradcheck=False)
    np.testing.assert_allclose(g_rm.array, t_rm.numpy(), rtol=RTOL)
    np.testing.assert_allclose(g_rv.array, t_rv.numpy(), rtol=RTOL)


# === BatchNorm modules =====================================================
@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (8, 3)), ("BatchNorm1d", (4, 3, 5)),
                                       ("BatchNorm2d", (4, 3, 5, 5))])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm_training_steps_then_eval_match_torch(cls, shape, momentum):
    rng = np.random.default_rng(3)
    g, t = _pair(cls, shape[1], momentum=momentum)
    for step in range(4):  # running statistics after several steps (momentum None: their mean)
        x = rng.standard_normal(shape) * (step + 1) + step
        g.zero_grad()
        t.zero_grad()
        _compare_step(g, t, x, rng)
    assert int(g.num_batches_tracked.array) == 4
    g.eval()
    t.eval()
    _compare_step(g, t, rng.standard_normal(shape), rng)


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("track", [True, False])
def test_batchnorm_affine_and_track_running_stats_match_torch(affine, track):
    rng = np.random.default_rng(4)
    g, t = _pair("BatchNorm2d", 3, affine=affine, track_running_stats=track)
    assert list(g.state_dict()) == list(t.state_dict())
    for mode in ("train", "eval"):
        getattr(g, mode)()
        getattr(t, mode)()
        g.zero_grad()
        t.zero_grad()
        _compare_step(g, t, rng.standard_normal((3, 3, 4, 4)), rng)


def test_batchnorm_float32_matches_torch():
    rng = np.random.default_rng(5)
    t = torch.nn.BatchNorm2d(4)
    g = nn.BatchNorm2d(4)
    x = (rng.standard_normal((8, 4, 6, 6)) * 3 + 1).astype(np.float32)
    y = _compare_step(g, t, x, rng, rtol=1e-4, atol=1e-5)
    assert y.dtype == gk.float32 and g.running_var.dtype == gk.float32
    assert g.weight.grad.dtype == gk.float32


def test_batch_of_one_in_training_raises_with_drop_last_hint():
    bn = nn.BatchNorm1d(4)
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when training"
                                         r".*drop_last=True"):
        bn(gk.randn(1, 4))
    with pytest.raises(ValueError, match="drop_last=True"):
        nn.BatchNorm2d(4)(gk.randn(1, 4, 1, 1))
    assert int(bn.num_batches_tracked.array) <= 1
    bn.eval()
    assert bn(gk.randn(1, 4)).shape == (1, 4)  # eval mode uses the running statistics
    nn.BatchNorm1d(4)(gk.randn(1, 4, 3))  # one sample but 3 values per channel is fine


def test_frozen_batchnorm_in_eval_keeps_running_stats():
    rng = np.random.default_rng(6)
    g, t = _pair("BatchNorm1d", 3)
    x = rng.standard_normal((10, 3)) * 2 + 1
    g(gk.tensor(x))
    t(torch.tensor(x))
    model = nn.Sequential(nn.Linear(3, 3).double(), g)
    model.requires_grad_(False)
    model.eval()
    before = {k: v.array.copy() for k, v in g.state_dict().items()}
    out = model(gk.tensor(rng.standard_normal((5, 3))))
    assert not out.requires_grad
    for k, v in g.state_dict().items():
        np.testing.assert_array_equal(v.array, before[k], err_msg=k)
    # and the frozen layer still computes with its running statistics, as PyTorch's
    t.eval()
    x2 = rng.standard_normal((5, 3))
    np.testing.assert_allclose(g(gk.tensor(x2)).array, t(torch.tensor(x2)).detach().numpy(),
                               rtol=RTOL)


def test_batchnorm_wrong_channels_and_rank_errors():
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\): input has 4 channels "
                                         r"\(shape \(2, 4, 5, 5\)\).*num_features=3"):
        nn.BatchNorm2d(3)(gk.randn(2, 4, 5, 5))
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\): expected 4-D \(N, C, H, W\) input, "
                                         r"got 3-D input of shape \(2, 3, 5\)"):
        nn.BatchNorm2d(3)(gk.randn(2, 3, 5))
    with pytest.raises(ValueError, match=r"expected 2-D \(N, C\) or 3-D \(N, C, L\)"):
        nn.BatchNorm1d(3)(gk.randn(2, 3, 5, 5))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.bn = nn.BatchNorm1d(8)

        def forward(self, x):
            return self.bn(x)

    with pytest.raises(ValueError, match=r"in layer 'bn' \(BatchNorm1d\).*input has 6 channels"):
        Net()(gk.randn(4, 6))


def test_batchnorm_second_derivatives_match_torch():
    rng = np.random.default_rng(7)
    g, t = _pair("BatchNorm1d", 3)
    x = rng.standard_normal((5, 3, 2))
    gx, tx = gk.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (dg,) = gk.grad((g(gx) ** 3).sum(), gx, create_graph=True)
    (dt,) = torch.autograd.grad((t(tx) ** 3).sum(), tx, create_graph=True)
    np.testing.assert_allclose(dg.array, dt.detach().numpy(), rtol=RTOL, atol=ATOL)
    a = gk.grad((dg * dg).sum(), [gx, g.weight])
    b = torch.autograd.grad((dt * dt).sum(), [tx, t.weight])
    for u, v in zip(a, b):
        np.testing.assert_allclose(u.array, v.numpy(), rtol=RTOL, atol=ATOL)


# === LayerNorm, RMSNorm ====================================================
LN_CASES = [((4, 6), 6), ((2, 3, 4), (4,)), ((2, 3, 4), (3, 4)), ((5,), [5])]


@pytest.mark.parametrize("shape,normalized", LN_CASES)
def test_functional_layer_norm_matches_torch(shape, normalized):
    ns = (normalized,) if isinstance(normalized, int) else tuple(normalized)
    rng = np.random.default_rng(8)
    x, w, b = rng.standard_normal(shape), rng.standard_normal(ns), rng.standard_normal(ns)
    check(lambda x, w, b: F.layer_norm(x, normalized, w, b),
          lambda x, w, b: TF.layer_norm(x, ns, w, b), inputs=[x, w, b])
    check(lambda x: F.layer_norm(x, normalized, eps=1e-3),
          lambda x: TF.layer_norm(x, ns, eps=1e-3), inputs=[x])


@pytest.mark.parametrize("shape,normalized", LN_CASES)
@pytest.mark.parametrize("eps", [None, 1e-3])
def test_functional_rms_norm_matches_torch(shape, normalized, eps):
    ns = (normalized,) if isinstance(normalized, int) else tuple(normalized)
    rng = np.random.default_rng(9)
    x, w = rng.standard_normal(shape), rng.standard_normal(ns)
    check(lambda x, w: F.rms_norm(x, normalized, w, eps),
          lambda x, w: TF.rms_norm(x, ns, w, eps), inputs=[x, w])


@pytest.mark.parametrize("kw", [{}, {"elementwise_affine": False}, {"bias": False}])
def test_layernorm_module_matches_torch(kw):
    rng = np.random.default_rng(10)
    g, t = _pair("LayerNorm", (3, 4), **kw)
    assert list(g.state_dict()) == list(t.state_dict())
    assert repr(g) == repr(t)
    _compare_step(g, t, rng.standard_normal((2, 5, 3, 4)), rng)


@pytest.mark.parametrize("kw", [{}, {"eps": 1e-4}, {"elementwise_affine": False}])
def test_rmsnorm_module_matches_torch(kw):
    rng = np.random.default_rng(11)
    g, t = _pair("RMSNorm", 6, **kw)
    assert repr(g) == repr(t)
    _compare_step(g, t, rng.standard_normal((4, 6)), rng)


def test_layernorm_and_rmsnorm_float32_match_torch():
    rng = np.random.default_rng(12)
    x = (rng.standard_normal((16, 10, 32)) * 5 + 2).astype(np.float32)
    for cls in ("LayerNorm", "RMSNorm"):
        t = getattr(torch.nn, cls)(32)
        g = getattr(nn, cls)(32)
        y = _compare_step(g, t, x, rng, rtol=1e-4, atol=1e-5)
        assert y.dtype == gk.float32


def test_layernorm_second_derivatives_match_torch():
    rng = np.random.default_rng(13)
    g, t = _pair("LayerNorm", 4)
    x = rng.standard_normal((3, 4))
    gx, tx = gk.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (dg,) = gk.grad(g(gx).tanh().sum(), gx, create_graph=True)
    (dt,) = torch.autograd.grad(t(tx).tanh().sum(), tx, create_graph=True)
    a = gk.grad((dg * dg).sum(), [gx, g.weight, g.bias])
    b = torch.autograd.grad((dt * dt).sum(), [tx, t.weight, t.bias])
    for u, v in zip(a, b):
        np.testing.assert_allclose(u.array, v.numpy(), rtol=RTOL, atol=ATOL)


def test_layernorm_wrong_shape_error():
    with pytest.raises(ValueError, match=r"LayerNorm\(\(3, 4\)\): expected an input whose last "
                                         r"2 dimension\(s\) are \(3, 4\), got shape \(2, 4, 3\)"):
        nn.LayerNorm((3, 4))(gk.randn(2, 4, 3))
    with pytest.raises(ValueError, match=r"layer_norm: given normalized_shape=\[5\]"):
        F.layer_norm(gk.randn(2, 4), 5)


# === GroupNorm, InstanceNorm ===============================================
@pytest.mark.parametrize("shape,groups", [((3, 4), 2), ((2, 6, 5), 3), ((2, 4, 3, 3), 1),
                                          ((2, 4, 3, 3), 4), ((2, 4, 3, 3), 2)])
def test_functional_group_norm_matches_torch(shape, groups):
    C = shape[1]
    rng = np.random.default_rng(14)
    check(lambda x, w, b: F.group_norm(x, groups, w, b),
          lambda x, w, b: TF.group_norm(x, groups, w, b),
          inputs=[rng.standard_normal(shape), rng.standard_normal(C), rng.standard_normal(C)])


@pytest.mark.parametrize("affine", [True, False])
def test_groupnorm_module_matches_torch(affine):
    rng = np.random.default_rng(15)
    g, t = _pair("GroupNorm", 2, 6, affine=affine)
    assert repr(g) == repr(t) and list(g.state_dict()) == list(t.state_dict())
    _compare_step(g, t, rng.standard_normal((3, 6, 4, 4)), rng)


@pytest.mark.parametrize("cls,args,shape", [("BatchNorm1d", (3,), (4, 3)),
                                             ("GroupNorm", (2, 4), (3, 4, 5))])
def test_affine_without_bias_matches_torch(cls, args, shape):
    rng = np.random.default_rng(17)
    g, t = _pair(cls, *args, bias=False)
    assert g.bias is None and list(g.state_dict()) == list(t.state_dict())
    assert repr(g) == repr(t)
    _compare_step(g, t, rng.standard_normal(shape), rng)


def test_groupnorm_divisibility_error():
    with pytest.raises(ValueError, match=r"num_channels \(6\) must be divisible by num_groups \(4\)"):
        nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match=r"GroupNorm\(2, 6\): expected an input of shape "
                                         r"\(N, 6, \*\), got \(2, 4, 3\)"):
        nn.GroupNorm(2, 6)(gk.randn(2, 4, 3))


@pytest.mark.parametrize("cls,shape", [("InstanceNorm1d", (3, 4, 6)), ("InstanceNorm2d", (2, 3, 4, 4)),
                                       ("InstanceNorm2d", (3, 4, 4))])
@pytest.mark.parametrize("kw", [{}, {"affine": True, "track_running_stats": True}])
def test_instancenorm_matches_torch(cls, shape, kw):
    rng = np.random.default_rng(16)
    batched = len(shape) == (3 if cls == "InstanceNorm1d" else 4)
    g, t = _pair(cls, shape[1] if batched else shape[0], **kw)
    for mode in ("train", "train", "eval"):
        getattr(g, mode)()
        getattr(t, mode)()
        g.zero_grad()
        t.zero_grad()
        _compare_step(g, t, rng.standard_normal(shape) * 2 + 1, rng)


# === default initialisation and state_dict keys ============================
@pytest.mark.parametrize("make", [lambda m: m.BatchNorm1d(5), lambda m: m.BatchNorm2d(5),
                                  lambda m: m.LayerNorm((2, 5)), lambda m: m.RMSNorm(5),
                                  lambda m: m.GroupNorm(5, 5)],
                         ids=["bn1d", "bn2d", "ln", "rms", "gn"])
def test_default_init_and_state_dict_equal_torch(make):
    g, t = make(nn), make(torch.nn)
    gs, ts = g.state_dict(), t.state_dict()
    assert list(gs) == list(ts)
    for k in ts:
        np.testing.assert_array_equal(gs[k].array, ts[k].numpy(), err_msg=k)
        assert gs[k].dtype == ts[k].numpy().dtype, k
    assert repr(g) == repr(t)
    g.load_state_dict({k: v.numpy() for k, v in ts.items()})  # and the keys load


def test_empty_batch_gives_empty_output_like_torch():
    for cls, shape in (("BatchNorm1d", (0, 3)), ("LayerNorm", (0, 3)), ("RMSNorm", (0, 3))):
        g, t = _pair(cls, 3)
        x = gk.zeros(*shape, dtype=gk.float64, requires_grad=True)
        y = g(x)
        assert y.shape == tuple(t(torch.zeros(*shape, dtype=torch.float64)).shape)
        y.sum().backward()
        assert x.grad.shape == shape
        for name, b in t.named_buffers():
            np.testing.assert_array_equal(dict(g.named_buffers())[name].array, b.numpy())
