"""TensorDataset, Subset, ConcatDataset and the fast-path protocol (get_batch)."""
import numpy as np
import pytest

from gradkit.data import (ConcatDataset, DataLoader, Dataset, Normalize, Subset, TensorDataset, ToFloat, Compose)
from gradkit.data.dataset import batch_fetcher


def _xy(n=10):
    return np.arange(n * 3, dtype=np.float32).reshape(n, 3), np.arange(n) % 4


def test_tensor_dataset_items_and_len():
    x, y = _xy()
    ds = TensorDataset(x, y)
    assert len(ds) == 10
    xi, yi = ds[4]
    np.testing.assert_array_equal(xi, x[4])
    assert yi == 0
    np.testing.assert_array_equal(ds[-1][0], x[9])
    with pytest.raises(IndexError, match="index 10 is out of range for 10 samples"):
        ds[10]
    assert ds.tensors[0] is x


def test_tensor_dataset_length_mismatch_names_both_counts():
    with pytest.raises(ValueError, match=r"features \(arrays\[0\]\) has 100, labels \(arrays\[1\]\) has 99"):
        TensorDataset(np.zeros((100, 2)), np.zeros(99))
    with pytest.raises(ValueError, match="at least one array"):
        TensorDataset()


def test_tensor_dataset_item_transform_equals_batch_transform():
    x = np.random.default_rng(0).integers(0, 256, (6, 1, 4, 4), dtype=np.uint8)
    t = Compose([ToFloat(), Normalize([0.5], [0.25])])
    ds = TensorDataset(x, np.arange(6), transform=t)
    batch = ds.get_batch(np.array([2, 5]))[0]
    np.testing.assert_allclose(ds[5][0], batch[1], rtol=0, atol=0)
    np.testing.assert_allclose(batch[0], (x[2] / 255 - 0.5) / 0.25, rtol=1e-6, atol=1e-6)
    assert ds[5][0].shape == (1, 4, 4) and ds[5][0].dtype == np.float32


def test_lists_of_strings_become_object_arrays():
    ds = TensorDataset(["good", "bad", "ok"], [1, 0, 1])
    assert ds.tensors[0].dtype == object
    assert ds[1] == ("bad", 0)


def test_subset_and_concat_items_match_get_batch():
    x, y = _xy(10)
    a, b = TensorDataset(x, y), TensorDataset(x[:4] + 100, y[:4])
    cat = a + b
    assert isinstance(cat, ConcatDataset) and len(cat) == 14 and cat.cumulative_sizes == [10, 14]
    idx = np.array([13, 0, 11, 5, 10])
    bx, by = cat.get_batch(idx)
    for k, i in enumerate(idx):
        np.testing.assert_array_equal(bx[k], cat[int(i)][0])
        assert by[k] == cat[int(i)][1]
    np.testing.assert_array_equal(cat[12][0], x[2] + 100)
    sub = Subset(cat, [12, 3, -1])
    np.testing.assert_array_equal(sub.get_batch(np.array([0, 2]))[0], np.stack([x[2] + 100, x[3] + 100]))
    with pytest.raises(IndexError, match="1 indices are out of range for a dataset of 14 samples; first at position 1: 14"):
        Subset(cat, [0, 14])


def test_batch_fetcher_respects_overridden_getitem():
    x, y = _xy(6)

    class Doubled(TensorDataset):
        def __getitem__(self, i):
            xi, yi = super().__getitem__(i)
            return xi * 2, yi

    assert batch_fetcher(TensorDataset(x, y)) is not None
    assert batch_fetcher(Doubled(x, y)) is None  # get_batch would bypass the override
    assert batch_fetcher(Subset(Doubled(x, y), [0, 1])) is None
    xb, _ = next(iter(DataLoader(Doubled(x, y), batch_size=6, as_numpy=True)))
    np.testing.assert_array_equal(xb, x * 2)


def test_fast_path_never_calls_getitem(monkeypatch):
    x, y = _xy(50)
    ds = TensorDataset(x, y)

    def boom(self, i):
        raise AssertionError("__getitem__ called on the fast path")

    monkeypatch.setattr(TensorDataset, "__getitem__", boom)
    seen = np.concatenate([b for _, b in DataLoader(ds, batch_size=8, shuffle=True, seed=1, as_numpy=True)])
    assert len(seen) == 50


def test_base_dataset_requires_getitem():
    with pytest.raises(NotImplementedError, match="must define __getitem__"):
        Dataset()[0]


def test_tensors_that_require_grad_are_read_as_their_values():
    # One rule with gradkit.metrics and Keras' fit (gradkit._internal.as_array): a tensor's values,
    # shared and without a graph. Through .numpy(), as before, such a tensor was refused.
    import gradkit
    from gradkit.data import default_collate
    w = gradkit.tensor(np.arange(6, dtype=np.float32).reshape(3, 2), requires_grad=True)
    ds = TensorDataset(w, gradkit.tensor([0, 1, 2]))
    assert ds.tensors[0] is w.array
    np.testing.assert_array_equal(ds[1][0], [2.0, 3.0])
    batch = default_collate([w, w * 2])
    assert isinstance(batch, np.ndarray) and batch.shape == (2, 3, 2) and batch[1, 2, 1] == 10.0
