"""Callbacks: code that ``fit`` runs at fixed points of training.

    on_train_begin / on_train_end                 once per fit
    on_epoch_begin(epoch) / on_epoch_end(epoch, logs)   logs: loss, metrics, val_* (epoch averages)
    on_train_batch_begin(batch) / on_train_batch_end(batch, logs)   logs: running averages so far
    on_test_* / on_predict_*                      the same, for evaluate and predict

``epoch`` and ``batch`` count from 0 (messages print them from 1, as Keras does). Every callback
here resets its own state in ``on_train_begin``, so one instance can serve several ``fit`` calls.
A callback stops training by setting ``self.model.stop_training = True``: ``fit`` finishes the
current batch and stops.

A callback that keeps counters across epochs (best value, epochs without improvement, ...) has
``state_dict()`` / ``load_state_dict()``; BackupAndRestore saves them with the model and puts
them back on resume, after every callback has reset itself in ``on_train_begin``. A run resumed
in the middle of an epoch calls ``on_epoch_begin`` again for that epoch and continues at the
batch after the saved one: state kept for one epoch only is best reset when batch 0 ends.

    History             what fit returns: per-epoch logs (always added)
    ProgbarLogger       the progress display (added unless verbose=0)
    EarlyStopping       stop when a monitored value stops improving; restore the best weights
    ModelCheckpoint     save the model (or only the best one) after each epoch, atomically
    LearningRateScheduler, ReduceLROnPlateau    change the learning rate
    CSVLogger           one CSV row per epoch
    TerminateOnNaN      stop at the batch whose loss is NaN or inf
    LambdaCallback      a callback from plain functions
    BackupAndRestore    save the whole training state; an interrupted fit continues from it
"""
import csv
import math
import os
import shutil
import sys
import time
import warnings

import numpy as np

from .. import _internal
from ..optim import lr_scheduler

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger", "EarlyStopping",
           "ModelCheckpoint", "LearningRateScheduler", "ReduceLROnPlateau", "CSVLogger",
           "TerminateOnNaN", "LambdaCallback", "BackupAndRestore"]


class Callback:
    """Base class: override the hooks you need. ``self.model`` and ``self.params`` (epochs,
    steps, verbose, metrics) are set by ``fit`` before ``on_train_begin``."""

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs)  # TF 2's name for the training-batch hooks

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs)

    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass


class CallbackList:
    """Calls each hook on every callback, in order (the user's, then History and the progress
    display, so that these see what the others added to the logs). A callback that saves the
    state of the others (``runs_last = True``: BackupAndRestore) comes after them all, so that
    it saves what every callback did at that batch or epoch, and restores after each has reset
    itself in ``on_train_begin``."""

    def __init__(self, callbacks=None, model=None, params=None):
        self.callbacks = list(callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be keras.callbacks.Callback instances; got "
                                f"{type(cb).__name__}")
        self.callbacks.sort(key=lambda cb: bool(getattr(cb, "runs_last", False)))  # stable
        for cb in self.callbacks:
            cb.set_model(model)
            cb.set_params(params or {})

    def __getattr__(self, hook):
        if not hook.startswith("on_"):
            raise AttributeError(hook)

        def call(*args):
            for cb in self.callbacks:
                getattr(cb, hook)(*args)
        return call


# === History ==================================================================================
class History(Callback):
    """``history.history``: {'loss': [...], 'accuracy': [...], 'val_loss': [...], ...}, one value
    per epoch; ``history.epoch``: the epoch numbers (from 0). ``fit`` returns it."""

    def __init__(self):
        super().__init__()
        self.history, self.epoch = {}, []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)
        self.model.history = self

    def state_dict(self):
        """The epochs so far: a resumed fit's History holds the earlier ones too."""
        return {"history": {k: [float(v) for v in vs] for k, vs in self.history.items()},
                "epoch": list(self.epoch)}

    def load_state_dict(self, state):
        self.history = {k: list(vs) for k, vs in state["history"].items()}
        self.epoch = [int(e) for e in state["epoch"]]

    def plot(self, path, title=None):
        """Write a PNG of loss and metrics per epoch (``gradkit.plot.training_curves``; needs
        matplotlib: ``pip install 'gradkit[plot]'``). Returns the path."""
        from .. import plot
        return plot.training_curves(self, path, title=title)


# === the progress display =====================================================================
HEARTBEAT_SECONDS = 30  # without a bar, a progress line at most this often within an epoch


def _fmt(v):
    if isinstance(v, (float, np.floating)):
        return f"{v:.4f}" if abs(v) >= 1e-3 or v == 0 else f"{v:.4e}"
    return str(v)


def _log_parts(logs):
    return [f"{k}: {_fmt(v)}" for k, v in (logs or {}).items()]


def _duration(seconds):
    """42s, 3m 05s, 1h 02m."""
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s // 3600}h {s % 3600 // 60:02d}m"


def _wrap(parts, width, first="", indent="    ", sep=" - "):
    """``parts`` joined by ``sep`` into lines of at most ``width`` characters (a part longer
    than a line gets one of its own); the first line starts with ``first``, the others with
    ``indent``."""
    lines, line = [], first + parts[0]
    for part in parts[1:]:
        if len(line) + len(sep) + len(part) > width:
            lines.append(line)
            line = indent + part
        else:
            line += sep + part
    return "\n".join(lines + [line])


class ProgbarLogger(Callback):
    """Progress of fit / evaluate / predict.

    ``verbose=1`` on a terminal: a tqdm bar per epoch with the running loss and metrics, the
    ETA and the throughput (steps/s and samples/s), then the epoch's figures (loss, metrics,
    validation) on the lines below, wrapped to the terminal's width, never cut off.
    ``verbose=1`` without a bar (stdout a pipe, a log file, CI; or no tqdm): one line per epoch,
    and within a long epoch a line at most every 30 seconds (``HEARTBEAT_SECONDS``): step/steps,
    running loss and metrics, samples/s, time left. ``verbose=2``: one line per epoch only.
    ``verbose=0``: nothing (fit does not add this callback). The bar needs tqdm
    (``pip install 'gradkit[progress]'``).
    """

    def __init__(self, verbose=1, stream=None):
        super().__init__()
        self.verbose = verbose
        self.stream = stream
        self._bar = None

    def _out(self):
        return self.stream or sys.stdout

    def _is_terminal(self):
        out = self._out()
        return hasattr(out, "isatty") and out.isatty()

    def _use_bar(self):
        if self.verbose != 1 or not self._is_terminal():
            return False
        try:
            import tqdm  # noqa: F401
        except ImportError:
            if not getattr(ProgbarLogger, "_warned", False):
                ProgbarLogger._warned = True
                from .._install import pip_install
                warnings.warn(f"the progress bar needs tqdm ({pip_install('progress')}); "
                              "printing one line per epoch instead")
            return False
        return True

    def _print(self, parts, first=""):
        """One line of ``parts`` (" - " between them); on a terminal, wrapped to its width."""
        width = shutil.get_terminal_size().columns if self._is_terminal() else math.inf
        print(_wrap(parts, width, first), file=self._out(), flush=True)

    def _start(self, total, desc):
        self._t0 = self._last_line = time.perf_counter()
        self._steps, self._samples, self._total, self._desc = 0, 0, total, desc
        self._bar = None
        if self._use_bar():
            from tqdm.auto import tqdm
            self._bar = tqdm(total=total, desc=desc, unit="step", file=self._out(),
                             dynamic_ncols=True, leave=True)

    def _throughput(self, elapsed):
        """Samples per second so far ("1,234"), or None before the first sample."""
        return f"{self._samples / elapsed:,.0f}" if self._samples and elapsed > 0 else None

    def _advance(self, logs):
        self._steps += 1
        size = getattr(self.model, "_last_batch_size", None)
        self._samples += size or 0
        now = time.perf_counter()
        elapsed = now - self._t0
        rate = self._throughput(elapsed)
        if self._bar is not None:
            post = {k: _fmt(v) for k, v in (logs or {}).items()}
            if rate:
                post["samples/s"] = rate
            self._bar.set_postfix(post, refresh=False)
            self._bar.update(1)
        elif (self.verbose == 1 and now - self._last_line >= HEARTBEAT_SECONDS
              and (self._total is None or self._steps < self._total)):
            self._last_line = now
            parts = [self._desc, f"step {self._steps}/{self._total or '?'}"] + _log_parts(logs)
            if rate:
                parts.append(f"{rate} samples/s")
            if self._total:
                left = elapsed / self._steps * (self._total - self._steps)
                parts.append(f"{_duration(left)} left")
            self._print(parts)

    def _finish(self, head, logs):
        elapsed = time.perf_counter() - self._t0
        rate = self._throughput(elapsed)
        if self._bar is not None:
            # the bar keeps its count, time and rate; the figures go below it, whole (a bar's
            # postfix is cut off at the terminal's edge)
            self._bar.set_postfix({"samples/s": rate} if rate else {}, refresh=False)
            self._bar.close()
            self._bar = None
            if logs:
                self._print(_log_parts(logs), first="    ")
            return
        parts = [head, f"{self._steps} step" + ("" if self._steps == 1 else "s"),
                 f"{elapsed:.1f}s", f"{1000 * elapsed / max(self._steps, 1):.0f}ms/step"]
        self._print(parts + _log_parts(logs) + ([f"{rate} samples/s"] if rate else []))

    # fit
    def on_train_begin(self, logs=None):
        self._in_fit = True

    def on_epoch_begin(self, epoch, logs=None):
        epochs = self.params.get("epochs")
        self._epoch_head = f"Epoch {epoch + 1}/{epochs}"
        self._start(self.params.get("steps"), self._epoch_head)

    def on_train_batch_end(self, batch, logs=None):
        self._advance(logs)

    def on_epoch_end(self, epoch, logs=None):
        self._finish(self._epoch_head, logs)

    def on_train_end(self, logs=None):
        self._in_fit = False

    # evaluate / predict called on their own
    def on_test_begin(self, logs=None):
        if not getattr(self, "_in_fit", False):
            self._start(self.params.get("steps"), "Evaluate")

    def on_test_batch_end(self, batch, logs=None):
        if not getattr(self, "_in_fit", False):
            self._advance(logs)

    def on_test_end(self, logs=None):
        if not getattr(self, "_in_fit", False):
            self._finish("Evaluate", logs)

    def on_predict_begin(self, logs=None):
        self._start(self.params.get("steps"), "Predict")

    def on_predict_batch_end(self, batch, logs=None):
        self._advance(None)

    def on_predict_end(self, logs=None):
        self._finish("Predict", None)


# === monitoring a logged value (EarlyStopping, ModelCheckpoint, ReduceLROnPlateau) ============
_HIGHER_IS_BETTER = ("acc", "auc", "precision", "recall", "f1", "r2", "top_k")
_LOWER_IS_BETTER = ("loss", "error", "mae", "mse", "rmse", "mape", "msle", "crossentropy",
                    "divergence", "hinge")


def _check_mode(mode, who):
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{who}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    return mode


def _direction(monitor, mode, who):
    """'min' or 'max' for ``monitor`` under ``mode`` ('auto' decides from the name)."""
    if mode != "auto":
        return mode
    name = monitor[4:] if monitor.startswith("val_") else monitor
    if any(k in name for k in _HIGHER_IS_BETTER):
        return "max"
    if any(k in name for k in _LOWER_IS_BETTER) or name in ("lr", "learning_rate"):
        return "min"
    raise ValueError(f"{who}(monitor={monitor!r}): cannot tell whether {monitor!r} should be "
                     "maximized or minimized; pass mode='max' or mode='min'")


def _check_monitor(monitor, params, who):
    """Fail at the start of fit if ``monitor`` is not a value fit will log."""
    known = params.get("metrics")
    if known is None or monitor in known or monitor in ("learning_rate", "lr"):
        return
    import difflib
    close = difflib.get_close_matches(monitor, known, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    val = ("" if known and any(k.startswith("val_") for k in known) or not monitor.startswith("val_")
           else " 'val_' values exist only when fit gets validation_data= or validation_split=.")
    raise ValueError(f"{who}: monitor={monitor!r} is not logged by this fit; the logged values "
                     f"are {known}.{hint}{val}")


def _improved(current, reference, direction, min_delta):
    if direction == "min":
        return current < reference - min_delta
    return current > reference + min_delta


def _value(logs, monitor):
    v = (logs or {}).get(monitor)
    return None if v is None else float(v)


# === EarlyStopping ============================================================================
class EarlyStopping(Callback):
    """Stop training when ``monitor`` has not improved for ``patience`` epochs.

    An epoch improves on the best so far when its value beats it by more than ``min_delta``
    (lower for 'min', higher for 'max'; ``mode='auto'`` decides from the name: losses and
    errors go down, accuracies up). Training stops at the end of the epoch where the count of
    epochs without improvement reaches ``patience`` (never after the first epoch). Epochs
    before ``start_from_epoch`` are not watched. With a ``baseline``, improvements that do not
    also beat the baseline do not reset the count.

    ``restore_best_weights=True`` puts back the weights of the best epoch when training ends,
    whether it stopped early or ran to the last epoch (Keras 3's behaviour). Defaults:
    ``monitor='val_loss'``, ``min_delta=0``, ``patience=0``, ``mode='auto'``.
    ``stopped_epoch`` and ``best_epoch`` say what happened (0-based).
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        if patience < 0:
            raise ValueError(f"EarlyStopping: patience must be >= 0 (epochs without improvement "
                             f"to wait), got {patience}")
        if start_from_epoch < 0:
            raise ValueError(f"EarlyStopping: start_from_epoch must be >= 0, got {start_from_epoch}")
        self.monitor, self.patience, self.verbose = monitor, int(patience), verbose
        self.min_delta = abs(float(min_delta))
        self.baseline, self.restore_best_weights = baseline, restore_best_weights
        self.start_from_epoch = int(start_from_epoch)
        self.mode = _check_mode(mode, "EarlyStopping")

    def on_train_begin(self, logs=None):
        _check_monitor(self.monitor, self.params, "EarlyStopping")
        self.direction = _direction(self.monitor, self.mode, "EarlyStopping")
        self.wait, self.stopped_epoch, self.best_epoch = 0, 0, 0
        self.best = math.inf if self.direction == "min" else -math.inf
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        current = _value(logs, self.monitor)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()  # if nothing ever improves: epoch 1's
        self.wait += 1
        if _improved(current, self.best, self.direction, self.min_delta):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or _improved(current, self.baseline, self.direction,
                                                  self.min_delta):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def state_dict(self):
        return {"wait": self.wait, "stopped_epoch": self.stopped_epoch,
                "best_epoch": self.best_epoch, "best": self.best,
                "best_weights": self.best_weights}

    def load_state_dict(self, state):
        self.wait, self.stopped_epoch = int(state["wait"]), int(state["stopped_epoch"])
        self.best_epoch, self.best = int(state["best_epoch"]), float(state["best"])
        weights = state["best_weights"]
        self.best_weights = None if weights is None else [_internal.as_array(w) for w in weights]

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print("Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


# === ModelCheckpoint ==========================================================================
class ModelCheckpoint(Callback):
    """Save the model after each epoch (or every ``save_freq`` batches).

    ``filepath`` may hold format fields from the epoch (from 1) and the logs:
    ``'ckpt-{epoch:02d}-{val_loss:.2f}.keras'``. ``save_best_only=True`` writes only when
    ``monitor`` improves on the best so far (by ``mode``, as EarlyStopping; the best resets at
    each fit, starting from ``initial_value_threshold`` if given). ``save_weights_only=True``
    writes ``save_weights`` files, else whole models (``model.save``). Each write is atomic: a
    temporary file renamed over the target, so an interrupted run never leaves a torn file.
    Missing folders are created. Defaults: ``monitor='val_loss'``, ``save_best_only=False``,
    ``save_freq='epoch'``.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__()
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ValueError(f"ModelCheckpoint: save_freq must be 'epoch' or a positive number "
                             f"of batches, got {save_freq!r}")
        self.filepath = os.fspath(filepath)
        self.monitor, self.verbose = monitor, verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        self.save_freq, self.initial_value_threshold = save_freq, initial_value_threshold
        self.mode = _check_mode(mode, "ModelCheckpoint")
        self.saved = []  # the paths written in this fit, in order

    def on_train_begin(self, logs=None):
        self.direction = "min"
        if self.save_best_only:
            _check_monitor(self.monitor, self.params, "ModelCheckpoint")
            self.direction = _direction(self.monitor, self.mode, "ModelCheckpoint")
        worst = math.inf if self.direction == "min" else -math.inf
        self.best = worst if self.initial_value_threshold is None else \
            float(self.initial_value_threshold)
        self.saved, self._batches, self._epoch = [], 0, 0

    def state_dict(self):
        return {"best": self.best, "batches": self._batches, "saved": list(self.saved)}

    def load_state_dict(self, state):
        self.best, self._batches = float(state["best"]), int(state["batches"])
        self.saved = list(state["saved"])

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq != "epoch":
            self._batches += 1
            if self._batches % self.save_freq == 0:
                self._save(self._epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, logs)

    def _save(self, epoch, logs):
        logs = dict(logs or {})
        try:
            path = self.filepath.format(epoch=epoch + 1, **logs)
        except KeyError as e:
            raise KeyError(f"ModelCheckpoint: filepath {self.filepath!r} refers to {e}, which is "
                           f"not in the logs {sorted(logs)}") from None
        if self.save_best_only:
            current = _value(logs, self.monitor)
            if current is None:
                return  # e.g. val_* on an epoch without validation (validation_freq)
            if not _improved(current, self.best, self.direction, 0.0):
                if self.verbose > 0:
                    print(f"Epoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")
                return
            if self.verbose > 0:
                print(f"Epoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                      f"{current:.5f}, saving model to {path}")
            self.best = current
        elif self.verbose > 0:
            print(f"Epoch {epoch + 1}: saving model to {path}")
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)
        self.saved.append(path)


# === learning-rate callbacks ==================================================================
class LearningRateScheduler(Callback):
    """At the start of each epoch set the learning rate to ``schedule(epoch, lr)`` (or
    ``schedule(epoch)``); ``epoch`` counts from 0. The value is logged as 'learning_rate'."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        opt = self.model.optimizer
        try:
            lr = self.schedule(epoch, float(opt.learning_rate))
        except TypeError:  # a one-argument schedule
            lr = self.schedule(epoch)
        if not isinstance(lr, (int, float, np.floating, np.integer)):
            raise ValueError(f"LearningRateScheduler: the schedule must return a float, got "
                             f"{type(lr).__name__}")
        opt.learning_rate = float(lr)
        if self.verbose > 0:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` has not improved (by more than
    ``min_delta``) for ``patience`` epochs; then wait ``cooldown`` epochs before counting again;
    never go below ``min_lr``. Defaults: ``monitor='val_loss'``, ``factor=0.1``,
    ``patience=10``, ``mode='auto'``, ``min_delta=1e-4``, ``cooldown=0``, ``min_lr=0.0``.

    The rule is ``gradkit.optim.lr_scheduler.Plateau`` (PyTorch's ReduceLROnPlateau) with
    Keras' settings translated: ``min_delta`` is an absolute threshold; Keras cuts when
    ``patience`` epochs have not improved where PyTorch waits for more than ``patience``, and
    counts the epoch that ends a cooldown where PyTorch does not (so patience − 1 and
    cooldown − 1); a cut that ``min_lr`` leaves at nothing does not start a cooldown."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0, **kwargs):
        super().__init__()
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be < 1.0 (it multiplies the "
                             f"learning rate), got {factor}")
        if patience < 0:
            raise ValueError(f"ReduceLROnPlateau: patience must be >= 0, got {patience}")
        self.monitor, self.factor, self.patience, self.verbose = monitor, factor, patience, verbose
        self.min_delta, self.cooldown, self.min_lr = min_delta, cooldown, min_lr
        self.mode = _check_mode(mode, "ReduceLROnPlateau")

    def on_train_begin(self, logs=None):
        _check_monitor(self.monitor, self.params, "ReduceLROnPlateau")
        self.direction = _direction(self.monitor, self.mode, "ReduceLROnPlateau")
        self.plateau = lr_scheduler.Plateau(
            mode=self.direction, factor=self.factor, patience=max(self.patience - 1, 0),
            threshold=self.min_delta, threshold_mode="abs", cooldown=max(self.cooldown - 1, 0),
            eps=0.0)

    def state_dict(self):
        return {"best": self.plateau.best, "num_bad_epochs": self.plateau.num_bad_epochs,
                "cooldown_counter": self.plateau.cooldown_counter}

    def load_state_dict(self, state):
        # the learning rate itself is the optimizer's state, saved with it
        self.plateau.best = float(state["best"])
        self.plateau.num_bad_epochs = int(state["num_bad_epochs"])
        self.plateau.cooldown_counter = int(state["cooldown_counter"])

    @property
    def best(self):
        return self.plateau.best

    @property
    def wait(self):
        """Epochs without improvement since the last one that improved (or the last cut)."""
        return self.plateau.num_bad_epochs

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        opt = self.model.optimizer
        logs["learning_rate"] = float(opt.learning_rate)
        current = _value(logs, self.monitor)
        if current is None or not self.plateau.observe(current):
            return
        new = self.plateau.reduced_lr(float(opt.learning_rate), self.min_lr)
        if new is not None:
            opt.learning_rate = new
            if self.verbose > 0:
                print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new}.")
            self.plateau.start_cooldown()


# === logging and safety =======================================================================
class CSVLogger(Callback):
    """Append one row per epoch to ``filename``: ``epoch`` then the logged values (columns
    fixed by the first epoch, 'NA' where a later epoch lacks one). ``append=True`` continues an
    existing file without repeating the header."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename, self.sep, self.append = os.fspath(filename), separator, append
        self._file = None

    def on_train_begin(self, logs=None):
        existed = self.append and os.path.exists(self.filename) and \
            os.path.getsize(self.filename) > 0
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        self._writer, self._keys = None, None
        if existed:
            with open(self.filename, newline="") as f:
                header = next(csv.reader(f, delimiter=self.sep), None)
            if header:
                self._keys = header[1:]
                self._writer = csv.writer(self._file, delimiter=self.sep)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._keys is None:
            self._keys = sorted(logs)
        if self._writer is None:
            self._writer = csv.writer(self._file, delimiter=self.sep)
            self._writer.writerow(["epoch"] + self._keys)
        self._writer.writerow([epoch] + [logs[k] if k in logs else "NA" for k in self._keys])
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None


class TerminateOnNaN(Callback):
    """Stop training at the batch where the loss becomes NaN or infinite, and say where:
    ``TerminateOnNaN: invalid loss (nan) at epoch 2, batch 17; stopping training``.
    ``stopped_at`` holds (epoch, batch), both counted from 1."""

    def on_train_begin(self, logs=None):
        self._epoch, self.stopped_at = 0, None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.stopped_at = (self._epoch + 1, batch + 1)
            print(f"TerminateOnNaN: invalid loss ({float(loss)}) at epoch {self._epoch + 1}, "
                  f"batch {batch + 1}; stopping training", flush=True)
            self.model.stop_training = True


class LambdaCallback(Callback):
    """A callback from functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``.
    Accepts any hook name (``on_train_begin``, ``on_batch_end``, ``on_train_batch_end``, ...)."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None,
                 **kwargs):
        super().__init__()
        hooks = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end,
                     on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end, **kwargs)
        for name, fn in hooks.items():
            if not name.startswith("on_") or not hasattr(Callback, name):
                raise ValueError(f"LambdaCallback: unknown hook {name!r}")
            if fn is not None:
                setattr(self, name, _lambda_hook(name, fn))


def _lambda_hook(name, fn):
    if name in ("on_train_begin", "on_train_end", "on_test_begin", "on_test_end",
                "on_predict_begin", "on_predict_end"):
        return lambda logs=None: fn(logs)
    return lambda index, logs=None: fn(index, logs)


# === BackupAndRestore =========================================================================
class BackupAndRestore(Callback):
    """Back up the whole training state; a ``fit`` that was interrupted continues from it.

    At the start of ``fit``, if ``backup_dir`` holds a backup, everything is restored from it:
    the weights, the optimizer's state, the epoch (and, with ``save_freq=N``, the batch inside
    it), the data order, gradkit's random generator, the running loss and metrics, and the state
    of the fit's other callbacks (History, EarlyStopping, ...). Training then continues as if it
    had never stopped: its weights and logged losses are those of an uninterrupted run, bit for
    bit. During ``fit`` it saves a backup at the end of each epoch (``save_freq='epoch'``) or
    every ``save_freq`` batches, each replacing the last, and deletes it when ``fit`` completes
    (``delete_checkpoint=True``; an exception or a kill leaves it for the next ``fit``).

        backup = keras.callbacks.BackupAndRestore("backups/run1")
        model.fit(x, y, epochs=10, callbacks=[backup])   # killed during epoch 5; run it again:
        model.fit(x, y, epochs=10, callbacks=[backup])   # continues in epoch 5

    The fit that resumes must be the same one: the same model (built before ``fit``, as Keras
    requires), compile settings, data, ``batch_size`` and callbacks in the same order; a backup
    saved by another fit is refused, naming the difference. With gradient accumulation a backup
    due between two updates waits for the next update. Where gradkit differs from Keras 3: one
    file, ``backup_dir/checkpoint.safetensors``, written by ``gradkit.io.save_checkpoint``
    (atomic, so a crash while saving leaves the previous backup: no second copy is kept;
    checksummed, so a damaged file says so); a backup taken inside an epoch resumes at the next
    batch, not at the epoch's start; at the end only that file (and the folder, if that leaves it
    empty) is deleted, never other files. ``save_freq=False`` saves only when ``save_backup()``
    is called. Defaults: ``save_freq='epoch'``, ``delete_checkpoint=True``.
    """

    runs_last = True  # after the other callbacks: save what they did, restore after their reset
    FILENAME = "checkpoint.safetensors"

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError("BackupAndRestore: backup_dir is empty; give the folder to keep the "
                             "backup in, e.g. BackupAndRestore('backups/run1')")
        valid_int = isinstance(save_freq, int) and not isinstance(save_freq, bool) and save_freq > 0
        if not (valid_int or save_freq is False or save_freq == "epoch"):
            raise ValueError(f"BackupAndRestore: save_freq must be 'epoch', a positive number of "
                             f"batches or False; got {save_freq!r}")
        self.backup_dir = os.fspath(backup_dir)
        self.path = os.path.join(self.backup_dir, self.FILENAME)
        self.save_freq, self.delete_checkpoint = save_freq, delete_checkpoint
        self._every = save_freq if valid_int else None  # batches between backups
        self.restored = None  # (epoch, batch) the last fit resumed at, or None
        self._batches, self._due = 0, False

    def on_train_begin(self, logs=None):
        self._batches, self._due, self.restored = 0, False, None
        if not os.path.exists(self.path):
            return
        try:
            self.restored = self.model._fit_run.load(self.path)
        except ValueError as e:
            raise ValueError(f"BackupAndRestore: cannot resume from {self.path}: {e}. Resume "
                             "with the same model, compile settings, data and callbacks, or "
                             f"delete {self.backup_dir} to start over") from None

    def on_train_batch_end(self, batch, logs=None):
        if self._every is not None:
            self._batches += 1
            self._due = self._due or self._batches >= self._every
        if self._due and self.model._fit_run.between_updates:
            self.save_backup()

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch" or self._due:  # every update of the epoch is done here
            self.save_backup()

    def save_backup(self):
        """Save the training state now (fit calls it as ``save_freq`` says; a callback may call
        it at a batch's end for one more). Raises the OSError of a failed write, saying that the
        previous backup is intact."""
        run = self.model._fit_run if self.model is not None else None
        if run is None:
            raise RuntimeError("BackupAndRestore.save_backup: no fit is running; it saves the "
                               "state of a fit, from one of its callbacks")
        try:
            os.makedirs(self.backup_dir, exist_ok=True)
            run.save(self.path)
        except OSError as e:
            raise type(e)(f"BackupAndRestore: cannot write the backup {self.path} "
                          f"({e.strerror or e}); the previous backup is left as it was. Free "
                          f"disk space or make {self.backup_dir} writable") from e
        self._batches, self._due = 0, False

    def on_train_end(self, logs=None):
        if not self.delete_checkpoint:
            return
        if os.path.exists(self.path):
            os.remove(self.path)
        try:
            os.rmdir(self.backup_dir)  # only if empty: other files are not ours to delete
        except OSError:
            pass
