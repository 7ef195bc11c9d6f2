"""tf.data.Dataset: structure of elements, TensorFlow's shuffle buffer (reproducible with a seed,
a uniform permutation when the buffer covers the data), batching, map, and the other steps."""
import collections
import time

import numpy as np
import pytest

import gradkit as gk
import gradkit.tf as tf
from gradkit.data import DataLoader, TensorDataset


def _order(ds):
    return np.concatenate([np.atleast_1d(e.numpy()) for e in ds])


# === elements ========================================================================================
def test_from_tensor_slices_of_arrays_tuples_and_dicts():
    x = np.arange(12.0).reshape(6, 2)
    y = np.arange(6)
    first = next(iter(tf.data.Dataset.from_tensor_slices(x)))
    assert isinstance(first, gk.Tensor) and first.shape == (2,) and first.dtype == np.float64
    a, b = next(iter(tf.data.Dataset.from_tensor_slices((x, y)).skip(2)))
    np.testing.assert_array_equal(a.numpy(), [4.0, 5.0])
    assert b.item() == 2 and b.shape == ()
    d = next(iter(tf.data.Dataset.from_tensor_slices({"img": x, "label": y})))
    assert list(d) == ["img", "label"] and d["label"].item() == 0
    lst = list(tf.data.Dataset.from_tensor_slices([1.0, 2.0]).as_numpy_iterator())
    assert lst == [1.0, 2.0] and lst[0].dtype == np.float32    # a Python list is data, TF dtypes


def test_from_tensor_slices_checks_lengths():
    with pytest.raises(ValueError, match="component 0 has 3, component 1 has 4"):
        tf.data.Dataset.from_tensor_slices((np.zeros(3), np.zeros(4)))
    with pytest.raises(ValueError, match="scalar"):
        tf.data.Dataset.from_tensor_slices(np.float32(1.0))


def test_namedtuple_elements_keep_their_type_through_batch():
    P = collections.namedtuple("P", "x y")
    ds = tf.data.Dataset.from_tensor_slices(P(np.zeros((5, 2)), np.arange(5))).batch(2)
    b = next(iter(ds))
    assert type(b) is P and b.x.shape == (2, 2)


# === shuffle =========================================================================================
def test_shuffle_with_a_seed_is_reproducible_and_reshuffles_each_pass():
    def make(**kw):
        return tf.data.Dataset.range(100).shuffle(100, seed=7, **kw)
    ds = make()
    e1, e2 = _order(ds), _order(ds)
    np.testing.assert_array_equal(e1, _order(make()))          # same seed: same first pass
    np.testing.assert_array_equal(e2, _order(make().repeat(2))[100:])   # pass 2 too, also via repeat
    assert not np.array_equal(e1, e2)                           # a new order each pass
    fixed = make(reshuffle_each_iteration=False)
    np.testing.assert_array_equal(_order(fixed), _order(fixed))
    assert not np.array_equal(_order(make()), _order(tf.data.Dataset.range(100).shuffle(100, seed=8)))


def test_shuffle_without_a_seed_follows_set_seed():
    tf.random.set_seed(5)
    a = _order(tf.data.Dataset.range(50).shuffle(50))
    tf.random.set_seed(5)
    np.testing.assert_array_equal(a, _order(tf.data.Dataset.range(50).shuffle(50)))


@pytest.mark.parametrize("buffer_size", [1, 7, 64, 1000])
def test_every_epoch_covers_every_element_exactly_once(buffer_size):
    ds = tf.data.Dataset.range(300).shuffle(buffer_size, seed=0).batch(32)
    for _ in range(2):
        seen = _order(ds)
        np.testing.assert_array_equal(np.sort(seen), np.arange(300))


def test_buffer_one_does_not_shuffle():
    np.testing.assert_array_equal(_order(tf.data.Dataset.range(20).shuffle(1, seed=3)), np.arange(20))


def test_a_small_buffer_only_mixes_nearby_elements_as_in_tensorflow():
    # output k is drawn from a buffer holding inputs 0 .. k + B - 1: it can never be later
    n, b = 2000, 10
    out = _order(tf.data.Dataset.range(n).shuffle(b, seed=1))
    assert np.all(out <= np.arange(n) + b - 1)
    assert not np.array_equal(out, np.arange(n))
    # the first output is uniform over the first B inputs
    firsts = [int(next(iter(tf.data.Dataset.range(30).shuffle(b, seed=s))).item()) for s in range(2000)]
    counts = np.bincount(firsts, minlength=b)
    assert counts.sum() == 2000 and counts.max() < 280 and counts.min() > 120   # expected 200 each


def test_a_full_buffer_is_a_uniform_shuffle():
    # each element's position is uniform: chi-square on where element 0 lands, over many seeds
    n = 8
    pos = [int(np.flatnonzero(_order(tf.data.Dataset.range(n).shuffle(n, seed=s)) == 0)[0])
           for s in range(2000)]
    counts = np.bincount(pos, minlength=n)
    chi2 = ((counts - 250) ** 2 / 250).sum()
    assert chi2 < 24.3     # 99.9th percentile of chi-square with 7 degrees of freedom


def test_shuffle_of_batches_after_map_uses_the_element_path():
    ds = tf.data.Dataset.range(10).map(lambda x: x * 10).batch(2).shuffle(3, seed=0)
    batches = [b.numpy().tolist() for b in ds]
    assert sorted(batches) == [[0, 10], [20, 30], [40, 50], [60, 70], [80, 90]]


def test_shuffle_rejects_a_bad_buffer():
    with pytest.raises(ValueError, match="buffer_size must be at least 1"):
        tf.data.Dataset.range(3).shuffle(0)


# === batch ===========================================================================================
def test_batch_and_drop_remainder_and_cardinality():
    x = np.arange(10 * 3, dtype=np.float32).reshape(10, 3)
    ds = tf.data.Dataset.from_tensor_slices((x, np.arange(10))).batch(4)
    shapes = [xb.shape for xb, _ in ds]
    assert shapes == [(4, 3), (4, 3), (2, 3)] and len(ds) == 3 and ds.cardinality().numpy() == 3
    ds = tf.data.Dataset.from_tensor_slices((x, np.arange(10))).batch(4, drop_remainder=True)
    assert [yb.numpy().tolist() for _, yb in ds] == [[0, 1, 2, 3], [4, 5, 6, 7]] and len(ds) == 2
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        ds.batch(0)


@pytest.mark.data("mnist")
def test_batches_equal_the_dataloaders_on_real_data():
    from gradkit.datasets import mnist

    x, y = mnist("test")
    x = x[:1000].reshape(-1, 784).astype(np.float32) / 255
    y = y[:1000]
    ours = [(a.numpy(), b.numpy()) for a, b in tf.data.Dataset.from_tensor_slices((x, y)).batch(128)]
    theirs = list(DataLoader(TensorDataset(x, y), batch_size=128, shuffle=False))
    assert len(ours) == len(theirs) == 8
    for (a, b), (c, d) in zip(ours, theirs):
        np.testing.assert_array_equal(a, np.asarray(c))
        np.testing.assert_array_equal(b, np.asarray(d))


def test_batching_elements_of_different_shapes_is_an_error():
    ds = tf.data.Dataset.range(3).map(lambda i: tf.zeros((int(i.item()) + 1,))).batch(3)
    with pytest.raises(ValueError, match="cannot batch elements of different shapes"):
        list(ds)


def test_an_epoch_of_60000_images_is_fast():
    x = np.zeros((60_000, 784), np.float32)
    y = np.zeros(60_000, np.int64)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(60_000, seed=0).batch(128).prefetch(tf.data.AUTOTUNE)
    t0 = time.process_time()
    n = sum(xb.shape[0] for xb, _ in ds)
    assert n == 60_000
    assert time.process_time() - t0 < 2.0     # ~0.1 s: one gather per batch, no per-element work


# === map, filter, repeat, take, skip, cache ==========================================================
def test_map_spreads_tuples_and_runs_per_element_or_per_batch():
    x, y = np.arange(6.0), np.arange(6)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).map(lambda a, b: (a * 2, b + 1))
    out = list(ds.as_numpy_iterator())
    assert out[1] == (2.0, 2)
    per_batch = tf.data.Dataset.from_tensor_slices((x, y)).batch(4).map(lambda a, b: (tf.reduce_sum(a), b))
    assert [float(s) for s, _ in per_batch] == [6.0, 9.0]
    d = tf.data.Dataset.from_tensor_slices({"v": x}).map(lambda e: e["v"] + 1)
    assert list(d.as_numpy_iterator())[0] == 1.0
    with pytest.raises(TypeError, match="callable"):
        d.map(3)


def test_map_output_lists_become_tuples_and_tensors_are_detached():
    w = tf.Variable(2.0)
    ds = tf.data.Dataset.range(2).map(lambda i: [tf.cast(i, tf.float32) * w, i])
    a, _ = next(iter(ds))
    assert not a.requires_grad and a.item() == 0.0


def test_repeat_take_skip_filter_enumerate_zip_and_cardinalities():
    ds = tf.data.Dataset.range(5)
    assert _order(ds.repeat(2)).tolist() == [0, 1, 2, 3, 4] * 2 and len(ds.repeat(2)) == 10
    assert ds.repeat().cardinality().numpy() == tf.data.INFINITE_CARDINALITY
    with pytest.raises(TypeError, match="infinite"):
        len(ds.repeat())
    assert _order(ds.repeat().take(7)).tolist() == [0, 1, 2, 3, 4, 0, 1] and len(ds.repeat().take(7)) == 7
    assert _order(ds.skip(3)).tolist() == [3, 4] and len(ds.skip(3)) == 2 and len(ds.take(-1)) == 5
    f = ds.filter(lambda x: x % 2 == 0)
    assert _order(f).tolist() == [0, 2, 4]
    assert f.cardinality().numpy() == tf.data.UNKNOWN_CARDINALITY
    with pytest.raises(TypeError, match="unknown"):
        len(f)
    assert [(int(i), int(v)) for i, v in ds.skip(3).enumerate(10)] == [(10, 3), (11, 4)]
    z = tf.data.Dataset.zip((ds, ds.map(lambda x: x * 2)))
    assert [(int(a), int(b)) for a, b in z.take(2)] == [(0, 0), (1, 2)] and len(z) == 5
    assert list(tf.data.Dataset.range(0).repeat()) == []
    assert tf.data.experimental.AUTOTUNE == tf.data.AUTOTUNE
    u = tf.data.Dataset.range(5).batch(2).unbatch()
    assert _order(u).tolist() == [0, 1, 2, 3, 4]


def test_cache_runs_map_once_then_serves_rows():
    calls = []

    def slow(x):
        calls.append(1)
        return x * 2

    ds = tf.data.Dataset.range(10).map(slow).cache().shuffle(10, seed=0).batch(4)
    first = np.sort(_order(ds))
    second = np.sort(_order(ds))
    np.testing.assert_array_equal(first, np.arange(0, 20, 2))
    np.testing.assert_array_equal(second, first)
    assert len(calls) == 10
    assert len(tf.data.Dataset.range(3).cache()) == 3
