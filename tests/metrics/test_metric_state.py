"""A metric's running state survives a checkpoint: state_dict() after some batches, saved with
gk.save, loaded into a fresh metric, and the next batches give the same result as without the
interruption (fit restores these for an epoch resumed in its middle)."""
import numpy as np
import pytest

import gradkit as gk
from gradkit import metrics

rng = np.random.default_rng(0)
Y_CLASS = rng.integers(0, 4, 60)
P_CLASS = rng.dirichlet(np.ones(4), 60).astype(np.float32)
Y_BIN = rng.integers(0, 2, 60).astype(np.float32)
P_BIN = rng.random(60).astype(np.float32)
Y_REG = rng.standard_normal((60, 2)).astype(np.float32)
P_REG = (Y_REG + 0.3 * rng.standard_normal((60, 2))).astype(np.float32)

CASES = [
    (lambda: metrics.SparseCategoricalAccuracy(), Y_CLASS, P_CLASS),
    (lambda: metrics.Precision(), Y_BIN, P_BIN),
    (lambda: metrics.F1Score(average="macro"), np.eye(4)[Y_CLASS], P_CLASS),
    (lambda: metrics.AUC(), Y_BIN, P_BIN),
    (lambda: metrics.R2Score(), Y_REG, P_REG),
    (lambda: metrics.MeanSquaredError(), Y_REG, P_REG),
]


@pytest.mark.parametrize("make, y, p", CASES)
def test_a_metric_resumed_from_its_state_gives_the_uninterrupted_result(make, y, p, tmp_path):
    whole, first = make(), make()
    for i in range(0, 60, 20):
        whole.update_state(y[i:i + 20], p[i:i + 20])
    first.update_state(y[:20], p[:20])
    gk.save(first.state_dict(), tmp_path / "m.safetensors")
    resumed = make()
    resumed.update_state(y[40:], p[40:])  # stale state, replaced by the load
    resumed.load_state_dict(gk.load(tmp_path / "m.safetensors"))
    for i in range(20, 60, 20):
        resumed.update_state(y[i:i + 20], p[i:i + 20])
    assert np.array_equal(np.asarray(resumed.result()), np.asarray(whole.result()))


def test_the_state_holds_the_running_values_not_the_configuration():
    m = metrics.Mean()
    assert m.state_dict() == {} or set(m.state_dict()) <= {"total", "count"}
    m.update_state([1.0, 3.0])
    assert m.state_dict() == {"total": 4.0, "count": 2.0}
    assert "name" not in m.state_dict()
