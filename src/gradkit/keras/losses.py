"""Keras losses: ``loss(y_true, y_pred)`` — the TRUE values first (PyTorch's losses take
``(input, target)``, the prediction first). Each is a call into ``nn.functional``.

    keras.losses.CategoricalCrossentropy()            one-hot labels (N, C), softmax outputs
    keras.losses.SparseCategoricalCrossentropy()      integer labels (N,), softmax outputs
    keras.losses.BinaryCrossentropy(from_logits=True) labels in {0, 1}, raw scores

A loss computes one value per sample (the mean over the last axis for MSE/MAE/Huber/BCE, the
sum over the classes for cross-entropies), multiplies by ``sample_weight`` if given, and
reduces with ``reduction='sum_over_batch_size'`` (sum / number of values — also when weighted,
as Keras does), ``'sum'`` or ``None`` (no reduction).

Probabilities (``from_logits=False``, the default) are clipped to [1e-7, 1 - 1e-7] before the
log, as Keras does (``F.clamp_probs``, ``F.probs_to_logits``); pass ``from_logits=True`` when
the last layer has no softmax/sigmoid. A label of shape (N,) next to an output of shape (N, 1)
is reshaped to (N, 1), never broadcast. The categorical cross-entropies check their labels
(one-hot vs class ids, the range) on every batch; ``fit`` runs a loss's ``check_targets``
(those checks, and 0/1 labels for binary cross-entropy) on all of y before the first update.

A ``y_pred`` that carries a mask (the output of a model whose padding is masked, see
keras/layers/masks.py) is weighted by it, as Keras does (``apply_mask``): the padded steps add
nothing, and the mean is over the steps that count.
"""
import warnings

import numpy as np

from .. import _internal, ops
from ..nn import functional as F
from ..nn.functional.loss import clamp_probs, probs_to_logits, smooth_labels
from ..nn.module import Module
from ..tensor import Tensor
from .backend import snake_case
from .layers.masks import get_keras_mask, mask_array
from .registry import deserialize_object, serialize_object

__all__ = ["Loss", "LossFunctionWrapper", "MeanSquaredError", "MeanAbsoluteError", "Huber",
           "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
           "KLDivergence", "mean_squared_error", "mean_absolute_error", "huber",
           "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
           "kl_divergence", "mse", "mae", "MSE", "MAE", "kld", "get", "serialize", "deserialize"]

EPSILON = 1e-7


# === preparing (y_true, y_pred) ===============================================================
def _as_tensor(y):
    # a y_true that requires grad keeps its graph, as in TensorFlow (gradients flow through both)
    return y if isinstance(y, Tensor) else Tensor(np.asarray(y))


def _match(y_true, y_pred):
    """y_true as a Tensor of y_pred's float dtype, with (N,) vs (N, 1) reconciled."""
    y_true = _as_tensor(y_true)
    if y_true.dtype != y_pred.dtype:
        y_true = y_true.to(y_pred.dtype)
    if y_true.ndim == y_pred.ndim - 1 and y_pred.shape[-1] == 1:
        y_true = y_true.unsqueeze(-1)
    elif y_pred.ndim == y_true.ndim - 1 and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true shape {tuple(y_true.shape)} and y_pred shape "
                         f"{tuple(y_pred.shape)} do not match")
    return y_true


def _per_sample(values):
    """Mean over the last axis (one value per sample), unless the values already are that."""
    return values.mean(-1) if values.ndim > 1 else values


def _classes_to_dim1(t):
    """(N, ..., C) -> (N, C, ...): nn.functional's class axis is 1."""
    return t if t.ndim <= 2 else t.permute(0, t.ndim - 1, *range(1, t.ndim - 1))


# === what each cross-entropy expects of its labels ==========================================
# Written once: the losses run them on every batch, and fit runs Loss.check_targets on all of y
# before the first update, so a bad label fails before any step, naming the fix.
def _labels(y):
    return y.array if isinstance(y, Tensor) else np.asarray(y)


def _class_count_error(loss, y_true, y_pred, expected):
    n = y_pred.shape[-1]
    if expected == "one_hot":
        return ValueError(
            f"{loss} expects one-hot labels of shape (N, {n}) (one column per class), but got "
            f"labels of shape {tuple(y_true.shape)}, which look like integer class ids. Use "
            f"SparseCategoricalCrossentropy (loss='sparse_categorical_crossentropy') for integer "
            f"labels, or convert them: keras.utils.to_categorical(y, {n})")
    return ValueError(
        f"{loss} expects integer class ids of shape (N,), but got labels of shape "
        f"{tuple(y_true.shape)} next to {n} output units: one-hot labels. Use "
        f"CategoricalCrossentropy (loss='categorical_crossentropy') for one-hot labels, or "
        f"convert them: y.argmax(axis=-1)")


def _check_one_hot(y_true, y_pred):
    """CategoricalCrossentropy's labels: one column per output unit, not class ids."""
    y, n = _labels(y_true), y_pred.shape[-1]
    if y.ndim == y_pred.ndim - 1 or (y.ndim == y_pred.ndim and y.shape[-1] == 1 and n > 1):
        raise _class_count_error("CategoricalCrossentropy", y, y_pred, "one_hot")
    if y.ndim == y_pred.ndim and y.shape[-1] != n:
        raise ValueError(f"CategoricalCrossentropy: the one-hot labels have {y.shape[-1]} columns "
                         f"(classes) but the model outputs {n} units; the last layer needs one "
                         f"unit per class: Dense({y.shape[-1]}, activation='softmax')")


def _class_ids(y_true, y_pred, ignore_class=None):
    """SparseCategoricalCrossentropy's labels as integer class ids, (N,) or (N, T) next to
    outputs (..., C): a trailing axis of 1 dropped, whole floats made ints, each id in [0, C)
    or ``ignore_class``."""
    y, n = _labels(y_true), y_pred.shape[-1]
    if y.ndim == y_pred.ndim and y.shape[-1] == n and n > 1:
        raise _class_count_error("SparseCategoricalCrossentropy", y, y_pred, "sparse")
    if y.ndim == y_pred.ndim and y.shape[-1] == 1:
        y = y[..., 0]
    if y.dtype.kind == "f":
        if not np.all(y == np.floor(y)):
            raise ValueError("SparseCategoricalCrossentropy: labels must be whole numbers (class "
                             f"ids); got values such as {y[y != np.floor(y)][0]}")
        y = y.astype(np.int64)
    elif y.dtype.kind not in "iu":
        raise TypeError(f"SparseCategoricalCrossentropy: labels must be integer class ids; got "
                        f"dtype {y.dtype}")
    valid = y if ignore_class is None else y[y != ignore_class]
    if valid.size and (valid.min() < 0 or valid.max() >= n):
        bad = (y < 0) | (y >= n)
        if ignore_class is not None:
            bad &= y != ignore_class
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        count = int(bad.sum())
        raise ValueError(f"SparseCategoricalCrossentropy: the labels do not fit the model's {n} "
                         f"output units (the last layer): {count} label{'s' * (count != 1)} out "
                         f"of range, the first at index {first[0] if y.ndim == 1 else first}: "
                         f"label {int(y[first])} (valid labels: 0 to {n - 1}). If the classes "
                         f"are numbered 1..{n}, subtract 1; otherwise the last layer needs more "
                         "units")
    return y


def _check_binary_labels(y_true):
    """BinaryCrossentropy's labels: 0/1, or probabilities in [0, 1]."""
    y = _labels(y_true)
    if y.size and (y.min() < 0 or y.max() > 1):
        raise ValueError(f"binary cross-entropy needs labels 0/1 (or probabilities in [0, 1]); "
                         f"the labels range from {y.min():g} to {y.max():g}. For more than two "
                         "classes use loss='sparse_categorical_crossentropy' and a last layer "
                         "Dense(n_classes, activation='softmax')")


# === the functions: (y_true, y_pred) -> per-sample values =====================================
def mean_squared_error(y_true, y_pred):
    """mean((y_true - y_pred)², axis=-1)"""
    return _per_sample(F.mse_loss(y_pred, _match(y_true, y_pred), reduction="none"))


def mean_absolute_error(y_true, y_pred):
    """mean(|y_true - y_pred|, axis=-1)"""
    return _per_sample(F.l1_loss(y_pred, _match(y_true, y_pred), reduction="none"))


def huber(y_true, y_pred, delta=1.0):
    """½ d² where |d| ≤ delta, else delta (|d| - ½ delta); mean over the last axis."""
    return _per_sample(F.huber_loss(y_pred, _match(y_true, y_pred), reduction="none",
                                    delta=delta))


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    """-(y ln p + (1 - y) ln(1 - p)), mean over the last axis. Labels in [0, 1], moved to ε/2
    and 1 - ε/2 by ``label_smoothing`` ε; probabilities clipped to [1e-7, 1 - 1e-7]."""
    y = _match(y_true, y_pred)
    if label_smoothing:
        y = smooth_labels(y, label_smoothing, 2)
    if from_logits:
        return _per_sample(F.binary_cross_entropy_with_logits(y_pred, y, reduction="none"))
    p = y_pred.array
    if p.size and (p.min() < 0 or p.max() > 1):
        raise ValueError("binary_crossentropy: y_pred has values outside [0, 1], so it is not a "
                         "probability: the model outputs raw scores (logits). Add "
                         "activation='sigmoid' to the last layer, or use "
                         "BinaryCrossentropy(from_logits=True)")
    return _per_sample(F.binary_cross_entropy(clamp_probs(y_pred, EPSILON), y, reduction="none"))


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """-Σ_c y_c ln p_c over the classes (the last axis); y_true one-hot or class probabilities,
    smoothed to (1 - ε) y + ε/C by ``label_smoothing`` ε: ``F.cross_entropy``.

    Probabilities are clipped and renormalised as Keras does (``F.probs_to_logits``:
    log_softmax(ln p) = ln(p / Σp)). A y_true with a graph gets gradients too (TensorFlow's
    behaviour; F.cross_entropy's for a Tensor target)."""
    if axis not in (-1, y_pred.ndim - 1):
        raise NotImplementedError("categorical_crossentropy: gradkit supports axis=-1 only")
    _check_one_hot(y_true, y_pred)
    y = _match(y_true, y_pred)
    if from_logits:
        logits = y_pred
    else:
        if y_pred.array.size and y_pred.array.min() < 0:
            raise ValueError("categorical_crossentropy: y_pred has negative values, so it is not "
                             "a probability distribution: the model outputs raw scores (logits). "
                             "Add activation='softmax' to the last layer, or use "
                             "CategoricalCrossentropy(from_logits=True)")
        logits = probs_to_logits(y_pred, EPSILON)
    return F.cross_entropy(_classes_to_dim1(logits), _classes_to_dim1(y), reduction="none",
                           label_smoothing=label_smoothing)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None,
                                    axis=-1):
    """-ln p[y] for integer class ids y (shape (N,) or (N, 1); (N, T) for sequences):
    ``F.cross_entropy``; probabilities clipped and renormalised as Keras does."""
    if axis not in (-1, y_pred.ndim - 1):
        raise NotImplementedError("sparse_categorical_crossentropy: gradkit supports axis=-1 only")
    labels = _class_ids(y_true, y_pred, ignore_class)
    if not from_logits and y_pred.array.size and y_pred.array.min() < 0:
        raise ValueError("sparse_categorical_crossentropy: y_pred has negative values, so it is "
                         "not a probability distribution: the model outputs raw scores "
                         "(logits). Add activation='softmax' to the last layer, or use "
                         "SparseCategoricalCrossentropy(from_logits=True)")
    logits = y_pred if from_logits else probs_to_logits(y_pred, EPSILON)
    return F.cross_entropy(_classes_to_dim1(logits), labels, reduction="none",
                           ignore_index=-100 if ignore_class is None else ignore_class)


def kl_divergence(y_true, y_pred):
    """Σ y_true ln(y_true / y_pred) over the last axis, both clipped to [1e-7, 1]."""
    y = ops.clamp(_match(y_true, y_pred), EPSILON, 1.0)
    log_q = ops.log(ops.clamp(y_pred, EPSILON, 1.0))
    return F.kl_div(log_q, y, reduction="none").sum(-1)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
kld = kl_divergence


# === Loss objects ============================================================================
_REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "none", None)


class Loss:
    """Base class: ``call(y_true, y_pred)`` gives per-sample values; ``__call__`` weights and
    reduces them. Subclass it and define ``call`` for a custom loss."""

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        if reduction not in _REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of "
                             f"{_REDUCTIONS}, got {reduction!r}")
        self.name = name or snake_case(type(self).__name__)
        self.reduction = reduction

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__} must define call(y_true, y_pred)")

    def check_targets(self, y_true, y_pred):
        """Raise ``ValueError`` (naming the fix) if ``y_true`` cannot be this loss's labels next
        to outputs shaped like ``y_pred``; ``fit`` runs it on all of y before the first update.
        The cross-entropies check their labels; other losses accept any values."""

    def __call__(self, y_true, y_pred, sample_weight=None):
        mask = get_keras_mask(y_pred)
        if not isinstance(y_pred, Tensor):
            y_pred = Tensor(np.asarray(y_pred, np.float32))
        if isinstance(y_true, Tensor) and y_true.requires_grad and not y_pred.requires_grad \
                and not getattr(self, "_warned_order", False):
            self._warned_order = True
            warnings.warn(f"{type(self).__name__}(y_true, y_pred): y_true depends on trainable "
                          "weights and y_pred does not; are the arguments swapped? Keras losses "
                          "take (y_true, y_pred), the labels first; PyTorch losses take "
                          "(input, target), the prediction first", stacklevel=2)
        values = self.call(y_true, y_pred)
        return reduce_values(values, sample_weight, self.reduction, mask)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def reduce_values(values, sample_weight=None, reduction="sum_over_batch_size", mask=None):
    """values · sample_weight (· the mask's weights, ``apply_mask``), then summed / divided by
    the number of values (Keras' rule)."""
    if not isinstance(values, Tensor):
        values = Tensor(np.asarray(values, np.float32))
    w = apply_mask(sample_weight, mask, reduction, values.dtype)
    if w is not None:
        values = values * Tensor(_to_rank(_internal.as_array(w).astype(values.dtype, copy=False),
                                          values.ndim))
    if reduction in ("none", None):
        return values
    total = values.sum()
    if reduction == "sum":
        return total
    return total / max(values.array.size, 1)


def apply_mask(sample_weight, mask, reduction="sum_over_batch_size", dtype=np.float32):
    """Keras' ``apply_mask``: the sample weights with a mask (True = counts) folded in. For a
    mean (``'sum_over_batch_size'``) the kept entries weigh total / (kept + 1e-7), so that the
    sum divided by the number of values is the mean over the kept entries; for ``'sum'`` (and
    the mean metrics) the mask is the weight as it is. No mask: ``sample_weight`` unchanged."""
    if mask is None:
        return sample_weight
    m = mask_array(mask).astype(dtype)
    if reduction in ("sum_over_batch_size", "mean"):
        m *= m.size / (m.sum() + EPSILON)
    if sample_weight is None:
        return m
    return _to_rank(_internal.as_array(sample_weight).astype(m.dtype), m.ndim) * m


def _to_rank(w, ndim):
    """Weights (N,), (N, 1), ... against values of rank ``ndim``: a trailing 1 dropped, or
    trailing axes added (never broadcast (N,) against (N, T) from the right)."""
    while w.ndim > ndim and w.shape[-1] == 1:
        w = w[..., 0]
    while w.ndim < ndim:
        w = w[..., None]
    return w


class LossFunctionWrapper(Loss):
    """A loss function ``fn(y_true, y_pred, **kwargs)`` as a Loss object."""

    def __init__(self, fn, name=None, reduction="sum_over_batch_size", **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", "loss"), reduction=reduction)
        self.fn, self._fn_kwargs = fn, kwargs

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        config = super().get_config()
        config.update(self._fn_kwargs)
        return config


class MeanSquaredError(LossFunctionWrapper):
    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name=name, reduction=reduction)


class MeanAbsoluteError(LossFunctionWrapper):
    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name=name, reduction=reduction)


class Huber(LossFunctionWrapper):
    """Defaults: ``delta=1.0``."""

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss", dtype=None):
        super().__init__(huber, name=name, reduction=reduction, delta=delta)


class BinaryCrossentropy(LossFunctionWrapper):
    """Labels 0/1 (or probabilities), one output unit per label. Defaults:
    ``from_logits=False``, ``label_smoothing=0.0``."""

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="binary_crossentropy", dtype=None):
        super().__init__(binary_crossentropy, name=name, reduction=reduction,
                         from_logits=from_logits, label_smoothing=label_smoothing)
        self.from_logits = from_logits

    def check_targets(self, y_true, y_pred):
        _check_binary_labels(y_true)


class CategoricalCrossentropy(LossFunctionWrapper):
    """One-hot labels (N, C) against C output units. Defaults: ``from_logits=False``,
    ``label_smoothing=0.0``. For integer labels use SparseCategoricalCrossentropy."""

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_crossentropy", dtype=None):
        super().__init__(categorical_crossentropy, name=name, reduction=reduction,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits

    def check_targets(self, y_true, y_pred):
        _check_one_hot(y_true, y_pred)


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Integer labels (N,) in [0, C) against C output units. Defaults: ``from_logits=False``,
    ``ignore_class=None``. For one-hot labels use CategoricalCrossentropy."""

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size",
                 name="sparse_categorical_crossentropy", dtype=None):
        super().__init__(sparse_categorical_crossentropy, name=name, reduction=reduction,
                         from_logits=from_logits, ignore_class=ignore_class)
        self.from_logits, self.ignore_class = from_logits, ignore_class

    def check_targets(self, y_true, y_pred):
        _class_ids(y_true, y_pred, self.ignore_class)


class KLDivergence(LossFunctionWrapper):
    def __init__(self, reduction="sum_over_batch_size", name="kl_divergence", dtype=None):
        super().__init__(kl_divergence, name=name, reduction=reduction)


# === lookup ==================================================================================
_CLASSES = (MeanSquaredError, MeanAbsoluteError, Huber, BinaryCrossentropy,
            CategoricalCrossentropy, SparseCategoricalCrossentropy, KLDivergence)
_BY_NAME = {
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "huber": Huber, "huber_loss": Huber,
    "binary_crossentropy": BinaryCrossentropy, "bce": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "kl_divergence": KLDivergence, "kld": KLDivergence,
}
_BY_NAME.update({c.__name__: c for c in _CLASSES})


def get(identifier):
    """A name ('mse', 'categorical_crossentropy', ...), a Loss, or a function
    ``fn(y_true, y_pred)`` -> a Loss object."""
    if identifier is None:
        return None
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier)
        if cls is None:
            import difflib
            close = difflib.get_close_matches(identifier, list(_BY_NAME), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ValueError(f"Unknown loss '{identifier}'{hint}; known: "
                             f"{', '.join(sorted(k for k in _BY_NAME if k.islower()))}")
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, Module):
        raise TypeError(
            f"loss={type(identifier).__name__}() is a PyTorch-style loss taking (input, target); "
            "Keras losses take (y_true, y_pred). Use keras.losses (e.g. "
            "SparseCategoricalCrossentropy(from_logits=True) for nn.CrossEntropyLoss, "
            "MeanSquaredError for nn.MSELoss), or write the loop with gradkit.optim")
    if callable(identifier):
        for name, cls in _BY_NAME.items():
            if identifier is cls:
                return cls()
        return LossFunctionWrapper(identifier)
    raise TypeError(f"loss must be a name, a Loss or a function; got {type(identifier).__name__}")


def serialize(loss):
    if isinstance(loss, str) or loss is None:
        return loss
    if type(loss) in _CLASSES:
        return {"class_name": type(loss).__name__, "config": loss.get_config()}
    return serialize_object(loss.fn if type(loss) is LossFunctionWrapper else loss)


def deserialize(config, custom_objects=None):
    if isinstance(config, str):
        return get(config)
    if isinstance(config, dict) and config.get("class_name") in _BY_NAME:
        return _BY_NAME[config["class_name"]].from_config(config.get("config", {}))
    return get(deserialize_object(config, custom_objects, "loss"))
