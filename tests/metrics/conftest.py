"""Shared helper for the metric tests: feed a metric in uneven batches, through either API."""
import itertools

import numpy as np
import pytest

import gradkit as gk

# uneven batch edges, as fractions of N; 0.40 -> 0.40 makes an empty batch on purpose
CUTS = (0.07, 0.40, 0.40, 0.41, 0.83)


def _wrap(a, kind):
    if a is None or kind == "numpy":
        return a
    if kind == "tensor":
        return gk.tensor(np.ascontiguousarray(a))
    return a.tolist()


def feed_batches(metric, y_true, y_pred, sample_weight=None, api="keras", kind="numpy"):
    """Accumulate (y_true, y_pred[, w]) in uneven batches and return the metric's result."""
    n = len(y_true)
    edges = [0] + [int(c * n) for c in CUTS] + [n]
    for a, b in itertools.pairwise(edges):
        if a == b and kind == "list":
            continue  # [] has lost the (0, C) shape an empty array keeps
        yt, yp = _wrap(y_true[a:b], kind), _wrap(y_pred[a:b], kind)
        w = None if sample_weight is None else sample_weight[a:b]
        if api == "keras":
            metric.update_state(yt, yp, sample_weight=w)
        else:
            metric.update(yp, yt, sample_weight=w)
    return metric.result() if api == "keras" else metric.compute()


@pytest.fixture
def feed():
    return feed_batches


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
