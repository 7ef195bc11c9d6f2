"""random_split and train_test_split (with stratification)."""
import math

import numpy as np
import pytest

from gradkit.data import TensorDataset, random_split, train_test_split


def test_random_split_counts_disjoint_cover_and_seed():
    ds = TensorDataset(np.arange(103))
    parts = random_split(ds, [0.8, 0.1, 0.1], generator=0)
    # floor(82.4)=82, floor(10.3)=10, 10 -> remainder 1 goes to the first split
    assert [len(p) for p in parts] == [83, 10, 10]
    idx = np.concatenate([p.indices for p in parts])
    np.testing.assert_array_equal(np.sort(idx), np.arange(103))
    again = random_split(ds, [0.8, 0.1, 0.1], generator=0)
    np.testing.assert_array_equal(again[0].indices, parts[0].indices)
    other = random_split(ds, [0.8, 0.1, 0.1], generator=1)
    assert not np.array_equal(other[0].indices, parts[0].indices)
    assert [len(p) for p in random_split(ds, [100, 3], generator=np.random.default_rng(0))] == [100, 3]


def test_random_split_bad_lengths():
    ds = TensorDataset(np.arange(10))
    with pytest.raises(ValueError, match=r"lengths \[5, 4\] sum to 9, but the dataset has 10 samples"):
        random_split(ds, [5, 4])
    with pytest.raises(ValueError, match="fractions summing to 1"):
        random_split(ds, [0.5, 0.4])


@pytest.mark.parametrize("n,test_size,train_size", [(10, 0.25, None), (103, 0.33, None), (50, None, 0.7), (20, 5, None), (31, 0.2, 0.5)])
def test_train_test_split_sizes_match_scikit_learn(n, test_size, train_size):
    sk = pytest.importorskip("sklearn.model_selection")
    x = np.arange(n)
    a_tr, a_te = train_test_split(x, test_size=test_size, train_size=train_size, seed=0)
    b_tr, b_te = sk.train_test_split(x, test_size=test_size, train_size=train_size, random_state=0)
    assert (len(a_tr), len(a_te)) == (len(b_tr), len(b_te))
    assert len(np.intersect1d(a_tr, a_te)) == 0


def test_train_test_split_keeps_rows_aligned_and_types():
    x = np.arange(40).reshape(20, 2)
    y = np.arange(20)
    names = [f"s{i}" for i in range(20)]
    x_tr, x_te, y_tr, y_te, n_tr, n_te = train_test_split(x, y, names, test_size=0.25, seed=3)
    np.testing.assert_array_equal(x_tr[:, 0] // 2, y_tr)
    assert isinstance(n_te, list) and n_te == [f"s{i}" for i in y_te]
    x_tr2, x_te2 = train_test_split(x, test_size=0.25, shuffle=False)
    np.testing.assert_array_equal(x_te2, x[15:])


def test_stratified_split_keeps_class_proportions():
    y = np.repeat([0, 1, 2], [600, 300, 100])
    x = np.arange(1000)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, stratify=y, seed=0)
    assert np.bincount(y_te).tolist() == [120, 60, 20]
    assert np.bincount(y_tr).tolist() == [480, 240, 80]
    np.testing.assert_array_equal(y[x_te], y_te)
    assert len(np.intersect1d(x_tr, x_te)) == 0 and len(x_tr) + len(x_te) == 1000
    # uneven: each class's share within one sample of exact proportion
    y2 = np.repeat([0, 1, 2, 3], [7, 11, 13, 19])
    _, _, _, t2 = train_test_split(np.arange(50), y2, test_size=0.3, stratify=y2, seed=1)
    assert len(t2) == math.ceil(0.3 * 50)
    assert np.all(np.abs(np.bincount(t2) - np.array([7, 11, 13, 19]) * 0.3) < 1)


def test_stratified_split_errors():
    y = np.array([0, 0, 0, 1, 2, 2])
    with pytest.raises(ValueError, match="class 1 has only 1 sample"):
        train_test_split(np.arange(6), stratify=y, test_size=0.5)
    with pytest.raises(ValueError, match="stratify needs shuffle=True"):
        train_test_split(np.arange(6), stratify=np.array([0, 1] * 3), shuffle=False)
    with pytest.raises(ValueError, match=r"arrays\[0\] has 5, arrays\[1\] has 4"):
        train_test_split(np.arange(5), np.arange(4))


def test_train_test_split_reads_a_tensor_that_requires_grad_as_its_values():
    import gradkit
    x = gradkit.tensor(np.arange(8, dtype=np.float32).reshape(4, 2), requires_grad=True)
    x_tr, x_te = train_test_split(x, test_size=0.25, shuffle=False)
    np.testing.assert_array_equal(x_te, [[6.0, 7.0]])
    assert isinstance(x_tr, np.ndarray) and x_tr.shape == (3, 2)
