"""Saving: model.save / load_model round trips give identical predictions for every kind of model
and layer; weights-only files; custom classes must be registered, and the error says how."""
import json

import numpy as np
import pytest

import gradkit as gk
import gradkit.keras as keras
from gradkit.keras import layers

rng = np.random.default_rng(3)


def _roundtrip(model, x, path):
    before = model.predict(x, verbose=0)
    model.save(path)
    loaded = keras.models.load_model(path)
    after = loaded.predict(x, verbose=0)
    if isinstance(before, list):
        for a, b in zip(before, after):
            np.testing.assert_array_equal(a, b)
    else:
        np.testing.assert_array_equal(before, after)
    return loaded


def test_sequential_roundtrip_keeps_predictions_names_and_compile_settings(tmp_path):
    x = rng.standard_normal((20, 6)).astype(np.float32)
    y = rng.integers(0, 3, 20)
    model = keras.Sequential([layers.Dense(8, activation="relu", input_shape=(6,)),
                              layers.Dropout(0.2), layers.Dense(3, activation="softmax")])
    model.compile(keras.optimizers.Adam(learning_rate=3e-3), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, epochs=2, verbose=0)
    loaded = _roundtrip(model, x, tmp_path / "m.keras")
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    assert type(loaded.optimizer).__name__ == "Adam"
    assert loaded.optimizer.learning_rate == pytest.approx(3e-3)
    loaded.fit(x, y, epochs=1, verbose=0)          # compiled: it trains on
    assert loaded.evaluate(x, y, verbose=0, return_dict=True).keys() == {"loss", "accuracy"}


def test_lazily_built_sequential_roundtrip(tmp_path):
    model = keras.Sequential([layers.Dense(4), layers.Dense(2)])
    x = rng.standard_normal((5, 3)).astype(np.float32)
    model(x)
    _roundtrip(model, x, tmp_path / "lazy.keras")


def test_functional_model_with_every_layer_kind_roundtrips(tmp_path):
    img = keras.Input(shape=(8, 8, 3), name="image")
    seq = keras.Input(shape=(5,), dtype="int64", name="tokens")
    a = layers.Conv2D(4, 3, padding="same", activation="relu")(img)
    a = layers.BatchNormalization()(a)
    a = layers.MaxPooling2D()(a)
    a = layers.AveragePooling2D(padding="same")(a)
    a = layers.GlobalAveragePooling2D()(a)
    t = layers.Embedding(20, 6)(seq)
    t = layers.MultiHeadAttention(num_heads=2, key_dim=3)(t, t)
    t = layers.LayerNormalization()(t)
    t = layers.LSTM(4, return_sequences=True)(t)
    t = layers.GRU(4)(layers.SimpleRNN(4, return_sequences=True)(t))
    out = layers.Dense(2)(layers.Concatenate()([a, t]))
    model = keras.Model({"image": img, "tokens": seq}, [out, layers.Activation("softmax")(out)])
    x = {"image": rng.standard_normal((3, 8, 8, 3)).astype(np.float32),
         "tokens": rng.integers(0, 20, (3, 5))}
    model.compile("adam", ["mse", "mse"])
    model.fit(x, [np.zeros((3, 2)), np.zeros((3, 2))], epochs=1, verbose=0)  # moves BN's stats
    loaded = _roundtrip(model, x, tmp_path / "f.keras")
    assert [type(layer).__name__ for layer in loaded.layers] == \
        [type(layer).__name__ for layer in model.layers]
    bn = [layer for layer in loaded.layers if isinstance(layer, layers.BatchNormalization)][0]
    assert not np.allclose(bn.get_weights()[2], 0)       # moving mean saved and restored


def test_the_file_is_safetensors_with_a_json_architecture(tmp_path):
    from safetensors.numpy import load_file
    from safetensors import safe_open
    model = keras.Sequential([layers.Dense(2, input_shape=(3,))])
    model.save(tmp_path / "m.keras")
    tensors = load_file(str(tmp_path / "m.keras"))
    assert set(tensors) == {"0.linear.weight", "0.linear.bias"}
    with safe_open(str(tmp_path / "m.keras"), "np") as f:
        meta = f.metadata()
    config = json.loads(meta["model_config"])
    assert config["class_name"] == "Sequential"
    assert config["config"]["layers"][0]["class_name"] == "Dense"
    assert config["config"]["layers"][0]["config"]["units"] == 2


@keras.saving.register_keras_serializable(package="tests")
class Scale(layers.Layer):
    """A custom layer with a weight from add_weight and a plain constructor argument."""

    def __init__(self, factor=1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="random_normal", name="w")

    def call(self, x):
        return x * self.w * self.factor


@keras.saving.register_keras_serializable(package="tests")
class TwoTower(keras.Model):
    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.left, self.right = layers.Dense(units), layers.Dense(units)

    def call(self, x, training=None):
        return self.left(x) * self.right(x)


def test_registered_custom_layer_and_subclassed_model_roundtrip(tmp_path):
    x = rng.standard_normal((4, 3)).astype(np.float32)
    model = keras.Sequential([Scale(2.5, input_shape=(3,)), layers.Dense(2)])
    loaded = _roundtrip(model, x, tmp_path / "custom.keras")
    assert isinstance(loaded.layers[0], Scale) and loaded.layers[0].factor == 2.5
    sub = TwoTower(units=5)
    sub(x)
    loaded = _roundtrip(sub, x, tmp_path / "sub.keras")
    assert isinstance(loaded, TwoTower) and loaded.units == 5


def test_an_unregistered_class_is_named_with_the_fix(tmp_path):
    class Doubler(layers.Layer):
        def call(self, x):
            return x * 2

    model = keras.Sequential([Doubler(input_shape=(3,)), layers.Dense(1)])
    model.save(tmp_path / "d.keras")
    with pytest.raises(ValueError, match=r"(?s)Unknown layer class 'Doubler'.*"
                                         r"register_keras_serializable"
                                         r".*custom_objects=\{'Doubler': Doubler\}"):
        keras.models.load_model(tmp_path / "d.keras")
    loaded = keras.models.load_model(tmp_path / "d.keras", custom_objects={"Doubler": Doubler})
    x = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_save_weights_and_load_weights(tmp_path):
    def make():
        return keras.Sequential([layers.Dense(4, activation="tanh", input_shape=(3,)),
                                 layers.BatchNormalization(), layers.Dense(1)])

    gk.manual_seed(0)
    a = make()
    a.compile("adam", "mse")
    x = rng.standard_normal((16, 3)).astype(np.float32)
    a.fit(x, x[:, :1], epochs=1, verbose=0)
    a.save_weights(tmp_path / "w.safetensors")
    gk.manual_seed(1)
    b = make()
    b.load_weights(tmp_path / "w.safetensors")
    np.testing.assert_array_equal(a.predict(x, verbose=0), b.predict(x, verbose=0))
    wrong = keras.Sequential([layers.Dense(5, input_shape=(3,))])
    with pytest.raises(RuntimeError, match="size mismatch for 0.linear.weight"):
        wrong.load_weights(tmp_path / "w.safetensors")
    with pytest.raises(ValueError, match="holds weights only.*load_weights"):
        keras.models.load_model(tmp_path / "w.safetensors")
    lazy = keras.Sequential([layers.Dense(4)])
    with pytest.raises(ValueError, match="not built yet"):
        lazy.load_weights(tmp_path / "w.safetensors")


def test_files_gradkit_cannot_read_are_named(tmp_path):
    (tmp_path / "k.keras").write_bytes(b"PK\x03\x04rest-of-a-zip")
    with pytest.raises(ValueError, match="Keras .keras archive"):
        keras.models.load_model(tmp_path / "k.keras")
    (tmp_path / "m.h5").write_bytes(b"\x89HDF\r\n\x1a\n")
    with pytest.raises(ValueError, match="HDF5"):
        keras.models.load_model(tmp_path / "m.h5")
    with pytest.raises(FileNotFoundError, match="no such file"):
        keras.models.load_model(tmp_path / "missing.keras")
