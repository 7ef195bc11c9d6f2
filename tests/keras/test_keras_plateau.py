"""keras.callbacks.ReduceLROnPlateau on scripted metric sequences: the epochs where it cuts the
rate, against Keras' rule written out here (the behaviour it had before it became an adapter)
and against gradkit.optim's ReduceLROnPlateau with the equivalent settings (patience − 1,
cooldown − 1, threshold_mode='abs'); its messages and its reset between fits."""
import itertools

import numpy as np
import pytest

import gradkit as gk
import gradkit.keras as keras
from gradkit.keras import callbacks as cb
from gradkit.keras import layers
from gradkit.optim import lr_scheduler as sched


def _keras_rule(values, lr, factor, patience, min_delta, cooldown, min_lr, mode):
    """Keras' ReduceLROnPlateau (keras/src/callbacks/reduce_lr_on_plateau.py), one value per
    epoch; returns the rate after each epoch."""
    better = (lambda a, b: a < b - min_delta) if mode == "min" else (lambda a, b: a > b + min_delta)
    best = np.inf if mode == "min" else -np.inf
    wait = cooldown_counter = 0
    out = []
    for current in values:
        if cooldown_counter > 0:
            cooldown_counter -= 1
            wait = 0
        if better(current, best):
            best, wait = current, 0
        elif cooldown_counter <= 0:
            wait += 1
            if wait >= patience and lr > min_lr:
                lr = max(lr * factor, min_lr)
                cooldown_counter, wait = cooldown, 0
        out.append(lr)
    return out


class _Stub:
    """What the callback reads from a model: its optimizer."""

    def __init__(self, lr):
        self.optimizer = keras.optimizers.SGD(learning_rate=lr)


def _callback_lrs(values, monitor="loss", lr=0.1, **kw):
    """Drive the callback through the hooks fit calls; the rate after each epoch."""
    rl = cb.ReduceLROnPlateau(monitor=monitor, **kw)
    model = _Stub(lr)
    rl.set_model(model)
    rl.set_params({"metrics": [monitor]})
    rl.on_train_begin()
    out = []
    for epoch, v in enumerate(values):
        rl.on_epoch_end(epoch, {monitor: v})
        out.append(model.optimizer.learning_rate)
    return out


def _optim_lrs(values, lr, factor, patience, min_delta, cooldown, min_lr, mode):
    opt = gk.optim.SGD([gk.nn.Parameter(gk.zeros(1))], lr=lr)
    s = sched.ReduceLROnPlateau(opt, mode=mode, factor=factor, patience=max(patience - 1, 0),
                                threshold=min_delta, threshold_mode="abs",
                                cooldown=max(cooldown - 1, 0), min_lr=min_lr, eps=0.0)
    out = []
    for v in values:
        s.step(v)
        out.append(opt.param_groups[0]["lr"])
    return out


def _sequences(seed=0, n=6, length=40):
    """Noisy, partly flat metric curves with ties (values on a coarse grid)."""
    rng = np.random.default_rng(seed)
    for _ in range(n):
        trend = np.cumsum(rng.choice([-1, 0, 0, 1], size=length)) / 8
        yield list(np.round(trend + rng.integers(0, 3, length) / 8, 3))


SETTINGS = list(itertools.product([0, 1, 2, 4],          # patience
                                  [0, 1, 3],             # cooldown
                                  [0.0, 0.1],            # min_delta
                                  [0.0, 0.012],          # min_lr
                                  ["min", "max"]))


@pytest.mark.parametrize("patience,cooldown,min_delta,min_lr,mode", SETTINGS)
def test_cuts_at_the_same_epochs_as_keras_and_as_optim(patience, cooldown, min_delta, min_lr, mode):
    monitor = "val_loss" if mode == "min" else "val_accuracy"  # mode='auto' decides from it
    for values in _sequences(seed=patience * 10 + cooldown):
        kw = dict(lr=0.1, factor=0.5, patience=patience, min_delta=min_delta,
                  cooldown=cooldown, min_lr=min_lr)
        keras_rule = _keras_rule(values, mode=mode, **kw)
        assert _callback_lrs(values, monitor=monitor, mode="auto", **kw) == keras_rule
        assert _callback_lrs(values, monitor=monitor, mode=mode, **kw) == keras_rule
        assert _optim_lrs(values, mode=mode, **kw) == keras_rule


def test_a_scripted_sequence_cuts_where_keras_does():
    # best 1.0 at epoch 0; 1, 2, 3 no better by more than min_delta -> cut after epoch 3 (wait 3);
    # cooldown 2: epoch 4 not counted, epoch 5 counts; 6 improves; 7, 8, 9 bad -> cut after 9
    values = [1.0, 0.99, 1.2, 0.995, 1.1, 1.0, 0.5, 0.6, 0.6, 0.51, 0.7]
    lrs = _callback_lrs(values, lr=0.1, factor=0.1, patience=3, min_delta=0.02, cooldown=2)
    np.testing.assert_allclose(lrs, [0.1] * 3 + [0.01] * 6 + [0.001] * 2, rtol=1e-15)


def test_messages_logged_rate_and_a_second_fit_start_afresh(capsys):
    gk.manual_seed(0)
    x = np.linspace(-1, 1, 16, dtype=np.float32).reshape(8, 2)
    m = keras.Sequential([layers.Dense(1, input_shape=(2,))])
    m.compile(keras.optimizers.SGD(0.01), "mse")
    rl = cb.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, verbose=1)
    flat = cb.LambdaCallback(on_epoch_end=lambda epoch, logs: logs.__setitem__("loss", 3.0))
    h = m.fit(x, x[:, :1], epochs=3, verbose=0, callbacks=[flat, rl])
    assert capsys.readouterr().out == ("Epoch 2: ReduceLROnPlateau reducing learning rate to "
                                       "0.005.\nEpoch 3: ReduceLROnPlateau reducing learning "
                                       "rate to 0.0025.\n")
    assert h.history["learning_rate"] == pytest.approx([0.01, 0.01, 0.005])
    m.optimizer.learning_rate = 0.01
    h = m.fit(x, x[:, :1], epochs=2, verbose=0, callbacks=[flat, rl])  # best and wait reset
    assert h.history["learning_rate"] == pytest.approx([0.01, 0.01])
    assert m.optimizer.learning_rate == pytest.approx(0.005)


def test_bad_settings_and_an_unlogged_monitor_fail_early():
    with pytest.raises(ValueError, match="factor must be < 1.0"):
        cb.ReduceLROnPlateau(factor=1.0)
    with pytest.raises(ValueError, match="patience must be >= 0"):
        cb.ReduceLROnPlateau(patience=-1)
    with pytest.raises(ValueError, match="mode must be 'auto', 'min' or 'max'"):
        cb.ReduceLROnPlateau(mode="up")
    with pytest.raises(ValueError, match="monitor='val_los' is not logged.*'val_loss'"):
        rl = cb.ReduceLROnPlateau(monitor="val_los")
        rl.set_params({"metrics": ["loss", "val_loss"]})
        rl.on_train_begin()
    # an epoch without the monitored value (validation_freq) neither counts nor resets
    assert _callback_lrs([1.0, None, 1.0], patience=1, factor=0.5) == [0.1, 0.1, 0.05]
