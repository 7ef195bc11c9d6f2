"""Batch transforms: values, shapes, reproducibility, errors."""
import json

import numpy as np
import pytest

from gradkit.data import (Compose, Normalize, OneHot, RandomCrop, RandomHorizontalFlip, RandomRotation,
                          Standardize, ToFloat)


def _images(n=8, c=3, h=6, w=6, dtype=np.uint8):
    return np.random.default_rng(0).integers(0, 256, (n, c, h, w)).astype(dtype)


def test_to_float_and_normalize_per_channel():
    x = _images()
    f = ToFloat()(x)
    assert f.dtype == np.float32 and f.max() <= 1 and f.min() >= 0
    np.testing.assert_allclose(f, x / 255, rtol=1e-6)
    mean, std = [0.1, 0.5, 0.9], [0.2, 0.3, 0.4]
    y = Normalize(mean, std)(f)
    expect = (x / 255 - np.array(mean)[None, :, None, None]) / np.array(std)[None, :, None, None]
    np.testing.assert_allclose(y, expect, rtol=1e-5, atol=1e-5)
    y_last = Normalize(mean, std, dim=-1)(f.transpose(0, 2, 3, 1))
    np.testing.assert_allclose(y_last.transpose(0, 3, 1, 2), y, rtol=1e-6, atol=1e-6)
    assert ToFloat()(x.astype(np.int32)).max() > 1  # only uint8 is scaled by 1/255
    assert np.shares_memory(f, Normalize(0.0, 1.0)(f)) is False  # input untouched


def test_normalize_errors():
    with pytest.raises(ValueError, match=r"mean/std have 3 channels but the batch has 1 at dim 1 \(shape \(2, 1, 4, 4\)\)"):
        Normalize([0, 0, 0], [1, 1, 1])(np.zeros((2, 1, 4, 4), np.float32))
    with pytest.raises(ValueError, match="std has a zero entry"):
        Normalize(0.5, [1.0, 0.0])


def test_standardize_fitted_on_train_only():
    rng = np.random.default_rng(1)
    train = rng.normal(5, 3, (200, 4))
    train[:, 3] = 7.0  # constant feature: std 0 -> divided by 1
    test = rng.normal(6, 3, (50, 4))
    s = Standardize().fit(train)
    z = s(train)
    np.testing.assert_allclose(z[:, :3].mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(z[:, :3].std(0), 1, atol=1e-12)
    np.testing.assert_array_equal(z[:, 3], 0)
    zt = s(test)
    np.testing.assert_allclose(zt, (test - train.mean(0)) / np.where(train.std(0) == 0, 1, train.std(0)))
    assert abs(zt[:, 0].mean()) > 0.1  # test statistics were not used
    sk = pytest.importorskip("sklearn.preprocessing")
    np.testing.assert_allclose(z[:, :3], sk.StandardScaler().fit(train[:, :3]).transform(train[:, :3]), atol=1e-12)
    s2 = Standardize()
    s2.load_state_dict(json.loads(json.dumps(s.state_dict())))
    np.testing.assert_array_equal(s2(test), zt)
    np.testing.assert_allclose(s.inverse(zt), test)
    assert s(train.astype(np.float32)).dtype == np.float32
    with pytest.raises(RuntimeError, match=r"not fitted; call .fit\(x_train\)"):
        Standardize()(train)
    with pytest.raises(ValueError, match=r"fitted on samples of shape \(4,\); got a batch of shape \(3, 5\)"):
        s(np.zeros((3, 5)))


def test_random_crop_is_a_window_of_the_padded_image():
    x = _images(n=16, c=2, h=5, w=7)
    out = RandomCrop((5, 7), padding=2)(x, np.random.default_rng(0))
    assert out.shape == x.shape and out.dtype == np.uint8
    padded = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)))
    offsets = []
    for n in range(16):
        hits = [(oy, ox) for oy in range(5) for ox in range(5)
                if np.array_equal(out[n], padded[n, :, oy:oy + 5, ox:ox + 7])]
        assert hits, f"sample {n} is not a crop of its padded image"
        offsets.append(hits[0])
    assert len(set(offsets)) > 3  # offsets are drawn per sample
    again = RandomCrop((5, 7), padding=2)(x, np.random.default_rng(0))
    np.testing.assert_array_equal(again, out)
    np.testing.assert_array_equal(RandomCrop((5, 7))(x), x)  # no padding, full size: identity
    hwc = RandomCrop(4, channels_last=True)(x.transpose(0, 2, 3, 1), np.random.default_rng(0))
    assert hwc.shape == (16, 4, 4, 2)
    with pytest.raises(ValueError, match=r"got shape \(4, 784\).*reshape\(-1, 1, 28, 28\)"):
        RandomCrop(28)(np.zeros((4, 784)))


def test_horizontal_flip():
    x = _images()
    np.testing.assert_array_equal(RandomHorizontalFlip(p=1.0)(x), x[..., ::-1])
    np.testing.assert_array_equal(RandomHorizontalFlip(p=0.0)(x), x)
    half = RandomHorizontalFlip()(x, np.random.default_rng(3))
    flipped = [np.array_equal(half[i], x[i, ..., ::-1]) for i in range(8)]
    kept = [np.array_equal(half[i], x[i]) for i in range(8)]
    assert all(f or k for f, k in zip(flipped, kept)) and 0 < sum(flipped) < 8
    hwc = x.transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(RandomHorizontalFlip(1.0, channels_last=True)(hwc), hwc[:, :, ::-1, :])


def test_rotation_zero_and_quarter_turn():
    x = np.random.default_rng(0).random((4, 2, 7, 7)).astype(np.float32)
    np.testing.assert_allclose(RandomRotation(0)(x), x, atol=1e-6)
    quarter = RandomRotation((90, 90))(x)
    np.testing.assert_allclose(quarter, np.rot90(x, k=1, axes=(2, 3)), atol=1e-4)  # counter-clockwise
    u8 = _images(4, 1, 9, 9)
    r = RandomRotation(10)(u8, np.random.default_rng(0))
    assert r.dtype == np.uint8 and r.shape == u8.shape
    assert not np.array_equal(r, u8)
    # a small angle moves little: the centre pixel is unchanged
    np.testing.assert_array_equal(r[:, :, 4, 4], u8[:, :, 4, 4])


def test_one_hot_and_its_error():
    np.testing.assert_array_equal(OneHot(4)(np.array([2, 0])), [[0, 0, 1, 0], [1, 0, 0, 0]])
    assert OneHot(4)(np.array([1])).dtype == np.float32
    with pytest.raises(ValueError, match=r"first at index 2, label 4"):
        OneHot(4)(np.array([0, 1, 4]))


def test_compose_passes_rng_and_accepts_plain_callables():
    x = _images()
    t = Compose([RandomCrop(6, padding=1), lambda b: b.astype(np.float32) / 2])
    a = t(x, np.random.default_rng(5))
    b = t(x, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32 and a.max() <= 127.5
    with pytest.raises(TypeError, match=r"transforms\[1\] is int, which is not callable"):
        Compose([ToFloat(), 3])
