"""Callbacks: each one's rule on scripted logs (a LambdaCallback earlier in the list rewrites the
monitored value, so the epoch where something must happen is known in advance), weights
snapshotted per epoch, files on disk, and the progress display's output."""
import io
import os

import numpy as np
import pytest

import gradkit as gk
import gradkit.keras as keras
from gradkit.keras import callbacks as cb
from gradkit.keras import layers

rng = np.random.default_rng(2)
X = rng.standard_normal((48, 4)).astype(np.float32)
Y = (X @ np.array([1.0, -2.0, 0.5, 0.0], np.float32) + 0.1).reshape(-1, 1)


def _model(optimizer="sgd"):
    gk.manual_seed(0)
    m = keras.Sequential([layers.Dense(6, activation="relu", input_shape=(4,)), layers.Dense(1)])
    m.compile(optimizer, "mse", metrics=["mae"])
    return m


def _script(values, key="loss"):
    """A callback that replaces logs[key] at each epoch's end by the next scripted value."""
    values = list(values)
    return cb.LambdaCallback(on_epoch_end=lambda epoch, logs: logs.__setitem__(key, values[epoch]))


def _snapshots(model, store):
    return cb.LambdaCallback(on_epoch_end=lambda epoch, logs: store.append(model.get_weights()))


def _equal(ws1, ws2):
    return all(np.array_equal(a, b) for a, b in zip(ws1, ws2))


# === EarlyStopping ============================================================================
def test_early_stopping_stops_after_patience_and_restores_the_best_epoch():
    m, snaps = _model(), []
    es = cb.EarlyStopping(monitor="loss", patience=2, restore_best_weights=True)
    h = m.fit(X, Y, epochs=20, verbose=0,
              callbacks=[_script([5, 4, 3, 3.5, 3.6, 1, 1]), _snapshots(m, snaps), es])
    # best at epoch 2 (0-based); epochs 3 and 4 do not improve: stop at the end of epoch 4
    assert h.epoch == [0, 1, 2, 3, 4] and es.stopped_epoch == 4 and es.best_epoch == 2
    assert m.stop_training and _equal(m.get_weights(), snaps[2])
    assert not _equal(snaps[2], snaps[4])


def test_early_stopping_restores_the_best_weights_when_the_last_epoch_comes_first():
    m, snaps = _model(), []
    es = cb.EarlyStopping(monitor="loss", patience=10, restore_best_weights=True)
    h = m.fit(X, Y, epochs=4, verbose=0,
              callbacks=[_script([5, 3, 4, 4.5]), _snapshots(m, snaps), es])
    assert h.epoch == [0, 1, 2, 3] and es.stopped_epoch == 0
    assert _equal(m.get_weights(), snaps[1])


def test_early_stopping_without_restoring_keeps_the_last_weights():
    m, snaps = _model(), []
    es = cb.EarlyStopping(monitor="loss", patience=1)
    m.fit(X, Y, epochs=10, verbose=0, callbacks=[_script([3, 2, 2.5, 1] + [1] * 6),
                                                 _snapshots(m, snaps), es])
    assert es.stopped_epoch == 2 and _equal(m.get_weights(), snaps[2])


def test_early_stopping_min_delta_mode_baseline_and_start_from_epoch():
    es = cb.EarlyStopping(monitor="loss", patience=1, min_delta=0.5)
    _model().fit(X, Y, epochs=10, verbose=0, callbacks=[_script([3, 2.8, 2.7] + [0] * 7), es])
    assert es.stopped_epoch == 1                  # 3 -> 2.8 is not an improvement of 0.5
    es = cb.EarlyStopping(monitor="mae", patience=1, mode="max")
    _model().fit(X, Y, epochs=10, verbose=0, callbacks=[_script([1, 2, 3, 2, 1] * 2, "mae"), es])
    assert es.stopped_epoch == 3
    # improvements that do not beat the baseline do not reset the count (Keras 3's rule)
    for baseline, stop in ((None, 6), (1.0, 5)):
        es = cb.EarlyStopping(monitor="loss", patience=2, baseline=baseline)
        _model().fit(X, Y, epochs=10, verbose=0, callbacks=[_script([5, 4, 3, 2, 1.5] * 2), es])
        assert es.stopped_epoch == stop
    es = cb.EarlyStopping(monitor="loss", patience=0, start_from_epoch=3)
    _model().fit(X, Y, epochs=10, verbose=0, callbacks=[_script([1, 2, 3, 4, 5, 6] + [7] * 4), es])
    assert es.stopped_epoch == 4                  # epochs 0-2 not watched; 3 sets the best


def test_early_stopping_rejects_bad_settings_before_training():
    with pytest.raises(ValueError, match="patience must be >= 0"):
        cb.EarlyStopping(patience=-1)
    m = _model()
    with pytest.raises(ValueError, match=r"monitor='val_los' is not logged.*Did you mean 'val_loss'"):
        m.fit(X, Y, epochs=3, verbose=0, validation_split=0.25,
              callbacks=[cb.EarlyStopping(monitor="val_los")])
    with pytest.raises(ValueError, match=r"monitor='val_loss'.*only when fit gets validation_data"):
        m.fit(X, Y, epochs=3, verbose=0, callbacks=[cb.EarlyStopping()])
    def spread(y_true, y_pred):
        return (y_pred - y_true) ** 2

    m.compile("sgd", "mse", metrics=[spread])
    with pytest.raises(ValueError, match="cannot tell whether 'spread' should be maximized"):
        m.fit(X, Y, epochs=3, verbose=0, callbacks=[cb.EarlyStopping(monitor="spread")])
    assert m.optimizer.iterations == 0
    with pytest.raises(ValueError, match="mode must be 'auto', 'min' or 'max'"):
        cb.EarlyStopping(mode="up")


def test_one_early_stopping_instance_serves_two_fits():
    es = cb.EarlyStopping(monitor="loss", patience=1)
    m = _model()
    m.fit(X, Y, epochs=10, verbose=0, callbacks=[_script([1, 2, 3] + [4] * 7), es])
    assert es.stopped_epoch == 1
    h = m.fit(X, Y, epochs=3, verbose=0, callbacks=[_script([9, 8, 7]), es])
    assert len(h.epoch) == 3 and es.stopped_epoch == 0 and es.best == 7


# === ModelCheckpoint ==========================================================================
def test_model_checkpoint_save_best_only_writes_only_on_improvement(tmp_path):
    m, snaps = _model(), []
    ck = cb.ModelCheckpoint(str(tmp_path / "ckpt-{epoch:02d}.keras"), monitor="loss",
                            save_best_only=True)
    m.fit(X, Y, epochs=5, verbose=0, callbacks=[_script([3, 2, 2.5, 1, 1.5]), _snapshots(m, snaps), ck])
    assert sorted(os.listdir(tmp_path)) == ["ckpt-01.keras", "ckpt-02.keras", "ckpt-04.keras"]
    restored = keras.models.load_model(tmp_path / "ckpt-04.keras")
    assert _equal(restored.get_weights(), snaps[3])


def test_model_checkpoint_one_file_holds_the_best_and_writes_atomically(tmp_path):
    m, snaps = _model(), []
    path = tmp_path / "sub" / "best.weights"
    ck = cb.ModelCheckpoint(path, monitor="loss", save_best_only=True, save_weights_only=True)
    m.fit(X, Y, epochs=4, verbose=0, callbacks=[_script([3, 1, 2, 4]), _snapshots(m, snaps), ck])
    assert ck.saved == [str(path)] * 2
    assert os.listdir(tmp_path / "sub") == ["best.weights"]          # no temporary files left
    fresh = _model()
    fresh.load_weights(path)
    assert _equal(fresh.get_weights(), snaps[1])


def test_model_checkpoint_every_epoch_and_every_n_batches(tmp_path):
    m = _model()
    ck = cb.ModelCheckpoint(str(tmp_path / "e{epoch}-{loss:.3f}.keras"))
    m.fit(X, Y, epochs=2, batch_size=16, verbose=0, callbacks=[ck])
    assert len(ck.saved) == 2 and all(os.path.exists(p) for p in ck.saved)
    ck = cb.ModelCheckpoint(str(tmp_path / "b.keras"), save_freq=2)
    m.fit(X, Y, epochs=2, batch_size=16, verbose=0, callbacks=[ck])
    assert len(ck.saved) == 3                      # 6 batches, every second one


# === learning rate ============================================================================
def test_learning_rate_scheduler_sets_and_logs_the_rate():
    m = _model(keras.optimizers.SGD(0.1))
    h = m.fit(X, Y, epochs=3, verbose=0,
              callbacks=[cb.LearningRateScheduler(lambda epoch, lr: lr * 0.5)])
    assert h.history["learning_rate"] == pytest.approx([0.05, 0.025, 0.0125])
    assert m.optimizer._inner.param_groups[0]["lr"] == pytest.approx(0.0125)


def test_reduce_lr_on_plateau_follows_patience_cooldown_and_min_lr():
    m = _model(keras.optimizers.SGD(0.01))
    rl = cb.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=2, cooldown=1, min_lr=0.002)
    h = m.fit(X, Y, epochs=9, verbose=0, callbacks=[_script([5] * 9), rl])
    # Keras' rule: epoch 0 sets the best; 1, 2 bad -> halve after 2; epoch 3 ends the cooldown
    # and counts as bad again; 4 bad -> halve after 4; 5, 6 -> halve after 6, held at min_lr.
    # (the rate logged at an epoch's end is the one that epoch used)
    expected = np.array([1, 1, 1, .5, .5, .25, .25, .2, .2]) * 0.01
    assert h.history["learning_rate"] == pytest.approx(expected)
    assert m.optimizer.learning_rate == pytest.approx(0.002)
    with pytest.raises(ValueError, match="factor must be < 1.0"):
        cb.ReduceLROnPlateau(factor=2)


# === CSVLogger, TerminateOnNaN, LambdaCallback ================================================
def test_csv_logger_writes_a_row_per_epoch_and_appends(tmp_path):
    path = tmp_path / "log.csv"
    m = _model()
    h = m.fit(X, Y, epochs=2, verbose=0, callbacks=[cb.CSVLogger(path)])
    lines = path.read_text().splitlines()
    assert lines[0] == "epoch,loss,mae" and len(lines) == 3
    assert float(lines[2].split(",")[1]) == pytest.approx(h.history["loss"][1])
    m.fit(X, Y, epochs=1, verbose=0, callbacks=[cb.CSVLogger(path, append=True)])
    lines = path.read_text().splitlines()
    assert len(lines) == 4 and lines[3].startswith("0,")


def test_terminate_on_nan_stops_within_the_step_and_names_epoch_and_batch(capsys):
    m = _model()
    batches = []

    def inject(batch, logs):
        if len(batches) == 6 + 3:           # epoch 2 (1-based), batch 4: poison one weight
            m.layers[0].linear.weight.array[0, 0] = np.nan

    ton = cb.TerminateOnNaN()
    h = m.fit(X, Y, epochs=5, batch_size=8, verbose=0, callbacks=[
        cb.LambdaCallback(on_train_batch_begin=inject,
                          on_train_batch_end=lambda b, logs: batches.append(b)), ton])
    assert ton.stopped_at == (2, 4) and len(batches) == 6 + 4    # no batch after the NaN one
    assert h.epoch == [0, 1] and np.isnan(h.history["loss"][1])
    assert "invalid loss (nan) at epoch 2, batch 4; stopping training" in capsys.readouterr().out


def test_lambda_callback_calls_every_hook_with_its_arguments():
    calls = []
    lc = cb.LambdaCallback(on_train_begin=lambda logs: calls.append("train_begin"),
                           on_epoch_begin=lambda e, logs: calls.append(("epoch_begin", e)),
                           on_batch_end=lambda b, logs: calls.append(("batch", b, "loss" in logs)),
                           on_train_end=lambda logs: calls.append("train_end"))
    _model().fit(X, Y, epochs=1, batch_size=24, verbose=0, callbacks=[lc])
    assert calls == ["train_begin", ("epoch_begin", 0), ("batch", 0, True), ("batch", 1, True),
                     "train_end"]
    with pytest.raises(ValueError, match="unknown hook 'on_epoch_ending'"):
        cb.LambdaCallback(on_epoch_ending=print)


# === progress =================================================================================
def test_verbose_2_and_non_terminal_stdout_print_one_line_per_epoch(capsys):
    m = _model()
    for verbose in (2, 1, "auto"):
        m.fit(X, Y, epochs=3, batch_size=16, verbose=verbose)
        lines = capsys.readouterr().out.splitlines()
        assert len(lines) == 3
        assert lines[0].startswith("Epoch 1/3 - 3 steps - ") and " - loss: " in lines[0]
        assert "mae: " in lines[0] and lines[0].endswith("samples/s")
    m.fit(X, Y, epochs=2, verbose=0)
    assert capsys.readouterr().out == ""
    m.evaluate(X, Y)
    assert capsys.readouterr().out.startswith("Evaluate - 2 steps")


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_verbose_1_on_a_terminal_draws_a_tqdm_bar_with_eta_and_throughput(monkeypatch):
    import tqdm  # noqa: F401  the progress extra (gradkit[progress]); in the test extra too
    term = _Terminal()
    monkeypatch.setattr("sys.stdout", term)
    monkeypatch.setenv("COLUMNS", "80")
    _model().fit(X, Y, epochs=2, batch_size=8, verbose=1, validation_split=0.25)
    out = term.getvalue()
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert "5/5" in out and "step/s" in out and "<" in out         # count, rate, ETA
    assert "samples/s=" in out
    # under each bar, the epoch's figures, whole: loss, the metric and the validation figures
    figures = [line for line in out.split("\n") if line.startswith("    ")]
    assert len(figures) == 2, out
    for line in figures:
        assert len(line) <= 80
        assert all(f"{k}: " in line for k in ("loss", "mae", "val_loss", "val_mae")), line


@pytest.mark.parametrize("verbose", [1, 2])
def test_the_epoch_line_fits_an_80_column_terminal_without_losing_a_figure(monkeypatch, verbose):
    monkeypatch.setitem(__import__("sys").modules, "tqdm", None)    # no bar: the line alone
    monkeypatch.setattr(cb.ProgbarLogger, "_warned", True, raising=False)
    term = _Terminal()
    monkeypatch.setattr("sys.stdout", term)
    monkeypatch.setenv("COLUMNS", "80")
    m = _model()
    m.compile("sgd", "mse", metrics=["mae", "mse"])
    m.fit(X, Y, epochs=1, batch_size=16, verbose=verbose, validation_split=0.25)
    lines = term.getvalue().splitlines()
    assert lines[0].startswith("Epoch 1/1 - 3 steps - ") and len(lines) >= 2
    assert all(len(line) <= 80 for line in lines) and all(l.startswith("    ") for l in lines[1:])
    text = " - ".join(line.strip() for line in lines)
    for k in ("loss", "mae", "mse", "val_loss", "val_mae", "val_mse"):
        assert f" - {k}: " in text
    assert text.endswith("samples/s")


class _Clock:
    """time.perf_counter for the progress display, moved on by the test."""

    def __init__(self):
        self.now = 1000.0

    def perf_counter(self):
        return self.now


def test_piped_output_prints_a_line_at_most_every_30_seconds_within_an_epoch(monkeypatch, capsys):
    import types

    clock = _Clock()
    monkeypatch.setattr(cb, "time", types.SimpleNamespace(perf_counter=clock.perf_counter))
    tick = cb.LambdaCallback(on_train_batch_end=lambda b, logs: setattr(clock, "now", clock.now + 7))
    x = np.tile(X, (5, 1))[:200]
    y = np.tile(Y, (5, 1))[:200]
    _model().fit(x, y, epochs=2, batch_size=10, verbose=1, callbacks=[tick])   # 20 steps of 7 s
    lines = capsys.readouterr().out.splitlines()
    # each epoch: a line after 35, 70 and 105 s (steps 5, 10, 15), then the epoch's own line
    heads = [line.split(" - ")[0:2] for line in lines]
    assert heads == [["Epoch 1/2", "step 5/20"], ["Epoch 1/2", "step 10/20"],
                     ["Epoch 1/2", "step 15/20"], ["Epoch 1/2", "20 steps"],
                     ["Epoch 2/2", "step 5/20"], ["Epoch 2/2", "step 10/20"],
                     ["Epoch 2/2", "step 15/20"], ["Epoch 2/2", "20 steps"]]
    first = lines[0].split(" - ")
    assert first[2].startswith("loss: ") and first[3].startswith("mae: ")
    assert first[4] == "1 samples/s"                     # 50 samples in 35 s
    assert first[5] == "1m 45s left"                     # 15 steps more at 7 s
    assert lines[3].split(" - ")[2] == "140.0s"
    # verbose=2 keeps to one line per epoch
    _model().fit(x, y, epochs=1, batch_size=10, verbose=2, callbacks=[tick])
    assert len(capsys.readouterr().out.splitlines()) == 1


def test_a_failed_checkpoint_write_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    m = _model()
    path = tmp_path / "model.keras"
    m.save(path)
    before = path.read_bytes()
    m.fit(X, Y, epochs=1, verbose=0)

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", crash)
    with pytest.raises(OSError, match="disk full"):
        m.fit(X, Y, epochs=1, verbose=0, callbacks=[cb.ModelCheckpoint(path)])
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["model.keras"]


def test_history_plot_writes_a_png(tmp_path):
    h = _model().fit(X, Y, epochs=2, verbose=0, validation_split=0.25)
    out = h.plot(tmp_path / "curves.png")
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert str(out).endswith("curves.png")
