"""The text-classification pieces of Keras: pad_sequences (Keras' documented examples and rules),
keras.datasets.imdb on a small file in imdb.npz's format, and the Keras 2 metric names the IMDB
tutorials compile with."""
import json
import os

import numpy as np
import pytest

import gradkit.keras as keras
from gradkit.datasets import CorruptFileError, DatasetNotFoundError

pad_sequences = keras.utils.pad_sequences


# === pad_sequences ===============================================================================
def test_pad_sequences_keras_documented_examples():
    seq = [[1], [2, 3], [4, 5, 6]]
    out = pad_sequences(seq)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, [[0, 0, 1], [0, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(pad_sequences(seq, value=-1),
                                  [[-1, -1, 1], [-1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(pad_sequences(seq, padding="post"),
                                  [[1, 0, 0], [2, 3, 0], [4, 5, 6]])
    np.testing.assert_array_equal(pad_sequences(seq, maxlen=2), [[0, 1], [2, 3], [5, 6]])


def test_pad_sequences_truncating_padding_dtype_and_value():
    seq = [[1, 2, 3, 4], [5], []]
    np.testing.assert_array_equal(pad_sequences(seq, maxlen=3, truncating="post", padding="post"),
                                  [[1, 2, 3], [5, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(pad_sequences(seq, maxlen=3, truncating="post"),
                                  [[1, 2, 3], [0, 0, 5], [0, 0, 0]])
    np.testing.assert_array_equal(pad_sequences(seq, maxlen=6), [[0, 0, 1, 2, 3, 4],
                                                                 [0, 0, 0, 0, 0, 5], [0] * 6])
    out = pad_sequences([[0.25, 0.5]], maxlen=3, dtype="float32", value=9.5)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[9.5, 0.25, 0.5]])
    np.testing.assert_array_equal(pad_sequences([[1.7, 2.2]], maxlen=3), [[0, 1, 2]])  # int32
    words = pad_sequences([["a", "b"], ["c"]], dtype=object, value="<pad>")
    assert words.tolist() == [["a", "b"], ["<pad>", "c"]]
    steps = pad_sequences([np.ones((2, 3)), np.full((1, 3), 2.0)], dtype="float32")
    assert steps.shape == (2, 2, 3)                           # each step a vector of 3
    np.testing.assert_array_equal(steps[1], [[0, 0, 0], [2, 2, 2]])
    arrays = pad_sequences((np.arange(1, 4), np.arange(5, 7)), maxlen=2)   # a tuple of arrays
    np.testing.assert_array_equal(arrays, [[2, 3], [5, 6]])


def test_pad_sequences_refusals():
    with pytest.raises(ValueError, match='padding type "middle"'):
        pad_sequences([[1]], padding="middle")
    with pytest.raises(ValueError, match='truncating type "both"'):
        pad_sequences([[1]], truncating="both")
    with pytest.raises(ValueError, match="item 1 is 5"):
        pad_sequences([[1], 5])
    with pytest.raises(ValueError, match="dtype=object"):
        pad_sequences([["a"]], value="x")
    with pytest.raises(ValueError, match=r"sequence 1 have shape \(2,\); expected \(3,\)"):
        pad_sequences([np.ones((1, 3)), np.ones((1, 2))], dtype="float32")


def test_pad_sequences_is_one_function_under_keras_2_and_3_names():
    from gradkit.keras.preprocessing.sequence import pad_sequences as keras2
    from gradkit.tf.keras.preprocessing.sequence import pad_sequences as tf_keras2
    import gradkit.tf as tf
    assert keras2 is tf_keras2 is pad_sequences is tf.keras.utils.pad_sequences
    assert keras.preprocessing.sequence.pad_sequences is pad_sequences


# === keras.datasets.imdb =========================================================================
def _objects(lists):
    out = np.empty(len(lists), dtype=object)
    for i, item in enumerate(lists):
        out[i] = item
    return out


TRAIN = [[1, 2, 3], [4, 5], [6, 7, 8, 9], [2, 11, 1], [10]]
TEST = [[3, 3], [12, 1, 4], [7]]


@pytest.fixture
def imdb_file(tmp_path):
    """A small imdb.npz with the real file's structure: object arrays of int lists, int labels."""
    path = tmp_path / "imdb.npz"
    np.savez(path, x_train=_objects(TRAIN), y_train=np.array([1, 0, 1, 0, 1]),
             x_test=_objects(TEST), y_test=np.array([0, 1, 1]))
    return path


def _keras_rule(x, y, seed_rng, num_words, start_char=1, oov_char=2, index_from=3):
    """Keras' steps for one split, on plain lists: the shuffle, the shift and the start mark,
    then indices of num_words or more become oov_char."""
    order = np.arange(len(x))
    seed_rng.shuffle(order)
    x = [[start_char] + [w + index_from for w in x[i]] for i in order]
    x = [[w if w < num_words else oov_char for w in r] for r in x]
    return x, np.asarray(y)[order]


def test_imdb_load_data_applies_keras_index_rules(imdb_file):
    (x_train, y_train), (x_test, y_test) = keras.datasets.imdb.load_data(path=str(imdb_file))
    assert x_train.dtype == object and x_train.shape == (5,) and x_test.shape == (3,)
    # num_words defaults to the largest shifted index, 12 + 3, which is itself out of range
    # (Keras' `skip_top <= w < num_words`): the one 15 becomes oov_char 2
    rng = np.random.RandomState(113)                  # one generator: train shuffled, then test
    want_train, want_y = _keras_rule(TRAIN, [1, 0, 1, 0, 1], rng, num_words=15)
    want_test, want_yt = _keras_rule(TEST, [0, 1, 1], rng, num_words=15)
    assert [list(r) for r in x_train] == want_train and y_train.tolist() == want_y.tolist()
    assert [list(r) for r in x_test] == want_test and y_test.tolist() == want_yt.tolist()
    assert sorted(map(tuple, x_train)) == sorted([(1, 4, 5, 6), (1, 7, 8), (1, 9, 10, 11, 12),
                                                  (1, 5, 14, 4), (1, 13)])
    assert sorted(map(tuple, x_test)) == [(1, 2, 4, 7), (1, 6, 6), (1, 10)]


def test_imdb_num_words_skip_top_maxlen_and_no_start_char(imdb_file):
    path = str(imdb_file)
    (x, _), (xt, _) = keras.datasets.imdb.load_data(path=path, num_words=8)
    flat = {w for r in list(x) + list(xt) for w in r}
    assert max(flat) == 7 and 2 in flat               # 8 and above became oov_char 2
    (x, _), _ = keras.datasets.imdb.load_data(path=path, num_words=8, oov_char=None)
    assert sorted(map(tuple, x)) == sorted([(1, 4, 5, 6), (1, 7), (1,), (1, 5, 4), (1,)])
    (x, _), _ = keras.datasets.imdb.load_data(path=path, skip_top=5)
    assert all(r[0] == 2 for r in x)       # the start mark 1 < skip_top: oov too, as in Keras
    (x, y), (xt, yt) = keras.datasets.imdb.load_data(path=path, maxlen=4)
    # len(review) < maxlen is kept; then 13, the largest index left, is the default num_words
    assert sorted(map(tuple, x)) == [(1, 2), (1, 7, 8)]
    assert sorted(y.tolist()) == [0, 1] and len(xt) == len(yt) == 2
    (x, _), _ = keras.datasets.imdb.load_data(path=path, start_char=None, index_from=0, seed=1)
    assert sorted(map(tuple, x)) == sorted(map(tuple, TRAIN))
    with pytest.raises(ValueError, match="no review was kept"):
        keras.datasets.imdb.load_data(path=path, maxlen=2)
    with pytest.raises(TypeError, match="nb_words"):
        keras.datasets.imdb.load_data(path=path, nb_words=10)


def test_imdb_is_found_in_the_keras_cache_and_in_gradkit_data(imdb_file, tmp_path, monkeypatch):
    keras_home = tmp_path / "keras_home"
    (keras_home / "datasets").mkdir(parents=True)
    (keras_home / "datasets" / "imdb.npz").write_bytes(imdb_file.read_bytes())
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.setenv("GRADKIT_DATA", str(tmp_path / "empty"))
    (x, _), _ = keras.datasets.imdb.load_data()
    assert len(x) == 5
    data = tmp_path / "data"
    (data / "imdb").mkdir(parents=True)
    np.savez(data / "imdb" / "imdb.npz", x_train=_objects([[1, 2]]), y_train=np.array([1]),
             x_test=_objects([[3]]), y_test=np.array([0]))
    monkeypatch.setenv("GRADKIT_DATA", str(data))
    (x, _), _ = keras.datasets.imdb.load_data()       # GRADKIT_DATA comes before Keras' cache
    assert len(x) == 1


def test_imdb_missing_file_says_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("GRADKIT_DATA", str(tmp_path / "data"))
    with pytest.raises(DatasetNotFoundError) as e:
        keras.datasets.imdb.load_data()
    msg = str(e.value)
    assert "imdb.npz not found" in msg and str(tmp_path / "keras" / "datasets" / "imdb.npz") in msg
    assert "GRADKIT_DATA/imdb/" in msg and "tf-keras-datasets/imdb.npz" in msg
    assert str(tmp_path / "data" / "imdb") in msg      # the folders searched are listed
    with pytest.raises(DatasetNotFoundError, match="imdb_word_index.json not found"):
        keras.datasets.imdb.get_word_index()


def test_imdb_get_word_index(tmp_path, monkeypatch):
    (tmp_path / "imdb").mkdir()
    (tmp_path / "imdb" / "imdb_word_index.json").write_text(json.dumps({"the": 1, "movie": 17}))
    monkeypatch.setenv("GRADKIT_DATA", str(tmp_path))
    assert keras.datasets.imdb.get_word_index() == {"the": 1, "movie": 17}


class _Payload:
    def __reduce__(self):
        return (os.getpid, ())


def test_imdb_file_with_code_in_its_pickle_is_refused(tmp_path):
    path = tmp_path / "imdb.npz"
    np.savez(path, x_train=_objects([[1], _Payload()]), y_train=np.array([1, 0]),
             x_test=_objects([[2]]), y_test=np.array([0]))
    with pytest.raises(CorruptFileError, match="posix.getpid is not allowed"):
        keras.datasets.imdb.load_data(path=str(path))
    np.savez(path, x_train=_objects([[1]]), y_train=np.array([1]))        # keys missing
    with pytest.raises(CorruptFileError, match="x_test"):
        keras.datasets.imdb.load_data(path=str(path))


def test_imdb_through_tf_keras_paths_and_into_a_model(imdb_file):
    from gradkit.tf.keras.datasets import imdb
    (x, y), _ = imdb.load_data(path=str(imdb_file), num_words=20)
    x = pad_sequences(x, maxlen=6)
    assert x.shape == (5, 6) and x.dtype == np.int32
    model = keras.Sequential([keras.layers.Embedding(20, 4),
                              keras.layers.Bidirectional(keras.layers.LSTM(3)),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy", metrics=["binary_accuracy"])
    assert model.predict(x, verbose=0).shape == (5, 1)


# === Keras 2 metric names ========================================================================
def test_keras_2_metric_names_compile_and_compute_their_formulas():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 5)).astype(np.float32)
    y = np.eye(7, dtype=np.float32)[rng.integers(0, 7, 40)]
    model = keras.Sequential([keras.layers.Dense(7, activation="softmax")])
    names = ["mean_absolute_error", "mean_squared_error", "categorical_accuracy",
             "binary_accuracy", "top_k_categorical_accuracy", "mae", "mse"]
    model.compile("sgd", "categorical_crossentropy", metrics=names)
    results = model.evaluate(x, y, batch_size=40, verbose=0, return_dict=True)
    assert set(results) == {"loss", *names}
    p = model.predict(x, verbose=0)
    top5 = np.argsort(-p, axis=1)[:, :5]
    want = {"mean_absolute_error": np.abs(y - p).mean(),
            "mean_squared_error": ((y - p) ** 2).mean(),
            "categorical_accuracy": (p.argmax(1) == y.argmax(1)).mean(),
            "binary_accuracy": ((p > 0.5) == y).mean(),
            "top_k_categorical_accuracy": np.mean([y[i].argmax() in top5[i] for i in range(40)])}
    want["mae"], want["mse"] = want["mean_absolute_error"], want["mean_squared_error"]
    for name, value in want.items():
        assert results[name] == pytest.approx(value, rel=1e-5, abs=1e-6), name

    sparse = keras.Sequential([keras.layers.Dense(7, activation="softmax")])
    sparse.compile("sgd", "sparse_categorical_crossentropy",
                   metrics=["sparse_categorical_accuracy"])
    history = sparse.fit(x, y.argmax(1), epochs=1, verbose=0)
    assert set(history.history) == {"loss", "sparse_categorical_accuracy"}
    assert keras.metrics.mae is keras.metrics.mean_absolute_error
    assert keras.metrics.mse is keras.metrics.mean_squared_error
