"""kernel_/bias_/activity_regularizer on Dense and Conv2D: the penalties in layer.losses."""
import numpy as np
import pytest

import gradkit.keras as keras


@pytest.mark.parametrize("kind", ["dense", "conv"])
def test_regularization_losses_are_keras_penalties(kind):
    rng = np.random.default_rng(0)
    reg = dict(kernel_regularizer=keras.regularizers.L2(0.1),
               bias_regularizer=keras.regularizers.L1(0.5),
               activity_regularizer=keras.regularizers.L2(0.01),
               bias_initializer="ones")
    if kind == "dense":
        layer = keras.layers.Dense(3, **reg)
        x = rng.standard_normal((4, 5)).astype(np.float32)
    else:
        layer = keras.layers.Conv2D(2, 3, **reg)
        x = rng.standard_normal((4, 6, 6, 1)).astype(np.float32)
    y = layer(x).array
    kernel = layer.get_weights()[0]
    k, b, a = (float(t.item()) for t in layer.losses)
    assert k == pytest.approx(0.1 * np.sum(kernel.astype(np.float64) ** 2), rel=1e-5)
    assert b == pytest.approx(0.5 * layer.get_weights()[1].size, rel=1e-6)   # bias of ones
    assert a == pytest.approx(0.01 * np.sum(y.astype(np.float64) ** 2) / y.shape[0], rel=1e-5)
