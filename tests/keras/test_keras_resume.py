"""Exact resume of Keras ``fit``: the shuffle order of epoch e comes from (data seed, e), so two
fit calls continue each other; BackupAndRestore brings a fit killed with SIGKILL in the middle
of an epoch back to the weights and logged losses of an uninterrupted run, bit for bit (Dropout
and shuffle=True, so the random generator and the data order matter); the callbacks' counters
survive a restore; a failed save leaves the previous backup intact."""
import os
import runpy
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import gradkit as gk
import gradkit.keras as keras
import gradkit.tf as tf
from gradkit.keras import layers

# The run, as a script: the SIGKILL run executes it in a subprocess, the others in this process
# (runpy), so that both build the same model on the same data.
JOB = textwrap.dedent('''
    import os, signal, sys
    import numpy as np
    import gradkit as gk
    import gradkit.keras as keras
    from gradkit.keras import layers

    rng = np.random.default_rng(7)
    X = rng.standard_normal((100, 6)).astype(np.float32)
    Y = rng.integers(0, 3, 100)
    XV, YV = X[:20] + 0.1, Y[:20]

    def build():
        gk.manual_seed(3)
        model = keras.Sequential([layers.Dense(16, activation="relu", input_shape=(6,)),
                                  layers.Dropout(0.3), layers.Dense(3, activation="softmax")])
        model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        return model

    class Record(keras.callbacks.Callback):
        """(epoch, batch, running loss, running accuracy) at each batch's end; SIGKILL at the
        end of global step `kill_at` (before the backup of that step: BackupAndRestore runs
        after the other callbacks)."""
        def __init__(self, kill_at=None):
            super().__init__()
            self.kill_at, self.rows, self.steps = kill_at, [], 0
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
        def on_train_batch_end(self, batch, logs=None):
            self.steps += 1
            self.rows.append((self.epoch, batch, logs["loss"], logs["accuracy"]))
            if self.steps == self.kill_at:
                os.kill(os.getpid(), signal.SIGKILL)

    def run(backup_dir=None, kill_at=None, epochs=4, save_freq=3):
        model = build()
        record = Record(kill_at)
        callbacks = [keras.callbacks.EarlyStopping(monitor="val_loss", patience=50),
                     keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1,
                                                       min_delta=10.0),
                     record]
        if backup_dir:
            callbacks.append(keras.callbacks.BackupAndRestore(backup_dir, save_freq=save_freq))
        history = model.fit(X, Y, batch_size=16, epochs=epochs, shuffle=True, verbose=0,
                            validation_data=(XV, YV), callbacks=callbacks)
        return model, history, record

    if __name__ == "__main__":
        run(sys.argv[1], kill_at=int(sys.argv[2]))
''')


@pytest.fixture
def job(tmp_path):
    path = tmp_path / "job.py"
    path.write_text(JOB)
    return path, runpy.run_path(str(path))


def _same_weights(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    return len(wa) == len(wb) and all(np.array_equal(x, y) for x, y in zip(wa, wb))


def _data(n=96, d=5, classes=3, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)).astype(np.float32), rng.integers(0, classes, n)


def _model(seed=0, lr=0.01):
    gk.manual_seed(seed)
    model = keras.Sequential([layers.Dense(8, activation="relu", input_shape=(5,)),
                              layers.Dropout(0.25), layers.Dense(3, activation="softmax")])
    model.compile(keras.optimizers.Adam(lr), "sparse_categorical_crossentropy")
    return model


# === the shuffle order: from (seed, epoch) ====================================================
def test_two_fits_with_initial_epoch_train_exactly_as_one_longer_fit():
    """The old failure: each fit drew a new shuffle seed and started the sampler at epoch 0."""
    x, y = _data()
    once = _model()
    once.fit(x, y, batch_size=16, epochs=4, shuffle=True, verbose=0)
    twice = _model()
    twice.fit(x, y, batch_size=16, epochs=2, shuffle=True, verbose=0)
    assert not _same_weights(once, twice)
    twice.fit(x, y, batch_size=16, epochs=4, initial_epoch=2, shuffle=True, verbose=0)
    assert _same_weights(once, twice)


def test_a_restore_by_hand_in_a_new_model_continues_exactly(tmp_path):
    """The issue's probe: weights, optimizer state and the generator restored by hand into a
    model built again from the same seed; fit(initial_epoch=2) now ends where fit(epochs=4)
    does (it was off by 0.026 before)."""
    x, y = _data()
    reference = _model()
    reference.fit(x, y, batch_size=16, epochs=4, verbose=0)
    first = _model()
    first.fit(x, y, batch_size=16, epochs=2, verbose=0)
    gk.io.save_checkpoint(tmp_path / "ckpt", model=first, optimizer=first.optimizer)

    second = _model()
    second.optimizer.build(second.trainable_weights)
    gk.io.load_checkpoint(tmp_path / "ckpt", model=second, optimizer=second.optimizer)
    second.fit(x, y, batch_size=16, epochs=4, initial_epoch=2, verbose=0)
    assert _same_weights(reference, second)


def test_the_data_seed_comes_from_the_global_generator():
    x, y = _data()
    runs = []
    for seed in (5, 5, 6):
        tf.random.set_seed(seed)
        m = _model(seed=seed)
        m.fit(x, y, batch_size=16, epochs=2, verbose=0)
        runs.append(m)
    assert _same_weights(runs[0], runs[1]) and not _same_weights(runs[0], runs[2])


def test_evaluate_and_predict_draw_nothing_from_the_global_generator():
    x, y = _data()
    m = _model()
    state = gk.random.get_rng_state()
    m.evaluate(x, y, verbose=0)
    m.predict(x, verbose=0)
    assert gk.random.get_rng_state() == state


# === BackupAndRestore: a fit killed with SIGKILL in the middle of an epoch ====================
def test_a_fit_killed_mid_epoch_resumes_to_the_uninterrupted_weights_and_losses(job, tmp_path):
    path, ns = job
    backup = tmp_path / "backup"
    # 7 batches per epoch; backups after global steps 3, 6, 9; killed at the end of step 11
    # (epoch 2, batch 4): the resumed run starts at epoch 2, batch 3
    done = subprocess.run([sys.executable, str(path), str(backup), "11"],
                          env={**os.environ, "OPENBLAS_NUM_THREADS": "1"}, timeout=120)
    assert done.returncode == -signal.SIGKILL
    assert os.listdir(backup) == ["checkpoint.safetensors"]

    reference, ref_history, ref_record = ns["run"]()
    resumed, history, record = ns["run"](str(backup))
    assert _same_weights(reference, resumed)
    # the per-step logs after the resume are those of the uninterrupted run, step by step
    assert record.rows[0][:2] == (1, 2)
    assert record.rows == ref_record.rows[9:]
    # History holds the epochs before the kill too, with the same values
    assert history.history == ref_history.history and history.epoch == [0, 1, 2, 3]
    assert resumed.optimizer.learning_rate == reference.optimizer.learning_rate < 0.01
    assert not backup.exists()  # deleted when fit completed


def test_resuming_at_an_epoch_end_and_at_every_step_gives_the_same_weights(job, tmp_path):
    """Interrupted in-process (an exception) after each possible step: always exact."""
    _, ns = job
    reference, _, _ = ns["run"](epochs=2)

    class Stop(Exception):
        pass

    for stop_at in (2, 7, 10):  # inside epoch 0, at its last batch, inside epoch 1
        backup = tmp_path / f"b{stop_at}"
        calls = {"n": 0}

        def boom(batch, logs, stop_at=stop_at):
            calls["n"] += 1
            if calls["n"] == stop_at:
                raise Stop

        cbs = [keras.callbacks.EarlyStopping(monitor="val_loss", patience=50),
               keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1,
                                                 min_delta=10.0),
               ns["Record"](), keras.callbacks.LambdaCallback(on_train_batch_end=boom),
               keras.callbacks.BackupAndRestore(backup, save_freq=1)]
        with pytest.raises(Stop):
            ns["build"]().fit(ns["X"], ns["Y"], batch_size=16, epochs=2, verbose=0,
                              validation_data=(ns["XV"], ns["YV"]), callbacks=cbs)
        # resumed without the callback that stopped it: callbacks are matched by class
        resumed, _, _ = ns["run"](str(backup), epochs=2, save_freq=1)
        assert _same_weights(reference, resumed), stop_at


def test_save_freq_epoch_resumes_at_the_next_epoch(tmp_path):
    x, y = _data()
    reference = _model()
    reference.fit(x, y, batch_size=16, epochs=3, verbose=0)

    def boom(epoch, logs):
        if epoch == 1:
            raise KeyboardInterrupt

    backup = keras.callbacks.BackupAndRestore(tmp_path / "b")
    with pytest.raises(KeyboardInterrupt):
        _model().fit(x, y, batch_size=16, epochs=3, verbose=0,
                     callbacks=[keras.callbacks.LambdaCallback(on_epoch_begin=boom), backup])
    model = _model()
    history = model.fit(x, y, batch_size=16, epochs=3, verbose=0, callbacks=[
        keras.callbacks.LambdaCallback(), backup])
    assert backup.restored == (1, 0)
    assert history.epoch == [0, 1, 2]
    assert _same_weights(reference, model)


# === the callbacks' counters ===================================================================
def test_early_stopping_stops_at_the_same_epoch_after_a_restore(tmp_path):
    x, y = _data()
    xv, yv = _data(n=32, seed=9)
    kwargs = dict(batch_size=16, epochs=30, verbose=0, validation_data=(xv, yv))

    def early():
        return keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, min_delta=0.05,
                                             restore_best_weights=True)

    reference, ref_stop = _model(lr=0.05), early()
    ref_history = reference.fit(x, y, callbacks=[ref_stop], **kwargs)
    stopped = ref_stop.stopped_epoch
    assert 2 < stopped < 29

    def boom(epoch, logs):
        if epoch == stopped - 1:
            raise KeyboardInterrupt

    backup = keras.callbacks.BackupAndRestore(tmp_path / "b")
    with pytest.raises(KeyboardInterrupt):
        _model(lr=0.05).fit(callbacks=[early(), keras.callbacks.LambdaCallback(
            on_epoch_begin=boom), backup], x=x, y=y, **kwargs)
    model, stop = _model(lr=0.05), early()
    history = model.fit(x, y, callbacks=[stop, keras.callbacks.LambdaCallback(), backup],
                        **kwargs)
    assert (stop.stopped_epoch, stop.best_epoch, stop.wait) == \
        (ref_stop.stopped_epoch, ref_stop.best_epoch, ref_stop.wait)
    assert history.history == ref_history.history
    assert _same_weights(reference, model)  # the best epoch's weights, restored at the end


def test_callback_states_round_trip():
    x, y = _data()
    m = _model()
    checkpoint = keras.callbacks.ModelCheckpoint("unused.keras", monitor="loss",
                                                 save_best_only=True)
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="loss", patience=2)
    for cb in (checkpoint, plateau):
        cb.set_model(m)
        cb.set_params({"metrics": ["loss"]})
        cb.on_train_begin()
    checkpoint.best, checkpoint._batches = 0.5, 7
    plateau.plateau.best, plateau.plateau.num_bad_epochs = 0.25, 1
    for cb, fresh in ((checkpoint, keras.callbacks.ModelCheckpoint(
            "unused.keras", monitor="loss", save_best_only=True)),
            (plateau, keras.callbacks.ReduceLROnPlateau(monitor="loss", patience=2))):
        fresh.set_model(m)
        fresh.set_params({"metrics": ["loss"]})
        fresh.on_train_begin()
        fresh.load_state_dict(cb.state_dict())
        assert fresh.state_dict() == cb.state_dict()
    assert plateau.wait == 1


# === refusals and failures =====================================================================
def test_a_backup_of_another_fit_is_refused_naming_the_difference(tmp_path):
    x, y = _data()

    def boom(batch, logs):
        if batch == 3:
            raise KeyboardInterrupt

    backup = keras.callbacks.BackupAndRestore(tmp_path / "b", save_freq=2)
    with pytest.raises(KeyboardInterrupt):
        _model().fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[
            keras.callbacks.LambdaCallback(on_train_batch_end=boom), backup])
    with pytest.raises(ValueError, match=r"batch_size 16 then, 8 now.*delete .* to start over"):
        _model().fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[backup])


def test_save_freq_is_checked():
    with pytest.raises(ValueError, match="save_freq must be 'epoch'"):
        keras.callbacks.BackupAndRestore("b", save_freq=0)
    with pytest.raises(ValueError, match="backup_dir is empty"):
        keras.callbacks.BackupAndRestore("")
    assert tf.keras.callbacks.BackupAndRestore is keras.callbacks.BackupAndRestore


def test_the_backup_is_deleted_at_the_end_but_not_other_files(tmp_path):
    x, y = _data()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "notes.txt").write_text("mine")
    backup = keras.callbacks.BackupAndRestore(tmp_path / "b", save_freq=2)
    _model().fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[backup])
    assert os.listdir(tmp_path / "b") == ["notes.txt"]
    kept = keras.callbacks.BackupAndRestore(tmp_path / "k", delete_checkpoint=False)
    _model().fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[kept])
    assert os.listdir(tmp_path / "k") == ["checkpoint.safetensors"]


def test_a_failed_save_leaves_the_previous_backup_and_says_so(tmp_path, monkeypatch):
    """A permission error while replacing the backup (we run as root, so chmod would not
    refuse: os.replace is made to fail): a clear error, the previous backup intact and
    loadable, no temporary file left; and the run resumes from it exactly."""
    x, y = _data()
    reference = _model()
    reference.fit(x, y, batch_size=16, epochs=2, verbose=0)
    folder = tmp_path / "b"
    real_replace = os.replace

    def deny(src, dst):
        raise PermissionError(13, "Permission denied", dst)

    def at_batch(batch, logs):
        if batch == 3:  # after the backup of step 2 (save_freq=2), before the one of step 4
            monkeypatch.setattr(os, "replace", deny)

    backup = keras.callbacks.BackupAndRestore(folder, save_freq=2)
    with pytest.raises(PermissionError, match=r"cannot write the backup .*Permission denied.*"
                                              r"previous backup is left as it was"):
        _model().fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[
            keras.callbacks.LambdaCallback(on_train_batch_end=at_batch), backup])
    monkeypatch.setattr(os, "replace", real_replace)
    assert os.listdir(folder) == ["checkpoint.safetensors"]
    state = gk.io.load_checkpoint(folder / "checkpoint.safetensors", restore_rng=False)
    assert (state["epoch"], state["step"]) == (0, 2)
    model = _model()
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[
        keras.callbacks.LambdaCallback(), backup])
    assert backup.restored == (0, 2)
    assert _same_weights(reference, model)


def test_gradient_accumulation_saves_only_between_updates(tmp_path):
    x, y = _data()
    reference = _model()
    reference.fit(x, y, batch_size=8, epochs=2, verbose=0, gradient_accumulation_steps=3)

    def boom(batch, logs):
        if batch == 8:
            raise KeyboardInterrupt

    backup = keras.callbacks.BackupAndRestore(tmp_path / "b", save_freq=2)
    with pytest.raises(KeyboardInterrupt):
        _model().fit(x, y, batch_size=8, epochs=2, verbose=0, gradient_accumulation_steps=3,
                     callbacks=[keras.callbacks.LambdaCallback(on_train_batch_end=boom), backup])
    state = gk.io.load_checkpoint(tmp_path / "b" / "checkpoint.safetensors", restore_rng=False)
    assert state["step"] == 6  # saves fall due at steps 2, 4, 6, ...; made at updates
    model = _model()
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, gradient_accumulation_steps=3,
              callbacks=[keras.callbacks.LambdaCallback(), backup])
    assert _same_weights(reference, model)


@pytest.mark.parametrize("kind", ["dataloader", "dataset", "list of batches"])
def test_datasets_resume_mid_epoch_exactly(kind, tmp_path):
    """A DataLoader passed in keeps its own position (saved with it); a map-style Dataset is
    batched in the order of (data seed, epoch) as arrays are; a list of batches is re-iterated
    and the batches already done are skipped."""
    from gradkit import data as gk_data
    x, y = _data()

    def source():
        if kind == "dataloader":
            return gk_data.DataLoader(gk_data.TensorDataset(x, y), batch_size=16, shuffle=True,
                                      seed=4)
        if kind == "dataset":
            return gk_data.TensorDataset(x, y)
        return [(x[i:i + 16], y[i:i + 16]) for i in range(0, 96, 16)]

    kwargs = dict(batch_size=16, epochs=3, verbose=0)
    reference = _model()
    reference.fit(source(), **kwargs)

    seen = {"steps": 0}

    def boom(batch, logs):
        seen["steps"] += 1
        if seen["steps"] == 11:  # epoch 1, batch 4 (6 batches per epoch)
            raise KeyboardInterrupt

    backup = keras.callbacks.BackupAndRestore(tmp_path / "b", save_freq=4)
    with pytest.raises(KeyboardInterrupt):
        _model().fit(source(), callbacks=[
            keras.callbacks.LambdaCallback(on_train_batch_end=boom), backup], **kwargs)
    model = _model()
    model.fit(source(), callbacks=[backup], **kwargs)
    assert backup.restored == (1, 2)  # saves after global steps 4 and 8: epoch 1, batch 2
    assert _same_weights(reference, model)
