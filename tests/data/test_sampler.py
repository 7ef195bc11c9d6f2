"""Samplers, above all DistributedSampler's shards (compared with PyTorch's)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from gradkit.data import (BatchSampler, DistributedSampler, RandomSampler, SequentialSampler,
                          SubsetRandomSampler, WeightedRandomSampler)


def test_sequential_and_random_sampler():
    assert list(SequentialSampler(range(5))) == [0, 1, 2, 3, 4]
    s = RandomSampler(range(100), seed=7)
    e0, e1 = list(s), list(s)
    assert sorted(e0) == list(range(100)) and sorted(e1) == list(range(100))
    assert e0 != e1  # a new order each epoch
    s2 = RandomSampler(100, seed=7)
    assert list(s2) == e0
    s2.set_epoch(1)
    assert list(s2) == e1
    assert s.state_dict() == {"seed": 7, "epoch": 2}
    r = RandomSampler(range(10), replacement=True, num_samples=50, seed=0).index_array()
    assert len(r) == 50 and r.min() >= 0 and r.max() < 10 and len(np.unique(r)) < 50
    with pytest.raises(ValueError, match="needs replacement=True"):
        RandomSampler(range(10), num_samples=11)


def test_subset_weighted_and_batch_samplers():
    idx = [3, 9, 27, 81]
    assert sorted(SubsetRandomSampler(idx, seed=0)) == idx
    w = np.array([0.0, 1.0, 0.0, 3.0])
    draws = WeightedRandomSampler(w, 4000, seed=0).index_array()
    assert set(np.unique(draws)) == {1, 3}
    assert 0.70 < np.mean(draws == 3) < 0.80
    with pytest.raises(ValueError, match="not all zero"):
        WeightedRandomSampler([0, 0], 3)
    b = BatchSampler(SequentialSampler(range(10)), 4, drop_last=False)
    assert list(b) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]] and len(b) == 3
    assert len(BatchSampler(SequentialSampler(range(10)), 4, drop_last=True)) == 2


def _shards(n, replicas, **kw):
    return [DistributedSampler(range(n), num_replicas=replicas, rank=r, **kw) for r in range(replicas)]


def test_distributed_shards_disjoint_and_cover_when_even():
    shards = _shards(12, 3, seed=5)
    parts = [s.index_array() for s in shards]
    assert [len(p) for p in parts] == [4, 4, 4]
    assert sorted(np.concatenate(parts).tolist()) == list(range(12))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 60), replicas=st.integers(1, 8), epoch=st.integers(0, 5), drop_last=st.booleans())
def test_distributed_padding_and_drop_last(n, replicas, epoch, drop_last):
    if drop_last and n < replicas:
        with pytest.raises(ValueError, match="leave nothing"):
            _shards(n, replicas, drop_last=True)
        return
    shards = _shards(n, replicas, seed=11, drop_last=drop_last)
    for s in shards:
        s.set_epoch(epoch)
    parts = [s.index_array() for s in shards]
    lengths = {len(p) for p in parts}
    assert len(lengths) == 1  # no rank waits for a batch the others never send
    allidx = np.concatenate(parts)
    if drop_last:
        assert len(parts[0]) == n // replicas
        assert len(np.unique(allidx)) == len(allidx)  # disjoint
    else:
        assert len(parts[0]) == -(-n // replicas)
        assert set(allidx.tolist()) == set(range(n))  # covers the set
        assert len(allidx) - n == (-n) % replicas  # padding repeats exactly the shortfall


def test_distributed_reshuffles_per_epoch_and_ranks_agree():
    a = _shards(100, 4, seed=0)
    first = np.concatenate([s.index_array() for s in a])
    again = np.concatenate([s.index_array() for s in a])  # no set_epoch: same epoch, same order
    np.testing.assert_array_equal(first, again)
    for s in a:
        s.set_epoch(1)
    second = np.concatenate([s.index_array() for s in a])
    assert not np.array_equal(first, second)
    assert sorted(second.tolist()) == list(range(100))


@pytest.mark.parametrize("n,replicas,drop_last", [(10, 3, False), (10, 3, True), (7, 4, False), (2, 5, False), (16, 4, True)])
def test_distributed_unshuffled_matches_pytorch(n, replicas, drop_last):
    torch_data = pytest.importorskip("torch.utils.data")
    for rank in range(replicas):
        ours = DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = torch_data.DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs)
        assert len(ours) == len(theirs)


def test_distributed_sampler_errors(monkeypatch):
    with pytest.raises(ValueError, match=r"rank=3 is outside \[0, 2\]"):
        DistributedSampler(range(10), num_replicas=3, rank=3)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    with pytest.raises(ValueError, match="WORLD_SIZE is not set"):
        DistributedSampler(range(10))
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    s = DistributedSampler(range(10), shuffle=False)
    assert (s.num_replicas, s.rank, list(s)) == (2, 1, [1, 3, 5, 7, 9])
