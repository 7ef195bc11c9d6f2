"""The seeds' Keras programs (../shared/seeds), run as printed with only ``import tensorflow as tf``
changed to ``import gradkit.tf as tf``, on real data. The listings are read from the articles, so
the test runs what the article prints; each test states what it changes (the epoch count only)."""
import re

import numpy as np
import pytest

import gradkit as gk
import gradkit.keras as keras
from shared_files import seed_article


pytestmark = pytest.mark.filterwarnings("ignore:.*are the arguments swapped")


def _listing(prefix):
    """The article's TensorFlow listing with the import line changed, exactly as printed."""
    article = seed_article(prefix)
    blocks = [b for b in re.findall(r"```python\n(.*?)```", article, re.S)
              if "import tensorflow as tf" in b]
    assert len(blocks) == 1
    return blocks[0].replace("import tensorflow as tf", "import gradkit.tf as tf", 1)


def _fashion_784(fashion):
    """The data the Keras MLP seeds leave to the reader: 784 pixels in [0, 1], one-hot labels."""
    (x_train, y_train), (x_test, y_test) = fashion
    return (x_train.reshape(-1, 784) / 255.0, keras.utils.to_categorical(y_train, 10),
            x_test.reshape(-1, 784) / 255.0, keras.utils.to_categorical(y_test, 10))


# === 000 and 004: the Keras MLP ================================================================
@pytest.mark.data("seeds")
def test_seed_000_and_004_keras_mlp_reaches_85_percent_on_fashion_mnist_in_3_epochs(fashion, capsys):
    code = _listing("004")
    # 000's listing is 004's without the final evaluate: one run covers both
    assert _listing("000").split("# 训练模型")[0].strip() in code
    assert code.count("epochs=10") == 1
    code = code.replace("epochs=10", "epochs=3")         # the claim: 3 epochs suffice
    x_train, y_train, x_test, y_test = _fashion_784(fashion)
    gk.manual_seed(0)
    namespace = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    exec(compile(code, "seed_004_listing", "exec"), namespace)
    printed = capsys.readouterr().out.splitlines()
    assert [line.split(" - ")[0] for line in printed] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3",
                                                          "Evaluate"]
    loss, accuracy = namespace["model"].evaluate(x_test, y_test, verbose=0)
    assert accuracy >= 0.85, f"test accuracy {accuracy:.4f}"
    assert f"accuracy: {accuracy:.4f}" in printed[-1]       # the listing's own evaluate


# === 002: Boston housing =======================================================================
@pytest.mark.data("seeds", "boston_housing")
def test_seed_002_boston_program_as_printed_stops_at_the_first_batch_with_the_fix():
    code = _listing("002")
    assert "input_shape=(4,)" in code                          # the article's slip
    namespace = {}
    with pytest.raises(ValueError) as info:
        exec(compile(code, "seed_002_listing", "exec"), namespace)
    message = str(info.value)
    assert "layer 'dense' (Dense)" in message
    assert "expected 4 features" in message and "received 13" in message
    assert "change it to input_shape=(13,)" in message
    assert namespace["model"].optimizer.iterations == 0       # before any update


def test_boston_program_with_13_features_and_standardised_inputs_reaches_mae_3_5(boston):
    gk.manual_seed(0)
    (x_train, y_train), (x_test, y_test) = boston
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    model = keras.models.Sequential([
        keras.layers.Dense(10, activation="relu", input_shape=(13,)),
        keras.layers.Dense(1),
    ])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    model.fit(x_train, y_train, epochs=300, verbose=0)   # 13 steps an epoch at Adam's 1e-3
    loss, mae = model.evaluate(x_test, y_test, verbose=0)
    assert mae <= 3.5, f"test MAE {mae:.3f} (thousand dollars)"


# === 003: the TensorFlow skeleton that mixes dialects ==========================================
@pytest.mark.data("seeds")
def test_seed_003_keras_optimizer_step_after_backward_explains_both_dialects():
    code = _listing("003")
    # the skeleton leaves the network to the reader ("定义神经网络结构"); fill in one layer
    code = code.replace("        # 定义神经网络结构\n",
                        "        # 定义神经网络结构\n"
                        "        self.dense = tf.keras.layers.Dense(3, activation='softmax')\n")
    code = code.replace("        return inputs", "        return self.dense(inputs)")
    x = np.random.default_rng(0).standard_normal((8, 5)).astype(np.float32)
    labels = np.eye(3, dtype=np.float32)[np.arange(8) % 3]
    namespace = {"train_loader": [(x, labels)]}
    with pytest.raises(AttributeError) as info:
        exec(compile(code, "seed_003_listing", "exec"), namespace)
    message = str(info.value)
    assert "'Adam' is a Keras optimizer: it has no step()" in message
    assert "gradkit.optim.Adam(model.parameters()" in message and "opt.step()" in message
    assert "optimizer.apply_gradients(zip(grads, model.trainable_variables))" in message
    with pytest.warns(UserWarning, match="are the arguments swapped"):
        keras.losses.CategoricalCrossentropy()(namespace["model"](x), labels)
