"""gradkit.vision.utils: make_grid's layout (torchvision's rules) and save_image's PNG (read back
with zlib, and with Pillow where it is installed), values against torch."""
import io
import struct
import zlib

import numpy as np
import pytest
import torch

import gradkit as gk
from gradkit.vision.utils import make_grid, save_image


def _batch(n=10, c=1, h=4, w=5, seed=0):
    return np.random.default_rng(seed).random((n, c, h, w), dtype=np.float32)


def test_make_grid_layout():
    x = _batch()                                   # 10 grey 4 x 5 images
    grid = make_grid(gk.from_numpy(x), nrow=4, padding=2, pad_value=0.25).numpy()
    # 4 per row, ceil(10 / 4) = 3 rows; 1 channel becomes 3
    assert grid.shape == (3, 3 * (4 + 2) + 2, 4 * (5 + 2) + 2) and grid.dtype == np.float32
    for k in range(10):
        top, left = (k // 4) * 6 + 2, (k % 4) * 7 + 2
        for c in range(3):
            np.testing.assert_array_equal(grid[c, top:top + 4, left:left + 5], x[k, 0])
    mask = np.ones(grid.shape[1:], bool)           # everything that is not an image is padding
    for k in range(10):
        top, left = (k // 4) * 6 + 2, (k % 4) * 7 + 2
        mask[top:top + 4, left:left + 5] = False
    assert (grid[:, mask] == 0.25).all()
    assert mask[14:18, 16:21].all() and mask[14:18, 23:28].all()   # the last two slots stay empty


def test_make_grid_forms():
    x = _batch(n=3, c=3)
    as_list = make_grid([gk.from_numpy(i) for i in x], nrow=2).numpy()
    np.testing.assert_array_equal(as_list, make_grid(gk.from_numpy(x), nrow=2).numpy())
    assert as_list.shape == (3, 2 * 6 + 2, 2 * 7 + 2)
    one = make_grid(gk.from_numpy(x[0, :1])).numpy()          # one (1, H, W) image: no padding
    assert one.shape == (3, 4, 5) and (one == x[0, 0]).all()
    np.testing.assert_array_equal(make_grid(gk.from_numpy(x[0, 0])).numpy(), one)   # (H, W)
    assert make_grid(gk.from_numpy(_batch(n=2, c=4)), padding=0).shape == (4, 4, 10)
    with pytest.raises(TypeError, match="tensor or list of tensors expected, got a list containing int"):
        make_grid([1, 2])
    with pytest.raises(TypeError, match="value_range has to be a tuple"):
        make_grid(gk.from_numpy(x), normalize=True, value_range=[0, 1])


@pytest.mark.parametrize("value_range, scale_each", [(None, False), ((0.2, 0.7), False), (None, True)])
def test_make_grid_normalize_equals_torch(value_range, scale_each):
    x = _batch(n=3, c=3) * 4 - 1
    t = torch.from_numpy(x).clone()
    # torchvision's norm_ip(img, low, high): img.clamp_(low, high).sub_(low).div_(max(high - low, 1e-5))
    for img in (t if scale_each else [t]):
        low, high = value_range or (float(img.min()), float(img.max()))
        img.clamp_(min=low, max=high).sub_(low).div_(max(high - low, 1e-5))
    got = make_grid(gk.from_numpy(x), nrow=3, padding=0, normalize=True, value_range=value_range,
                    scale_each=scale_each).numpy()
    np.testing.assert_array_equal(got, torch.cat(list(t), dim=2).numpy())
    assert x.min() < 0                              # the input was not changed


def _read_png(data):
    """(width, height, colour type, pixels) of a PNG written with filter 0 in one IDAT chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, pos = {}, 8
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + body)
        chunks[kind] = body
        pos += 12 + length
    w, h, depth, colour, _, _, _ = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    channels = {2: 3, 6: 4}[colour]
    rows = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(h, 1 + w * channels)
    assert depth == 8 and (rows[:, 0] == 0).all() and b"IEND" in chunks
    return w, h, colour, rows[:, 1:].reshape(h, w, channels)


def _torchvision_pixels(grid):
    # torchvision's save_image: grid.mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to(uint8)
    return torch.from_numpy(grid).mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to(torch.uint8).numpy()


def test_save_image_writes_torchvisions_pixels(tmp_path):
    x = _batch(n=5) * 1.2 - 0.1                    # values outside [0, 1] are clamped
    path = tmp_path / "samples.png"
    save_image(gk.from_numpy(x), path, nrow=3, padding=1, pad_value=1.0)
    grid = make_grid(gk.from_numpy(x), nrow=3, padding=1, pad_value=1.0).numpy()
    w, h, colour, pixels = _read_png(path.read_bytes())
    assert (w, h, colour) == (grid.shape[2], grid.shape[1], 2)     # RGB
    np.testing.assert_array_equal(pixels, _torchvision_pixels(grid))
    buffer = io.BytesIO()                          # a file object works too; 4 channels give RGBA
    rgba = _batch(n=2, c=4)
    save_image(gk.from_numpy(rgba), buffer)
    w, h, colour, pixels = _read_png(buffer.getvalue())
    assert colour == 6
    np.testing.assert_array_equal(pixels, _torchvision_pixels(make_grid(gk.from_numpy(rgba)).numpy()))


def test_save_image_is_read_by_pillow(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    x = _batch(n=4, c=3)
    save_image(gk.from_numpy(x), tmp_path / "grid.png", nrow=2)
    with Image.open(tmp_path / "grid.png") as im:
        assert im.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(im),
                                      _torchvision_pixels(make_grid(gk.from_numpy(x), nrow=2).numpy()))


def test_save_image_messages(tmp_path):
    x = gk.from_numpy(_batch(n=2))
    with pytest.raises(ValueError, match="writes PNG only .*give the file a .png name"):
        save_image(x, tmp_path / "grid.jpg")
    with pytest.raises(ValueError, match="format='JPEG': gradkit writes PNG only"):
        save_image(x, io.BytesIO(), format="JPEG")
    with pytest.raises(ValueError, match="a PNG holds 1, 3 or 4 channels; the images have 2"):
        save_image(gk.from_numpy(_batch(n=2, c=2)), tmp_path / "two.png")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_image(x, tmp_path / "missing" / "grid.png")
