"""Convolutions (nn/conv.py, nn/functional/conv.py): conv1d, conv2d, conv_transpose1d/2d and their
modules against PyTorch (float64 values and input/weight/bias gradients over a grid of settings,
float32 modules with weights moved by state_dict), gradcheck and second derivatives, default
initialisation, repr, and the errors a user meets."""
import itertools

import numpy as np
import pytest
import torch
from oracle import check

import gradkit as gk
import gradkit.nn as nn
import gradkit.nn.functional as F

TF = torch.nn.functional
# PyTorch warns that 'same' with an even kernel copies the input; that is its business
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")


def _copy_from_torch(g, t):
    g.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})


def _inputs(rng, *shapes):
    return [rng.standard_normal(s) for s in shapes if s is not None]


# === conv2d: the grid ======================================================
GRID = [(s, p, d, g, b) for s, p, d, g, b in itertools.product(
    [1, 2], [0, 1, "same"], [1, 2], [1, 2], [True, False]) if not (p == "same" and s != 1)]


@pytest.mark.parametrize("stride,padding,dilation,groups,bias", GRID, ids=str)
def test_conv2d_grid_matches_torch(stride, padding, dilation, groups, bias):
    rng = np.random.default_rng(GRID.index((stride, padding, dilation, groups, bias)))
    # non-square kernels and inputs; batch 1 and 2 alternate over the grid
    n = 1 + (stride + dilation + groups) % 2
    kernel = (3, 2) if bias else (2, 3)
    x, w = (n, 2 * groups, 7, 6), (4, 2, *kernel)
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    if bias:
        check(lambda x, w, b: F.conv2d(x, w, b, **kw), lambda x, w, b: TF.conv2d(x, w, b, **kw),
              inputs=_inputs(rng, x, w, (4,)), gradcheck=False)
    else:
        check(lambda x, w: F.conv2d(x, w, **kw), lambda x, w: TF.conv2d(x, w, **kw),
              inputs=_inputs(rng, x, w), gradcheck=False)


@pytest.mark.parametrize("kw", [
    dict(groups=3),                                  # depthwise
    dict(groups=3, stride=2, padding=1),             # depthwise, strided
    dict(groups=3, padding="same", dilation=(2, 1)),  # depthwise 'same' with uneven dilation
], ids=str)
def test_conv2d_depthwise_matches_torch(kw):
    rng = np.random.default_rng(1)
    # channel multiplier 2: 3 groups of (1 in -> 2 out)
    check(lambda x, w, b: F.conv2d(x, w, b, **kw), lambda x, w, b: TF.conv2d(x, w, b, **kw),
          inputs=_inputs(rng, (2, 3, 6, 7), (6, 1, 3, 3), (6,)), gradcheck=False)


@pytest.mark.parametrize("kernel,dilation", [((2, 2), 1), ((4, 1), 1), ((2, 3), (1, 3)), (4, 2)])
def test_conv2d_same_even_kernels_pad_bottom_right_as_torch(kernel, dilation):
    rng = np.random.default_rng(2)
    w = (3, 2) + ((kernel, kernel) if isinstance(kernel, int) else kernel)
    check(lambda x, w: F.conv2d(x, w, padding="same", dilation=dilation),
          lambda x, w: TF.conv2d(x, w, padding="same", dilation=dilation),
          inputs=_inputs(rng, (2, 2, 6, 5), w), gradcheck=False)


def test_conv2d_valid_padding_and_tuple_settings():
    rng = np.random.default_rng(3)
    check(lambda x, w: F.conv2d(x, w, padding="valid"), lambda x, w: TF.conv2d(x, w, padding="valid"),
          inputs=_inputs(rng, (1, 2, 5, 6), (3, 2, 2, 3)), gradcheck=False)
    kw = dict(stride=(2, 3), padding=(2, 0), dilation=(1, 2))
    check(lambda x, w: F.conv2d(x, w, **kw), lambda x, w: TF.conv2d(x, w, **kw),
          inputs=_inputs(rng, (2, 2, 9, 11), (3, 2, 3, 3)), gradcheck=False)


def test_conv2d_unbatched_input_matches_torch():
    rng = np.random.default_rng(4)
    check(lambda x, w, b: F.conv2d(x, w, b, padding=1), lambda x, w, b: TF.conv2d(x, w, b, padding=1),
          inputs=_inputs(rng, (2, 5, 4), (3, 2, 3, 3), (3,)), gradcheck=False)


def test_conv2d_one_by_one_kernel_and_kernel_equal_to_input():
    rng = np.random.default_rng(5)
    check(lambda x, w: F.conv2d(x, w), lambda x, w: TF.conv2d(x, w),
          inputs=_inputs(rng, (2, 4, 3, 5), (6, 4, 1, 1)), gradcheck=False)
    check(lambda x, w: F.conv2d(x, w), lambda x, w: TF.conv2d(x, w),
          inputs=_inputs(rng, (2, 2, 3, 4), (5, 2, 3, 4)), gradcheck=False)  # output 1x1


@pytest.mark.parametrize("kw,x,w", [
    (dict(), (1, 2, 4, 3), (2, 2, 2, 2)),
    (dict(stride=2, padding=1, dilation=2), (1, 2, 5, 4), (2, 2, 2, 2)),
    (dict(padding="same", groups=2), (2, 2, 3, 4), (2, 1, 2, 3)),
], ids=str)
def test_conv2d_gradcheck(kw, x, w):
    rng = np.random.default_rng(6)
    check(lambda x, w, b: F.conv2d(x, w, b, **kw), lambda x, w, b: TF.conv2d(x, w, b, **kw),
          inputs=_inputs(rng, x, w, (w[0],)))


# === conv_transpose2d ======================================================
TGRID = [(s, p, op, d, g) for s, p, op, d, g in itertools.product([1, 2, 3], [0, 1], [0, 1, 2],
                                                                  [1, 2], [1, 2])
         if op < max(s, d)]


@pytest.mark.parametrize("stride,padding,output_padding,dilation,groups", TGRID, ids=str)
def test_conv_transpose2d_grid_matches_torch(stride, padding, output_padding, dilation, groups):
    rng = np.random.default_rng(stride * 100 + padding * 10 + output_padding + dilation * 7)
    n = 1 + (stride + groups) % 2
    kw = dict(stride=stride, padding=padding, output_padding=output_padding, dilation=dilation,
              groups=groups)
    check(lambda x, w, b: F.conv_transpose2d(x, w, b, **kw),
          lambda x, w, b: TF.conv_transpose2d(x, w, b, **kw),
          inputs=_inputs(rng, (n, 2 * groups, 4, 3), (2 * groups, 3, 3, 2), (3 * groups,)),
          gradcheck=False)


def test_conv_transpose2d_no_bias_tuples_and_gradcheck():
    rng = np.random.default_rng(7)
    kw = dict(stride=(2, 1), padding=(1, 0), output_padding=(1, 0), dilation=(1, 2))
    check(lambda x, w: F.conv_transpose2d(x, w, **kw), lambda x, w: TF.conv_transpose2d(x, w, **kw),
          inputs=_inputs(rng, (2, 3, 3, 4), (3, 2, 3, 2)), gradcheck=False)
    kw = dict(stride=2, padding=1, output_padding=1)
    check(lambda x, w, b: F.conv_transpose2d(x, w, b, **kw),
          lambda x, w, b: TF.conv_transpose2d(x, w, b, **kw),
          inputs=_inputs(rng, (1, 2, 2, 3), (2, 2, 2, 2), (2,)))


# === conv1d / conv_transpose1d =============================================
@pytest.mark.parametrize("stride,padding,dilation,groups", [
    (1, 0, 1, 1), (2, 1, 1, 1), (1, "same", 2, 1), (2, 2, 2, 2), (1, "same", 1, 2), (3, "valid", 1, 1)])
def test_conv1d_matches_torch(stride, padding, dilation, groups):
    rng = np.random.default_rng(8)
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    check(lambda x, w, b: F.conv1d(x, w, b, **kw), lambda x, w, b: TF.conv1d(x, w, b, **kw),
          inputs=_inputs(rng, (2, 2 * groups, 11), (4, 2, 4), (4,)), gradcheck=False)


def test_conv1d_unbatched_and_gradcheck():
    rng = np.random.default_rng(9)
    check(lambda x, w: F.conv1d(x, w, padding=1), lambda x, w: TF.conv1d(x, w, padding=1),
          inputs=_inputs(rng, (2, 5), (3, 2, 3)))


def test_conv_transpose1d_matches_torch():
    rng = np.random.default_rng(10)
    kw = dict(stride=2, padding=1, output_padding=1, dilation=2, groups=2)
    check(lambda x, w, b: F.conv_transpose1d(x, w, b, **kw),
          lambda x, w, b: TF.conv_transpose1d(x, w, b, **kw),
          inputs=_inputs(rng, (2, 4, 5), (4, 3, 3), (6,)), gradcheck=False)


# === second derivatives ====================================================
def _double_grad(conv_g, conv_t, x, w):
    """d/dw and d/dx of |dL/dx|², L = Σ tanh(conv(x, w)); both frameworks."""
    gx_, gw_ = (gk.tensor(a, requires_grad=True) for a in (x, w))
    tx_, tw_ = (torch.tensor(a, requires_grad=True) for a in (x, w))
    (gdx,) = gk.grad(conv_g(gx_, gw_).tanh().sum(), gx_, create_graph=True)
    (tdx,) = torch.autograd.grad(conv_t(tx_, tw_).tanh().sum(), tx_, create_graph=True)
    np.testing.assert_allclose(gdx.array, tdx.detach().numpy(), rtol=1e-6, atol=1e-9)
    gxx, gww = gk.grad((gdx * gdx).sum(), (gx_, gw_))
    txx, tww = torch.autograd.grad((tdx * tdx).sum(), (tx_, tw_))
    np.testing.assert_allclose(gxx.array, txx.numpy(), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(gww.array, tww.numpy(), rtol=1e-6, atol=1e-9)
    # and through the weight gradient (ConvWeightGrad's own backward)
    gx_, gw_ = (gk.tensor(a, requires_grad=True) for a in (x, w))
    tx_, tw_ = (torch.tensor(a, requires_grad=True) for a in (x, w))
    (gdw,) = gk.grad(conv_g(gx_, gw_).tanh().sum(), gw_, create_graph=True)
    (tdw,) = torch.autograd.grad(conv_t(tx_, tw_).tanh().sum(), tw_, create_graph=True)
    gxx, gww = gk.grad((gdw * gdw).sum(), (gx_, gw_))
    txx, tww = torch.autograd.grad((tdw * tdw).sum(), (tx_, tw_))
    np.testing.assert_allclose(gxx.array, txx.numpy(), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(gww.array, tww.numpy(), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1, dilation=2, groups=2),
                                dict(padding="same")], ids=str)
def test_conv2d_second_order_matches_torch(kw):
    rng = np.random.default_rng(11)
    x, w = rng.standard_normal((2, 2, 6, 5)), rng.standard_normal((4, 2 // kw.get("groups", 1), 3, 2))
    _double_grad(lambda x, w: F.conv2d(x, w, **kw), lambda x, w: TF.conv2d(x, w, **kw), x, w)


def test_conv_transpose2d_second_order_matches_torch():
    rng = np.random.default_rng(12)
    kw = dict(stride=2, padding=1, output_padding=1)
    x, w = rng.standard_normal((2, 3, 3, 4)), rng.standard_normal((3, 2, 3, 3))
    _double_grad(lambda x, w: F.conv_transpose2d(x, w, **kw),
                 lambda x, w: TF.conv_transpose2d(x, w, **kw), x, w)


def test_conv2d_gradgradcheck():
    """Numerical check of the gradient's own gradient (every backward of the three Functions)."""
    rng = np.random.default_rng(13)
    x = gk.tensor(rng.standard_normal((1, 2, 4, 3)), requires_grad=True)
    w = gk.tensor(rng.standard_normal((2, 1, 2, 2)), requires_grad=True)
    u = gk.tensor(rng.standard_normal((1, 2, 2, 2)))  # the output's shape

    def first_grads(x, w):
        y = F.conv2d(x, w, stride=2, padding=1, dilation=2, groups=2)
        return gk.grad((y * y * u).sum(), (x, w), create_graph=True)

    gk.autograd.gradcheck(first_grads, (x, w))


# === modules ===============================================================
@pytest.mark.parametrize("gcls,tcls,args,kwargs,xshape", [
    (nn.Conv2d, torch.nn.Conv2d, (3, 8, 3), dict(padding=1), (4, 3, 10, 9)),
    (nn.Conv2d, torch.nn.Conv2d, (4, 6, (3, 2)), dict(stride=2, groups=2, bias=False), (2, 4, 9, 8)),
    (nn.Conv2d, torch.nn.Conv2d, (2, 4, 3), dict(padding="same", dilation=2), (2, 2, 7, 7)),
    (nn.Conv1d, torch.nn.Conv1d, (3, 5, 3), dict(stride=2, padding=1), (4, 3, 12)),
    (nn.ConvTranspose2d, torch.nn.ConvTranspose2d, (3, 4, 3), dict(stride=2, padding=1,
                                                                 output_padding=1), (2, 3, 5, 4)),
    (nn.ConvTranspose1d, torch.nn.ConvTranspose1d, (4, 2, 3), dict(stride=3, groups=2), (2, 4, 6)),
], ids=lambda v: v.__name__ if isinstance(v, type) else str(v))
def test_module_float32_matches_torch_with_state_dict_keys(gcls, tcls, args, kwargs, xshape):
    t = tcls(*args, **kwargs)
    g = gcls(*args, **kwargs)
    assert list(g.state_dict()) == list(t.state_dict())
    _copy_from_torch(g, t)
    x = np.random.default_rng(14).standard_normal(xshape).astype(np.float32)
    gx, tx = gk.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    gy, ty = g(gx), t(tx)
    assert gy.dtype == gk.float32 and gy.shape == tuple(ty.shape)
    np.testing.assert_allclose(gy.array, ty.detach().numpy(), rtol=1e-4, atol=1e-5)
    (gy * gy).sum().backward()
    (ty * ty).sum().backward()
    for a, b in [(gx.grad, tx.grad), (g.weight.grad, t.weight.grad)] + (
            [(g.bias.grad, t.bias.grad)] if t.bias is not None else []):
        assert a.dtype == gk.float32
        np.testing.assert_allclose(a.array, b.numpy(), rtol=1e-4, atol=1e-4)
    # no mode-dependent behaviour: eval gives the same output
    np.testing.assert_array_equal(g.eval()(gx).array, gy.array)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding", [1, "same", (2, 1)])
def test_conv2d_padding_modes_match_torch(mode, padding):
    t = torch.nn.Conv2d(2, 3, (3, 4), padding=padding, padding_mode=mode).double()
    g = nn.Conv2d(2, 3, (3, 4), padding=padding, padding_mode=mode).double()
    _copy_from_torch(g, t)
    x = np.random.default_rng(15).standard_normal((2, 2, 6, 7))
    check(lambda x: g(x), lambda x: t(x), inputs=[x], gradcheck=False)


def test_conv1d_padding_mode_matches_torch():
    t = torch.nn.Conv1d(2, 3, 3, padding=2, padding_mode="reflect").double()
    g = nn.Conv1d(2, 3, 3, padding=2, padding_mode="reflect").double()
    _copy_from_torch(g, t)
    check(lambda x: g(x), lambda x: t(x), inputs=[np.random.default_rng(16).standard_normal((2, 2, 8))],
          gradcheck=False)


def test_conv_transpose2d_output_size_picks_output_padding():
    t = torch.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1).double()
    g = nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1).double()
    _copy_from_torch(g, t)
    x = np.random.default_rng(17).standard_normal((1, 2, 4, 5))
    for size in [(7, 9), (8, 10), (8, 9), [1, 3, 7, 10]]:
        gy, ty = g(gk.tensor(x), output_size=size), t(torch.tensor(x), output_size=size)
        assert gy.shape == tuple(ty.shape)
        np.testing.assert_allclose(gy.array, ty.detach().numpy(), rtol=1e-6, atol=1e-9)
    with pytest.raises(ValueError, match=r"valid sizes for dim 0 range from 7 to 8"):
        g(gk.tensor(x), output_size=(9, 9))


@pytest.mark.parametrize("args,kwargs", [
    ((1, 32, 3), dict(padding=1)), ((3, 8, (3, 2)), dict(stride=2)),
    ((4, 8, 5), dict(stride=(2, 1), padding=(2, 1), dilation=2, groups=4, bias=False)),
    ((2, 4, 3), dict(padding="same", padding_mode="reflect")),
])
def test_conv2d_repr_matches_torch(args, kwargs):
    assert repr(nn.Conv2d(*args, **kwargs)) == repr(torch.nn.Conv2d(*args, **kwargs))


def test_other_reprs_match_torch():
    for g, t in [(nn.Conv1d(3, 4, 5, stride=2), torch.nn.Conv1d(3, 4, 5, stride=2)),
                 (nn.ConvTranspose2d(4, 2, 3, stride=2, output_padding=1, groups=2),
                  torch.nn.ConvTranspose2d(4, 2, 3, stride=2, output_padding=1, groups=2)),
                 (nn.ConvTranspose1d(2, 2, 3), torch.nn.ConvTranspose1d(2, 2, 3))]:
        assert repr(g) == repr(t)
        assert g.weight.shape == tuple(t.weight.shape)


# === default initialisation ================================================
@pytest.mark.parametrize("gmod,tmod", [
    (nn.Conv2d(16, 64, 3), torch.nn.Conv2d(16, 64, 3)),
    (nn.Conv2d(32, 64, (3, 5), groups=4), torch.nn.Conv2d(32, 64, (3, 5), groups=4)),
    (nn.Conv1d(8, 128, 7), torch.nn.Conv1d(8, 128, 7)),
    (nn.ConvTranspose2d(16, 48, 3, groups=2), torch.nn.ConvTranspose2d(16, 48, 3, groups=2)),
], ids=lambda m: repr(m) if isinstance(m, nn.Module) else "")
def test_default_init_statistics_match_torch(gmod, tmod):
    fan_in = gmod.weight.shape[1] * int(np.prod(gmod.kernel_size))  # (in or out)/groups · kernel
    bound = 1 / np.sqrt(fan_in)
    for a, b in [(gmod.weight.array, tmod.weight.detach().numpy()),
                 (gmod.bias.array, tmod.bias.detach().numpy())]:
        assert a.dtype == np.float32
        assert np.abs(a).max() <= bound and np.abs(b).max() <= bound
        std = bound / np.sqrt(3)                                  # U(-b, b)
        assert a.std() == pytest.approx(std, rel=6 / np.sqrt(a.size) + 0.02)
        assert a.std() == pytest.approx(b.std(), rel=8 / np.sqrt(a.size) + 0.03)
        assert abs(a.mean()) < 4 * std / np.sqrt(a.size)


def test_reset_parameters_redraws():
    m = nn.Conv2d(3, 4, 3)
    w = m.weight.array.copy()
    m.reset_parameters()
    assert not np.array_equal(w, m.weight.array)


# === errors ================================================================
def test_conv2d_wrong_rank_names_layer_expected_and_actual():
    m = nn.Conv2d(1, 32, 3, padding=1)
    with pytest.raises(ValueError, match=r"Conv2d\(in_channels=1, out_channels=32, kernel_size="
                                         r"\(3, 3\), padding=\(1, 1\)\): expected input of shape "
                                         r"\(N, 1, H, W\).*got \(8, 28, 28\).*x\.unsqueeze\(1\)"):
        m(gk.zeros(8, 28, 28))
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 1, H, W\).*got \(28, 28\)"):
        m(gk.zeros(28, 28))


def test_conv2d_wrong_channels_names_expected_and_actual():
    m = nn.Conv2d(3, 8, 3)
    with pytest.raises(ValueError, match=r"Conv2d\(in_channels=3, .*\): expected input of shape "
                                         r"\(N, 3, H, W\) or unbatched \(3, H, W\), got "
                                         r"\(8, 1, 28, 28\) \(1 channel at dim 1\)"):
        m(gk.zeros(8, 1, 28, 28))
    with pytest.raises(ValueError, match=r"channels-last.*permute\(0, 3, 1, 2\)"):
        m(gk.zeros(8, 28, 28, 3))


def test_error_inside_a_model_names_the_layer():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(8, 4, 3))
    with pytest.raises(ValueError, match=r"in layer '2' \(Conv2d\): Conv2d\(in_channels=8.*got "
                                         r"\(2, 4, 8, 8\)"):
        model(gk.zeros(2, 1, 10, 10))


def test_conv1d_wrong_shape_error():
    with pytest.raises(ValueError, match=r"Conv1d\(in_channels=3.*expected input of shape "
                                         r"\(N, 3, L\).*got \(4, 12, 3\).*transpose\(1, 2\)"):
        nn.Conv1d(3, 5, 3)(gk.zeros(4, 12, 3))


def test_kernel_larger_than_padded_input():
    with pytest.raises(ValueError, match=r"conv2d: the kernel \(5x5, 9x9 with dilation \(2, 2\)\) "
                                         r"is larger than the padded input \(8x8"):
        nn.Conv2d(3, 4, 5, dilation=2, padding=1)(gk.zeros(1, 3, 6, 6))
    with pytest.raises(ValueError, match=r"larger than the padded input \(4x3"):
        F.conv2d(gk.zeros(1, 1, 4, 3), gk.zeros(1, 1, 3, 4))


def test_dtype_mismatch_is_a_clear_error():
    with pytest.raises(TypeError, match=r"expected input of dtype float32, got float64"):
        nn.Conv2d(1, 2, 3)(gk.zeros(1, 1, 5, 5, dtype=gk.float64))
    with pytest.raises(TypeError, match=r"conv2d: input dtype float64 does not match the weight's "
                                        r"float32"):
        F.conv2d(gk.zeros(1, 1, 5, 5, dtype=gk.float64), gk.zeros(1, 1, 3, 3))


def test_constructor_errors_match_torch_rules():
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        nn.Conv2d(1, 2, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match=r"in_channels \(3\) must be divisible by groups \(2\)"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match=r"out_channels \(3\) must be divisible by groups \(2\)"):
        nn.Conv2d(4, 3, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv2d(1, 2, 3, padding_mode="mirror")
    with pytest.raises(TypeError, match=r"ConvTranspose2d: padding must be an int or a tuple"):
        nn.ConvTranspose2d(1, 2, 3, padding="same")
    with pytest.raises(ValueError, match='Only "zeros" padding mode'):
        nn.ConvTranspose2d(1, 2, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="output_padding .* must be smaller than either stride"):
        F.conv_transpose2d(gk.zeros(1, 1, 3, 3), gk.zeros(1, 1, 3, 3), stride=2, output_padding=2)
    with pytest.raises(ValueError, match=r"conv2d: the input has 4 channels .* weight \(2, 3, 3, 3\) "
                                         r"with groups=1 expects 3"):
        F.conv2d(gk.zeros(1, 4, 5, 5), gk.zeros(2, 3, 3, 3))


# === dtype and layout ======================================================
def test_float32_stays_float32_through_forward_and_backward():
    m = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ConvTranspose2d(3, 2, 2, stride=2))
    x = gk.randn(2, 2, 5, 5, requires_grad=True)
    y = m(x)
    assert y.dtype == gk.float32 and y.array.flags.c_contiguous
    (gx,) = gk.grad(y.sum(), x, create_graph=True)
    assert gx.dtype == gk.float32
    # (the biases do not reach dL/dx of this linear model; the weights do)
    assert all(g.dtype == gk.float32 for g in gk.grad((gx * gx).sum(), [m[0].weight, m[1].weight]))


def test_non_contiguous_input_matches_torch():
    """Windows are strided views of whatever layout the input has (permuted, flipped)."""
    a = np.random.default_rng(18).standard_normal((5, 6, 2, 3))
    w = np.random.default_rng(19).standard_normal((4, 2, 3, 2))
    g = gk.tensor(a, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    gy = F.conv2d(g.permute(3, 2, 0, 1).flip(2), gk.tensor(w), stride=(2, 1), padding=1)
    ty = TF.conv2d(t.permute(3, 2, 0, 1).flip(2), torch.tensor(w), stride=(2, 1), padding=1)
    np.testing.assert_allclose(gy.array, ty.detach().numpy(), rtol=1e-6, atol=1e-9)
    (gy * gy).sum().backward()
    (ty * ty).sum().backward()
    np.testing.assert_allclose(g.grad.array, t.grad.numpy(), rtol=1e-6, atol=1e-9)


def test_conv2d_array_backward_reuses_columns_and_retained_second_pass_agrees():
    # first backward: the array path with the forward's im2col columns; second (retain_graph):
    # the differentiable Function path. Both must give PyTorch's gradients.
    rng = np.random.default_rng(5)
    x, w, b = rng.standard_normal((2, 4, 7, 6)), rng.standard_normal((6, 2, 3, 2)), rng.standard_normal(6)
    gx, gw, gb = (gk.tensor(a, requires_grad=True) for a in (x, w, b))
    y = gk.nn.functional.conv2d(gx, gw, gb, stride=(2, 1), padding=1, groups=2)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = torch.nn.functional.conv2d(tx, tw, tb, stride=(2, 1), padding=1, groups=2)
    up = rng.standard_normal(ty.shape)
    (y * gk.tensor(up)).sum().backward(retain_graph=True)
    first = [t.grad.array.copy() for t in (gx, gw, gb)]
    (y * gk.tensor(up)).sum().backward()
    (ty * torch.tensor(up)).sum().backward()
    for f, t, tt in zip(first, (gx, gw, gb), (tx, tw, tb)):
        np.testing.assert_allclose(f, tt.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(t.grad.array, 2 * tt.grad.numpy(), rtol=1e-10, atol=1e-12)
