"""F.interpolate(antialias=True) and the resampling kernels against PyTorch.

float64: values and every gradient through tests/oracle.py, then gradcheck; second derivatives
(the backward is itself the transposed resample). float32: the forward values of PyTorch's CPU
kernels to a few units in the last place -- the numbers torchvision's resize and rotate are built
on (tests/vision compares those, uint8 rounding included).
"""
import numpy as np
import pytest
import torch

import gradkit as gk
import gradkit.nn.functional as F
from oracle import check

AA_CASES = [
    ((1, 2, 9, 13), dict(size=(4, 5))),                  # shrink both sides, non-integer scales
    ((2, 1, 16, 12), dict(size=(5, 4))),                 # shrink by ~3
    ((1, 2, 5, 7), dict(size=(11, 9))),                  # grow: the filter at scale 1
    ((1, 1, 8, 6), dict(size=(3, 13))),                  # shrink one side, grow the other
    ((1, 2, 8, 9), dict(size=(8, 4))),                   # one side unchanged
    ((1, 1, 10, 12), dict(scale_factor=0.45)),           # the scale from scale_factor
    ((1, 1, 10, 12), dict(scale_factor=(0.3, 1.7), recompute_scale_factor=True)),
    ((1, 2, 9, 13), dict(size=(4, 6), align_corners=True)),
]


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("shape,kw", AA_CASES)
def test_antialias_equals_pytorch_values_gradients_and_gradcheck(mode, shape, kw):
    kw = dict(kw, mode=mode, antialias=True)
    check(lambda x: F.interpolate(x, **kw), lambda x: torch.nn.functional.interpolate(x, **kw),
          shapes=[shape])


@pytest.mark.parametrize("mode,kw", [
    ("bilinear", dict(size=(3, 4), antialias=True)), ("bicubic", dict(size=(11, 5), antialias=True)),
    ("bilinear", dict(size=(7, 9))), ("bicubic", dict(scale_factor=1.5)),
    ("nearest", dict(size=(3, 11))),
])
def test_second_derivatives_equal_pytorch(mode, kw):
    """interpolate is linear: dL/dx = Aᵀ u, and the derivative of <v, Aᵀ u> in u is A v."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 2, 6, 8))
    u = rng.normal(size=torch.nn.functional.interpolate(torch.from_numpy(x), mode=mode, **kw).shape)
    v = rng.normal(size=x.shape)

    gx, gu = gk.tensor(x, requires_grad=True), gk.tensor(u, requires_grad=True)
    (g,) = gk.autograd.grad((F.interpolate(gx, mode=mode, **kw) * gu).sum(), [gx], create_graph=True)
    (g * gk.tensor(v)).sum().backward()

    tx, tu = torch.tensor(x, requires_grad=True), torch.tensor(u, requires_grad=True)
    (t,) = torch.autograd.grad((torch.nn.functional.interpolate(tx, mode=mode, **kw) * tu).sum(), [tx],
                               create_graph=True)
    (t * torch.tensor(v)).sum().backward()
    np.testing.assert_allclose(g.detach().numpy(), t.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gu.grad.numpy(), tu.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("mode,antialias", [("bilinear", True), ("bicubic", True), ("bilinear", False),
                                            ("bicubic", False), ("nearest", False),
                                            ("nearest-exact", False)])
@pytest.mark.parametrize("size", [(112, 112), (448, 448), (61, 300)])
def test_float32_matches_pytorchs_kernel(mode, antialias, size):
    x = np.random.default_rng(1).random((2, 3, 224, 224)).astype(np.float32)
    kw = dict(size=size, mode=mode)
    if mode in ("bilinear", "bicubic"):
        kw.update(align_corners=False, antialias=antialias)
    got = F.interpolate(gk.from_numpy(x), **kw)
    want = torch.nn.functional.interpolate(torch.from_numpy(x), **kw).numpy()
    assert got.dtype == gk.float32 and got.shape == want.shape
    np.testing.assert_allclose(got.numpy(), want, rtol=0, atol=1e-6)
    if mode.startswith("nearest"):
        np.testing.assert_array_equal(got.numpy(), want)


def test_nearest_picks_pytorchs_pixels_for_a_scale_factor():
    """PyTorch computes the scale as float32(1 / scale_factor), and (2-D) copies an axis whose
    size is kept: 37 * 1.01 -> 37."""
    x = np.arange(6 * 37, dtype=np.float64).reshape(1, 1, 6, 37)
    for sf in (0.7, 1.3, 2.0, 2.9, 1.01):
        for mode in ("nearest", "nearest-exact"):
            got = F.interpolate(gk.tensor(x), scale_factor=sf, mode=mode).numpy()
            want = torch.nn.functional.interpolate(torch.from_numpy(x), scale_factor=sf, mode=mode).numpy()
            np.testing.assert_array_equal(got, want)


def test_antialias_errors_name_the_fix():
    x = gk.zeros(1, 1, 4, 4)
    with pytest.raises(ValueError, match="antialias=True applies to modes 'bilinear' and 'bicubic'"):
        F.interpolate(x, size=2, mode="nearest", antialias=True)
    with pytest.raises(ValueError, match="mode 'bilinear' expects 4-D input"):
        F.interpolate(gk.zeros(1, 1, 4), size=2, mode="bilinear", antialias=True)
    with pytest.raises(TypeError, match="bilinear.*uint8.*float"):
        F.interpolate(gk.zeros(1, 1, 4, 4, dtype=gk.uint8), size=2, mode="bilinear")


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_grid_sample_float32_matches_pytorchs_kernel(mode):
    """rotate's numbers: torchvision samples with grid_sample(padding_mode="zeros",
    align_corners=False); the same float32 grid reads the same values."""
    rng = np.random.default_rng(2)
    x = rng.random((2, 3, 13, 17)).astype(np.float32)
    grid = rng.uniform(-1.3, 1.3, size=(2, 9, 11, 2)).astype(np.float32)
    kw = dict(mode=mode, padding_mode="zeros", align_corners=False)
    got = F.grid_sample(gk.from_numpy(x), gk.from_numpy(grid), **kw).numpy()
    want = torch.nn.functional.grid_sample(torch.from_numpy(x), torch.from_numpy(grid), **kw).numpy()
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
