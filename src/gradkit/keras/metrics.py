"""``keras.metrics``: the stateful metrics of ``gradkit.metrics``, under Keras' names.

Nothing is re-implemented here: every class is gradkit.metrics' (``update_state(y_true,
y_pred, sample_weight)``, ``result()``, ``reset_state()``), and ``get`` turns the strings of
``compile(metrics=[...])`` into them. The string 'accuracy' is resolved by ``compile`` from
the loss and the shapes (``resolve_accuracy``), as Keras does.
"""
from ..metrics import *  # noqa: F401,F403  the metric classes, listed in gradkit.metrics.__all__
from ..metrics import __all__ as _names
from ..metrics import get, resolve_accuracy  # noqa: F401
from ..metrics import functional as _functional

# Keras' metric functions: keras.metrics.sparse_categorical_accuracy(y_true, y_pred), ...
# (mae and mse: Keras 2's short names of the same functions)
_FUNCTIONS = ("accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
              "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy",
              "mean_absolute_error", "mean_squared_error", "mae", "mse")
for _name in _FUNCTIONS:
    globals()[_name] = getattr(_functional, _name)

__all__ = list(_names) + list(_FUNCTIONS)
