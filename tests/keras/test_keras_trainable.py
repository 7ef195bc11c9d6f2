"""layer.trainable = False, as Keras 3 documents it: a frozen layer's weights are not updated by
fit and get no gradient; a frozen BatchNormalization runs in inference mode (its moving mean
and variance stay, and its outputs use them) even in fit; freezing a model freezes its layers;
unfreezing keeps the weights a layer never trains (gamma with scale=False)."""
import numpy as np

import gradkit as gk
import gradkit.keras as keras
from gradkit.keras import layers

rng = np.random.default_rng(2)


def _data(n=64):
    x = (rng.standard_normal((n, 6)) * 2 + 1).astype(np.float32)
    y = rng.integers(0, 3, n)
    return x, y


def _model():
    gk.manual_seed(0)
    return keras.Sequential([layers.Dense(8, input_shape=(6,)), layers.BatchNormalization(),
                             layers.Activation("relu"), layers.Dense(3, activation="softmax")])


def test_frozen_batchnorm_keeps_its_moving_statistics_through_fit_and_uses_them():
    x, y = _data()
    model = _model()
    dense, bn, _, head = model.layers
    model(x[:16], training=True)  # move the statistics away from their initial 0 and 1
    bn.trainable = False
    gamma, beta, mean, var = (w.copy() for w in bn.get_weights())
    assert not np.allclose(mean, 0)
    kernel = dense.get_weights()[0].copy()
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    for before, after in zip((gamma, beta, mean, var), bn.get_weights()):
        np.testing.assert_array_equal(after, before)
    assert not np.allclose(dense.get_weights()[0], kernel)  # the rest trained
    assert bn.gamma.grad is None and bn.beta.grad is None  # no gradient buffers either
    assert not any(v is bn.gamma or v is bn.beta for v in model.optimizer.variables)
    # outputs: (h - moving_mean) / sqrt(moving_var + eps) · gamma + beta, in training too
    h = dense(x).array
    expected = (h - mean) / np.sqrt(var + bn.epsilon) * gamma + beta
    np.testing.assert_allclose(bn(dense(x), training=True).array, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(bn(dense(x)).array, expected, rtol=1e-5, atol=1e-5)


def test_frozen_dense_is_not_updated_and_gets_no_gradient():
    x, y = _data()
    model = _model()
    model.layers[0].trainable = False
    frozen = model.layers[0].get_weights()
    model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    assert len(model.trainable_weights) == 2 + 2  # BN gamma, beta; the head's kernel, bias
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    for a, b in zip(model.layers[0].get_weights(), frozen):
        np.testing.assert_array_equal(a, b)
    assert all(t.grad is None for t in model.layers[0].weights)


def test_freezing_a_model_freezes_its_layers_and_unfreezing_keeps_gamma_fixed():
    gk.manual_seed(0)
    inner = keras.Sequential([layers.Dense(4, input_shape=(6,)),
                              layers.BatchNormalization(scale=False)])
    outer = keras.Sequential([inner, layers.Dense(2)])
    outer(np.zeros((2, 6), np.float32))
    bn = inner.layers[1]
    inner.trainable = False
    assert not bn.trainable and len(outer.trainable_weights) == 2
    x = _data(16)[0]
    np.testing.assert_allclose(outer(x, training=True).array, outer(x).array, rtol=1e-6)
    inner.trainable = True
    # scale=False: gamma is never trained, whoever sets trainable
    assert bn.trainable and not bn.bn.weight.requires_grad and bn.bn.bias.requires_grad
    assert len(outer.trainable_weights) == 2 + 1 + 2
