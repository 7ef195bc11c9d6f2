"""DataLoader: coverage, reproducibility, drop_last, prefetch, resume, errors, tensors."""
import json
import threading

import numpy as np
import pytest

import gradkit
from gradkit.data import (BatchSampler, Compose, DataLoader, Dataset, DistributedSampler, IterableDataset,
                          RandomCrop, RandomHorizontalFlip, SequentialSampler, TensorDataset,
                          default_collate)


class ItemDataset(Dataset):
    """A plain map-style dataset (item-by-item path)."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.full(3, i, dtype=np.float32), i


class Stream(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter([(np.float32(i), i) for i in range(self.n)])


def _epoch(loader):
    return [tuple(np.array(a) for a in batch) for batch in loader]


def _labels(batches):
    return np.concatenate([b[1] for b in batches])


@pytest.mark.parametrize("make", [lambda n: TensorDataset(np.arange(n * 2).reshape(n, 2), np.arange(n)), ItemDataset])
def test_every_sample_exactly_once_per_epoch(make):
    loader = DataLoader(make(103), batch_size=10, shuffle=True, seed=3, as_numpy=True)
    for _ in range(3):
        seen = _labels(_epoch(loader))
        assert sorted(seen.tolist()) == list(range(103))


def test_shuffling_reproducible_from_seed_and_different_across_epochs_and_seeds():
    ds = TensorDataset(np.arange(200))
    a = DataLoader(ds, batch_size=16, shuffle=True, seed=42, as_numpy=True)
    b = DataLoader(ds, batch_size=16, shuffle=True, seed=42, as_numpy=True)
    a0, a1 = np.concatenate([x for (x,) in a]), np.concatenate([x for (x,) in a])
    b0 = np.concatenate([x for (x,) in b])
    np.testing.assert_array_equal(a0, b0)
    assert not np.array_equal(a0, a1)
    c0 = np.concatenate([x for (x,) in DataLoader(ds, batch_size=16, shuffle=True, seed=43, as_numpy=True)])
    assert not np.array_equal(a0, c0)
    assert not np.array_equal(a0, np.arange(200))


def test_seed_none_follows_gradkit_manual_seed():
    ds = TensorDataset(np.arange(50))
    gradkit.manual_seed(123)
    a = np.concatenate([x for (x,) in DataLoader(ds, batch_size=7, shuffle=True, as_numpy=True)])
    gradkit.manual_seed(123)
    b = np.concatenate([x for (x,) in DataLoader(ds, batch_size=7, shuffle=True, as_numpy=True)])
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("n,bs,drop_last,sizes", [
    (10, 3, False, [3, 3, 3, 1]), (10, 3, True, [3, 3, 3]), (9, 3, True, [3, 3, 3]), (10, 10, True, [10]),
    (10, 15, False, [10]),
])
def test_drop_last_arithmetic(n, bs, drop_last, sizes):
    for ds in (TensorDataset(np.arange(n)), ItemDataset(n)):
        loader = DataLoader(ds, batch_size=bs, drop_last=drop_last, as_numpy=True)
        assert len(loader) == len(sizes)
        assert [len(b[0]) for b in loader] == sizes


def test_fast_path_equals_item_path():
    n = 37
    fast = DataLoader(TensorDataset(np.stack([np.full(3, i, np.float32) for i in range(n)]), np.arange(n)),
                      batch_size=8, shuffle=True, seed=9, as_numpy=True)
    slow = DataLoader(ItemDataset(n), batch_size=8, shuffle=True, seed=9, as_numpy=True)
    for (fx, fy), (sx, sy) in zip(fast, slow):
        np.testing.assert_array_equal(fx, sx)
        np.testing.assert_array_equal(fy, sy)
        assert fx.dtype == sx.dtype == np.float32 and fy.dtype == sy.dtype == np.int64


def _augmented(seed=5, **kw):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (90, 1, 8, 8), dtype=np.uint8)
    ds = TensorDataset(x, np.arange(90), transform=Compose([RandomCrop(8, padding=2), RandomHorizontalFlip()]))
    return DataLoader(ds, batch_size=16, shuffle=True, seed=seed, as_numpy=True, **kw)


def test_same_augmentations_with_and_without_prefetch():
    plain, threaded = _augmented(), _augmented(prefetch=3)
    for _ in range(2):
        for (px, py), (tx, ty) in zip(plain, threaded):
            np.testing.assert_array_equal(px, tx)
            np.testing.assert_array_equal(py, ty)
    # and augmentation really is random: two epochs differ beyond their order
    e0 = {int(y): x for xb, yb in _augmented() for x, y in zip(xb, yb)}
    loader = _augmented()
    list(loader)
    e1 = {int(y): x for xb, yb in loader for x, y in zip(xb, yb)}
    assert sum(not np.array_equal(e0[k], e1[k]) for k in e0) > 45


@pytest.mark.parametrize("prefetch", [0, 2])
def test_resume_from_state_dict_gives_the_uninterrupted_batches(prefetch):
    full = _augmented(seed=77)
    reference = [_epoch(full) for _ in range(3)]  # 3 epochs x 6 batches

    run = _augmented(seed=77)
    _epoch(run)  # epoch 0
    it = iter(run)
    for _ in range(4):
        next(it)  # epoch 1, batches 0..3 handed out
    state = json.loads(json.dumps(run.state_dict()))
    assert state["epoch"] == 1 and state["batch"] == 4 and state["seed"] == 77

    resumed = _augmented(seed=None, prefetch=prefetch)  # its own seed is overwritten by the state
    resumed.load_state_dict(state)
    rest = _epoch(resumed)
    assert len(rest) == 2
    for got, want in zip(rest + _epoch(resumed), reference[1][4:] + reference[2]):
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])


def test_state_dict_after_full_epoch_points_at_next_epoch():
    loader = DataLoader(TensorDataset(np.arange(10)), batch_size=5, shuffle=True, seed=1, as_numpy=True)
    assert loader.state_dict()["epoch"] == 0
    for i, _ in enumerate(loader):
        if i == 1:  # inside the loop, after the last batch was handed out
            assert loader.state_dict()["epoch"] == 1 and loader.state_dict()["batch"] == 0
    assert loader.state_dict() == {"epoch": 1, "batch": 0, "seed": 1, "sampler": {"seed": 1, "epoch": 1}}
    with pytest.raises(ValueError, match="batch=9 is outside"):
        loader.load_state_dict({"epoch": 0, "batch": 9, "seed": 1})
    with pytest.raises(KeyError, match="missing"):
        loader.load_state_dict({"epoch": 0})


def test_prefetch_propagates_errors_and_stops_thread():
    class Broken(ItemDataset):
        def __getitem__(self, i):
            if i == 25:
                raise RuntimeError("bad sample 25")
            return super().__getitem__(i)

    loader = DataLoader(Broken(40), batch_size=10, prefetch=2, as_numpy=True)
    it = iter(loader)
    next(it), next(it)
    with pytest.raises(RuntimeError, match="bad sample 25"):
        next(it)
    before = threading.active_count()
    it = iter(DataLoader(ItemDataset(1000), batch_size=1, prefetch=2, as_numpy=True))
    next(it)
    it.close()
    del it
    for t in threading.enumerate():
        if t.name == "gradkit-prefetch":
            t.join(timeout=2)
    assert threading.active_count() <= before


def test_validation_errors():
    with pytest.raises(ValueError, match=r"the dataset is empty \(0 samples\)"):
        DataLoader(TensorDataset(np.zeros((0, 3))), batch_size=4)
    with pytest.raises(ValueError, match=r"batch_size=128 is larger than the dataset \(100 samples\) and drop_last=True, so every epoch would have 0 batches"):
        DataLoader(TensorDataset(np.zeros(100)), batch_size=128, drop_last=True)
    with pytest.raises(ValueError, match="batch_size must be a positive int; got 0"):
        DataLoader(TensorDataset(np.zeros(10)), batch_size=0)
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(TensorDataset(np.zeros(10)), shuffle=True, sampler=SequentialSampler(range(10)))
    with pytest.raises(ValueError, match="batch_sampler is mutually exclusive"):
        DataLoader(TensorDataset(np.zeros(10)), batch_size=4, batch_sampler=BatchSampler(range(10), 2))
    with pytest.raises(ValueError, match="IterableDataset has no indices"):
        DataLoader(Stream(5), shuffle=True)


def test_iterable_dataset_batches_and_errors():
    batches = list(DataLoader(Stream(10), batch_size=4, as_numpy=True))
    assert [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert [len(b[1]) for b in DataLoader(Stream(10), batch_size=4, drop_last=True, as_numpy=True)] == [4, 4]
    with pytest.raises(ValueError, match="yielded 0 samples"):
        list(DataLoader(Stream(0), batch_size=4, as_numpy=True))
    with pytest.raises(ValueError, match="yielded 3 samples, fewer than batch_size=4 with drop_last=True"):
        list(DataLoader(Stream(3), batch_size=4, drop_last=True, as_numpy=True))


def test_distributed_sampler_through_loaders_covers_the_set():
    ds = TensorDataset(np.arange(50))
    seen = []
    for rank in range(4):
        sampler = DistributedSampler(ds, num_replicas=4, rank=rank, seed=0)
        sampler.set_epoch(2)
        loader = DataLoader(ds, batch_size=5, sampler=sampler, as_numpy=True)
        assert len(loader) == 3  # ceil(50 / 4) = 13 samples -> 3 batches
        seen += np.concatenate([x for (x,) in loader]).tolist()
    assert len(seen) == 52 and set(seen) == set(range(50))


def test_batch_sampler_and_custom_collate():
    ds = ItemDataset(6)
    loader = DataLoader(ds, batch_sampler=[[5, 0], [1, 2, 3]], as_numpy=True)
    assert [b[1].tolist() for b in loader] == [[5, 0], [1, 2, 3]]
    joined = DataLoader(ds, batch_size=3, collate_fn=lambda s: sum(i for _, i in s), as_numpy=True)
    assert list(joined) == [3, 12]


def test_default_collate_structures():
    samples = [{"x": np.ones(2) * i, "text": f"s{i}", "y": i, "w": 0.5} for i in range(3)]
    out = default_collate(samples)
    assert out["x"].shape == (3, 2) and out["text"] == ["s0", "s1", "s2"]
    assert out["y"].dtype == np.int64 and out["w"].dtype == np.float32
    with pytest.raises(ValueError, match=r"field 0: sample 1 has shape \(3,\) but sample 0 has \(2,\)"):
        default_collate([(np.zeros(2), 1), (np.zeros(3), 2)])
    with pytest.raises(TypeError, match="cannot batch samples of type object"):
        default_collate([object()])


def test_yields_gradkit_tensors_by_default():
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    xb, yb = next(iter(DataLoader(TensorDataset(x, np.arange(6)), batch_size=4)))
    assert isinstance(xb, gradkit.Tensor) and isinstance(yb, gradkit.Tensor)
    np.testing.assert_array_equal(xb.numpy(), x[:4])
    assert xb.numpy().dtype == np.float32 and yb.numpy().dtype == np.int64


def test_random_split_subsets_use_the_fast_path_and_cover_their_part():
    from gradkit.data import random_split
    from gradkit.data.dataset import batch_fetcher

    ds = TensorDataset(np.arange(100) * 10, np.arange(100))
    train, val = random_split(ds, [0.8, 0.2], generator=0)
    assert batch_fetcher(train) is not None
    seen = np.concatenate([y for _, y in DataLoader(train, batch_size=16, shuffle=True, seed=0, as_numpy=True)])
    assert sorted(seen.tolist()) == sorted(train.indices.tolist())
    xs = np.concatenate([x for x, _ in DataLoader(val, batch_size=16, as_numpy=True)])
    np.testing.assert_array_equal(xs, val.indices * 10)


def test_uint8_images_become_uint8_tensors():
    x = np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4)
    xb, yb = next(iter(DataLoader(TensorDataset(x, np.array([3, 1])), batch_size=2)))
    assert isinstance(xb, gradkit.Tensor) and xb.numpy().dtype == np.uint8
    assert yb.numpy().tolist() == [3, 1]
