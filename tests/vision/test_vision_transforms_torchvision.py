"""gradkit.vision.transforms against torchvision 0.28 (the oracle; its tensor path).

Deterministic transforms: the same inputs give torchvision's numbers (float32 to ~1e-6, float64 to
~1e-12, uint8 exactly). Random ones: given the parameters their ``get_params`` draws, the
functional form gives torchvision's result for those parameters; and the draws themselves are
checked by seed and by frequency. An image in PIL's layout (a uint8 Tensor H x W x C, as the
datasets give) is compared with torchvision on the same pixels as a uint8 tensor (C, H, W).
"""
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import gradkit as gk
from gradkit.vision import transforms as T
from gradkit.vision.transforms import functional as F

IM = T.InterpolationMode


ORACLE = Path(__file__).resolve().parents[2] / ".oracle" / "torchvision"


def _torchvision():
    """torchvision from PyPI is built against CUDA torch: with the CPU build of torch its C
    extension (the detection ops such as nms) does not load, and ``import torchvision`` fails
    while registering a fake kernel for ``torchvision::nms``. The transforms are pure Python:
    declare the two operators it registers fakes for, then import it again. It is installed in
    .oracle/torchvision (README's command 2), outside site-packages, because transformers imports
    any torchvision it finds and would fail the same way."""
    if ORACLE.is_dir() and str(ORACLE) not in sys.path:
        sys.path.append(str(ORACLE))
    try:
        import torchvision
    except RuntimeError as e:
        if "torchvision::nms" not in str(e):
            raise
        for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
            del sys.modules[name]
        _torchvision.schemas = torch.library.Library("torchvision", "DEF")   # kept alive
        for op in ("nms", "qnms"):
            _torchvision.schemas.define(f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        import torchvision
    import torchvision.transforms  # noqa: F401
    return torchvision


tv = _torchvision()
TT, TF = tv.transforms, tv.transforms.functional
TIM = TT.InterpolationMode
TOL = {np.float32: 1e-6, np.float64: 1e-12}


def _image(shape, dtype=np.float32, seed=0):
    return np.random.default_rng(seed).random(shape).astype(dtype)


def _u8(*shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape).astype(np.uint8)


def _close(got, want, dtype):
    got = got.numpy() if hasattr(got, "numpy") else np.asarray(got)
    assert got.shape == tuple(want.shape) and got.dtype == want.numpy().dtype
    np.testing.assert_allclose(got, want.numpy(), rtol=0, atol=TOL[dtype])


def _hwc(t):
    """torchvision's (C, H, W) result in PIL's layout, to compare with gradkit's."""
    return t.permute(1, 2, 0).numpy()


def _chw(hwc):
    """A uint8 image in PIL's layout as torchvision's tensor image: (C, H, W), contiguous."""
    return torch.from_numpy(hwc).permute(2, 0, 1).contiguous()


def _equal_u8(got, want_chw, want_float=None):
    """Exact, except where torchvision's own float result sits on a rounding tie (x.5 within
    1e-3, a few float32 roundings of values up to 255): there a sum of the same float32 products
    rounded in another order may round the other way, by one level."""
    got, want = got.numpy(), _hwc(want_chw)
    assert got.shape == want.shape and got.dtype == np.uint8
    differ = got != want
    if want_float is not None and differ.any():
        pre = _hwc(want_float)[differ]
        assert np.all(np.abs(pre - np.floor(pre) - 0.5) < 1e-3), pre
        assert np.abs(got.astype(int) - want)[differ].max() == 1
    else:
        np.testing.assert_array_equal(got, want)


# === Resize ======================================================================================
SIZES = [(5, 9), (20, 33), (13, 17), (64, 3), (1, 1), 8, 30, [7]]
MODES = ["nearest", "nearest-exact", "bilinear", "bicubic"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("antialias", [True, False])
def test_resize_equals_torchvision(dtype, mode, antialias):
    for shape in [(3, 13, 17), (2, 40, 11), (4, 2, 9, 6)]:       # (..., C, H, W), odd sizes
        x = _image(shape, dtype)
        for size in SIZES:
            want = TF.resize(torch.from_numpy(x), [size] if isinstance(size, int) else size,
                             TIM(mode), antialias=antialias)
            _close(F.resize(gk.from_numpy(x), size, IM(mode), antialias=antialias), want, dtype)


@pytest.mark.parametrize("mode", ["nearest", "bilinear", "bicubic"])
@pytest.mark.parametrize("antialias", [True, False])
def test_resize_uint8_pil_layout_equals_torchvision_rounding(mode, antialias):
    for shape in [(13, 17, 3), (28, 28, 1), (40, 11, 3)]:
        x = _u8(*shape)
        chw = _chw(x)
        for size in [(5, 9), (20, 33), 14, 224]:
            s = [size] if isinstance(size, int) else list(size)
            want = TF.resize(chw, s, TIM(mode), antialias=antialias)
            pre = TF.resize(chw.float(), s, TIM(mode), antialias=antialias)
            _equal_u8(F.resize(gk.from_numpy(x), size, IM(mode), antialias=antialias), want, pre)


def test_resize_int_size_keeps_the_aspect_ratio_and_the_kind():
    x = _image((3, 13, 17))
    for t, g in [(TT.Resize(8), T.Resize(8)), (TT.Resize([8]), T.Resize([8])),
                 (TT.Resize(8, max_size=9), T.Resize(8, max_size=9)), (TT.Resize((6, 4)), T.Resize((6, 4)))]:
        _close(g(gk.from_numpy(x)), t(torch.from_numpy(x)), np.float32)
        assert repr(g) == repr(t)
    assert T.Resize(8)(gk.from_numpy(x)).shape == (3, 8, 10)      # int(8 * 17 / 13) = 10
    grey = _u8(28, 28)                                            # an MNIST item
    assert T.Resize(32)(gk.from_numpy(grey)).shape == (32, 32)
    assert T.Resize(14)(grey).shape == (14, 14) and isinstance(T.Resize(14)(grey), np.ndarray)
    same = gk.from_numpy(x)
    np.testing.assert_array_equal(T.Resize((13, 17))(same).numpy(), x)   # nothing to do
    Image = pytest.importorskip("PIL.Image")
    out = T.Resize(14)(Image.fromarray(_u8(28, 28, 3)))           # a PIL image: a uint8 Tensor back
    assert isinstance(out, gk.Tensor) and out.shape == (14, 14, 3) and out.dtype == np.uint8


def test_pil_layout_is_within_one_level_of_pillows_own_arithmetic():
    """torchvision computes a PIL image with Pillow; gradkit computes torchvision's tensor path
    on the same pixels: the two differ by at most one grey level for resize and grayscale."""
    Image = pytest.importorskip("PIL.Image")
    x = _u8(32, 40, 3, seed=1)
    for t, g in [(TT.Resize(20), T.Resize(20)), (TT.Resize(64), T.Resize(64)), (TT.Grayscale(), T.Grayscale())]:
        diff = np.abs(np.asarray(t(Image.fromarray(x))).astype(int) - g(gk.from_numpy(x)).numpy())
        assert diff.max() <= 1


# === crops, pads, flips: exact ====================================================================
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_crops_pads_and_flips_equal_torchvision(dtype):
    x = _image((3, 13, 17), dtype)
    tx, gx = torch.from_numpy(x), gk.from_numpy(x)
    cases = [(F.hflip, TF.hflip, ()), (F.vflip, TF.vflip, ())]
    cases += [(F.crop, TF.crop, c) for c in [(2, 3, 5, 7), (-2, -3, 8, 9), (10, 14, 6, 6), (0, 0, 13, 17)]]
    cases += [(F.center_crop, TF.center_crop, (s,)) for s in [5, (4, 6), (20, 21), [13, 17], (14, 3)]]
    cases += [(F.pad, TF.pad, (p, 0.3, mode)) for p, mode in [(2, "constant"), ([1, 2], "edge"),
              ([1, 2, 3, 4], "reflect"), ([3, 1, 0, 2], "symmetric"), ([-1, 2, 1, -2], "constant")]]
    for ours, theirs, args in cases:
        np.testing.assert_array_equal(ours(gx, *args).numpy(), theirs(tx, *args).numpy())
    for t, g in [(TT.Pad(3, fill=0.5), T.Pad(3, fill=0.5)), (TT.Pad((1, 2), padding_mode="reflect"), T.Pad((1, 2), padding_mode="reflect")),
                 (TT.CenterCrop(7), T.CenterCrop(7)), (TT.RandomHorizontalFlip(1.0), T.RandomHorizontalFlip(1.0)),
                 (TT.RandomVerticalFlip(1.0), T.RandomVerticalFlip(1.0))]:
        np.testing.assert_array_equal(g(gx).numpy(), t(tx).numpy())
        assert repr(g) == repr(t)


def test_crops_pads_and_flips_in_pil_layout():
    x = _u8(13, 17, 3)
    chw, gx = _chw(x), gk.from_numpy(x)
    for ours, theirs, args in [(F.hflip, TF.hflip, ()), (F.vflip, TF.vflip, ()),
                               (F.crop, TF.crop, (-2, 3, 8, 20)), (F.center_crop, TF.center_crop, ((9, 20),)),
                               (F.pad, TF.pad, ([1, 2, 3, 4], 7, "constant")), (F.pad, TF.pad, (2, 0, "edge")),
                               (F.pad, TF.pad, ([3, 1], 0, "reflect")), (F.pad, TF.pad, (2, 0, "symmetric"))]:
        out = ours(gx, *args)
        assert isinstance(out, gk.Tensor) and out.dtype == np.uint8
        np.testing.assert_array_equal(out.numpy(), _hwc(theirs(chw, *args)))
    assert isinstance(F.hflip(x), np.ndarray)                     # a NumPy array stays one


# === colour: equal to torchvision.transforms.functional ===========================================
COLOUR = [(F.adjust_brightness, TF.adjust_brightness, f) for f in (0.0, 0.5, 1.3)]
COLOUR += [(F.adjust_contrast, TF.adjust_contrast, f) for f in (0.0, 0.6, 1.7)]
COLOUR += [(F.adjust_saturation, TF.adjust_saturation, f) for f in (0.0, 0.4, 2.0)]
COLOUR += [(F.adjust_hue, TF.adjust_hue, f) for f in (-0.5, -0.2, 0.0, 0.33, 0.5)]
COLOUR += [(F.adjust_gamma, TF.adjust_gamma, f) for f in (0.5, 2.2)]
COLOUR += [(F.rgb_to_grayscale, TF.rgb_to_grayscale, n) for n in (1, 3)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_colour_adjustments_equal_torchvision(dtype):
    for shape in [(3, 13, 17), (2, 3, 5, 4), (1, 6, 7)]:        # RGB, a batch of RGB, grey
        x = _image(shape, dtype)
        for ours, theirs, arg in COLOUR:
            if ours is F.rgb_to_grayscale and shape[-3] == 1 and arg == 3:
                continue
            _close(ours(gk.from_numpy(x), arg), theirs(torch.from_numpy(x), arg), dtype)


def test_colour_adjustments_on_uint8_equal_torchvision_exactly():
    x = _u8(13, 17, 3)
    chw = _chw(x)
    for ours, theirs, arg in COLOUR:
        out = ours(gk.from_numpy(x), arg)
        want = theirs(chw, arg)
        if want.shape[0] == 1:                                    # grey comes back H x W
            np.testing.assert_array_equal(out.numpy(), want[0].numpy())
        else:
            _equal_u8(out, want)


def test_grayscale_transforms_and_the_grey_image_rule():
    x = _image((3, 6, 7))
    for t, g in [(TT.Grayscale(), T.Grayscale()), (TT.Grayscale(3), T.Grayscale(3)),
                 (TT.RandomGrayscale(1.0), T.RandomGrayscale(1.0))]:
        _close(g(gk.from_numpy(x)), t(torch.from_numpy(x)), np.float32)
        assert repr(g) == repr(t)
    grey = _u8(28, 28)                  # MNIST in PIL's layout: Grayscale(3) gives RGB, as Pillow
    assert T.Grayscale(3)(gk.from_numpy(grey)).shape == (28, 28, 3)
    assert T.Grayscale()(gk.from_numpy(_u8(5, 5, 3))).shape == (5, 5)
    one = _image((1, 4, 4))             # a 1-channel tensor image stays 1 channel, as torchvision's
    assert T.Grayscale(3)(gk.from_numpy(one)).shape == TT.Grayscale(3)(torch.from_numpy(one)).shape


# === rotate, blur, erase, convert_image_dtype ======================================================
ROTATIONS = [(30.0, "nearest", False, None, None), (-47.3, "bilinear", False, None, None),
             (12.5, "bilinear", True, [0.5, 0.2, 0.1], None), (95.0, "nearest", True, [1.0, 1.0, 1.0], [3, 4]),
             (200.0, "bilinear", False, [0.0, 0.0, 0.0], [10, 2]), (-10, "nearest", False, 0.25, None)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rotate_equals_torchvision(dtype):
    x = _image((3, 13, 17), dtype)
    for angle, mode, expand, fill, center in ROTATIONS:
        want = TF.rotate(torch.from_numpy(x), angle, TIM(mode), expand, center, fill)
        _close(F.rotate(gk.from_numpy(x), angle, IM(mode), expand, center, fill), want, dtype)
    u = _u8(13, 17, 3)
    for angle, mode, expand, fill, center in ROTATIONS:
        want = TF.rotate(_chw(u), angle, TIM(mode), expand, center, fill)
        _equal_u8(F.rotate(gk.from_numpy(u), angle, IM(mode), expand, center, fill), want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gaussian_blur_erase_and_dtype_conversion_equal_torchvision(dtype):
    x = _image((3, 13, 17), dtype)
    tx, gx = torch.from_numpy(x), gk.from_numpy(x)
    for ks, sigma in [([3, 3], [1.0, 1.0]), ([5, 3], [0.7, 2.0]), ([9, 9], None), (7, 1.5)]:
        _close(F.gaussian_blur(gx, ks, sigma), TF.gaussian_blur(tx, ks, sigma), dtype)
    u = _u8(13, 17, 3)
    _equal_u8(F.gaussian_blur(gk.from_numpy(u), [5, 3], [0.8, 1.5]),
              TF.gaussian_blur(_chw(u), [5, 3], [0.8, 1.5]))
    v = np.full((3, 1, 1), 0.5, dtype)
    _close(F.erase(gx, 1, 2, 3, 4, gk.from_numpy(v)), TF.erase(tx, 1, 2, 3, 4, torch.from_numpy(v)), dtype)
    np.testing.assert_array_equal(x, _image((3, 13, 17), dtype))            # not in place
    for to, to_torch in [(gk.uint8, torch.uint8), (gk.float32, torch.float32), (gk.float64, torch.float64),
                         (gk.int16, torch.int16)]:
        want = TF.convert_image_dtype(tx, to_torch)
        np.testing.assert_array_equal(T.ConvertImageDtype(to)(gx).numpy(), want.numpy())
    ints = np.random.default_rng(1).integers(0, 30000, (3, 4, 5)).astype(np.int16)
    for to, to_torch in [(gk.uint8, torch.uint8), (gk.int32, torch.int32), (gk.float32, torch.float32)]:
        np.testing.assert_array_equal(F.convert_image_dtype(gk.from_numpy(ints), to).numpy(),
                                      TF.convert_image_dtype(torch.from_numpy(ints), to_torch).numpy())


# === random transforms: torchvision's result for the parameters get_params draws ==================
def test_random_transforms_apply_the_parameters_they_draw():
    x = _image((3, 20, 24))
    tx, gx = torch.from_numpy(x), gk.from_numpy(x)
    for seed in range(5):
        gk.manual_seed(seed)
        out = T.RandomResizedCrop((8, 10))(gx)
        gk.manual_seed(seed)
        i, j, h, w = T.RandomResizedCrop.get_params(gx, (0.08, 1.0), (3 / 4, 4 / 3))
        _close(out, TF.resized_crop(tx, i, j, h, w, [8, 10]), np.float32)

        gk.manual_seed(seed)
        out = T.RandomCrop(16, padding=3, padding_mode="reflect")(gx)
        padded = TF.pad(tx, 3, padding_mode="reflect")
        gk.manual_seed(seed)
        _close(out, TF.crop(padded, *T.RandomCrop.get_params(gk.from_numpy(padded.numpy()), (16, 16))), np.float32)

        jitter = T.ColorJitter(0.4, 0.4, 0.4, 0.1)
        gk.manual_seed(seed)
        out = jitter(gx)
        gk.manual_seed(seed)
        order, b, c, s, hue = T.ColorJitter.get_params(jitter.brightness, jitter.contrast, jitter.saturation, jitter.hue)
        want = tx
        for k in order.tolist():
            want = [TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_hue][k](want, [b, c, s, hue][k])
        _close(out, want, np.float32)

        gk.manual_seed(seed)
        out = T.RandomRotation(30, interpolation=IM.BILINEAR, fill=0.5)(gx)
        gk.manual_seed(seed)
        angle = T.RandomRotation.get_params([-30.0, 30.0])
        _close(out, TF.rotate(tx, angle, TIM.BILINEAR, fill=[0.5] * 3), np.float32)

        gk.manual_seed(seed)
        out = T.GaussianBlur(5, sigma=(0.1, 2.0))(gx)
        gk.manual_seed(seed)
        sigma = T.GaussianBlur.get_params(0.1, 2.0)
        _close(out, TF.gaussian_blur(tx, [5, 5], [sigma, sigma]), np.float32)

        gk.manual_seed(seed)
        out = T.RandomErasing(p=1.0, value=(0.1, 0.2, 0.3))(gx)
        gk.manual_seed(seed)
        gk.random.get_generator().random()                      # the p draw comes first
        i, j, h, w, v = T.RandomErasing.get_params(gx, (0.02, 0.33), (0.3, 3.3), [0.1, 0.2, 0.3])
        _close(out, TF.erase(tx, i, j, h, w, torch.from_numpy(v.numpy())), np.float32)


def test_get_params_draw_what_torchvision_allows():
    img = gk.zeros(3, 50, 80)
    gk.manual_seed(0)
    for _ in range(200):
        i, j, h, w = T.RandomResizedCrop.get_params(img, (0.08, 1.0), (3 / 4, 4 / 3))
        assert 0 <= i <= 50 - h and 0 <= j <= 80 - w and 0 < h <= 50 and 0 < w <= 80
        i, j, h, w = T.RandomCrop.get_params(img, (20, 30))
        assert 0 <= i <= 30 and 0 <= j <= 50 and (h, w) == (20, 30)
        assert -10 <= T.RandomRotation.get_params([-10, 10]) <= 10
        order, b, c, s, hue = T.ColorJitter.get_params((0.5, 1.5), None, (0.0, 2.0), (-0.1, 0.1))
        assert sorted(order.tolist()) == [0, 1, 2, 3] and c is None
        assert 0.5 <= b <= 1.5 and 0 <= s <= 2 and -0.1 <= hue <= 0.1
    # the fallback for a ratio no window can have: the central crop, as torchvision's
    assert T.RandomResizedCrop.get_params(gk.zeros(1, 10, 100), (0.9, 1.0), (1.0, 1.0)) == \
        TT.RandomResizedCrop.get_params(torch.zeros(1, 10, 100), (0.9, 1.0), (1.0, 1.0))


def test_random_transforms_repeat_with_the_seed_and_flip_with_probability_p():
    x = gk.from_numpy(_image((3, 16, 16)))
    pipeline = T.Compose([T.RandomResizedCrop(12), T.RandomHorizontalFlip(), T.RandomRotation(15),
                          T.ColorJitter(0.3, 0.3, 0.3, 0.05), T.RandomGrayscale(0.3), T.GaussianBlur(3),
                          T.RandomErasing(value="random")])
    gk.manual_seed(3)
    first = [pipeline(x).numpy() for _ in range(5)]
    gk.manual_seed(3)
    again = [pipeline(x).numpy() for _ in range(5)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], first[1])
    marked = gk.from_numpy(np.arange(6, dtype=np.float32).reshape(1, 2, 3))
    gk.manual_seed(0)
    for t, flipped in [(T.RandomHorizontalFlip(0.3), lambda y: y[0, 0, 0] == 2),
                       (T.RandomVerticalFlip(0.7), lambda y: y[0, 0, 0] == 3),
                       (T.RandomApply([T.Lambda(lambda y: -y)], p=0.2), lambda y: y[0, 0, 1] < 0)]:
        rate = np.mean([bool(flipped(t(marked).numpy())) for _ in range(2000)])
        assert abs(rate - getattr(t, "p")) < 0.04, (t, rate)
    choice = T.RandomChoice([T.Lambda(lambda y: 0), T.Lambda(lambda y: 1)], p=[1, 3])
    assert abs(np.mean([choice(marked) for _ in range(2000)]) - 0.75) < 0.04


# === bad input, and every torchvision name ==========================================================
def test_bad_input_names_the_problem():
    with pytest.raises(ValueError, match=r"resize: expected a tensor image of shape \(\.\.\., C, H, W\).*got shape \(5,\)"):
        F.resize(gk.zeros(5), 3)
    with pytest.raises(ValueError, match="Resize: size must be positive integers; got -3"):
        T.Resize(-3)
    with pytest.raises(ValueError, match="resize: size must be positive; got -2"):
        F.resize(gk.zeros(3, 4, 4), -2)
    with pytest.raises(TypeError, match=r"size should be an int or a sequence of 1 or 2 ints"):
        F.resize(gk.zeros(3, 4, 4), (2, 3, 4))
    with pytest.raises(ValueError, match="'lanczos' is not computed on tensors.*bilinear, bicubic"):
        T.Resize(8, interpolation=IM.LANCZOS)
    with pytest.raises(ValueError, match=r"looks channels-first"):
        T.Resize(8)(gk.from_numpy(np.zeros((3, 8, 8), np.uint8)))
    with pytest.raises(TypeError, match=r"adjust_brightness: expected an image with 1 or 3 channels; got 4"):
        F.adjust_brightness(gk.zeros(4, 5, 5), 1.2)
    with pytest.raises(ValueError, match=r"hue_factor \(0\.7\) is not in \[-0\.5, 0\.5\]"):
        F.adjust_hue(gk.zeros(3, 5, 5), 0.7)
    with pytest.raises(ValueError, match="odd and positive"):
        T.GaussianBlur(4)
    with pytest.raises(ValueError, match="'bicubic' is not computed on tensors.*nearest, bilinear"):
        T.RandomRotation(10, interpolation=IM.BICUBIC)
    with pytest.raises(TypeError, match="img should be a Tensor image or an image in PIL's layout.*got list"):
        F.hflip([[1, 2]])
    with pytest.raises(TypeError, match=r"erase: img should be a tensor image.*after ToTensor\(\)"):
        T.RandomErasing(p=1.0)(gk.from_numpy(_u8(8, 8, 3)))
    with pytest.raises(ValueError, match=r"if degrees is a single number, it must be positive"):
        T.RandomRotation(-5)
    with pytest.raises(ValueError, match=r"brightness values should be between"):
        T.ColorJitter(brightness=(1.5, 0.5))
    with pytest.raises(AttributeError, match=r"functional\.affine is not supported: .*use rotate"):
        F.affine


def test_every_torchvision_transform_name_exists_or_says_what_to_use():
    names = tv.transforms.transforms.__all__ + tv.transforms.autoaugment.__all__
    assert len(names) > 40
    for name in names:
        ours = getattr(T, name)
        if name in T.UNSUPPORTED:
            with pytest.raises(NotImplementedError, match=rf"transforms\.{name} is not supported by gradkit\.vision: (use|write) "):
                ours()
        else:
            assert name in T.__all__, name


def test_to_pil_image_with_pillow_and_a_clear_error_without(monkeypatch):
    Image = pytest.importorskip("PIL.Image")
    x = _image((3, 5, 6))
    ours, theirs = T.ToPILImage()(gk.from_numpy(x)), TT.ToPILImage()(torch.from_numpy(x))
    assert ours.mode == theirs.mode == "RGB" and np.array_equal(np.asarray(ours), np.asarray(theirs))
    grey = _u8(4, 5)
    assert np.array_equal(np.asarray(F.to_pil_image(gk.from_numpy(grey))), np.asarray(Image.fromarray(grey)))
    assert np.array_equal(T.ToTensor()(ours).numpy(), TT.ToTensor()(theirs).numpy())   # and back
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match="ToPILImage needs Pillow, which gradkit does not depend on"):
        T.ToPILImage()


def test_an_augmentation_pipeline_on_dataset_items():
    t = T.Compose([T.RandomResizedCrop(24, scale=(0.5, 1.0)), T.RandomHorizontalFlip(), T.RandomRotation(10),
                   T.ColorJitter(0.2, 0.2, 0.2, 0.02), T.ToTensor(), T.Normalize((0.5,) * 3, (0.25,) * 3),
                   T.RandomErasing()])
    out = t(gk.from_numpy(_u8(32, 32, 3)))                    # a CIFAR-10 item
    assert isinstance(out, gk.Tensor) and out.shape == (3, 24, 24) and out.dtype == np.float32
    mnist = T.Compose([T.Resize(32), T.Grayscale(3), T.ToTensor()])(gk.from_numpy(_u8(28, 28)))
    assert mnist.shape == (3, 32, 32)
