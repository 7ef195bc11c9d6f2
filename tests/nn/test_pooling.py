"""Pooling (nn/pooling.py, nn/functional/pooling.py): max/avg/adaptive pools in 1-D and 2-D against
PyTorch (float64 values, indices and input gradients over grids of kernel, stride, padding,
dilation and ceil_mode; adaptive sizes that do not divide the input), gradcheck and second
derivatives, modules (float32, repr, no state), ties and NaN, and the errors a user meets."""
import itertools

import numpy as np
import pytest
import torch
from oracle import check

import gradkit as gk
import gradkit.nn as nn
import gradkit.nn.functional as F

TF = torch.nn.functional


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# === max_pool2d ============================================================
MAX_GRID = [(k, s, p, d, c) for k, s, p, d, c in itertools.product(
    [2, 3, (3, 2)], [None, 1, 2], [0, 1], [1, 2], [False, True])]


@pytest.mark.parametrize("kernel,stride,padding,dilation,ceil_mode", MAX_GRID, ids=str)
def test_max_pool2d_grid_matches_torch(kernel, stride, padding, dilation, ceil_mode):
    kw = dict(kernel_size=kernel, stride=stride, padding=padding, dilation=dilation,
              ceil_mode=ceil_mode)
    n = 1 + MAX_GRID.index((kernel, stride, padding, dilation, ceil_mode)) % 2  # batch 1 and 2
    x = _x((n, 3, 8, 7), seed=n)
    check(lambda x: F.max_pool2d(x, **kw), lambda x: TF.max_pool2d(x, **kw), inputs=[x],
          gradcheck=False)
    gy, gi = F.max_pool2d(gk.tensor(x), **kw, return_indices=True)
    ty, ti = TF.max_pool2d(torch.tensor(x), **kw, return_indices=True)
    assert gi.dtype == gk.int64
    np.testing.assert_array_equal(gi.array, ti.numpy())
    np.testing.assert_array_equal(gy.array, ty.numpy())


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1),
                                dict(kernel_size=2, stride=2, dilation=2, ceil_mode=True)], ids=str)
def test_max_pool2d_gradcheck(kw):
    check(lambda x: F.max_pool2d(x, **kw), lambda x: TF.max_pool2d(x, **kw),
          inputs=[_x((1, 2, 5, 4), seed=3)])


def test_max_pool2d_ties_pick_the_first_maximum_as_torch():
    x = np.zeros((1, 2, 5, 6))
    x[0, 1, 1:4, 2:5] = 1.0  # plateaus: every window ties
    for kw in [dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1),
               dict(kernel_size=3, stride=2, ceil_mode=True)]:
        check(lambda x, kw=kw: F.max_pool2d(x, **kw), lambda x, kw=kw: TF.max_pool2d(x, **kw),
              inputs=[x], gradcheck=False)
        gi = F.max_pool2d(gk.tensor(x), **kw, return_indices=True)[1]
        ti = TF.max_pool2d(torch.tensor(x), **kw, return_indices=True)[1]
        np.testing.assert_array_equal(gi.array, ti.numpy())


def test_max_pool2d_propagates_nan_as_torch():
    x = _x((1, 1, 4, 4))
    x[0, 0, 1, 1] = x[0, 0, 2, 3] = x[0, 0, 3, 2] = np.nan
    gy, gi = F.max_pool2d(gk.tensor(x), 2, return_indices=True)
    ty, ti = TF.max_pool2d(torch.tensor(x), 2, return_indices=True)
    np.testing.assert_array_equal(gy.array, ty.numpy())  # NaN == NaN here
    np.testing.assert_array_equal(gi.array, ti.numpy())


@pytest.mark.parametrize("kw", [dict(kernel_size=2, padding=1),
                                dict(kernel_size=3, padding=1, dilation=2, stride=2),
                                dict(kernel_size=3, padding=1, stride=2, ceil_mode=True)], ids=str)
def test_max_pool2d_all_minus_inf_window_points_inside_the_input_as_torch(kw):
    x = np.full((1, 1, 5, 4), -np.inf)
    x[0, 0, 4, 3] = 1.0
    gi = F.max_pool2d(gk.tensor(x), **kw, return_indices=True)[1]
    ti = TF.max_pool2d(torch.tensor(x), **kw, return_indices=True)[1]
    np.testing.assert_array_equal(gi.array, ti.numpy())
    g = gk.tensor(x, requires_grad=True)
    F.max_pool2d(g, **kw).sum().backward()  # the gradient lands inside the input, not wrapped
    t = torch.tensor(x, requires_grad=True)
    TF.max_pool2d(t, **kw).sum().backward()
    np.testing.assert_array_equal(g.grad.array, t.grad.numpy())


def test_max_pool2d_overlapping_windows_accumulate_gradient():
    """stride < kernel: one pixel can be the maximum of several windows."""
    x = np.arange(25.0).reshape(1, 1, 5, 5)
    check(lambda x: F.max_pool2d(x, 3, stride=1), lambda x: TF.max_pool2d(x, 3, stride=1),
          inputs=[x], gradcheck=False)
    g = gk.tensor(x, requires_grad=True)
    F.max_pool2d(g, 3, stride=1).sum().backward()
    assert g.grad.array[0, 0, 4, 4] == 1 and g.grad.array[0, 0, 2, 2] == 1 and g.grad.array.sum() == 9


def test_max_pool2d_unbatched_matches_torch():
    check(lambda x: F.max_pool2d(x, 2, padding=1), lambda x: TF.max_pool2d(x, 2, padding=1),
          inputs=[_x((3, 5, 6))], gradcheck=False)
    gi = F.max_pool2d(gk.tensor(_x((3, 5, 6))), 2, return_indices=True)[1]
    assert gi.shape == (3, 2, 3)


# === max_pool1d ============================================================
@pytest.mark.parametrize("kernel,stride,padding,dilation,ceil_mode",
                         [(2, None, 0, 1, False), (3, 2, 1, 1, True), (3, 1, 1, 2, False),
                          (4, 3, 2, 1, True)])
def test_max_pool1d_matches_torch(kernel, stride, padding, dilation, ceil_mode):
    kw = dict(kernel_size=kernel, stride=stride, padding=padding, dilation=dilation,
              ceil_mode=ceil_mode)
    x = _x((2, 3, 11))
    check(lambda x: F.max_pool1d(x, **kw), lambda x: TF.max_pool1d(x, **kw), inputs=[x],
          gradcheck=False)
    gi = F.max_pool1d(gk.tensor(x), **kw, return_indices=True)[1]
    np.testing.assert_array_equal(gi.array, TF.max_pool1d(torch.tensor(x), **kw,
                                                         return_indices=True)[1].numpy())
    x1 = _x((3, 9))  # unbatched
    check(lambda x: F.max_pool1d(x, **kw), lambda x: TF.max_pool1d(x, **kw), inputs=[x1],
          gradcheck=False)


# === avg_pool2d ============================================================
AVG_GRID = [(k, s, p, c, i) for k, s, p, c, i in itertools.product(
    [2, 3, (3, 2)], [None, 2, (1, 2)], [0, 1], [False, True], [True, False])]


@pytest.mark.parametrize("kernel,stride,padding,ceil_mode,count_include_pad", AVG_GRID, ids=str)
def test_avg_pool2d_grid_matches_torch(kernel, stride, padding, ceil_mode, count_include_pad):
    kw = dict(kernel_size=kernel, stride=stride, padding=padding, ceil_mode=ceil_mode,
              count_include_pad=count_include_pad)
    n = 1 + AVG_GRID.index((kernel, stride, padding, ceil_mode, count_include_pad)) % 2
    check(lambda x: F.avg_pool2d(x, **kw), lambda x: TF.avg_pool2d(x, **kw),
          inputs=[_x((n, 2, 7, 8), seed=n)], gradcheck=False)


@pytest.mark.parametrize("divisor", [1, 5])
def test_avg_pool2d_divisor_override_matches_torch(divisor):
    kw = dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, divisor_override=divisor)
    check(lambda x: F.avg_pool2d(x, **kw), lambda x: TF.avg_pool2d(x, **kw), inputs=[_x((2, 2, 6, 7))],
          gradcheck=False)


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1,
                                                         ceil_mode=True, count_include_pad=False)],
                         ids=str)
def test_avg_pool2d_gradcheck(kw):
    check(lambda x: F.avg_pool2d(x, **kw), lambda x: TF.avg_pool2d(x, **kw),
          inputs=[_x((1, 2, 5, 4), seed=4)])


def test_avg_pool1d_matches_torch():
    for kw in [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                         count_include_pad=False)]:
        for shape in [(2, 3, 10), (3, 10)]:
            check(lambda x, kw=kw: F.avg_pool1d(x, **kw), lambda x, kw=kw: TF.avg_pool1d(x, **kw),
                  inputs=[_x(shape)], gradcheck=False)


# === adaptive pools ========================================================
ADAPTIVE = [((2, 3, 8, 8), 1), ((2, 3, 8, 8), 4), ((2, 3, 8, 8), (2, 8)), ((2, 3, 7, 9), 3),
            ((2, 3, 7, 9), (5, 4)), ((1, 2, 5, 6), (4, None)), ((1, 2, 3, 4), (5, 7)),
            ((2, 5, 6), (4, 4))]


@pytest.mark.parametrize("shape,size", ADAPTIVE, ids=str)
def test_adaptive_avg_pool2d_matches_torch(shape, size):
    check(lambda x: F.adaptive_avg_pool2d(x, size), lambda x: TF.adaptive_avg_pool2d(x, size),
          inputs=[_x(shape)], gradcheck=False)


@pytest.mark.parametrize("shape,size", ADAPTIVE, ids=str)
def test_adaptive_max_pool2d_matches_torch(shape, size):
    check(lambda x: F.adaptive_max_pool2d(x, size), lambda x: TF.adaptive_max_pool2d(x, size),
          inputs=[_x(shape)], gradcheck=False)
    gi = F.adaptive_max_pool2d(gk.tensor(_x(shape)), size, return_indices=True)[1]
    ti = TF.adaptive_max_pool2d(torch.tensor(_x(shape)), size, return_indices=True)[1]
    np.testing.assert_array_equal(gi.array, ti.numpy())


def test_adaptive_pools_gradcheck_with_non_dividing_sizes():
    x = _x((1, 2, 5, 7), seed=5)
    check(lambda x: F.adaptive_avg_pool2d(x, (3, 4)), lambda x: TF.adaptive_avg_pool2d(x, (3, 4)),
          inputs=[x])
    check(lambda x: F.adaptive_max_pool2d(x, (3, 4)), lambda x: TF.adaptive_max_pool2d(x, (3, 4)),
          inputs=[x])


@pytest.mark.parametrize("size", [1, 3, 4, 7])
def test_adaptive_pools_1d_match_torch(size):
    x = _x((2, 3, 10))
    check(lambda x: F.adaptive_avg_pool1d(x, size), lambda x: TF.adaptive_avg_pool1d(x, size),
          inputs=[x], gradcheck=False)
    check(lambda x: F.adaptive_max_pool1d(x, size), lambda x: TF.adaptive_max_pool1d(x, size),
          inputs=[x], gradcheck=False)
    gi = F.adaptive_max_pool1d(gk.tensor(x), size, return_indices=True)[1]
    np.testing.assert_array_equal(
        gi.array, TF.adaptive_max_pool1d(torch.tensor(x), size, return_indices=True)[1].numpy())


# === second derivatives ====================================================
@pytest.mark.parametrize("name,kw", [
    ("max_pool2d", dict(kernel_size=3, stride=2, padding=1)),
    ("max_pool2d", dict(kernel_size=3, stride=1)),                 # overlapping: the add.at path
    ("avg_pool2d", dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    ("adaptive_avg_pool2d", dict(output_size=(3, 2))),
    ("adaptive_max_pool2d", dict(output_size=(3, 2))),
], ids=str)
def test_second_order_matches_torch(name, kw):
    gfn, tfn = getattr(F, name), getattr(TF, name)
    x = _x((2, 2, 5, 6), seed=6)
    gx, tx = gk.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (gd,) = gk.grad((gfn(gx.tanh(), **kw) ** 3).sum(), gx, create_graph=True)
    (td,) = torch.autograd.grad((tfn(tx.tanh(), **kw) ** 3).sum(), tx, create_graph=True)
    np.testing.assert_allclose(gd.array, td.detach().numpy(), rtol=1e-6, atol=1e-9)
    (gdd,) = gk.grad((gd * gd).sum(), gx)
    (tdd,) = torch.autograd.grad((td * td).sum(), tx)
    np.testing.assert_allclose(gdd.array, tdd.numpy(), rtol=1e-6, atol=1e-9)


# === modules ===============================================================
@pytest.mark.parametrize("gmod,tmod,shape", [
    (nn.MaxPool2d(2), torch.nn.MaxPool2d(2), (4, 3, 8, 9)),
    (nn.MaxPool2d((3, 2), stride=(2, 1), padding=1, dilation=(1, 2), ceil_mode=True),
     torch.nn.MaxPool2d((3, 2), stride=(2, 1), padding=1, dilation=(1, 2), ceil_mode=True),
     (2, 3, 9, 8)),
    (nn.MaxPool1d(3, stride=2, padding=1), torch.nn.MaxPool1d(3, stride=2, padding=1), (2, 4, 9)),
    (nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
     torch.nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), (2, 3, 7, 8)),
    (nn.AvgPool2d(2, divisor_override=3), torch.nn.AvgPool2d(2, divisor_override=3), (2, 3, 6, 6)),
    (nn.AvgPool1d(3, stride=2, ceil_mode=True), torch.nn.AvgPool1d(3, stride=2, ceil_mode=True),
     (2, 4, 10)),
    (nn.AdaptiveAvgPool2d((5, 3)), torch.nn.AdaptiveAvgPool2d((5, 3)), (2, 3, 7, 8)),
    (nn.AdaptiveAvgPool2d(1), torch.nn.AdaptiveAvgPool2d(1), (2, 3, 7, 8)),
    (nn.AdaptiveAvgPool1d(4), torch.nn.AdaptiveAvgPool1d(4), (2, 3, 10)),
    (nn.AdaptiveMaxPool2d((3, None)), torch.nn.AdaptiveMaxPool2d((3, None)), (2, 3, 7, 8)),
    (nn.AdaptiveMaxPool1d(3), torch.nn.AdaptiveMaxPool1d(3), (2, 3, 10)),
], ids=lambda m: repr(m) if isinstance(m, nn.Module) else "")
def test_module_float32_matches_torch(gmod, tmod, shape):
    assert repr(gmod) == repr(tmod)
    assert list(gmod.state_dict()) == list(tmod.state_dict()) == []
    x = _x(shape, seed=7).astype(np.float32)
    gx, tx = gk.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    gy, ty = gmod(gx), tmod(tx)
    assert gy.dtype == gk.float32 and gy.shape == tuple(ty.shape)
    np.testing.assert_allclose(gy.array, ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    (gy * gy).sum().backward()
    (ty * ty).sum().backward()
    assert gx.grad.dtype == gk.float32
    np.testing.assert_allclose(gx.grad.array, tx.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(gmod.eval()(gx).array, gy.array)  # no train/eval difference


def test_max_pool_modules_return_indices():
    x = _x((2, 3, 6, 8))
    for g, t in [(nn.MaxPool2d(2, return_indices=True), torch.nn.MaxPool2d(2, return_indices=True)),
                 (nn.AdaptiveMaxPool2d(3, return_indices=True),
                  torch.nn.AdaptiveMaxPool2d(3, return_indices=True))]:
        (gy, gi), (ty, ti) = g(gk.tensor(x)), t(torch.tensor(x))
        np.testing.assert_array_equal(gi.array, ti.numpy())
        np.testing.assert_allclose(gy.array, ty.numpy())
    gy, gi = nn.MaxPool1d(2, return_indices=True)(gk.tensor(x[0]))
    ty, ti = torch.nn.MaxPool1d(2, return_indices=True)(torch.tensor(x[0]))
    np.testing.assert_array_equal(gi.array, ti.numpy())


def test_inference_path_without_grad_matches():
    """Under no_grad max pooling skips the argmax bookkeeping; same values."""
    x = gk.tensor(_x((2, 3, 7, 7)), requires_grad=True)
    with gk.no_grad():
        a = F.max_pool2d(x, 3, stride=2, padding=1)
    b = F.max_pool2d(x, 3, stride=2, padding=1)
    assert not a.requires_grad and b.requires_grad
    np.testing.assert_array_equal(a.array, b.array)


def test_conv_pool_stack_matches_torch():
    """Conv2d → ReLU → MaxPool2d → Conv2d → AdaptiveAvgPool2d, float32, weights by state_dict."""
    g = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Conv2d(4, 6, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    t = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(),
                            torch.nn.MaxPool2d(2), torch.nn.Conv2d(4, 6, 3),
                            torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    g.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    x = _x((3, 1, 12, 12), seed=8).astype(np.float32)
    gy, ty = g(gk.tensor(x)), t(torch.tensor(x))
    np.testing.assert_allclose(gy.array, ty.detach().numpy(), rtol=1e-4, atol=1e-6)
    gy.sum().backward()
    ty.sum().backward()
    for (name, p), tp in zip(g.named_parameters(), t.parameters()):
        np.testing.assert_allclose(p.grad.array, tp.grad.numpy(), rtol=1e-4, atol=1e-5,
                                   err_msg=name)


# === errors ================================================================
def test_pool_wrong_rank_names_layer_expected_and_actual():
    with pytest.raises(ValueError, match=r"MaxPool2d\(kernel_size=2, stride=2, padding=0, "
                                         r"dilation=1, ceil_mode=False\): expected input of shape "
                                         r"\(N, C, H, W\) or unbatched \(C, H, W\), got \(28, 28\)"):
        nn.MaxPool2d(2)(gk.zeros(28, 28))
    with pytest.raises(ValueError, match=r"AvgPool1d\(kernel_size=\(2,\).*\(N, C, L\).*got "
                                         r"\(2, 3, 4, 5\)"):
        nn.AvgPool1d(2)(gk.zeros(2, 3, 4, 5))
    with pytest.raises(ValueError, match=r"max_pool2d: expected a 4-D input"):
        F.max_pool2d(gk.zeros(5), 2)


def test_pool_kernel_larger_than_input():
    with pytest.raises(ValueError, match=r"max_pool2d: the output would be empty \(0x0\): the input "
                                         r"2x2 .* is smaller than the kernel \(3, 3\)"):
        F.max_pool2d(gk.zeros(1, 1, 2, 2), 3)
    with pytest.raises(ValueError, match=r"avg_pool2d: the output would be empty"):
        nn.AvgPool2d((1, 5))(gk.zeros(1, 1, 4, 4))


def test_pool_padding_at_most_half_the_kernel():
    with pytest.raises(ValueError, match=r"max_pool2d: padding \(2, 2\) should be at most half of "
                                         r"the effective kernel size"):
        F.max_pool2d(gk.zeros(1, 1, 6, 6), 3, padding=2)
    with pytest.raises(ValueError, match=r"avg_pool2d: padding \(2, 2\) should be at most half"):
        F.avg_pool2d(gk.zeros(1, 1, 6, 6), 3, padding=2)
