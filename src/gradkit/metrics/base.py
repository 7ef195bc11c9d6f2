"""The metric protocol, the running mean every averaged metric is built on, input checks.

    Metric              the base: one state, two method sets (Keras and PyTorch/torchmetrics)
    Mean                a weighted running mean of a value (Keras' ``keras.metrics.Mean``)
    MeanMetricWrapper   the running mean of a per-sample function ``fn(y_true, y_pred)``

A metric accumulates a small state over batches and turns it into one number at the end of an
epoch. The two dialects name the same three steps differently, and both sets exist on every
metric, reading and writing the same state:

    Keras                                          PyTorch-style (torchmetrics)
    m.update_state(y_true, y_pred, sample_weight)  m.update(preds, target, sample_weight)
    m.result()                                     m.compute()
    m.reset_state()                                m.reset()
    m(y_true, y_pred)  -> update, then result

Mind the argument order: Keras passes the truth first, torchmetrics the predictions first.
``__call__`` is Keras' (the TensorFlow tutorials call ``train_accuracy(labels, predictions)``).

``state_dict()`` / ``load_state_dict()`` save and restore the running state, so that an epoch
resumed from a checkpoint in its middle continues the same running value (``fit`` does this).
"""
import copy

import numpy as np

from .. import _internal
from ..tensor import Tensor

__all__ = ["Metric", "Mean", "MeanMetricWrapper"]


# === input conversion and checks, shared by every metric ================================

def to_numpy(x):
    """gradkit Tensor, torch tensor, list or array -> ndarray, without copying when possible.
    A tensor that requires grad is read as its values (no graph, no refusal), a torch one too."""
    if hasattr(x, "detach") and hasattr(x, "numpy") and not isinstance(x, Tensor):  # torch
        return x.detach().cpu().numpy()  # np.asarray would refuse one that requires grad
    return _internal.as_array(x)


def check_finite(a, who, what):
    """Raise ``ValueError`` naming the metric if float array ``a`` holds NaN or inf."""
    if a.dtype.kind not in "fc" or a.size == 0:
        return
    lo, hi = a.min(), a.max()  # min/max propagate NaN and reveal ±inf: no boolean temporary
    if np.isfinite(lo) and np.isfinite(hi):
        return
    bad = ~np.isfinite(a)
    first = tuple(int(i) for i in np.unravel_index(int(np.flatnonzero(bad.ravel())[0]), a.shape))
    raise ValueError(
        f"{who}: {what} holds {int(bad.sum())} non-finite value(s) ({int(np.isnan(a).sum())} NaN) "
        f"in shape {a.shape}, first at index {first}. A NaN prediction means the model diverged "
        "(lower the learning rate, or stop with TerminateOnNaN) or its inputs hold NaN "
        "(gradkit.data.check_finite finds them)")


def same_rank(a, b):
    """Keras' ``squeeze_or_expand_to_same_rank``: (N,) against (N, 1) becomes (N, 1) against (N, 1).

    Only a trailing axis of size 1 is added or removed; other shape differences are left for the
    caller to report, instead of letting NumPy broadcast (N,) against (N, 1) into (N, N).
    """
    if a.ndim == b.ndim + 1 and a.shape[-1] == 1:
        return (a, b[..., None]) if b.ndim == 1 else (a[..., 0], b)
    if b.ndim == a.ndim + 1 and b.shape[-1] == 1:
        return (a[..., None], b) if a.ndim == 1 else (a, b[..., 0])
    return a, b


def check_same_shape(y_true, y_pred, who, hint=""):
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{who}: y_true and y_pred must have the same shape; got y_true "
                         f"{y_true.shape} and y_pred {y_pred.shape}{hint}")


def check_labels(labels, num_classes, who, what):
    """Raise unless every entry of ``labels`` is a whole number in ``[0, num_classes)``."""
    if labels.size == 0:
        return labels.astype(np.int64)
    if labels.dtype.kind == "b":
        labels = labels.astype(np.int64)
    if labels.dtype.kind == "f":
        frac = labels != np.floor(labels)
        if frac.any():
            i = int(np.flatnonzero(frac.ravel())[0])
            raise ValueError(f"{who}: {what} must hold integer class labels; got "
                             f"{labels.ravel()[i]} at flat index {i}. Pass class indices, or "
                             f"class scores of shape (N, {num_classes}) for y_pred")
    lo, hi = labels.min(), labels.max()
    if lo < 0 or hi >= num_classes:
        bad = (labels < 0) | (labels >= num_classes)
        i = int(np.flatnonzero(bad.ravel())[0])
        raise ValueError(
            f"{who}: {what} holds label {labels.ravel()[i]} (first at flat index {i}), outside "
            f"[0, {num_classes}); labels must be 0 .. {num_classes - 1}. Set num_classes to the "
            f"number of classes (at least {int(hi) + 1}) or fix the labels")
    return labels.astype(np.int64, copy=False)


def broadcast_weight(sample_weight, shape, who):
    """``sample_weight`` (scalar, (N,), (N, 1) or ``shape``) -> float64 array of ``shape``."""
    w = to_numpy(sample_weight).astype(np.float64)
    check_finite(w, who, "sample_weight")
    if w.ndim:
        if len(shape) == 0 or w.shape[0] != shape[0]:
            raise ValueError(f"{who}: sample_weight has shape {w.shape} but the batch has shape "
                             f"{shape}; give one weight per sample, shape ({shape[0] if shape else 1},)")
        while w.ndim > len(shape) and w.shape[-1] == 1:
            w = w[..., 0]
        w = w.reshape(w.shape + (1,) * (len(shape) - w.ndim))
    try:
        return np.broadcast_to(w, shape)
    except ValueError:
        raise ValueError(f"{who}: sample_weight of shape {w.shape} does not fit the batch of "
                         f"shape {shape}; give one weight per sample") from None


class _Float(float):
    """A Python float that also answers ``.numpy()``, as TensorFlow's ``result()`` tensor does."""

    def numpy(self):
        return float(self)


def as_result(value):
    return _Float(value)


def divide(num, den):
    """num / den elementwise, 0 where den == 0 (Keras' ``divide_no_nan``, sklearn's zero_division=0)."""
    num, den = np.asarray(num, np.float64), np.asarray(den, np.float64)
    out = np.zeros(np.broadcast(num, den).shape)
    np.divide(num, den, out=out, where=den != 0)
    return out


def snake_case(name):
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and (not name[i - 1].isupper() or
                                   (i + 1 < len(name) and name[i + 1].islower())):
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


# === the protocol ========================================================================

class Metric:
    """Base class: subclasses define ``update_state``, ``result``, ``reset_state``, ``get_config``.

    ``name`` is the key under which the value appears in Keras' logs and History
    (``'accuracy'``, ``'val_accuracy'``). Defaults to the class name in snake case.
    """

    def __init__(self, name=None, dtype=None):
        self.name = name or snake_case(type(self).__name__)
        self.dtype = dtype  # accepted for Keras compatibility; state is always float64
        self.reset_state()

    # --- Keras -------------------------------------------------------------------------
    def update_state(self, y_true, y_pred, sample_weight=None):
        raise NotImplementedError

    def result(self):
        raise NotImplementedError

    def reset_state(self):
        raise NotImplementedError

    def reset_states(self):
        """TensorFlow 2's name for ``reset_state``."""
        self.reset_state()

    def __call__(self, *args, **kwargs):
        """Keras: accumulate one batch, then return the running result."""
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    # --- checkpoints -------------------------------------------------------------------
    def state_dict(self):
        """The running state: every attribute to which ``reset_state()`` gives a new value
        (found by resetting a copy; the configuration is left alone). Numbers, arrays, None
        and lists of them, copied: what ``gradkit.io.save_checkpoint`` stores."""
        fresh = copy.copy(self)
        fresh.reset_state()
        mine = vars(self)
        return {k: copy.deepcopy(mine[k]) for k, v in vars(fresh).items()
                if k in mine and v is not mine[k]}

    def load_state_dict(self, state):
        """Continue from ``state_dict()``'s running state (arrays read back as gradkit Tensors
        by ``gk.load`` are turned into NumPy arrays again)."""
        self.reset_state()
        for k, v in state.items():
            setattr(self, k, _plain(v))

    # --- PyTorch-style (torchmetrics) ----------------------------------------------------
    def update(self, preds, target, sample_weight=None):
        """torchmetrics order: predictions first. Same state as ``update_state(target, preds)``."""
        self.update_state(target, preds, sample_weight)

    def compute(self):
        return self.result()

    def reset(self):
        self.reset_state()

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _plain(v):
    """A loaded state value as the metric keeps it: arrays as NumPy, lists as lists."""
    if isinstance(v, Tensor):
        return _internal.as_array(v).copy()
    if isinstance(v, (list, tuple)):
        return type(v)(_plain(x) for x in v)
    return v


class Mean(Metric):
    """Weighted running mean of ``values``: ``sum(w * v) / sum(w)``. Keras' ``keras.metrics.Mean``.

    ``update_state(values, sample_weight=None)``: values of any shape; each sample (first axis)
    counts once, its value the mean over its other axes, weighted by ``sample_weight`` (scalar or
    per sample). A scalar value counts as one sample. The loss tracker of ``fit``:

        loss_tracker = Mean(name="loss")
        loss_tracker.update_state(loss, sample_weight=batch_size)   # per-sample mean over the epoch

    PyTorch-style: ``update(value, weight=1.0)`` (torchmetrics' ``MeanMetric``).
    ``result()`` before any update is ``0.0``, as in Keras.
    """

    def reset_state(self):
        self.total = 0.0
        self.count = 0.0

    def update_state(self, values, sample_weight=None):
        v = to_numpy(values).astype(np.float64)
        check_finite(v, self.name, "values")
        if sample_weight is not None:
            w = to_numpy(sample_weight).astype(np.float64)
            check_finite(w, self.name, "sample_weight")
            v, w = same_rank(v, w)
            if v.ndim > w.ndim:  # reduce values to the weights' rank
                v = v.mean(axis=tuple(range(w.ndim, v.ndim)))
            try:
                w = np.broadcast_to(w, v.shape)
            except ValueError:
                raise ValueError(f"{self.name}: sample_weight of shape {w.shape} does not fit "
                                 f"values of shape {v.shape}; give one weight per sample") from None
            v = v * w
            if v.ndim > 1:
                w = w.mean(axis=tuple(range(1, v.ndim)))
        if v.ndim > 1:
            v = v.mean(axis=tuple(range(1, v.ndim)))
        self.total += float(v.sum())
        if sample_weight is not None:
            self.count += float(w.sum())
        else:
            self.count += v.shape[0] if v.ndim else 1

    def update(self, value, weight=1.0):
        """torchmetrics' ``MeanMetric.update``: every element of ``value`` counts, with ``weight``."""
        v = to_numpy(value).astype(np.float64)
        w = np.broadcast_to(to_numpy(weight).astype(np.float64), v.shape)
        self.update_state(v.ravel(), w.ravel())

    def __call__(self, values, sample_weight=None):
        self.update_state(values, sample_weight)
        return self.result()

    def result(self):
        return as_result(self.total / self.count if self.count else 0.0)


class MeanMetricWrapper(Mean):
    """The weighted mean over samples of ``fn(y_true, y_pred, **kwargs)``, a per-sample function.

    This is how the accuracies and the regression errors are written, and how a plain function
    passed to ``compile(metrics=[my_fn])`` becomes a metric (its name is the function's).
    """

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        self._fn = fn
        self._fn_kwargs = kwargs
        super().__init__(name=name or getattr(fn, "__name__", None), dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = to_numpy(y_true), to_numpy(y_pred)
        check_finite(y_pred, self.name, "y_pred")
        check_finite(y_true, self.name, "y_true")
        if y_true.ndim and y_pred.ndim and y_true.shape[0] != y_pred.shape[0]:
            raise ValueError(f"{self.name}: y_true and y_pred must hold the same number of samples; "
                             f"got y_true {y_true.shape} and y_pred {y_pred.shape}")
        values = to_numpy(self._fn(y_true, y_pred, **self._fn_kwargs))
        super().update_state(values, sample_weight)

    def update(self, preds, target, sample_weight=None):
        self.update_state(target, preds, sample_weight)

    def __call__(self, y_true, y_pred, sample_weight=None):
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()

    def get_config(self):
        return {"name": self.name, **self._fn_kwargs}
