"""Classification metrics.

    Accuracy  BinaryAccuracy  CategoricalAccuracy  SparseCategoricalAccuracy
    TopKCategoricalAccuracy  SparseTopKCategoricalAccuracy
                        running means of a per-sample hit (1.0) or miss (0.0)
    Precision  Recall  F1Score  ConfusionMatrix
                        a (C, C) confusion matrix of summed sample weights: memory C², any epoch
    AUC                 exact ROC AUC: keeps every score (8 bytes each, plus label and weight)

Binary or multiclass (``Precision``, ``Recall``, ``F1Score``):
  - without ``num_classes``, each element of ``y_pred`` is one yes/no decision,
    ``y_pred > threshold``, against ``y_true`` in {0, 1} (Keras' behaviour; multi-label arrays
    are flattened). ``F1Score`` with ``threshold=None`` (its default) instead reads class scores
    of shape (N, C > 1) as one label per sample, by argmax, as Keras' ``F1Score`` does.
  - with ``num_classes=C``, one label per sample: ``y_pred`` is class scores (N, C) (probabilities
    or logits; argmax), integer labels (N,), or for ``C == 2`` positive-class probabilities (N,)
    thresholded; ``y_true`` is integer labels (N,) / (N, 1) or one-hot (N, C).
"""
import warnings

import numpy as np

from . import functional as F
from .base import (
    MeanMetricWrapper,
    Metric,
    as_result,
    broadcast_weight,
    check_finite,
    check_labels,
    check_same_shape,
    same_rank,
    to_numpy,
)

__all__ = ["Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy",
           "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy", "Precision", "Recall",
           "F1Score", "ConfusionMatrix", "AUC"]


# === accuracies ==========================================================================

class Accuracy(MeanMetricWrapper):
    """Fraction of elements where ``y_true == y_pred`` exactly (labels against labels).

    For model outputs use ``BinaryAccuracy`` (one sigmoid unit), ``CategoricalAccuracy``
    (one-hot labels) or ``SparseCategoricalAccuracy`` (integer labels); ``compile(metrics=
    ['accuracy'])`` picks among them (see ``resolve_accuracy``).
    """

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(F.accuracy, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """Fraction where ``(y_pred > threshold) == y_true``; y_true in {0, 1}. Defaults to 0.5.

    For logits (``from_logits=True`` losses) pass ``threshold=0.0``.
    """

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(F.binary_accuracy, name=name, dtype=dtype, threshold=float(threshold))


class CategoricalAccuracy(MeanMetricWrapper):
    """Fraction where ``argmax(y_true) == argmax(y_pred)``: one-hot y_true (N, C), y_pred (N, C)."""

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(F.categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """Fraction where ``y_true == argmax(y_pred)``: integer y_true (N,) or (N, 1), y_pred (N, C)."""

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(F.sparse_categorical_accuracy, name=name, dtype=dtype)


def _check_k(k):
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer; got {k!r}")
    return int(k)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """Fraction where the one-hot class is among the ``k`` highest scores. Defaults to k=5."""

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(F.top_k_categorical_accuracy, name=name, dtype=dtype, k=_check_k(k))


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """Fraction where the integer label is among the ``k`` highest scores. Defaults to k=5."""

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None):
        super().__init__(F.sparse_top_k_categorical_accuracy, name=name, dtype=dtype,
                         k=_check_k(k))


# === the confusion-matrix family =========================================================

class _ConfusionCounts(Metric):
    """Accumulates ``self.confusion`` (C, C) and which classes were seen in y_true or y_pred.

    ``num_classes=None`` is the binary mode: a 2 x 2 matrix of elementwise decisions. Subclasses
    that allow it (``argmax_if_scores``) switch to multiclass at the first batch of (N, C) scores.
    """

    argmax_if_scores = False

    def __init__(self, num_classes=None, threshold=0.5, name=None, dtype=None):
        if num_classes is not None and (int(num_classes) != num_classes or num_classes < 2):
            raise ValueError(f"{type(self).__name__}: num_classes must be an integer >= 2 "
                             f"(use 2 for a binary problem); got {num_classes!r}")
        self.num_classes = None if num_classes is None else int(num_classes)
        self.threshold = threshold
        super().__init__(name=name, dtype=dtype)

    def reset_state(self):
        self._classes = self.num_classes  # None until known (F1Score infers C from the scores)
        self._weighted = False
        self.confusion = None if self._classes is None and self.argmax_if_scores else \
            np.zeros((self._classes or 2,) * 2)
        self._present = None if self.confusion is None else np.zeros(len(self.confusion), bool)

    # --- turning (y_true, y_pred) into two flat label arrays --------------------------
    def _binary(self, y_true, y_pred):
        y_true, y_pred = same_rank(y_true, y_pred)
        check_same_shape(y_true, y_pred, self.name,
                         "; for one label per sample out of C classes pass num_classes=C")
        if y_true.dtype.kind != "b" and y_true.size and not np.isin(y_true, (0, 1)).all():
            bad = y_true[~np.isin(y_true, (0, 1))].ravel()[0]
            raise ValueError(f"{self.name}: without num_classes this is a binary metric and "
                             f"y_true must hold 0 or 1; got {bad}. For labels 0 .. C-1 pass "
                             f"num_classes=C")
        threshold = 0.5 if self.threshold is None else self.threshold
        if y_pred.dtype.kind in "fc":
            decision = y_pred > threshold
        else:
            decision = check_labels(y_pred, 2, self.name, "y_pred (binary decisions)") == 1
        return y_true.astype(np.int64), decision.astype(np.int64)

    def _multiclass(self, y_true, y_pred, C):
        if y_true.ndim >= 2 and y_true.shape[-1] == C and y_pred.ndim != y_true.ndim + 1:
            y_true = y_true.argmax(-1)  # one-hot (or smoothed) labels
        elif y_true.ndim >= 2 and y_true.shape[-1] == 1 and y_pred.ndim != y_true.ndim + 1:
            y_true = y_true[..., 0]
        if y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
            y_pred = y_pred[..., 0]  # (N, 1) positive-class probabilities
        if y_pred.ndim == y_true.ndim + 1:
            if y_pred.shape[-1] != C:
                raise ValueError(f"{self.name}: y_pred holds {y_pred.shape[-1]} scores per "
                                 f"sample (shape {y_pred.shape}) but num_classes={C}")
            y_pred = y_pred.argmax(-1)
        elif y_pred.dtype.kind in "fc" and C == 2:
            y_pred = (y_pred > (0.5 if self.threshold is None else self.threshold))
        check_same_shape(y_true, y_pred, self.name,
                         f" after reading labels; give y_true as labels (N,) or one-hot (N, {C}) "
                         f"and y_pred as scores (N, {C}) or labels (N,)")
        return (check_labels(y_true, C, self.name, "y_true"),
                check_labels(y_pred, C, self.name, "y_pred"))

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = to_numpy(y_true), to_numpy(y_pred)
        check_finite(y_pred, self.name, "y_pred")
        check_finite(y_true, self.name, "y_true")
        if self._classes is None and self.argmax_if_scores:
            scores = y_pred.ndim >= 2 and y_pred.shape[-1] > 1 and y_pred.dtype.kind in "fc"
            self._classes = y_pred.shape[-1] if scores else 0  # 0: binary mode from now on
            self.confusion = np.zeros((self._classes or 2,) * 2)
            self._present = np.zeros(len(self.confusion), bool)
        if self._classes:
            t, p = self._multiclass(y_true, y_pred, self._classes)
        else:
            t, p = self._binary(y_true, y_pred)
        k = len(self.confusion)
        w = None
        if sample_weight is not None:
            w = broadcast_weight(sample_weight, t.shape, self.name).ravel()
            self._weighted = True
        t, p = t.ravel(), p.ravel()
        self.confusion += F.confusion_matrix(t, p, k, w)
        self._present |= (np.bincount(t, minlength=k) + np.bincount(p, minlength=k)) > 0

    def get_config(self):
        return {"name": self.name, "num_classes": self.num_classes, "threshold": self.threshold}


class _PrecisionRecallF1(_ConfusionCounts):
    _score = None  # 'precision', 'recall' or 'f1'

    def __init__(self, num_classes=None, average="auto", threshold=0.5, class_id=None,
                 name=None, dtype=None):
        if average not in F.AVERAGES + ("auto",):
            raise ValueError(f"{type(self).__name__}: average must be 'binary', 'micro', "
                             f"'macro', 'weighted', None or 'auto'; got {average!r}")
        if average == "binary" and num_classes not in (None, 2):
            raise ValueError(f"{type(self).__name__}: average='binary' needs two classes but "
                             f"num_classes={num_classes}; use 'macro', 'micro' or 'weighted'")
        self.average = average
        self.class_id = class_id
        super().__init__(num_classes=num_classes, threshold=threshold, name=name, dtype=dtype)

    def _average(self):
        if self.average != "auto":
            return self.average
        return "macro" if self._classes else "binary"

    def update_state(self, y_true, y_pred, sample_weight=None):
        if self.class_id is not None and not self.num_classes:
            # Keras: score one column of a multi-label problem
            y_true = to_numpy(y_true)[..., self.class_id]
            y_pred = to_numpy(y_pred)[..., self.class_id]
        super().update_state(y_true, y_pred, sample_weight)

    def result(self):
        if self.confusion is None:
            return as_result(0.0)
        if self.class_id is not None and self.num_classes:
            return as_result(F.precision_recall_f1(self.confusion, None)[self._score][self.class_id])
        average = self._average()
        if average == "binary" and len(self.confusion) != 2:
            raise ValueError(f"{self.name}: average='binary' needs two classes, but the scores "
                             f"have {len(self.confusion)}; use average='macro'")
        value = F.precision_recall_f1(self.confusion, average, self._present)[self._score]
        return value if average is None else as_result(value)

    def get_config(self):
        return {**super().get_config(), "average": self.average, "class_id": self.class_id}


class Precision(_PrecisionRecallF1):
    """Precision ``tp / (tp + fp)``, as ``sklearn.metrics.precision_score``.

    Binary (default): ``y_pred > threshold`` against ``y_true`` in {0, 1}, elementwise (Keras'
    ``Precision``; a multi-label (N, L) array counts every entry). ``class_id=j`` scores column
    j only. With ``num_classes=C``: one label per sample (see the module doc), averaged by
    ``average``: 'macro' (default then), 'micro', 'weighted', or None for a per-class array.
    Keras' ``thresholds`` (a single float) is accepted; ``top_k`` is not supported.

        m = Precision(num_classes=3)       # predicted classes (argmax): 0, 1, 2, 0
        m.update_state([0, 1, 2, 2], [[.8, .1, .1], [.2, .7, .1], [.1, .2, .7], [.6, .2, .2]])
        m.result()                         # classes 0, 1, 2: 1/2, 1/1, 1/1 -> macro 0.8333
    """

    _score = "precision"

    def __init__(self, thresholds=None, top_k=None, class_id=None, name="precision", dtype=None,
                 *, num_classes=None, average="auto"):
        if top_k is not None:
            raise ValueError(f"{type(self).__name__}: top_k is not supported; pass "
                             "num_classes=C for one label per sample by argmax, or use "
                             "SparseTopKCategoricalAccuracy")
        if thresholds is not None and np.ndim(thresholds):
            raise ValueError(f"{type(self).__name__}: one threshold only (a float); got "
                             f"{thresholds!r}. Make one metric per threshold")
        super().__init__(num_classes=num_classes, average=average,
                         threshold=0.5 if thresholds is None else float(thresholds),
                         class_id=class_id, name=name, dtype=dtype)

    def get_config(self):
        c = super().get_config()
        return {"thresholds": c.pop("threshold"), **c}


class Recall(Precision):
    """Recall ``tp / (tp + fn)``, as ``sklearn.metrics.recall_score``. Arguments as ``Precision``."""

    _score = "recall"

    def __init__(self, thresholds=None, top_k=None, class_id=None, name="recall", dtype=None,
                 *, num_classes=None, average="auto"):
        super().__init__(thresholds, top_k, class_id, name, dtype, num_classes=num_classes,
                         average=average)


class F1Score(_PrecisionRecallF1):
    """F1 ``2 tp / (2 tp + fp + fn)``, the harmonic mean of precision and recall; as sklearn's
    ``f1_score``.

    ``average``: 'macro' (default with several classes), 'micro', 'weighted', 'binary' (default
    for one output), None (a per-class array). ``threshold=None`` (default): class scores
    (N, C > 1) are read by argmax, one label per sample, and C is taken from them unless
    ``num_classes`` is given; one output per sample (N,) / (N, 1) is thresholded at 0.5.
    A float ``threshold`` without ``num_classes`` makes every entry a yes/no decision (multi-label).
    """

    _score = "f1"

    def __init__(self, average="auto", threshold=None, name="f1_score", dtype=None, *,
                 num_classes=None, class_id=None):
        self.argmax_if_scores = threshold is None
        super().__init__(num_classes=num_classes, average=average, threshold=threshold,
                         class_id=class_id, name=name, dtype=dtype)


class ConfusionMatrix(_ConfusionCounts):
    """(C, C) confusion matrix: ``result()[i, j]`` = samples of true class i predicted as j.

    As ``sklearn.metrics.confusion_matrix``: int64 counts, or float64 sums of ``sample_weight``
    once weights were given. Inputs as ``F1Score(num_classes=C)``: labels or one-hot y_true;
    scores (argmax), labels, or for C == 2 probabilities thresholded at ``threshold``.
    ``normalize``: None (counts), 'true' (each row sums to 1), 'pred' (each column), 'all'.
    """

    def __init__(self, num_classes, threshold=0.5, normalize=None, name="confusion_matrix",
                 dtype=None):
        if num_classes is None:
            raise ValueError("ConfusionMatrix: num_classes is required (use 2 for binary)")
        if normalize not in (None, "true", "pred", "all"):
            raise ValueError(f"ConfusionMatrix: normalize must be None, 'true', 'pred' or "
                             f"'all'; got {normalize!r}")
        self.normalize = normalize
        super().__init__(num_classes=num_classes, threshold=threshold, name=name, dtype=dtype)

    def result(self):
        cm = self.confusion.copy()
        if self.normalize == "true":
            cm = F.divide(cm, cm.sum(1, keepdims=True))
        elif self.normalize == "pred":
            cm = F.divide(cm, cm.sum(0, keepdims=True))
        elif self.normalize == "all":
            cm = F.divide(cm, cm.sum())
        elif not self._weighted:
            cm = cm.astype(np.int64)
        return cm

    def get_config(self):
        return {**super().get_config(), "normalize": self.normalize}


# === AUC =================================================================================

class AUC(Metric):
    """Area under the ROC curve, exact: the value of ``sklearn.metrics.roc_auc_score``.

    Keeps every score, label and weight of the epoch (about 24 bytes per prediction: a million
    predictions take 24 MB) and sorts them once in ``result()``; Keras instead counts
    ``num_thresholds`` buckets and returns an approximation, which is why
    ``num_thresholds``/``summation_method``/``thresholds`` are accepted and ignored here.

    Inputs: y_true in [0, 1] (soft labels count fractionally), y_pred any scores where higher
    means positive (probabilities or logits alike: the ROC curve depends only on the order, so
    ``from_logits`` changes nothing). Shapes:
      - binary: (N,) or (N, 1);
      - multi-label / one-hot (N, L): ``multi_label=False`` (default) flattens every entry into
        one binary problem (sklearn's ``average='micro'``), ``multi_label=True`` takes the mean
        of the per-label AUCs (sklearn's ``average='macro'``, weighted by ``label_weights``);
      - integer labels (N,) with scores (N, C): one-hot encoded first, so ``multi_label=True``
        is sklearn's ``multi_class='ovr'``.
    A problem with one class only has no ROC curve: the result is 0.0 (as in Keras) with a
    warning; with ``multi_label=True`` such labels are left out of the mean.
    """

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name="auc", dtype=None, thresholds=None, multi_label=False, num_labels=None,
                 label_weights=None, from_logits=False):
        if str(curve).upper() != "ROC":
            raise ValueError(f"AUC: curve={curve!r} is not supported; gradkit computes the exact "
                             "ROC AUC. For the area under precision-recall use "
                             "sklearn.metrics.average_precision_score")
        self.multi_label = bool(multi_label)
        self.num_labels = num_labels
        self.label_weights = None if label_weights is None else np.asarray(label_weights, np.float64)
        self.from_logits = from_logits
        super().__init__(name=name, dtype=dtype)

    def reset_state(self):
        self._scores, self._labels, self._weights = [], [], []

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = to_numpy(y_true), to_numpy(y_pred)
        check_finite(y_pred, self.name, "y_pred")
        check_finite(y_true, self.name, "y_true")
        if y_pred.ndim >= 2 and y_pred.shape[-1] > 1:  # class scores: are the labels integers?
            if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
                y_true = y_true[..., 0]
            if y_true.ndim == y_pred.ndim - 1:
                labels = check_labels(y_true, y_pred.shape[-1], self.name, "y_true")
                y_true = np.eye(y_pred.shape[-1])[labels]  # -> one-hot
        y_true, y_pred = same_rank(y_true, y_pred)
        check_same_shape(y_true, y_pred, self.name)
        if y_true.size and (y_true.min() < 0 or y_true.max() > 1):
            raise ValueError(f"{self.name}: y_true must lie in [0, 1] (1 = positive); got values "
                             f"in [{y_true.min()}, {y_true.max()}]. For class labels with "
                             f"scores (N, C) pass y_true as (N,) integers")
        if self.multi_label and y_pred.ndim != 2:
            raise ValueError(f"{self.name}: multi_label=True expects (N, L) arrays; got {y_pred.shape}")
        if self.num_labels is not None and y_pred.shape[-1] != self.num_labels:
            raise ValueError(f"{self.name}: num_labels={self.num_labels} but y_pred has shape "
                             f"{y_pred.shape}")
        w = np.ones(y_pred.shape) if sample_weight is None else \
            broadcast_weight(sample_weight, y_pred.shape, self.name)
        if self.label_weights is not None and not self.multi_label:
            w = w * self.label_weights
        if not self.multi_label:
            y_true, y_pred, w = y_true.ravel(), y_pred.ravel(), w.ravel()
        self._labels.append(y_true.astype(np.float64))
        self._scores.append(y_pred.astype(np.float64))
        self._weights.append(np.array(w, np.float64))

    def _stacked(self):
        if len(self._scores) > 1:  # concatenate once, so that repeated result() calls are cheap
            self._labels, self._scores, self._weights = (
                [np.concatenate(a)] for a in (self._labels, self._scores, self._weights))
        return self._labels[0], self._scores[0], self._weights[0]

    def result(self):
        if not self._scores:
            return as_result(0.0)
        y, s, w = self._stacked()
        if not self.multi_label:
            auc = F.roc_auc(y, s, w)
            if np.isnan(auc):
                warnings.warn(f"{self.name}: y_true holds only one class so far, the ROC AUC is "
                              "undefined; returning 0.0", RuntimeWarning, stacklevel=2)
                return as_result(0.0)
            return as_result(auc)
        aucs = np.array([F.roc_auc(y[:, j], s[:, j], w[:, j]) for j in range(s.shape[1])])
        defined = ~np.isnan(aucs)
        if not defined.all():
            warnings.warn(f"{self.name}: labels {np.flatnonzero(~defined).tolist()} hold only one "
                          "class so far and are left out of the mean AUC", RuntimeWarning,
                          stacklevel=2)
        if not defined.any():
            return as_result(0.0)
        lw = np.ones(len(aucs)) if self.label_weights is None else self.label_weights
        return as_result(float(np.average(aucs[defined], weights=lw[defined])))

    def get_config(self):
        lw = None if self.label_weights is None else self.label_weights.tolist()
        return {"name": self.name, "multi_label": self.multi_label, "num_labels": self.num_labels,
                "label_weights": lw, "from_logits": self.from_logits}
