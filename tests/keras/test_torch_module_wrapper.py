"""keras.layers.TorchModuleWrapper: a gradkit nn.Module (the zoo's) as a Keras layer: its
parameters are the layer's weights and fit trains them, training= switches its mode, a zoo
module saves as its name and arguments (never pickle) and loads to the same outputs, any other
module's model.save is refused with the way out."""
import numpy as np
import pytest

import gradkit as gk
from gradkit import keras, nn
from gradkit.models import create_model


def _classifier(module, shape=(20,)):
    return keras.Sequential([keras.layers.Input(shape=shape),
                             keras.layers.TorchModuleWrapper(module), keras.layers.Softmax()])


def test_outputs_are_the_modules_and_its_parameters_are_the_weights():
    gk.manual_seed(0)
    module = create_model("mlp", sizes=(20, 16, 3))
    model = _classifier(module)
    x = np.random.default_rng(0).standard_normal((5, 20)).astype(np.float32)
    with gk.no_grad():
        want = gk.softmax(module(gk.tensor(x)), dim=-1).numpy()
    np.testing.assert_allclose(model.predict(x, verbose=0), want, rtol=1e-6)
    assert [id(w) for w in model.trainable_weights] == [id(p) for p in module.parameters()]
    assert model.count_params() == sum(p.numel() for p in module.parameters())


def test_fit_trains_the_module_and_training_switches_its_mode():
    gk.manual_seed(0)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((256, 20)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    module = create_model("mlp", sizes=(20, 32, 2), dropout=0.5)
    model = _classifier(module)
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    before = module.layers[0].weight.detach().numpy().copy()
    history = model.fit(x, y, epochs=15, batch_size=32, verbose=0)
    assert not np.array_equal(before, module.layers[0].weight.detach().numpy())
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"] > 0.9
    # dropout: off in predict (repeatable), on with training=True (two calls differ)
    np.testing.assert_array_equal(model.predict(x[:8], verbose=0), model.predict(x[:8], verbose=0))
    with gk.no_grad():
        a, b = (model(x[:8], training=True).numpy() for _ in range(2))
    assert not np.array_equal(a, b)
    assert not module.training   # switched back after the call


@pytest.mark.parametrize("name, kwargs, data", [
    ("lenet5", {}, lambda r: r.random((2, 1, 28, 28))),
    ("resnet8", {"in_channels": 1}, lambda r: r.random((2, 1, 16, 16))),
    ("gpt", {"vocab_size": 11, "block_size": 8, "n_layer": 1, "n_embd": 16, "n_head": 2},
     lambda r: r.integers(0, 11, (2, 8))),
    ("char_rnn", {"vocab_size": 11, "hidden_size": 16, "num_layers": 1},
     lambda r: r.integers(0, 11, (2, 8))),
])
def test_a_zoo_module_saves_as_its_name_and_loads_to_the_same_outputs(name, kwargs, data,
                                                                         tmp_path):
    gk.manual_seed(0)
    x = data(np.random.default_rng(0))
    wrapper = keras.layers.TorchModuleWrapper(create_model(name, **kwargs),
                                              output_index=0 if name == "char_rnn" else None)
    model = keras.Sequential([wrapper])
    model(x[:1])                                  # built on ids or images
    model.save(tmp_path / "m.keras")
    back = keras.models.load_model(tmp_path / "m.keras")
    config = back.layers[0].get_config()
    assert config["module"] == {"zoo": name, "kwargs": kwargs}
    np.testing.assert_array_equal(back.predict(x, verbose=0), model.predict(x, verbose=0))


def test_saving_a_module_not_from_the_zoo_is_refused_with_the_way_out(tmp_path):
    model = _classifier(nn.Sequential(nn.Linear(20, 3)))
    with pytest.raises(NotImplementedError) as e:
        model.save(tmp_path / "m.keras")
    assert "not made by gradkit.models.create_model" in str(e.value)
    assert "model.save_weights" in str(e.value) and "pickle" in str(e.value)
    assert not (tmp_path / "m.keras").exists()


@pytest.mark.parametrize("module, message", [
    ("not a module", "module must be a gradkit nn.Module"),
    ({"zoo": "mlp"}, "must be {'zoo': NAME, 'kwargs': {...}}"),
    ({"zoo": "alexnet", "kwargs": {}}, "no model named 'alexnet'"),
])
def test_bad_modules_are_named(module, message):
    with pytest.raises((TypeError, ValueError)) as e:
        keras.layers.TorchModuleWrapper(module)
    assert message in str(e.value)
