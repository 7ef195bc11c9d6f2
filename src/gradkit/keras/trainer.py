"""compile, fit, evaluate, predict, train_on_batch: the Keras training loop, written once.

``fit`` on one screen (the code below follows it):

    check the data before any step: empty, different lengths, NaN/inf (whole arrays), then at
        the first batch the labels against the model's outputs (the loss's check_targets)
    callbacks.on_train_begin                        BackupAndRestore may move the start to a
                                                    saved (epoch, batch) and restore the rest
    for each epoch from initial_epoch:
        reset the metrics;                          callbacks.on_epoch_begin
        for each batch (x, y, sample_weight)        in the order of (data seed, epoch):
            y_pred = model(x)                       the model in training mode
            loss = loss_fn(y, y_pred, w)            weighted by y_pred's mask if it has one
                   + sum(model.losses)              (layers/masks.py; the mean metrics too)
            loss.backward()                         gradients add up in .grad over k batches
            every k-th batch: optimizer step        on their mean (gradkit.optim: ×1/k, clip,
                                                    decay, rule); k = gradient_accumulation_steps
            update the running loss and metrics;    callbacks.on_train_batch_end
            stop here if a callback asked (TerminateOnNaN)
        evaluate on the validation data -> val_* values
        callbacks.on_epoch_end(epoch, logs);        stop if a callback asked (EarlyStopping)
    put the model back in the mode it had;          return the History

The shuffle order of epoch e comes from the model's data seed and e alone (drawn once from
gradkit's global generator, at the first ``compile``), so ``fit(epochs=2)`` then
``fit(initial_epoch=2, epochs=4)`` trains exactly as ``fit(epochs=4)``; what a checkpoint of a
running fit holds is in fit_state.py.

``evaluate`` and ``predict`` run the model in inference mode without recording a graph, in
batches, and restore the mode the model had. The optimizer is ``gradkit.optim`` underneath
(see optimizers.py) and the batches come from ``gradkit.data`` (see data_adapter.py).
"""
import math
import warnings

import numpy as np

from .. import _internal
from .. import data as gk_data
from .. import metrics as metrics_module
from ..autograd import grad_mode
from ..tensor import Tensor
from . import callbacks as callbacks_module
from . import data_adapter, losses, optimizers
from .fit_state import FitRun
from .layers.masks import get_keras_mask
from .registry import is_plain

__all__ = ["Trainer"]


class _Mean:
    """The running mean of the loss over an epoch, weighted by batch size (as Keras does)."""

    def __init__(self):
        self.total, self.count = 0.0, 0

    def update(self, value, n):
        self.total += value * n
        self.count += n

    def result(self):
        return self.total / self.count if self.count else float("nan")

    def state_dict(self):
        return {"total": self.total, "count": self.count}

    def load_state_dict(self, state):
        self.total, self.count = float(state["total"]), int(state["count"])


def _as_list(x):
    if x is None:
        return []
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _metric_name(m):
    if isinstance(m, str):
        return m
    return getattr(m, "name", None) or getattr(m, "__name__", type(m).__name__)


def _size(x):
    first = x
    while isinstance(first, (list, tuple, dict)):
        first = next(iter(first.values())) if isinstance(first, dict) else first[0]
    return int(first.shape[0]) if hasattr(first, "shape") and len(first.shape) else 1


class Trainer:
    """Mixed into ``Model``: the methods that train and run it."""

    def __init__(self):
        self.optimizer = None
        self.loss = None
        self.compiled = False
        self.stop_training = False
        self.history = None
        self._loss_fns, self._loss_weights = None, None
        self._metric_ids, self._weighted_metric_ids = [], []
        self._metrics = None            # metric objects, made at the first batch
        self._loss_tracker = _Mean()
        self._metric_states = None      # saved metric states, loaded once the metrics exist
        self._compile_config = None
        self._data_seed = None          # the shuffle order's seed, drawn at the first compile
        self._fit_run = None            # the fit in progress (fit_state.FitRun)

    # ==========================================================================================
    # compile
    # ==========================================================================================
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile="auto", auto_scale_loss=True):
        """Set the optimizer, the loss and the metrics for ``fit`` and ``evaluate``.

        optimizer: a name ('adam', 'sgd', 'rmsprop', 'adagrad', 'adamw', ...; Keras' default
            settings), a ``keras.optimizers`` object, or a ``gradkit.optim`` optimizer built on
            ``model.parameters()``. Defaults to ``'rmsprop'``.
        loss: a name ('mse', 'categorical_crossentropy', ...), a ``keras.losses`` object or a
            function ``fn(y_true, y_pred)``; for a model with several outputs, a list or dict
            of them (weighted by ``loss_weights``).
        metrics: names ('accuracy', 'mae', ...), ``gradkit.metrics`` objects or functions.
            'accuracy' becomes binary, categorical or sparse accuracy from the loss and the
            shapes, as in Keras. ``weighted_metrics`` also receive the sample weights.
        ``run_eagerly``, ``jit_compile``, ``steps_per_execution`` are accepted and ignored
        (gradkit always runs eagerly).

        The first compile also draws the model's data seed from gradkit's global generator:
        ``fit``'s shuffle order for epoch e comes from it and e (seed before building the model,
        as ``tf.random.set_seed(0)`` at the top of a script does, to fix it).
        """
        if isinstance(loss, dict):
            loss_fns = {k: losses.get(v) for k, v in loss.items()}
        elif isinstance(loss, (list, tuple)):
            loss_fns = [losses.get(v) for v in loss]
        else:
            loss_fns = losses.get(loss)
        self.optimizer = optimizers.get(optimizer)
        self.loss, self._loss_fns = loss, loss_fns
        self._loss_weights = loss_weights
        self._metric_ids = _as_list(metrics)
        self._weighted_metric_ids = _as_list(weighted_metrics)
        self._metrics = None
        self.compiled = True
        self._compile_config = self._make_compile_config()
        if self._data_seed is None:
            self._data_seed = gk_data.check_seed(None, "compile")

    def _make_compile_config(self):
        try:
            config = {"optimizer": optimizers.serialize(self.optimizer),
                      "loss": losses.serialize(self._loss_fns)
                      if not isinstance(self._loss_fns, (list, dict)) else None,
                      "metrics": [m if isinstance(m, str) else
                                  {"class_name": type(m).__name__, "config": m.get_config()}
                                  for m in self._metric_ids]}
        except Exception:  # something custom that cannot be written: the model still saves
            return None
        return config if is_plain(config) else None

    def _compile_from_config(self, config, custom_objects=None):
        try:
            opt = optimizers.deserialize(config["optimizer"], custom_objects) \
                if config.get("optimizer") else "rmsprop"
            loss = losses.deserialize(config["loss"], custom_objects)
            metrics = [metrics_module.get(m) if isinstance(m, dict) else m
                       for m in config.get("metrics") or []]
        except Exception as e:  # noqa: BLE001  the weights are loaded; compiling is optional
            warnings.warn(f"load_model: the model was loaded but not compiled ({e}); call "
                          "model.compile(...) before fit")
            return
        self.compile(optimizer=opt, loss=loss, metrics=metrics)

    def _assert_compiled(self, what):
        if not self.compiled or self.optimizer is None:
            raise RuntimeError(f"You must call compile() before {what}(): "
                               "model.compile(optimizer='adam', loss='mse')")
        if what != "predict" and self._loss_fns is None:
            raise ValueError(f"{what}() needs a loss: model.compile(optimizer=..., loss=...)")

    # ==========================================================================================
    # fit
    # ==========================================================================================
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1, gradient_accumulation_steps=None):
        """Train for ``epochs`` epochs; returns a ``History``.

        x, y: arrays (x may be a list/dict for several inputs), or x a dataset of (x, y)
            batches (DataLoader, tf.data.Dataset, iterable) with y None.
        batch_size: for arrays; defaults to 32. shuffle: reshuffle arrays every epoch (epoch
            e's order comes from the model's data seed and e, see the module docstring).
        validation_split: the LAST fraction of the arrays, cut before shuffling (Keras' rule).
        validation_data: (x_val, y_val[, sample_weight]) or a dataset.
        class_weight: {class: weight}, multiplying each sample's loss by its class's weight.
        initial_epoch: the epoch to start from (for resuming); epochs is the last one. A
            ``callbacks.BackupAndRestore`` with a backup overrides it (and restores the rest).
        gradient_accumulation_steps: k > 1 averages the gradients of k batches per update
            (the optimizer's own setting when None).
        verbose: 'auto' or 1 (a progress bar; one line per epoch when stdout is not a
            terminal), 2 (one line per epoch), 0 (silent).
        """
        self._assert_compiled("fit")
        where = "fit"
        # ---- the data, checked before any step
        if validation_split and validation_data is None:
            (x, y, sample_weight), validation_data = data_adapter.split_validation(
                x, y, sample_weight, validation_split)
        train = data_adapter.adapt(x, y, sample_weight, batch_size, shuffle, steps_per_epoch,
                                   where)
        val = None
        if validation_data is not None:
            val = self._adapt_validation(validation_data, validation_batch_size or batch_size,
                                         validation_steps)
        accumulate = int(gradient_accumulation_steps or
                         getattr(self.optimizer, "gradient_accumulation_steps", None) or 1)
        if accumulate < 1:
            raise ValueError(f"fit: gradient_accumulation_steps must be >= 1, got {accumulate}")

        # ---- callbacks, progress and History
        history = callbacks_module.History()
        verbose = 1 if verbose == "auto" else int(verbose)
        extra = [history] + ([callbacks_module.ProgbarLogger(verbose)] if verbose else [])
        names = ["loss"] + [_metric_name(m) for m in self._metric_ids + self._weighted_metric_ids]
        params = {"epochs": epochs, "steps": train.num_batches, "verbose": verbose,
                  "batch_size": getattr(train, "batch_size", None),
                  "metrics": names + (["val_" + n for n in names] if val is not None else [])}
        cbs = callbacks_module.CallbackList(_as_list(callbacks) + extra, model=self, params=params)
        if self._data_seed is None:  # a model whose compile did not draw one
            self._data_seed = gk_data.check_seed(None, "fit")

        # ---- the loop
        run = self._fit_run = FitRun(self, cbs, train, epochs, initial_epoch)
        was_training = self.training
        self.stop_training = False
        variables = None
        epoch_logs = {}
        checked = False
        try:
            cbs.on_train_begin()  # BackupAndRestore (last) may restore a saved run into `run`
            first_epoch, first_step = run.epoch, run.step
            for epoch in range(first_epoch, epochs):
                start = first_step if epoch == first_epoch else 0
                run.epoch, run.step, run.epoch_done = epoch, start, False
                self.reset_metrics()
                if start:  # a resumed epoch: the running means of its first `start` batches
                    self._load_running_state(run.running)
                cbs.on_epoch_begin(epoch)
                self.train()
                pending, stopped_in_epoch = 0, False
                for step, (xb, yb, wb) in enumerate(train.epoch(epoch, start, self._data_seed),
                                                    start):
                    first, checked = not checked, True
                    if first and not train.is_arrays:
                        data_adapter.check_arrays(xb, yb, wb, where)
                    cbs.on_train_batch_begin(step)
                    logs, variables = self._train_step(
                        xb, yb, self._weights(yb, wb, class_weight),
                        check=(train.y if train.is_arrays else yb) if first else None,
                        variables=variables)
                    pending += 1
                    if pending == accumulate:
                        self.optimizer.apply_stored_gradients(variables, micro_batches=pending)
                        pending = 0
                    run.step, run.pending = step + 1, pending
                    cbs.on_train_batch_end(step, logs)
                    if self.stop_training:
                        stopped_in_epoch = True
                        break
                if pending and not stopped_in_epoch:  # the epoch's last, shorter group
                    self.optimizer.apply_stored_gradients(variables, micro_batches=pending)
                    run.pending = 0
                epoch_logs = self._logs()
                if val is not None and not stopped_in_epoch and _due(epoch, validation_freq):
                    val_logs = self._run_evaluation(val, cbs, "fit (validation)")
                    epoch_logs.update({"val_" + k: v for k, v in val_logs.items()})
                run.epoch_done = True
                cbs.on_epoch_end(epoch, epoch_logs)
                if self.stop_training:
                    break
        finally:
            self.train(was_training)
            for v in variables or []:
                v.grad = None
            self._fit_run = None
        cbs.on_train_end(epoch_logs)
        self.history = history
        return history

    def _adapt_validation(self, data, batch_size, steps):
        if isinstance(data, tuple) and data_adapter.is_array_data(data[0]):
            if len(data) not in (2, 3):
                raise ValueError("fit: validation_data must be (x_val, y_val) or "
                                 f"(x_val, y_val, sample_weight); got a tuple of {len(data)}")
            return data_adapter.adapt(data[0], data[1], data[2] if len(data) == 3 else None,
                                      batch_size, False, steps, "fit (validation_data)")
        return data_adapter.adapt(data, None, None, batch_size, False, steps,
                                  "fit (validation_data)")

    # ---- one training step
    def _train_step(self, x, y, sample_weight, check=None, variables=None):
        """Forward, loss, backward: the gradients add to ``.grad`` (the update is the
        caller's); returns (logs, variables)."""
        y_pred = self(x)
        if check is not None:  # the first batch: labels vs outputs, before any update
            self._check_targets(check, y_pred, "fit")
        if variables is None:
            variables = self.trainable_weights
            if not variables:
                self.optimizer.build(variables)  # raises: "got an empty list of variables"
        loss = self._compute_loss(y, y_pred, sample_weight)
        loss.backward()
        self._track(loss, y, y_pred, sample_weight, _size(x))
        return self._logs(), variables

    def _weights(self, y, sample_weight, class_weight):
        if class_weight is None:
            return sample_weight
        cw = data_adapter.class_weights_for(y, class_weight)
        if sample_weight is None:
            return cw
        return _internal.as_array(sample_weight).reshape(len(cw)) * cw

    # ==========================================================================================
    # the loss, the metrics and the logs
    # ==========================================================================================
    def _compute_loss(self, y, y_pred, sample_weight):
        fns = self._loss_fns
        if isinstance(fns, losses.Loss):
            if isinstance(y_pred, (list, tuple)) and len(y_pred) > 1:
                raise ValueError(f"the model has {len(y_pred)} outputs but compile got one loss; "
                                 "pass a list of losses, one per output")
            total = fns(y, y_pred, sample_weight=sample_weight)
        else:
            preds = list(y_pred.values()) if isinstance(y_pred, dict) else _as_list(y_pred)
            fn_list = list(fns.values()) if isinstance(fns, dict) else fns
            ys = list(y.values()) if isinstance(y, dict) else _as_list(y)
            lw = self._loss_weights or [1.0] * len(fn_list)
            lw = list(lw.values()) if isinstance(lw, dict) else lw
            if not (len(fn_list) == len(preds) == len(ys)):
                raise ValueError(f"compile got {len(fn_list)} losses for {len(preds)} outputs "
                                 f"and {len(ys)} targets; they must match")
            total = sum(w * fn(t, p, sample_weight=sample_weight)
                        for fn, t, p, w in zip(fn_list, ys, preds, lw))
        for extra in self.losses:  # regularization penalties and add_loss terms
            total = total + extra
        return total

    def _build_metrics(self, y, y_pred):
        if isinstance(y_pred, (list, tuple)) and (self._metric_ids or self._weighted_metric_ids):
            raise NotImplementedError("gradkit.keras: compile(metrics=...) supports models with "
                                      "one output; evaluate the outputs separately")

        def make(m, weighted):
            if isinstance(m, str) and m.lower() in ("accuracy", "acc"):
                obj = metrics_module.resolve_accuracy(self._loss_fns, _internal.as_array(y).shape,
                                                      y_pred.shape, name=m)
            else:
                obj = metrics_module.get(m)
            return obj, weighted

        built = [make(m, False) for m in self._metric_ids]
        built += [make(m, True) for m in self._weighted_metric_ids]
        seen = set()
        for obj, weighted in built:
            if obj.name in seen or obj.name == "loss":
                obj.name = ("weighted_" if weighted else "") + obj.name
            seen.add(obj.name)
        self._metrics = built

    def _track(self, loss, y, y_pred, sample_weight, n):
        self._last_batch_size = n
        value = float(loss.array)
        self._loss_tracker.update(value, n)
        if not math.isfinite(value):
            return  # NaN predictions would poison the metrics; the loss says it all
        if self._metrics is None:
            self._build_metrics(y, y_pred)
            self._load_metric_states()
        mask = get_keras_mask(y_pred)
        for m, weighted in self._metrics:
            w = sample_weight if weighted else None
            if mask is not None and isinstance(m, metrics_module.MeanMetricWrapper):
                w = losses.apply_mask(w, mask, reduction="sum")   # Keras: the kept steps only
            m.update_state(y, y_pred, sample_weight=w)

    def _logs(self):
        logs = {"loss": self._loss_tracker.result()}
        for m, _ in self._metrics or []:
            logs[m.name] = float(m.result())
        return logs

    def reset_metrics(self):
        """Reset the running loss and every metric (fit does it at each epoch)."""
        self._loss_tracker = _Mean()
        self._metric_states = None
        for m, _ in self._metrics or []:
            m.reset_state()

    def _running_state(self):
        """The epoch's running loss and metric states (what a mid-epoch checkpoint keeps)."""
        return {"loss": self._loss_tracker.state_dict(),
                "metrics": None if self._metrics is None
                else [m.state_dict() for m, _ in self._metrics]}

    def _load_running_state(self, state):
        self._loss_tracker.load_state_dict(state["loss"])
        self._metric_states = state["metrics"]
        self._load_metric_states()

    def _load_metric_states(self):
        """Saved metric states into the metrics, once they exist (the first batch builds them)."""
        if self._metric_states is None or self._metrics is None:
            return
        if len(self._metric_states) != len(self._metrics):
            raise ValueError(f"fit: the checkpoint holds {len(self._metric_states)} metric states "
                             f"for {len(self._metrics)} metrics ({self.metrics_names[1:]}); "
                             "compile with the metrics of the run that saved it")
        for (m, _), state in zip(self._metrics, self._metric_states):
            m.load_state_dict(state)
        self._metric_states = None

    @property
    def metrics(self):
        return [m for m, _ in self._metrics or []]

    @property
    def metrics_names(self):
        return ["loss"] + [m.name for m in self.metrics]

    def _check_targets(self, y, y_pred, where):
        """Labels vs the model's outputs, on all of ``y`` (arrays) or the first batch, before
        any update: the loss's own check (``Loss.check_targets``: the label range of a sparse
        loss, the classes of a categorical one, 0/1 for a binary one)."""
        fn = self._loss_fns
        if not isinstance(fn, losses.Loss) or not isinstance(y_pred, Tensor) \
                or y is None or isinstance(y, (list, dict)):
            return
        try:
            fn.check_targets(_internal.as_array(y), y_pred)
        except (ValueError, TypeError) as e:
            raise type(e)(f"{where}: {e}") from None

    # ==========================================================================================
    # evaluate, predict
    # ==========================================================================================
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False):
        """The loss and metrics on (x, y) in inference mode: a scalar (loss only), a list
        [loss, metric, ...] in ``metrics_names`` order, or a dict with ``return_dict=True``."""
        self._assert_compiled("evaluate")
        data = data_adapter.adapt(x, y, sample_weight, batch_size, False, steps, "evaluate")
        verbose = 1 if verbose == "auto" else int(verbose)
        extra = [callbacks_module.ProgbarLogger(verbose)] if verbose else []
        cbs = callbacks_module.CallbackList(_as_list(callbacks) + extra, model=self,
                                            params={"steps": data.num_batches,
                                                    "verbose": verbose})
        logs = self._run_evaluation(data, cbs, "evaluate")
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def _run_evaluation(self, data, cbs, where):
        was_training = self.training
        self.eval()
        self.reset_metrics()
        cbs.on_test_begin()
        try:
            with grad_mode.no_grad():
                for step, (x, y, w) in enumerate(data.epoch()):
                    if step == 0:
                        if not data.is_arrays:
                            data_adapter.check_arrays(x, y, w, where)
                        if y is None:
                            raise ValueError(f"{where}: the data has no targets (y); evaluate "
                                             "needs (x, y)")
                    cbs.on_test_batch_begin(step)
                    y_pred = self(x)
                    if step == 0:
                        self._check_targets(data.y if data.is_arrays else y, y_pred, where)
                    loss = self._compute_loss(y, y_pred, w)
                    self._track(loss, y, y_pred, w, _size(x))
                    cbs.on_test_batch_end(step, self._logs())
        finally:
            self.train(was_training)
        logs = self._logs()
        cbs.on_test_end(logs)
        return logs

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """The model's outputs for ``x``, as NumPy arrays, computed in batches (default 32) in
        inference mode without recording a graph; the model's mode is restored after."""
        if data_adapter.is_array_data(x):
            data_adapter.check_arrays(x, None, None, "predict")
            data = data_adapter.ArrayData(x, None, None, batch_size, False, steps)
        else:
            data = data_adapter.adapt(x, None, None, batch_size, False, steps, "predict",
                                      need_y=False)
        verbose = 1 if verbose == "auto" else int(verbose)
        extra = [callbacks_module.ProgbarLogger(verbose)] if verbose else []
        cbs = callbacks_module.CallbackList(_as_list(callbacks) + extra, model=self,
                                            params={"steps": data.num_batches,
                                                    "verbose": verbose})
        was_training = self.training
        self.eval()
        outputs = []
        cbs.on_predict_begin()
        try:
            with grad_mode.no_grad():
                for step, (xb, _, _) in enumerate(data.epoch()):
                    cbs.on_predict_batch_begin(step)
                    out = self(xb)
                    outputs.append(out)
                    self._last_batch_size = _size(xb)
                    cbs.on_predict_batch_end(step, {"outputs": out})
        finally:
            self.train(was_training)
        cbs.on_predict_end()
        if not outputs:
            raise ValueError("predict: the data yielded no batches")
        return _concat(outputs)

    # ==========================================================================================
    # single batches
    # ==========================================================================================
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False):
        """One update on one batch. Returns the loss (and metrics) as in ``evaluate``; like
        Keras 3, the values are running means since the last ``reset_metrics()``."""
        self._assert_compiled("train_on_batch")
        if data_adapter.is_array_data(x):
            data_adapter.check_arrays(x, y, sample_weight, "train_on_batch")
        was_training = self.training
        self.train()
        try:
            w = self._weights(y, sample_weight, class_weight)
            logs, variables = self._train_step(x, y, w)
            self.optimizer.apply_stored_gradients(variables)
        finally:
            self.train(was_training)
        return logs if return_dict else _flat(logs)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        self._assert_compiled("test_on_batch")
        was_training = self.training
        self.eval()
        try:
            with grad_mode.no_grad():
                y_pred = self(x)
                self._track(self._compute_loss(y, y_pred, sample_weight), y, y_pred,
                            sample_weight, _size(x))
        finally:
            self.train(was_training)
        logs = self._logs()
        return logs if return_dict else _flat(logs)

    def predict_on_batch(self, x):
        was_training = self.training
        self.eval()
        try:
            with grad_mode.no_grad():
                return _concat([self(x)])
        finally:
            self.train(was_training)


def _due(epoch, validation_freq):
    if isinstance(validation_freq, int):
        return (epoch + 1) % validation_freq == 0
    return epoch + 1 in validation_freq


def _flat(logs):
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


def _concat(outputs):
    first = outputs[0]
    if isinstance(first, (list, tuple)):
        return [np.concatenate([_internal.as_array(o[i]) for o in outputs])
                for i in range(len(first))]
    if isinstance(first, dict):
        return {k: np.concatenate([_internal.as_array(o[k]) for o in outputs]) for k in first}
    return np.concatenate([_internal.as_array(o) for o in outputs])
