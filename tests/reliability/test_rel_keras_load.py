"""Keras loading (issue 15, defect 8 and exact resume): a torch.save file is named as a PyTorch
pickle, ``load_weights(skip_mismatch=True)`` says what it skipped, and ``model.save`` keeps the
optimizer's state so that ``fit`` continues exactly after ``load_model``."""
import json
import warnings

import numpy as np
import pytest
import safetensors.numpy
import torch
from safetensors import safe_open

import gradkit as gk
import gradkit.keras as keras
from gradkit.keras import layers


# === a PyTorch pickle is named as one ===========================================================
@pytest.mark.parametrize("zip_format", [True, False])
def test_load_model_on_a_torch_save_file_names_pytorch_pickle(tmp_path, zip_format):
    p = tmp_path / "model.pt"
    torch.save({"w": torch.ones(2)}, p, _use_new_zipfile_serialization=zip_format)
    assert p.read_bytes()[:4] == (b"PK\x03\x04" if zip_format else p.read_bytes()[:4])
    for load in (keras.models.load_model, keras.Sequential([layers.Dense(2, input_shape=(2,))])
                 .load_weights):
        with pytest.raises(ValueError) as e:
            load(p)
        msg = str(e.value)
        assert "model.pt" in msg and "PyTorch pickle checkpoint" in msg
        assert "never unpickles" in msg and "safetensors.torch.save_file" in msg
        assert "Keras .keras archive" not in msg


def test_a_keras_zip_is_still_named_as_keras_archive(tmp_path):
    import zipfile
    p = tmp_path / "real.keras"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("config.json", "{}")
        z.writestr("model.weights.h5", b"\x89HDF")
    with pytest.raises(ValueError, match="Keras .keras archive"):
        keras.models.load_model(p)


# === load_weights(skip_mismatch=True) lists what it skipped =====================================
def test_skip_mismatch_into_another_architecture_warns_listing_the_skipped(tmp_path):
    a = keras.Sequential([layers.Dense(4, input_shape=(3,), name="hidden"),
                          layers.Dense(1, name="out")])
    a.save_weights(tmp_path / "a.safetensors")
    b = keras.Sequential([layers.Dense(5, input_shape=(3,), name="wide"),
                          layers.Dense(1, name="head")])
    before = b.get_weights()
    with pytest.warns(UserWarning) as record:
        b.load_weights(tmp_path / "a.safetensors", skip_mismatch=True)
    msg = str(record[0].message)
    assert "a.safetensors" in msg and "skipped" in msg
    assert "'wide'" in msg and "0.linear.weight" in msg and "(4, 3)" in msg and "(5, 3)" in msg
    assert "'head'" in msg and "1.linear.weight" in msg and "(1, 4)" in msg and "(1, 5)" in msg
    after = b.get_weights()
    for x, y in zip(before, after):
        if x.shape == (1,):   # the one weight that fits: head's bias, loaded
            np.testing.assert_array_equal(y, a.get_weights()[3])
        else:
            np.testing.assert_array_equal(x, y)


def test_skip_mismatch_with_everything_matching_is_silent(tmp_path):
    a = keras.Sequential([layers.Dense(4, input_shape=(3,))])
    a.save_weights(tmp_path / "a.safetensors")
    b = keras.Sequential([layers.Dense(4, input_shape=(3,))])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        b.load_weights(tmp_path / "a.safetensors", skip_mismatch=True)
    np.testing.assert_array_equal(b.get_weights()[0], a.get_weights()[0])


# === model.save keeps the optimizer's state: fit continues exactly ==============================
def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 5)).astype(np.float32)
    return x, np.tanh(x @ rng.standard_normal((5, 2))).astype(np.float32)


def _make(optimizer):
    gk.manual_seed(0)
    model = keras.Sequential([layers.Dense(8, activation="tanh", input_shape=(5,)),
                              layers.Dense(2)])
    model.compile(optimizer, "mse")
    return model


@pytest.mark.parametrize("optimizer", [
    lambda: keras.optimizers.Adam(learning_rate=0.01),
    lambda: keras.optimizers.SGD(learning_rate=0.05, momentum=0.9),
    lambda: keras.optimizers.RMSprop(learning_rate=0.01),
])
def test_fit_save_load_fit_equals_fitting_straight(tmp_path, optimizer):
    x, y = _data()
    straight = _make(optimizer())
    straight.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)

    first = _make(optimizer())
    first.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    first.save(tmp_path / "m.keras")
    resumed = keras.models.load_model(tmp_path / "m.keras")
    resumed.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-7)
    assert resumed.optimizer.iterations == straight.optimizer.iterations == 8


def test_a_changed_learning_rate_is_restored(tmp_path):
    x, y = _data()
    model = _make(keras.optimizers.Adam(learning_rate=0.01))
    model.fit(x, y, epochs=1, verbose=0)
    model.optimizer.learning_rate = 0.002       # what ReduceLROnPlateau does
    model.save(tmp_path / "m.keras")
    assert keras.models.load_model(tmp_path / "m.keras").optimizer.learning_rate == 0.002


def test_the_optimizer_state_is_safetensors_and_json(tmp_path):
    x, y = _data()
    model = _make("adam")
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    with safe_open(str(tmp_path / "m.keras"), "np") as f:
        names, meta = set(f.keys()), f.metadata()
        exp_avg = f.get_tensor("optimizer.inner.state.0.exp_avg")
    assert {"0.linear.weight", "optimizer.inner.state.0.exp_avg",
            "optimizer.inner.state.3.exp_avg_sq"} <= names
    state = json.loads(meta["optimizer_state"])
    assert "0.linear.weight" in json.dumps(state)       # the variables, by weight name
    np.testing.assert_array_equal(
        exp_avg, model.optimizer.state_dict()["inner"]["state"][0]["exp_avg"].array)
    # load_weights reads the model's weights from such a file and ignores the optimizer's
    other = _make("adam")
    other.load_weights(tmp_path / "m.keras")
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_file_without_optimizer_state_loads_with_a_fresh_optimizer(tmp_path):
    x, y = _data()
    model = _make(keras.optimizers.Adam(learning_rate=0.01))
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    # the file as gradkit wrote it before the optimizer's state was saved
    with safe_open(str(tmp_path / "m.keras"), "np") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys() if not k.startswith("optimizer.")}
    del meta["optimizer_state"]
    safetensors.numpy.save_file(tensors, tmp_path / "old.keras", metadata=meta)
    old = keras.models.load_model(tmp_path / "old.keras")
    assert type(old.optimizer).__name__ == "Adam" and old.optimizer.iterations == 0
    assert old.optimizer.learning_rate == pytest.approx(0.01)
    old.fit(x, y, epochs=1, verbose=0)
    assert old.optimizer.iterations == 2


def test_a_malformed_optimizer_state_is_named(tmp_path):
    x, y = _data()
    model = _make("adam")
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    with safe_open(str(tmp_path / "m.keras"), "np") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    meta["optimizer_state"] = meta["optimizer_state"].replace("0.linear.weight", "9.nothing")
    safetensors.numpy.save_file(tensors, tmp_path / "bad.keras", metadata=meta)
    with pytest.raises(ValueError, match=r"bad\.keras: the optimizer state is malformed"):
        keras.models.load_model(tmp_path / "bad.keras")
    assert keras.models.load_model(tmp_path / "bad.keras", compile=False).built
