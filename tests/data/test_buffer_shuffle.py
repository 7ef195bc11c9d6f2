"""TensorFlow's shuffle buffer in gradkit.data (buffer_shuffle, BufferShuffle,
BufferShuffleSampler), index_batches, and the public seeding functions.

tf.data.Dataset.shuffle runs on these; tests/tf/test_tf_data.py pins the orders it gives."""
import collections
import itertools

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import gradkit as gk
from gradkit.data import (BufferShuffle, BufferShuffleSampler, DataLoader, RandomSampler,
                          TensorDataset, buffer_shuffle, check_seed, index_batches,
                          seeded_generator)


def replay_tensorflow_buffer(inputs, outputs, buffer_size):
    """Assert that ``outputs`` could come from TensorFlow's shuffle buffer over ``inputs``: the
    buffer starts with the first ``buffer_size`` inputs; each output is taken out of the buffer
    and replaced by the next input; when the inputs run out the buffer drains."""
    inputs, outputs = list(inputs), list(outputs)
    buffer, upcoming = collections.Counter(inputs[:buffer_size]), iter(inputs[buffer_size:])
    for k, out in enumerate(outputs):
        assert buffer[out] > 0, f"output {k} ({out!r}) was not in the buffer"
        buffer[out] -= 1
        nxt = next(upcoming, None)
        if nxt is not None:
            buffer[nxt] += 1
    assert sum(buffer.values()) == 0 and next(upcoming, None) is None


# === buffer_shuffle: the algorithm, given a generator ================================================
@pytest.mark.parametrize("n, buffer_size", [(0, 3), (1, 1), (10, 1), (10, 3), (10, 10), (10, 25),
                                            (2500, 64)])
def test_buffer_shuffle_is_tensorflows_algorithm(n, buffer_size):
    for seed in range(5):
        out = list(buffer_shuffle(range(n), buffer_size, np.random.default_rng(seed)))
        replay_tensorflow_buffer(range(n), out, buffer_size)


def test_buffer_shuffle_takes_any_items_and_endless_streams():
    words = ["a", "b", "c", "d", "e", "f"]
    out = list(buffer_shuffle(words, 2, np.random.default_rng(0)))
    replay_tensorflow_buffer(words, out, 2)
    head = list(itertools.islice(buffer_shuffle(itertools.count(), 5, np.random.default_rng(0)), 100))
    assert len(set(head)) == 100 and all(v < k + 5 for k, v in enumerate(head))


def test_buffer_shuffle_of_one_is_the_identity_and_the_same_generator_gives_the_same_order():
    assert list(buffer_shuffle(range(9), 1, np.random.default_rng(3))) == list(range(9))
    a = list(buffer_shuffle(range(300), 16, np.random.default_rng(42)))
    b = list(buffer_shuffle(range(300), 16, np.random.default_rng(42)))
    assert a == b and a != list(range(300))


def test_a_buffer_picks_its_slot_uniformly():
    # the first output is uniform over the first buffer_size inputs (expected 400 each)
    firsts = [next(buffer_shuffle(range(20), 5, np.random.default_rng(s))) for s in range(2000)]
    counts = np.bincount(firsts, minlength=5)
    assert counts.sum() == 2000 and counts.max() < 480 and counts.min() > 320


# === BufferShuffle: seeded, one epoch per call ========================================================
def test_buffer_shuffle_epochs_are_reproducible_and_reshuffled():
    def epochs(**kw):
        shuffle = BufferShuffle(8, seed=11, **kw)
        return [list(shuffle(range(30))) for _ in range(3)]
    run1 = epochs()
    assert run1 == epochs()                                    # same seed, same epochs
    assert run1[0] != run1[1] != run1[2] != run1[0]            # a new order per epoch
    for order in run1:
        replay_tensorflow_buffer(range(30), order, 8)
    assert epochs(reshuffle_each_iteration=False) == [run1[0]] * 3
    assert [list(BufferShuffle(8, seed=12)(range(30)))] != run1[:1]


def test_buffer_shuffle_epoch_e_depends_only_on_seed_and_e():
    shuffle = BufferShuffle(4, seed=5)
    first, second = list(shuffle(range(12))), list(shuffle(range(12)))
    assert shuffle.state_dict() == {"seed": 5, "epoch": 2}
    again = BufferShuffle(4, seed=0)
    again.load_state_dict({"seed": 5, "epoch": 1})
    assert list(again(range(12))) == second
    again.set_epoch(0)
    assert list(again(range(12))) == first


def test_buffer_shuffle_draws_its_epoch_when_the_pass_starts():
    shuffle = BufferShuffle(4, seed=5)
    unstarted = shuffle(range(12))                             # not iterated: no epoch used
    assert shuffle.epoch == 0
    first = list(shuffle(range(12)))
    assert shuffle.epoch == 1 and first == list(BufferShuffle(4, seed=5)(range(12)))
    del unstarted


def test_a_known_length_that_fits_is_one_permutation_the_random_samplers():
    shuffle, sampler = BufferShuffle(10, seed=3), RandomSampler(8, seed=3)
    for _ in range(2):                                         # epoch by epoch
        out = list(shuffle(list("abcdefgh"), length=8))
        assert out == [list("abcdefgh")[j] for j in sampler.index_array()]
    # without the length the same items stream through the buffer: still a shuffle of them
    assert sorted(BufferShuffle(10, seed=3)(list("abcdefgh"))) == list("abcdefgh")


@pytest.mark.parametrize("n, buffer_size, length", [(20, 20, 20), (20, 7, 20), (2500, 100, None),
                                                    (2500, 100, 2500), (0, 3, 0)])
def test_index_arrays_give_the_order_of_the_flattened_stream(n, buffer_size, length):
    cuts = [0, 3, 3, 11, n] if n >= 11 else [0, n]
    chunks = [np.arange(a, b) for a, b in zip(cuts, cuts[1:])]
    as_items = list(BufferShuffle(buffer_size, seed=1)(range(n), length))
    as_arrays = list(BufferShuffle(buffer_size, seed=1).index_arrays(chunks, length))
    flat = np.concatenate(as_arrays).tolist() if as_arrays else []
    assert flat == as_items
    assert all(a.dtype == np.int64 and len(a) <= 1024 for a in as_arrays)


def test_buffer_shuffle_arguments_are_checked():
    with pytest.raises(ValueError, match="BufferShuffle: buffer_size must be at least 1; got 0"):
        BufferShuffle(0)
    with pytest.raises(TypeError, match="buffer_size must be an int"):
        BufferShuffle(2.5)
    with pytest.raises(ValueError, match="my_op: seed must be non-negative"):
        BufferShuffle(3, seed=-1, where="my_op")


def test_no_seed_follows_manual_seed():
    gk.manual_seed(4)
    a = list(BufferShuffle(5)(range(40)))
    gk.manual_seed(4)
    assert list(BufferShuffle(5)(range(40))) == a


# === BufferShuffleSampler: the same order through the DataLoader =====================================
@pytest.mark.parametrize("buffer_size", [1, 16, 100, 500])
def test_sampler_in_a_dataloader_visits_tf_datas_order(buffer_size):
    import gradkit.tf as tf

    x = np.arange(300, dtype=np.float32)
    loader = DataLoader(TensorDataset(x), batch_size=32,
                        sampler=BufferShuffleSampler(300, buffer_size, seed=8), as_numpy=True)
    ds = tf.data.Dataset.from_tensor_slices(x).shuffle(buffer_size, seed=8).batch(32)
    for _ in range(2):                                           # two epochs, each reshuffled
        ours = np.concatenate([b[0] for b in loader])
        theirs = np.concatenate([b.numpy() for b in ds])
        np.testing.assert_array_equal(ours, theirs)
        replay_tensorflow_buffer(x.tolist(), ours.tolist(), buffer_size)


def test_sampler_length_epochs_and_resume():
    s = BufferShuffleSampler(range(50), 10, seed=2)
    assert len(s) == 50
    e0, e1 = s.index_array(), s.index_array()
    assert sorted(e0.tolist()) == list(range(50)) and not np.array_equal(e0, e1)
    resumed = BufferShuffleSampler(50, 10, seed=99)
    resumed.load_state_dict({"seed": 2, "epoch": 1})
    np.testing.assert_array_equal(resumed.index_array(), e1)
    assert s.state_dict() == {"seed": 2, "epoch": 2}
    fixed = BufferShuffleSampler(50, 10, seed=2, reshuffle_each_iteration=False)
    np.testing.assert_array_equal(fixed.index_array(), e0)
    np.testing.assert_array_equal(fixed.index_array(), e0)
    assert BufferShuffleSampler(0, 3, seed=0).index_array().tolist() == []


# === index_batches =====================================================================================
@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 9), max_size=8), st.integers(1, 7), st.booleans())
def test_index_batches_regroup_any_chunking(lengths, batch_size, drop_last):
    cuts = np.cumsum([0] + lengths)
    chunks = [np.arange(a, b) for a, b in zip(cuts, cuts[1:])]
    whole = np.arange(cuts[-1])
    expected = [whole[s:s + batch_size] for s in range(0, len(whole), batch_size)]
    if drop_last and expected and len(expected[-1]) < batch_size:
        expected.pop()
    got = list(index_batches(chunks, batch_size, drop_last))
    assert [g.tolist() for g in got] == [e.tolist() for e in expected]


def test_index_batches_are_lazy_on_endless_streams():
    endless = (np.arange(k * 5, k * 5 + 5) for k in itertools.count())
    first = list(itertools.islice(index_batches(endless, 3), 4))
    assert [b.tolist() for b in first] == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]]


# === seeds: the public way to get data's generators ==================================================
def test_seeded_generator_depends_only_on_seed_and_keys():
    a = seeded_generator(7, 0, 3).random(4)
    np.testing.assert_array_equal(a, seeded_generator(7, 0, 3).random(4))
    assert not np.array_equal(a, seeded_generator(7, 0, 4).random(4))
    assert not np.array_equal(a, seeded_generator(8, 0, 3).random(4))


def test_check_seed():
    assert check_seed(5, "x") == 5 and check_seed(np.int64(5), "x") == 5
    gk.manual_seed(0)
    s = check_seed(None, "x")
    gk.manual_seed(0)
    assert check_seed(None, "x") == s and s >= 0
    with pytest.raises(TypeError, match="op: seed must be a non-negative int or None"):
        check_seed(True, "op")
    with pytest.raises(ValueError, match="op: seed must be non-negative"):
        check_seed(-2, "op")
