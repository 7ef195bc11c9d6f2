"""Boston housing: the real CSV and Keras' exact split."""
import numpy as np
import pytest

from gradkit.datasets import BOSTON_FEATURES, CorruptFileError, boston_housing


@pytest.mark.data("boston_housing")
def test_shapes_dtypes_and_split_sizes():
    x, y = boston_housing("train")
    assert x.shape == (404, 13) and y.shape == (404,) and x.dtype == y.dtype == np.float32
    xt, yt = boston_housing("test")
    assert xt.shape == (102, 13) and yt.shape == (102,)
    xa, ya = boston_housing("all", dtype="float64")
    assert xa.shape == (506, 13) and xa.dtype == np.float64 and len(BOSTON_FEATURES) == 13
    assert ya.min() == 5.0 and ya.max() == 50.0  # MEDV in $1000s, censored at 50
    assert xa[0].tolist()[:3] == [0.00632, 18.0, 2.31] and ya[0] == 24.0


@pytest.mark.data("boston_housing")
def test_matches_keras_load_data():
    x, y = boston_housing("train", dtype="float64")
    xt, yt = boston_housing("test", dtype="float64")
    # the values keras.datasets.boston_housing.load_data() returns
    np.testing.assert_array_equal(x[0], [1.23247, 0.0, 8.14, 0.0, 0.538, 6.142, 91.7, 3.9769, 4.0, 307.0, 21.0, 396.9, 18.72])
    assert y[:5].tolist() == [15.2, 42.3, 50.0, 21.1, 17.7]
    assert yt[:5].tolist() == [7.2, 18.8, 19.0, 27.0, 22.2]
    # Keras' procedure, spelled out with the global RNG as Keras does it
    xa, ya = boston_housing("all", dtype="float64")
    state = np.random.get_state()
    np.random.seed(113)
    indices = np.arange(506)
    np.random.shuffle(indices)
    np.random.set_state(state)
    np.testing.assert_array_equal(x, xa[indices[:404]])
    np.testing.assert_array_equal(yt, ya[indices[404:]])


@pytest.mark.data("boston_housing")
def test_does_not_touch_numpy_global_rng():
    np.random.seed(7)
    expected = np.random.rand()
    np.random.seed(7)
    boston_housing("train")
    assert np.random.rand() == expected


@pytest.mark.data("boston_housing")
def test_other_seed_and_test_split():
    x, _ = boston_housing("train", test_split=0.5, seed=1)
    assert x.shape == (253, 13)
    with pytest.raises(ValueError, match="test_split must be in"):
        boston_housing(test_split=1.0)


@pytest.mark.data("boston_housing")
def test_corrupt_csv(tmp_path, data_env):
    folder = tmp_path / "boston_housing"
    folder.mkdir()
    lines = (data_env / "boston_housing" / "boston_housing.csv").read_text().splitlines()
    (folder / "boston_housing.csv").write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(CorruptFileError, match=r"boston_housing.csv: expected 506 rows x 14 columns; got \(505, 14\)"):
        boston_housing(root=tmp_path)
    lines[10] = lines[10].replace("0", "1", 1)
    (folder / "boston_housing.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(CorruptFileError, match="checksum mismatch"):
        boston_housing(root=tmp_path)
