"""Stateless metric math on NumPy arrays: what the stateful classes accumulate.

    accuracy  binary_accuracy  categorical_accuracy  sparse_categorical_accuracy
    top_k_categorical_accuracy  sparse_top_k_categorical_accuracy
    mean_absolute_error (mae)  mean_squared_error (mse)
                                 per-sample values, Keras' functions of the same names
    confusion_matrix             (C, C) weighted counts, rows = true class, columns = predicted
    precision_recall_f1          the three scores, averaged, from a confusion matrix
    roc_auc                      exact area under the ROC curve of one binary problem

The per-sample functions take ``(y_true, y_pred)`` in Keras' order and return one value per
sample (shape ``(N,)``, or the elementwise shape for ``accuracy``/``binary_accuracy``); a metric
class averages them over the epoch, weighted by ``sample_weight``.
"""
import numpy as np

from .base import check_labels, check_same_shape, divide, same_rank, to_numpy

__all__ = ["accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
           "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy",
           "mean_absolute_error", "mean_squared_error", "mae", "mse",
           "confusion_matrix", "precision_recall_f1", "roc_auc"]


# === accuracies: 1.0 where right, 0.0 where wrong =======================================

def accuracy(y_true, y_pred):
    """Exact match, elementwise: ``y_true == y_pred``. For labels against labels."""
    y_true, y_pred = same_rank(to_numpy(y_true), to_numpy(y_pred))
    check_same_shape(y_true, y_pred, "accuracy",
                     "; for class scores use categorical or sparse_categorical accuracy")
    return (y_true == y_pred).astype(np.float64)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """``y_true == (y_pred > threshold)`` elementwise; y_true holds 0/1. Logits: threshold=0."""
    y_true, y_pred = same_rank(to_numpy(y_true), to_numpy(y_pred))
    check_same_shape(y_true, y_pred, "binary_accuracy")
    return (y_true == (y_pred > threshold)).astype(np.float64)


def categorical_accuracy(y_true, y_pred):
    """``argmax(y_true) == argmax(y_pred)`` per sample. y_true one-hot (N, C), y_pred (N, C)."""
    y_true, y_pred = to_numpy(y_true), to_numpy(y_pred)
    if y_true.shape != y_pred.shape:
        hint = ""
        if y_true.ndim == y_pred.ndim - 1 or (y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1):
            hint = ("; y_true looks like integer class labels: use SparseCategoricalAccuracy "
                    "(or one-hot encode the labels)")
        check_same_shape(y_true, y_pred, "categorical_accuracy", hint)
    return (y_true.argmax(-1) == y_pred.argmax(-1)).astype(np.float64)


def _sparse_labels(y_true, y_pred, who):
    """y_true (N,) or (N, 1) integer labels against scores (N, C) -> int labels of shape (N,)."""
    if y_pred.ndim == 0:
        raise ValueError(f"{who}: y_pred must hold class scores of shape (N, C); got {y_pred.shape}")
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    if y_true.shape != y_pred.shape[:-1]:
        hint = ""
        if y_true.shape == y_pred.shape:
            hint = ("; y_true looks one-hot: use CategoricalAccuracy (or pass argmax(y_true, -1))")
        raise ValueError(f"{who}: y_true must hold one integer label per sample, shape "
                         f"{y_pred.shape[:-1]} (or {y_pred.shape[:-1] + (1,)}) for y_pred "
                         f"{y_pred.shape}; got y_true {y_true.shape}{hint}")
    return check_labels(y_true, y_pred.shape[-1], who, "y_true")


def sparse_categorical_accuracy(y_true, y_pred):
    """``y_true == argmax(y_pred)`` per sample. y_true (N,) integer labels, y_pred (N, C)."""
    y_true, y_pred = to_numpy(y_true), to_numpy(y_pred)
    labels = _sparse_labels(y_true, y_pred, "sparse_categorical_accuracy")
    return (labels == y_pred.argmax(-1)).astype(np.float64)


def _in_top_k(labels, y_pred, k):
    # the true class is in the top k when fewer than k classes score strictly higher
    # (tf.math.in_top_k; a tie at the boundary counts as a hit)
    true_score = np.take_along_axis(y_pred, labels[..., None], axis=-1)
    return ((y_pred > true_score).sum(-1) < k).astype(np.float64)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the true class (one-hot y_true) is among the k highest scores of y_pred (N, C)."""
    y_true, y_pred = to_numpy(y_true), to_numpy(y_pred)
    check_same_shape(y_true, y_pred, "top_k_categorical_accuracy",
                     "; for integer labels use SparseTopKCategoricalAccuracy")
    return _in_top_k(y_true.argmax(-1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the label y_true (N,) is among the k highest scores of y_pred (N, C)."""
    y_true, y_pred = to_numpy(y_true), to_numpy(y_pred)
    return _in_top_k(_sparse_labels(y_true, y_pred, "sparse_top_k_categorical_accuracy"), y_pred, k)


# === regression errors ===================================================================

def _difference(y_true, y_pred, who):
    y_true, y_pred = same_rank(to_numpy(y_true), to_numpy(y_pred))
    check_same_shape(y_true, y_pred, who)
    return y_pred.astype(np.float64) - y_true


def _per_sample(e):
    return e if e.ndim <= 1 else e.mean(axis=tuple(range(1, e.ndim)))


def mean_absolute_error(y_true, y_pred):
    """``mean(|y_pred - y_true|)`` over each sample's outputs -> (N,)."""
    return _per_sample(np.abs(_difference(y_true, y_pred, "mean_absolute_error")))


def mean_squared_error(y_true, y_pred):
    """``mean((y_pred - y_true)²)`` over each sample's outputs -> (N,)."""
    return _per_sample(np.square(_difference(y_true, y_pred, "mean_squared_error")))


mae = mean_absolute_error
mse = mean_squared_error


# === confusion matrix and the scores read from it ========================================

def confusion_matrix(y_true, y_pred, num_classes, sample_weight=None):
    """(C, C) matrix of summed weights: ``cm[i, j]`` = weight of samples of class i predicted j.

    y_true, y_pred: integer labels in ``[0, num_classes)`` of the same shape; one ``bincount``.
    """
    t = np.asarray(y_true, np.int64).ravel()
    p = np.asarray(y_pred, np.int64).ravel()
    w = None if sample_weight is None else np.asarray(sample_weight, np.float64).ravel()
    cm = np.bincount(t * num_classes + p, weights=w, minlength=num_classes * num_classes)
    return cm.reshape(num_classes, num_classes)


AVERAGES = ("binary", "micro", "macro", "weighted", None)


def precision_recall_f1(cm, average, present=None):
    """``{'precision', 'recall', 'f1'}`` from confusion matrix ``cm``, as scikit-learn averages.

    Per class c:  tp = cm[c, c],  fp = column sum - tp,  fn = row sum - tp
        precision = tp / (tp + fp)   recall = tp / (tp + fn)   f1 = 2 tp / (2 tp + fp + fn)
    each 0 where its denominator is 0 (sklearn's ``zero_division=0``). Averages:
        'binary'    class 1's scores
        'micro'     scores of the summed tp, fp, fn (for single-label classes: the accuracy)
        'macro'     unweighted mean over the classes seen in y_true or y_pred (``present``)
        'weighted'  mean weighted by each class's support (its row sum)
        None        one score per class, an array
    """
    cm = np.asarray(cm, np.float64)
    tp = np.diag(cm)
    fp = cm.sum(0) - tp
    fn = cm.sum(1) - tp
    if average == "micro":
        tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
    scores = {"precision": divide(tp, tp + fp), "recall": divide(tp, tp + fn),
              "f1": divide(2 * tp, 2 * tp + fp + fn)}
    if average == "micro" or average is None:
        return scores
    if average == "binary":
        return {k: v[1] for k, v in scores.items()}
    if average == "macro":
        keep = (tp + fp + fn > 0) if present is None else present
        weights = keep.astype(np.float64)
    elif average == "weighted":
        weights = tp + fn
    else:
        raise ValueError(f"average must be one of {AVERAGES}; got {average!r}")
    total = weights.sum()
    return {k: (float(v @ weights / total) if total else 0.0) for k, v in scores.items()}


# === ROC AUC =============================================================================

def roc_auc(y_true, y_score, sample_weight=None):
    """Exact area under the ROC curve; the same value as ``sklearn.metrics.roc_auc_score``.

    y_true: (N,) in [0, 1] (1 = positive; a soft label counts as that fraction of a positive);
    y_score: (N,) any real scores, higher = more positive. Sort by score, descending; at each
    distinct score the cumulative true and false positives give one ROC point
    (fpr, tpr) = (fp / fp_total, tp / tp_total); the area is the trapezoid sum, so tied
    scores contribute half, as in the Mann-Whitney U statistic. Returns ``nan`` when y_true
    holds only one class (the curve is undefined).
    """
    y_true = np.asarray(y_true, np.float64).ravel()
    y_score = np.asarray(y_score, np.float64).ravel()
    w = np.ones_like(y_true) if sample_weight is None else np.asarray(sample_weight, np.float64).ravel()
    order = np.argsort(-y_score, kind="mergesort")
    y_score, pos, w = y_score[order], y_true[order], w[order]
    last_of_each_score = np.r_[np.flatnonzero(np.diff(y_score)), y_score.size - 1]
    tps = np.cumsum(pos * w)[last_of_each_score]
    fps = np.cumsum((1.0 - pos) * w)[last_of_each_score]
    if tps.size == 0 or tps[-1] <= 0 or fps[-1] <= 0:
        return float("nan")
    tpr = np.r_[0.0, tps / tps[-1]]
    fpr = np.r_[0.0, fps / fps[-1]]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1])) / 2.0)
