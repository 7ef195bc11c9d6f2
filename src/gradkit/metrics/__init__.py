"""Stateful metrics shared by both dialects: accumulate over batches, read once per epoch.

    import gradkit.metrics as M
    acc = M.SparseCategoricalAccuracy()
    for x, y in loader:                       # PyTorch-style loop
        acc.update(model(x), y)               #   torchmetrics order: preds, target
    print(acc.compute()); acc.reset()
    acc.update_state(y, model(x))             # Keras order: y_true, y_pred, sample_weight
    acc.result(); acc.reset_state()

Inputs are gradkit Tensors, NumPy arrays or lists; results are Python floats (arrays for
``ConfusionMatrix`` and ``average=None``). ``get('mae')`` turns the strings of
``compile(metrics=[...])`` into metrics; ``resolve_accuracy`` does what Keras does with the
string ``'accuracy'``. See docs/metrics.md.
"""
import difflib

from . import functional
from .base import Mean, MeanMetricWrapper, Metric
from .classification import (
    AUC,
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    ConfusionMatrix,
    F1Score,
    Precision,
    Recall,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
)
from .regression import MeanAbsoluteError, MeanSquaredError, R2Score, RootMeanSquaredError

MAE = MeanAbsoluteError
MSE = MeanSquaredError
RMSE = RootMeanSquaredError

__all__ = ["Metric", "Mean", "MeanMetricWrapper", "Accuracy", "BinaryAccuracy",
           "CategoricalAccuracy", "SparseCategoricalAccuracy", "TopKCategoricalAccuracy",
           "SparseTopKCategoricalAccuracy", "Precision", "Recall", "F1Score", "AUC",
           "ConfusionMatrix", "MeanAbsoluteError", "MeanSquaredError", "RootMeanSquaredError",
           "R2Score", "MAE", "MSE", "RMSE", "get", "resolve_accuracy", "functional"]

# the strings compile(metrics=[...]) accepts; the metric is named by the string given
_BY_STRING = {
    "accuracy": Accuracy, "acc": Accuracy,
    "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "precision": Precision, "recall": Recall,
    "f1": F1Score, "f1_score": F1Score,
    "auc": AUC,
    "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "rmse": RootMeanSquaredError, "root_mean_squared_error": RootMeanSquaredError,
    "r2": R2Score, "r2_score": R2Score,
}
_CLASSES = {cls.__name__: cls for cls in (
    Mean, Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
    TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, Precision, Recall, F1Score, AUC,
    ConfusionMatrix, MeanAbsoluteError, MeanSquaredError, RootMeanSquaredError, R2Score)}
_BY_FUNCTION = {
    functional.accuracy: Accuracy, functional.binary_accuracy: BinaryAccuracy,
    functional.categorical_accuracy: CategoricalAccuracy,
    functional.sparse_categorical_accuracy: SparseCategoricalAccuracy,
    functional.top_k_categorical_accuracy: TopKCategoricalAccuracy,
    functional.sparse_top_k_categorical_accuracy: SparseTopKCategoricalAccuracy,
    functional.mean_absolute_error: MeanAbsoluteError,
    functional.mean_squared_error: MeanSquaredError,
}


def get(identifier):
    """A metric from a string, a class, a config dict, a function, or a metric (returned as is).

        get('mae')                 -> MeanAbsoluteError(name='mae')  (logs key 'mae')
        get('MeanAbsoluteError')   -> MeanAbsoluteError()            (name 'mean_absolute_error')
        get(my_fn)                 -> MeanMetricWrapper(my_fn): the weighted mean of my_fn(y_true, y_pred)

    A string is named as given, as Keras names ``compile(metrics=['mae'])`` 'mae'. The string
    ``'accuracy'`` gives exact-match ``Accuracy``; ``compile`` resolves it first with
    ``resolve_accuracy``, as Keras does.
    """
    if identifier is None or isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, dict) and "class_name" in identifier:
        cls = _CLASSES.get(identifier["class_name"])
        if cls is None:
            raise ValueError(f"metrics.get: unknown metric class {identifier['class_name']!r}; "
                             f"known: {sorted(_CLASSES)}")
        return cls.from_config(identifier.get("config", {}))
    if isinstance(identifier, str):
        if identifier in _CLASSES:
            return _CLASSES[identifier]()
        cls = _BY_STRING.get(identifier.lower())
        if cls is not None:
            return cls(name=identifier)
        close = difflib.get_close_matches(identifier.lower(), list(_BY_STRING), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"Unknown metric {identifier!r}.{hint} Known names: "
                         f"{', '.join(sorted(_BY_STRING))}; or the classes "
                         f"{', '.join(sorted(_CLASSES))}; or pass a Metric or a function "
                         "fn(y_true, y_pred) returning one value per sample")
    if callable(identifier):
        cls = _BY_FUNCTION.get(identifier)
        if cls is not None:
            return cls(name=identifier.__name__)
        return MeanMetricWrapper(identifier)
    raise TypeError(f"metrics.get: cannot make a metric from {identifier!r} of type "
                    f"{type(identifier).__name__}; pass a name such as 'accuracy', a Metric, "
                    "or a function fn(y_true, y_pred)")


# === compile(metrics=['accuracy']) =======================================================

def _loss_names(loss):
    if loss is None:
        return set()
    if isinstance(loss, str):
        names = {loss}
    else:
        names = {type(loss).__name__, getattr(loss, "__name__", ""), getattr(loss, "name", "")}
    return {str(n).lower().replace("_", "") for n in names if isinstance(n, str) and n}


def _shape(s):
    return tuple(int(d) for d in (s.shape if hasattr(s, "shape") else s))


def resolve_accuracy(loss, y_true_shape, y_pred_shape, name="accuracy"):
    """The metric Keras means by ``'accuracy'`` (or ``'acc'``) for this loss and these shapes.

    The rule (Keras 3's ``compile_utils.get_metric``, plus the loss and 1-D outputs):
      1. binary -> ``BinaryAccuracy`` when y_pred has one output per sample (shape (N,) or last
         dimension 1) or the loss is a binary cross-entropy ('binary_crossentropy', 'bce',
         ``BinaryCrossentropy``, ``BinaryFocalCrossentropy``, ``nn.BCELoss``,
         ``nn.BCEWithLogitsLoss``). Threshold 0.5, or 0.0 when the loss takes logits
         (``from_logits=True`` or a with-logits loss).
      2. sparse -> ``SparseCategoricalAccuracy`` when y_true has one dimension fewer than
         y_pred, or its last dimension is 1 while y_pred's is larger (integer labels).
      3. otherwise ``CategoricalAccuracy`` (one-hot labels).
    ``loss``: a string, a loss object or function, or None. The shapes: tuples or arrays. The
    metric is named ``name`` (the string the user wrote, 'accuracy' or 'acc').

        resolve_accuracy('sparse_categorical_crossentropy', (32,), (32, 10))  # sparse
    """
    yt, yp = _shape(y_true_shape), _shape(y_pred_shape)
    names = _loss_names(loss)
    binary_loss = any("binarycrossentropy" in n or "binaryfocal" in n or n.startswith("bce")
                      for n in names)
    if len(yp) <= 1 or yp[-1] == 1 or binary_loss:
        logits = bool(getattr(loss, "from_logits", False)) or any("withlogits" in n for n in names)
        return BinaryAccuracy(name=name, threshold=0.0 if logits else 0.5)
    if len(yt) < len(yp) or (len(yt) >= 1 and yt[-1] == 1 and yp[-1] > 1):
        return SparseCategoricalAccuracy(name=name)
    return CategoricalAccuracy(name=name)
