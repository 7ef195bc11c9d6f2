"""keras.datasets in Keras' shapes, dtypes and splits, and keras.utils."""
import numpy as np
import pytest

import gradkit.datasets.cifar as cifar_module
import gradkit.keras as keras


def test_fashion_mnist_load_data_has_keras_shapes_and_dtypes(fashion):
    (x_train, y_train), (x_test, y_test) = fashion
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (60000,) and y_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert list(y_test[:10]) == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]
    assert np.bincount(y_test).tolist() == [1000] * 10


def test_boston_housing_is_keras_split_of_the_506_rows(boston):
    (x_train, y_train), (x_test, y_test) = boston
    assert x_train.shape == (404, 13) and x_test.shape == (102, 13)
    assert x_train.dtype == np.float64 and y_train.dtype == np.float64
    # the first training sample and targets that Keras' load_data() gives (seed=113)
    np.testing.assert_allclose(x_train[0], [1.23247, 0.0, 8.14, 0.0, 0.538, 6.142, 91.7, 3.9769,
                                            4.0, 307.0, 21.0, 396.9, 18.72])
    np.testing.assert_allclose(y_train[:5], [15.2, 42.3, 50.0, 21.1, 17.7])
    (a, _), (b, _) = keras.datasets.boston_housing.load_data(test_split=0.5, seed=1)
    assert a.shape == (253, 13) and b.shape == (253, 13)


def test_to_categorical():
    np.testing.assert_array_equal(keras.utils.to_categorical([0, 2, 1]),
                                  [[1, 0, 0], [0, 0, 1], [0, 1, 0]])
    y = keras.utils.to_categorical(np.array([[1], [3]]), 5)
    assert y.shape == (2, 5) and y.dtype == np.float32 and y[1, 3] == 1
    with pytest.raises(ValueError, match="label 7"):
        keras.utils.to_categorical([1, 7], 5)


def test_cifar10_load_data_is_channels_last_with_column_labels(tmp_path, monkeypatch):
    # a small folder in CIFAR-10's binary format: records of 1 label byte + 3,072 pixel bytes
    # (1,024 red, then green, then blue, each 32 x 32 row-major); 3 per file, not 10,000
    monkeypatch.setattr(cifar_module, "_RECORDS_PER_FILE", 3)
    rng = np.random.default_rng(0)
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    records = {}
    for name, n in [(f"data_batch_{i}.bin", 3) for i in range(1, 6)] + [("test_batch.bin", 3)]:
        rec = rng.integers(0, 256, (n, 3073), dtype=np.uint8)
        rec[:, 0] %= 10
        (folder / name).write_bytes(rec.tobytes())
        records[name] = rec
    (x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data(path=str(tmp_path))
    assert x_train.shape == (15, 32, 32, 3) and x_train.dtype == np.uint8
    assert y_train.shape == (15, 1) and y_train.dtype == np.uint8
    assert x_test.shape == (3, 32, 32, 3) and y_test.shape == (3, 1)
    rec = records["test_batch.bin"][2]
    r, c = 7, 30
    assert y_test[2, 0] == rec[0]
    assert list(x_test[2, r, c]) == [rec[1 + ch * 1024 + r * 32 + c] for ch in range(3)]
