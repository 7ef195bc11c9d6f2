"""gradkit.vision.transforms: torchvision's per-sample transforms, values against torch (and
torchvision's documented formulas), the image layouts, seeds and the messages."""
import numpy as np
import pytest
import torch

import gradkit as gk
from gradkit.vision import transforms as T


def _u8(*shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape).astype(np.uint8)


# === ToTensor ===================================================================================
def test_to_tensor_uint8_grey_and_colour_match_torchvision_formula():
    grey, colour = _u8(5, 7), _u8(5, 7, 3)
    # torchvision: from_numpy(HWC).permute(2, 0, 1).to(float32).div(255)
    want_grey = torch.from_numpy(grey)[None].to(torch.float32).div(255).numpy()
    want_colour = torch.from_numpy(colour).permute(2, 0, 1).to(torch.float32).div(255).numpy()
    for image, want in ((grey, want_grey), (colour, want_colour)):
        for given in (gk.from_numpy(image), image):       # a dataset's Tensor, or a NumPy array
            out = T.ToTensor()(given)
            assert isinstance(out, gk.Tensor) and out.dtype == np.float32
            np.testing.assert_array_equal(out.numpy(), want)   # bit for bit: x / 255, not x * (1/255)


def test_to_tensor_keeps_other_arrays_as_torchvision():
    f64 = np.random.default_rng(1).normal(size=(4, 6, 3))
    out = T.ToTensor()(f64)
    assert out.dtype == np.float64 and out.shape == (3, 4, 6)
    np.testing.assert_array_equal(out.numpy(), f64.transpose(2, 0, 1))   # moved, not scaled
    i32 = np.arange(12, dtype=np.int32).reshape(3, 4)
    out = T.ToTensor()(i32)
    assert out.dtype == np.int32 and out.shape == (1, 3, 4) and out.numpy().max() == 11


def test_to_tensor_reads_a_pil_image():
    Image = pytest.importorskip("PIL.Image")
    a = _u8(6, 5, 3)
    np.testing.assert_array_equal(T.ToTensor()(Image.fromarray(a)).numpy(), T.ToTensor()(a).numpy())


def test_to_tensor_refuses_a_tensor_image_and_channels_first_uint8():
    with pytest.raises(TypeError, match=r"already a tensor image: drop ToTensor\(\)"):
        T.ToTensor()(gk.zeros(1, 4, 4))
    with pytest.raises(ValueError, match=r"got shape \(3, 8, 8\), which looks channels-first"):
        T.ToTensor()(gk.from_numpy(_u8(3, 8, 8)))
    with pytest.raises(ValueError, match="H x W or H x W x C; got shape"):
        T.ToTensor()(_u8(2, 3, 4, 3))
    with pytest.raises(TypeError, match="got list"):
        T.ToTensor()([[1, 2]])


# === Normalize ==================================================================================
@pytest.mark.parametrize("mean, std, shape", [
    ((0.1307,), (0.3081,), (1, 6, 5)),                          # MNIST's recipe
    ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616), (3, 4, 4)),   # CIFAR-10's
    ((0.5,), (0.25,), (3, 4, 4)),                               # one value for every channel
    ([0.1, 0.2], [0.3, 0.4], (5, 2, 3, 3)),                     # a batch (..., C, H, W)
])
def test_normalize_equals_torchvision_sub_div(mean, std, shape):
    x = np.random.default_rng(2).random(shape, dtype=np.float32)
    # torchvision's F.normalize: tensor.sub_(mean.view(-1, 1, 1)).div_(std.view(-1, 1, 1))
    m = torch.as_tensor(mean, dtype=torch.float32).view(-1, 1, 1)
    s = torch.as_tensor(std, dtype=torch.float32).view(-1, 1, 1)
    want = torch.from_numpy(x).clone().sub_(m).div_(s).numpy()
    got = T.Normalize(mean, std)(gk.from_numpy(x))
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got.numpy(), want)
    np.testing.assert_array_equal(x, np.random.default_rng(2).random(shape, dtype=np.float32))


def test_normalize_inplace_writes_the_input():
    x = gk.ones(2, 3, 3)
    out = T.Normalize((0.5, 0.0), (0.5, 2.0), inplace=True)(x)
    assert out is x
    np.testing.assert_array_equal(x.numpy()[0], 1.0)
    np.testing.assert_array_equal(x.numpy()[1], 0.5)


def test_normalize_messages():
    with pytest.raises(TypeError, match=r"should be a float tensor; got uint8 .*Put ToTensor\(\) before Normalize"):
        T.Normalize((0.5,), (0.5,))(gk.from_numpy(_u8(1, 4, 4)))
    with pytest.raises(TypeError, match=r"Put ToTensor\(\) before Normalize"):
        T.Normalize((0.5,), (0.5,))(np.zeros((1, 4, 4), np.float32))
    with pytest.raises(ValueError, match=r"\(\.\.\., C, H, W\) with C = 3 .*got size \(1, 4, 4\)"):
        T.Normalize((0.1, 0.2, 0.3), (1, 1, 1))(gk.zeros(1, 4, 4))
    with pytest.raises(ValueError, match=r"\(\.\.\., C, H, W\)"):
        T.Normalize((0.5,), (0.5,))(gk.zeros(4, 4))
    with pytest.raises(ValueError, match="std has a zero entry"):
        T.Normalize((0.5, 0.5), (1.0, 0.0))


# === Compose / Lambda ===========================================================================
def test_compose_chains_and_prints_as_torchvision():
    t = T.Compose([T.ToTensor(), T.Normalize((0.1307,), (0.3081,)), T.Lambda(lambda x: x * 2)])
    image = _u8(4, 4)
    want = (torch.from_numpy(image)[None].float().div(255).sub(0.1307).div(0.3081) * 2).numpy()
    np.testing.assert_allclose(t(gk.from_numpy(image)).numpy(), want, rtol=1e-6, atol=1e-6)
    assert repr(t) == ("Compose(\n    ToTensor()\n    Normalize(mean=(0.1307,), std=(0.3081,))\n"
                       "    Lambda()\n)")
    assert repr(T.RandomCrop(32, padding=4)) == "RandomCrop(size=(32, 32), padding=4)"
    assert repr(T.RandomHorizontalFlip()) == "RandomHorizontalFlip(p=0.5)"
    with pytest.raises(TypeError, match="lambd should be callable, got 'int'"):
        T.Lambda(3)
    with pytest.raises(TypeError, match=r"transforms\[1\] is int"):
        T.Compose([T.ToTensor(), 3])


# === RandomHorizontalFlip =======================================================================
def test_horizontal_flip_in_both_layouts():
    chw = gk.from_numpy(np.random.default_rng(3).random((2, 3, 4), dtype=np.float32))
    hwc, hw = _u8(3, 4, 2), _u8(3, 4)
    flip = T.RandomHorizontalFlip(p=1.0)
    np.testing.assert_array_equal(flip(chw).numpy(), torch.from_numpy(chw.numpy()).flip(-1).numpy())
    np.testing.assert_array_equal(flip(gk.from_numpy(hwc)).numpy(), hwc[:, ::-1])   # PIL: the W axis
    np.testing.assert_array_equal(flip(gk.from_numpy(hw)).numpy(), hw[:, ::-1])
    np.testing.assert_array_equal(flip(hwc), hwc[:, ::-1])          # a NumPy array stays one
    assert flip(gk.from_numpy(hwc)).dtype == np.uint8
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=0.0)(chw).numpy(), chw.numpy())


def test_horizontal_flip_draws_from_the_global_generator():
    x = gk.from_numpy(np.arange(6, dtype=np.float32).reshape(1, 2, 3))
    flip = T.RandomHorizontalFlip()

    def flips():
        return [bool(flip(x).numpy()[0, 0, 0] == 2) for _ in range(200)]

    gk.manual_seed(7)
    first = flips()
    gk.manual_seed(7)
    assert flips() == first
    assert 70 < sum(first) < 130          # p = 0.5


# === RandomCrop / CenterCrop ====================================================================
def _windows(padded, size):
    """Every size x size window of padded (..., H, W), by its offset."""
    h, w = padded.shape[-2:]
    return {(i, j): padded[..., i:i + size, j:j + size]
            for i in range(h - size + 1) for j in range(w - size + 1)}


def test_random_crop_is_a_window_of_the_padded_image_and_seeded():
    x = np.random.default_rng(4).random((1, 6, 6), dtype=np.float32)
    padded = torch.nn.functional.pad(torch.from_numpy(x), (2, 2, 2, 2)).numpy()   # torchvision's pad
    windows = _windows(padded, 6)
    crop = T.RandomCrop(6, padding=2)
    gk.manual_seed(0)
    seen = []
    for _ in range(300):
        out = crop(gk.from_numpy(x)).numpy()
        seen.append(next(k for k, v in windows.items() if np.array_equal(v, out)))
    assert set(seen) == set(windows)          # all 25 offsets, uniformly drawn
    gk.manual_seed(0)
    again = [crop(gk.from_numpy(x)).numpy() for _ in range(5)]
    assert all(np.array_equal(a, windows[k]) for a, k in zip(again, seen))


def test_random_crop_in_pil_layout():
    image = _u8(5, 5, 3)
    out = T.RandomCrop(5, padding=1)(gk.from_numpy(image))
    assert out.dtype == np.uint8 and out.shape == (5, 5, 3)
    padded = np.pad(image, ((1, 1), (1, 1), (0, 0)))
    assert any(np.array_equal(out.numpy(), padded[i:i + 5, j:j + 5]) for i in range(3) for j in range(3))


@pytest.mark.parametrize("mode, torch_mode", [("constant", "constant"), ("edge", "replicate"),
                                              ("reflect", "reflect"), ("symmetric", None)])
def test_random_crop_padding_forms_match_torchvision(mode, torch_mode):
    x = np.random.default_rng(5).random((2, 5, 6), dtype=np.float32)
    left, top, right, bottom = 1, 2, 3, 4            # torchvision's order
    crop = T.RandomCrop((5 + top + bottom, 6 + left + right), padding=(left, top, right, bottom),
                        fill=0.5 if mode == "constant" else 0, padding_mode=mode)
    out = crop(gk.from_numpy(x)).numpy()              # the window is the whole padded image
    if torch_mode is None:                            # torchvision's symmetric: np.pad's
        want = np.pad(x, ((0, 0), (top, bottom), (left, right)), mode="symmetric")
    else:
        kw = {"value": 0.5} if mode == "constant" else {}
        want = torch.nn.functional.pad(torch.from_numpy(x), (left, right, top, bottom),
                                       mode=torch_mode, **kw).numpy()
    np.testing.assert_array_equal(out, want)
    # (left/right, top/bottom): a pair pads both sides
    pair = T.RandomCrop((5 + 2 * top, 6 + 2 * left), padding=(left, top))(gk.from_numpy(x))
    np.testing.assert_array_equal(pair.numpy(), np.pad(x, ((0, 0), (top, top), (left, left))))


def test_random_crop_pad_if_needed_and_errors():
    out = T.RandomCrop((7, 9), pad_if_needed=True)(gk.ones(1, 4, 5))
    assert out.shape == (1, 7, 9)
    with pytest.raises(ValueError, match=r"crop size \(8, 8\) is larger than the padded image \(6, 6\)"):
        T.RandomCrop(8, padding=1)(gk.ones(1, 4, 4))
    with pytest.raises(ValueError, match="padding_mode should be one of"):
        T.RandomCrop(4, padding_mode="wrap")
    # a fill per channel: for an image in PIL's layout (Pillow's rule), not for a tensor image
    with pytest.raises(TypeError, match="fill must be a number for a tensor image"):
        T.RandomCrop(6, padding=1, fill=(1, 2, 3))(gk.ones(3, 4, 4))
    rgb = T.RandomCrop(6, padding=1, fill=(1, 2, 3))(gk.from_numpy(np.zeros((4, 4, 3), np.uint8)))
    np.testing.assert_array_equal(rgb.numpy()[0, 0], [1, 2, 3])
    with pytest.raises(TypeError, match="fill must be a number"):
        T.RandomCrop(4, fill="red")
    with pytest.raises(ValueError, match=r"padding must be an int or a sequence of 1, 2 or 4"):
        T.RandomCrop(4, padding=(1, 2, 3))


def test_center_crop_follows_torchvision_rounding():
    x = np.arange(25, dtype=np.float32).reshape(1, 5, 5)
    np.testing.assert_array_equal(T.CenterCrop(3)(gk.from_numpy(x)).numpy(), x[:, 1:4, 1:4])
    # top = round((5 - 2) / 2) = 2, left = round((5 - 4) / 2) = round(0.5) = 0
    np.testing.assert_array_equal(T.CenterCrop((2, 4))(gk.from_numpy(x)).numpy(), x[:, 2:4, 0:4])
    grown = T.CenterCrop(8)(gk.from_numpy(x)).numpy()     # zero-padded (1, 2) around, then cropped
    np.testing.assert_array_equal(grown, np.pad(x, ((0, 0), (1, 2), (1, 2))))
    hwc = _u8(5, 5, 3)
    np.testing.assert_array_equal(T.CenterCrop(3)(gk.from_numpy(hwc)).numpy(), hwc[1:4, 1:4])


# === a CIFAR-style pipeline and the names left out ==============================================
def test_cifar_pipeline_on_a_pil_layout_item():
    t = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(),
                   T.Normalize((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))])
    out = t(gk.from_numpy(_u8(32, 32, 3)))
    assert isinstance(out, gk.Tensor) and out.shape == (3, 32, 32) and out.dtype == np.float32


def test_unsupported_names_raise_only_when_used():
    from gradkit.vision.transforms import AutoAugment, RandomAffine  # the import itself works

    with pytest.raises(NotImplementedError, match=r"transforms\.RandomAffine is not supported .*RandomRotation"):
        RandomAffine(10)
    with pytest.raises(NotImplementedError, match=r"AutoAugment .*ColorJitter"):
        AutoAugment()
    with pytest.raises(AttributeError, match="has no 'Blur'; it provides Compose, ToTensor"):
        T.Blur
