"""keras.applications: the architectures behind ``gradkit train``, built, trained a step, saved
and loaded back (GPT also from a file written when it was defined in cli.py)."""
import json

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from gradkit import keras
from gradkit.keras import applications


@pytest.mark.parametrize("kind,params", [("mlp", 64 * 128 + 128 + 128 * 10 + 10),
                                         ("cnn", None), ("lstm", None)])
def test_image_classifier_gives_probabilities(kind, params):
    model = applications.image_classifier(kind, (8, 8), classes=10)
    p = np.asarray(model.predict(np.random.default_rng(0).random((5, 8, 8), np.float32),
                                 verbose=0))
    assert p.shape == (5, 10) and np.allclose(p.sum(1), 1, atol=1e-5) and (p >= 0).all()
    if params is not None:
        assert model.count_params() == params


def test_regressor_and_language_models_have_the_documented_shapes():
    assert applications.regressor(13).count_params() == 13 * 64 + 64 + 64 * 64 + 64 + 64 + 1
    ids = np.random.default_rng(0).integers(0, 20, (2, 7))
    for kind in ("mlp", "lstm", "gpt"):
        model = applications.char_language_model(kind, vocab_size=20, seq_len=7)
        assert np.asarray(model.predict(ids, verbose=0)).shape == (2, 7, 20)


def test_unknown_kinds_name_the_choices():
    with pytest.raises(ValueError, match=r"\['cnn', 'lstm', 'mlp'\], got 'vgg'"):
        applications.image_classifier("vgg", (8, 8), 10)
    with pytest.raises(ValueError, match="'mlp', 'lstm' or 'gpt', got 'rnn'"):
        applications.char_language_model("rnn", 10, 8)


def test_gpt_saves_and_loads_also_under_its_old_registered_name(tmp_path):
    model = applications.char_language_model("gpt", vocab_size=11, seq_len=6)
    ids = np.arange(12).reshape(2, 6) % 11
    want = np.asarray(model.predict(ids, verbose=0))
    path = str(tmp_path / "gpt.keras")
    model.save(path)
    assert np.array_equal(np.asarray(keras.models.load_model(path).predict(ids, verbose=0)), want)

    # a file written while GPT lived in cli.py names it 'gradkit.cli>GPT'
    from safetensors import safe_open
    with safe_open(path, "np") as f:
        meta = f.metadata()
    config = json.loads(meta["model_config"])
    assert config["class_name"] == "GPT"
    config["class_name"] = "gradkit.cli>GPT"
    old = str(tmp_path / "old.keras")
    save_file(load_file(path), old, metadata={**meta, "model_config": json.dumps(config)})
    loaded = keras.models.load_model(old)
    assert type(loaded) is applications.GPT
    assert np.array_equal(np.asarray(loaded.predict(ids, verbose=0)), want)
