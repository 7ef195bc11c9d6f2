"""Regression metrics.

    MeanAbsoluteError  MeanSquaredError      running means of a per-sample error
    RootMeanSquaredError                     the square root of the running MSE
    R2Score                                  coefficient of determination, per output, merged
                                             batch by batch (memory: a few numbers per output)

Shapes: y_true and y_pred (N,) or (N, D); (N,) against (N, 1) is accepted (a ``Dense(1)``
output against 1-D targets) and never broadcast into (N, N). A sample's error is the mean
over its D outputs; ``sample_weight`` weights samples.
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
    check_same_shape,
    same_rank,
    to_numpy,
)

__all__ = ["MeanAbsoluteError", "MeanSquaredError", "RootMeanSquaredError", "R2Score"]


class MeanAbsoluteError(MeanMetricWrapper):
    """``sum_i w_i mean_d |y_pred - y_true| / sum_i w_i``; sklearn's ``mean_absolute_error``."""

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(F.mean_absolute_error, name=name, dtype=dtype)


class MeanSquaredError(MeanMetricWrapper):
    """``sum_i w_i mean_d (y_pred - y_true)² / sum_i w_i``; sklearn's ``mean_squared_error``."""

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(F.mean_squared_error, name=name, dtype=dtype)


class RootMeanSquaredError(MeanMetricWrapper):
    """``sqrt(MSE)`` of the whole epoch (not the mean of per-batch roots).

    With several outputs this is the root of the mean over all outputs, as Keras computes it;
    sklearn's ``root_mean_squared_error`` averages per-output roots instead (same for one output).
    """

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(F.mean_squared_error, name=name, dtype=dtype)

    def result(self):
        return as_result(np.sqrt(super().result()))


class R2Score(Metric):
    """R² = 1 - SS_res / SS_tot per output, as ``sklearn.metrics.r2_score``.

        SS_res = sum_i w_i (y_i - ŷ_i)²        SS_tot = sum_i w_i (y_i - ȳ_w)²

    SS_tot needs the mean of all targets, which is known only at the end; each batch's weighted
    mean and sum of squared deviations are merged into the running ones (Chan et al.'s parallel
    variance), which stays exact where ``sum y² - (sum y)² / n`` would cancel catastrophically.
    An output with SS_tot = 0 scores 1.0 if predicted exactly, else 0.0 (sklearn's default).

    ``class_aggregation``: 'uniform_average' (mean over outputs, default),
    'variance_weighted_average' (weighted by SS_tot), or None (one value per output, an array).
    ``num_regressors`` > 0 gives the adjusted R², ``1 - (1 - R²)(n - 1) / (n - p - 1)``.
    """

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score",
                 dtype=None):
        if class_aggregation not in ("uniform_average", "variance_weighted_average", None):
            raise ValueError("R2Score: class_aggregation must be 'uniform_average', "
                             f"'variance_weighted_average' or None; got {class_aggregation!r}")
        if int(num_regressors) != num_regressors or num_regressors < 0:
            raise ValueError(f"R2Score: num_regressors must be an integer >= 0; got {num_regressors!r}")
        self.class_aggregation = class_aggregation
        self.num_regressors = int(num_regressors)
        super().__init__(name=name, dtype=dtype)

    def reset_state(self):
        self.num_samples = 0
        self.weight = self.mean = self.m2 = self.ss_res = None  # per output, from the first batch

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = same_rank(to_numpy(y_true), to_numpy(y_pred))
        check_same_shape(y_true, y_pred, self.name)
        check_finite(y_pred, self.name, "y_pred")
        check_finite(y_true, self.name, "y_true")
        if y_true.ndim not in (1, 2):
            raise ValueError(f"{self.name}: expected (N,) or (N, num_outputs); got {y_true.shape}")
        y, p = (a.astype(np.float64)[:, None] if a.ndim == 1 else a.astype(np.float64)
                for a in (y_true, y_pred))
        w = np.ones_like(y) if sample_weight is None else \
            broadcast_weight(sample_weight, y.shape, self.name)
        if self.mean is not None and y.shape[1] != self.mean.shape[0]:
            raise ValueError(f"{self.name}: this batch has {y.shape[1]} outputs, earlier ones "
                             f"had {self.mean.shape[0]}")
        wb = w.sum(0)
        mean_b = np.divide((w * y).sum(0), wb, out=np.zeros_like(wb), where=wb > 0)
        m2_b = (w * (y - mean_b) ** 2).sum(0)
        res_b = (w * (y - p) ** 2).sum(0)
        if self.mean is None:
            self.weight, self.mean, self.m2, self.ss_res = wb, mean_b, m2_b, res_b
        else:
            total = self.weight + wb
            delta = mean_b - self.mean
            share = np.divide(wb, total, out=np.zeros_like(wb), where=total > 0)
            self.m2 = self.m2 + m2_b + delta ** 2 * self.weight * share
            self.mean = self.mean + delta * share
            self.weight, self.ss_res = total, self.ss_res + res_b
        self.num_samples += len(y)

    def result(self):
        if self.mean is None:
            return as_result(0.0)
        defined = self.m2 > 0
        r2 = np.where(defined, 1.0 - np.divide(self.ss_res, self.m2, out=np.zeros_like(self.m2),
                                               where=defined),
                      np.where(self.ss_res > 0, 0.0, 1.0))
        if self.class_aggregation is None:
            return self._adjust(r2)
        if self.class_aggregation == "variance_weighted_average":
            value = float(np.average(r2, weights=self.m2)) if defined.any() else float(r2.all())
        else:
            value = float(r2.mean())
        return as_result(self._adjust(value))

    def _adjust(self, r2):
        p, n = self.num_regressors, self.num_samples
        if not p:
            return r2
        if n - p - 1 <= 0:
            warnings.warn(f"{self.name}: the adjusted R² needs more samples ({n}) than "
                          f"num_regressors + 1 ({p + 1}); returning the plain R²", RuntimeWarning,
                          stacklevel=3)
            return r2
        return 1.0 - (1.0 - r2) * (n - 1) / (n - p - 1)

    def get_config(self):
        return {"name": self.name, "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}
