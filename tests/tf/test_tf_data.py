"""tf.data.Dataset: structure of elements, TensorFlow's shuffle buffer (reproducible with a seed,
a uniform permutation when the buffer covers the data), batching, map, and the other steps."""
import ast
import collections
import time
from pathlib import Path

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


# The orders below were recorded before tf.data moved onto gradkit.data (BufferShuffle): the same
# seed must give the same order in every run and every version, on the row path (indices of the
# source arrays) and on the element path (after map/filter) alike.
PINNED = {   # (n, buffer_size, seed=3): first pass, second pass
    "buffer": (12, 4, [0, 4, 3, 2, 5, 1, 9, 8, 10, 6, 7, 11], [2, 1, 4, 5, 6, 7, 8, 0, 9, 3, 10, 11]),
    "whole": (6, 6, [2, 5, 4, 1, 3, 0], [3, 1, 4, 0, 2, 5]),
}


@pytest.mark.parametrize("case", sorted(PINNED))
@pytest.mark.parametrize("path", ["rows", "elements"])
def test_shuffle_order_is_pinned_for_a_seed(case, path):
    n, b, first, second = PINNED[case]
    ds = tf.data.Dataset.range(n)
    if path == "elements":
        ds = ds.map(lambda x: x)
    shuffled = ds.shuffle(b, seed=3)
    assert _order(shuffled).tolist() == first
    assert _order(shuffled).tolist() == second                  # reshuffled, deterministically
    assert _order(ds.shuffle(b, seed=3).repeat(2)).tolist() == first + second
    fixed = ds.shuffle(b, seed=3, reshuffle_each_iteration=False)
    assert _order(fixed).tolist() == first and _order(fixed).tolist() == first


def test_shuffle_orders_pinned_on_longer_and_unusual_streams():
    long = _order(tf.data.Dataset.range(3000).shuffle(100, seed=5)).tolist()   # > one 1024 chunk
    assert long[:8] == [80, 100, 51, 28, 5, 38, 40, 4]
    assert long[1020:1028] == [963, 1006, 1027, 1107, 1031, 1061, 1022, 1091]
    assert long[-8:] == [2967, 2880, 2741, 2798, 2936, 2976, 2995, 2957]
    endless = tf.data.Dataset.range(5).repeat().shuffle(3, seed=2).take(12)
    assert _order(endless).tolist() == [0, 3, 2, 4, 1, 0, 1, 4, 0, 2, 2, 1]
    assert _order(tf.data.Dataset.range(10).skip(2).shuffle(3, seed=2)).tolist() == [2, 5, 4, 6, 3, 7, 8, 9]
    # after filter the length is unknown, so even a buffer that holds everything streams
    unknown = tf.data.Dataset.range(6).filter(lambda x: True).shuffle(6, seed=3)
    assert _order(unknown).tolist() == [3, 0, 2, 1, 5, 4]
    tf.random.set_seed(11)                                       # no seed: drawn from set_seed's
    assert _order(tf.data.Dataset.range(8).shuffle(3)).tolist() == [2, 0, 1, 3, 6, 5, 7, 4]


def test_reshuffle_each_iteration_is_a_new_order_per_epoch_but_the_same_across_runs():
    def epochs(**kw):
        ds = tf.data.Dataset.range(40).shuffle(16, seed=9, **kw)
        return [_order(ds).tolist() for _ in range(3)]
    run1, run2 = epochs(), epochs()
    assert run1 == run2                                          # two runs, same epochs
    assert run1[0] != run1[1] != run1[2] != run1[0]              # each epoch a new order
    fixed = epochs(reshuffle_each_iteration=False)
    assert fixed == [run1[0]] * 3                                # the first epoch's order, kept
    assert epochs() != [_order(tf.data.Dataset.range(40).shuffle(16, seed=10)).tolist()] * 3


def _replay_tensorflow_buffer(inputs, outputs, buffer_size):
    """Check that ``outputs`` could come from TensorFlow's shuffle buffer over ``inputs``: the
    buffer starts with the first ``buffer_size`` inputs; each output is taken from the buffer and
    its place filled by the next input; once the inputs run out, the buffer drains."""
    inputs = list(inputs)
    buffer, upcoming = collections.Counter(inputs[:buffer_size]), iter(inputs[buffer_size:])
    for k, out in enumerate(outputs):
        assert buffer[out] > 0, f"output {k} ({out}) was not in the buffer {sorted(buffer.elements())}"
        buffer[out] -= 1
        nxt = next(upcoming, None)
        if nxt is not None:
            buffer[nxt] += 1
    assert sum(buffer.values()) == 0 and next(upcoming, None) is None   # every input came out


@pytest.mark.parametrize("n, buffer_size", [(50, 1), (50, 7), (50, 49), (50, 50), (3000, 100)])
@pytest.mark.parametrize("path", ["rows", "elements"])
def test_shuffle_is_tensorflows_buffer_algorithm(n, buffer_size, path):
    ds = tf.data.Dataset.range(n)
    if path == "elements":
        ds = ds.map(lambda x: x)
    for seed in range(3):
        _replay_tensorflow_buffer(range(n), _order(ds.shuffle(buffer_size, seed=seed)), buffer_size)
    # a repeated stream: equal elements, the buffer holds copies
    rep = tf.data.Dataset.range(5).repeat(4)
    _replay_tensorflow_buffer(list(range(5)) * 4, _order(rep.shuffle(3, seed=1)), 3)


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


# === layering ========================================================================================
def test_tf_data_is_an_adapter_over_gradkit_datas_public_names():
    """tf.data imports only names gradkit.data exports, and its two modules are layered:
    data.py (the TensorFlow-shaped front) imports _pipeline.py (the steps), never the reverse."""
    import gradkit.data

    here = Path(tf.data.__file__).parent
    for file in ("data.py", "_pipeline.py"):
        tree = ast.parse((here / file).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom):
                continue
            module, names = node.module or "", {a.name for a in node.names}
            if node.level == 2 and module.startswith("data"):      # from ..data import ...
                assert module == "data", f"{file} imports gradkit.{module}, not gradkit.data"
                assert names <= set(gradkit.data.__all__), f"{file}: {names}"
            if file == "_pipeline.py" and node.level == 1:           # from . / .x import ...
                assert module != "data" and "data" not in names
