"""fit(gradient_accumulation_steps=k) against a PyTorch-style loop on gradkit.optim that averages
the gradients of each group of k batches (the epoch's last group may be shorter) and steps once,
in float64 to 1e-12; clipping sees the averaged gradient; a stop inside a group applies nothing
and leaves no gradient behind."""
import numpy as np
import pytest

import gradkit as gk
import gradkit.keras as keras
from gradkit.keras import callbacks as cb
from gradkit.keras import layers

N, BATCH = 46, 5      # 10 batches a epoch, the last one of 1 sample


@pytest.fixture(autouse=True)
def float64():
    keras.backend.set_floatx("float64")
    yield
    keras.backend.set_floatx("float32")


def _data():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((N, 4))
    y = np.tanh(x @ rng.standard_normal((4, 2))) + 0.1 * rng.standard_normal((N, 2))
    return x, y


def _model():
    gk.manual_seed(3)
    return keras.Sequential([layers.Dense(6, activation="tanh", input_shape=(4,)),
                             layers.Dense(2)])


def _manual(model, optimizer, x, y, k, epochs):
    """Each group of k batches: the mean of their gradients, then one optimizer step."""
    variables = model.trainable_variables
    loss_fn = keras.losses.MeanSquaredError()
    starts = list(range(0, N, BATCH))
    for _ in range(epochs):
        for g in range(0, len(starts), k):
            group = starts[g:g + k]
            total = [np.zeros_like(v.array) for v in variables]
            for i in group:
                loss = loss_fn(y[i:i + BATCH], model(x[i:i + BATCH], training=True))
                for t, grad in zip(total, gk.grad(loss, variables)):
                    t += grad.array
            optimizer.zero_grad()
            for v, t in zip(variables, total):
                v.grad = gk.tensor(t / len(group))
            optimizer.step()


@pytest.mark.parametrize("k", [1, 3, 4])
@pytest.mark.parametrize("keras_opt,optim_opt", [
    (lambda: keras.optimizers.SGD(0.1, momentum=0.9),
     lambda p: gk.optim.SGD(p, lr=0.1, momentum=0.9)),
    (lambda: keras.optimizers.Adam(0.01, global_clipnorm=0.05),
     lambda p: gk.optim.Adam(p, lr=0.01, eps=1e-7, clip_grad_norm=0.05)),
    (lambda: keras.optimizers.RMSprop(0.01, clipvalue=0.02, weight_decay=0.1),
     lambda p: gk.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-7, clip_grad_value=0.02,
                                weight_decay=0.1, decoupled_weight_decay=True)),
])
def test_fit_with_accumulation_equals_a_loop_averaging_each_groups_gradients(k, keras_opt,
                                                                           optim_opt):
    x, y = _data()
    fitted, manual = _model(), _model()
    fitted.compile(keras_opt(), "mse")
    fitted.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0,
               gradient_accumulation_steps=k)
    _manual(manual, optim_opt(manual.trainable_variables), x, y, k, epochs=2)
    groups = -(-10 // k)
    assert fitted.optimizer.iterations == 2 * groups
    for a, b in zip(fitted.get_weights(), manual.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_the_optimizers_own_setting_is_used_and_fits_argument_wins():
    x, y = _data()
    own, arg, manual = _model(), _model(), _model()
    own.compile(keras.optimizers.SGD(0.1, gradient_accumulation_steps=4), "mse")
    own.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    arg.compile(keras.optimizers.SGD(0.1, gradient_accumulation_steps=2), "mse")
    arg.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0,
            gradient_accumulation_steps=4)
    _manual(manual, gk.optim.SGD(manual.trainable_variables, lr=0.1), x, y, 4, epochs=1)
    assert own.optimizer.iterations == arg.optimizer.iterations == 3
    for a, b, c in zip(own.get_weights(), arg.get_weights(), manual.get_weights()):
        np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(b, c, rtol=1e-12, atol=1e-12)


def test_a_stop_inside_a_group_applies_nothing_and_leaves_no_gradient():
    x, y = _data()
    m = _model()
    m.compile(keras.optimizers.SGD(0.1), "mse")
    stop = cb.LambdaCallback(on_train_batch_end=lambda batch, logs: setattr(
        m, "stop_training", batch == 5))
    m.fit(x, y, batch_size=BATCH, epochs=3, shuffle=False, verbose=0,
          gradient_accumulation_steps=4, callbacks=[stop])
    assert m.optimizer.iterations == 1        # batches 0-3; 4 and 5 were accumulated, then dropped
    assert all(v.grad is None for v in m.trainable_variables)
    with pytest.raises(ValueError, match="gradient_accumulation_steps must be >= 1"):
        m.fit(x, y, verbose=0, gradient_accumulation_steps=-2)
