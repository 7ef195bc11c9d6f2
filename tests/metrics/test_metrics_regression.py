"""Regression metrics and Mean against scikit-learn and Keras' documented values."""
import numpy as np
import pytest
from sklearn import metrics as skm

import gradkit.metrics as M

N = 203


@pytest.fixture
def data(rng):
    y = rng.normal(3.0, 2.0, (N, 3))
    p = y + rng.normal(0.0, 1.0, (N, 3)) * np.array([0.5, 1.0, 3.0])
    return y, p, rng.uniform(0.1, 2.0, N)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("kind", ["numpy", "tensor"])
def test_mae_mse_rmse_equal_sklearn_for_one_output(feed, data, weighted, kind):
    y, p, w = data
    y, p, w = y[:, 0], p[:, :1], (w if weighted else None)  # (N,) targets, (N, 1) outputs (Dense(1))
    assert feed(M.MeanAbsoluteError(), y, p, w, kind=kind) == pytest.approx(
        skm.mean_absolute_error(y, p[:, 0], sample_weight=w), rel=1e-12)
    assert feed(M.MeanSquaredError(), y, p, w, kind=kind) == pytest.approx(
        skm.mean_squared_error(y, p[:, 0], sample_weight=w), rel=1e-12)
    assert feed(M.RootMeanSquaredError(), y, p, w, kind=kind) == pytest.approx(
        skm.root_mean_squared_error(y, p[:, 0], sample_weight=w), rel=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_mae_mse_of_several_outputs_equal_sklearn_uniform_average(feed, data, weighted):
    y, p, w = data
    w = w if weighted else None
    assert feed(M.MeanAbsoluteError(), y, p, w) == pytest.approx(
        skm.mean_absolute_error(y, p, sample_weight=w), rel=1e-12)
    mse = skm.mean_squared_error(y, p, sample_weight=w)
    assert feed(M.MeanSquaredError(), y, p, w) == pytest.approx(mse, rel=1e-12)
    # Keras' RMSE is the root of the mean over all outputs; sklearn's averages per-output roots
    assert feed(M.RootMeanSquaredError(), y, p, w) == pytest.approx(np.sqrt(mse), rel=1e-12)
    assert np.sqrt(mse) != pytest.approx(skm.root_mean_squared_error(y, p, sample_weight=w), rel=1e-3)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("aggregation, multioutput", [
    ("uniform_average", "uniform_average"), ("variance_weighted_average", "variance_weighted"),
    (None, "raw_values")])
def test_r2_equals_sklearn(feed, data, weighted, aggregation, multioutput):
    y, p, w = data
    w = w if weighted else None
    got = feed(M.R2Score(class_aggregation=aggregation), y, p, w)
    np.testing.assert_allclose(got, skm.r2_score(y, p, sample_weight=w, multioutput=multioutput),
                               rtol=1e-10)
    assert feed(M.R2Score(), y[:, 1], p[:, 1:2], w) == pytest.approx(
        skm.r2_score(y[:, 1], p[:, 1], sample_weight=w), rel=1e-10)


def test_r2_stays_exact_for_targets_far_from_zero(feed, rng):
    # sum(y²) - sum(y)²/n would lose every digit here; the merged variances do not
    y = 1e8 + rng.normal(0.0, 1.0, N)
    p = y + rng.normal(0.0, 0.3, N)
    assert feed(M.R2Score(), y, p) == pytest.approx(skm.r2_score(y, p), rel=1e-6)


def test_r2_constant_target_and_adjusted(feed, rng):
    y = np.full(10, 2.0)
    assert feed(M.R2Score(), y, y) == 1.0  # sklearn: perfect prediction of a constant
    assert feed(M.R2Score(), y, y + 1.0) == 0.0
    yv = rng.normal(size=N)
    pv = yv + rng.normal(size=N) * 0.5
    r2 = skm.r2_score(yv, pv)
    got = feed(M.R2Score(num_regressors=4), yv, pv)
    assert got == pytest.approx(1 - (1 - r2) * (N - 1) / (N - 4 - 1), rel=1e-10)


# === Keras' documented examples (keras.io/api/metrics) =====================================

def test_keras_documented_values():
    m = M.Mean()
    m.update_state([1, 3, 5, 7])
    assert m.result() == 4.0
    m.reset_state()
    m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    assert m.result() == 2.0

    m = M.Accuracy()
    m.update_state([[1], [2], [3], [4]], [[0], [2], [3], [4]])
    assert m.result() == 0.75
    m.reset_state()
    m.update_state([[1], [2], [3], [4]], [[0], [2], [3], [4]], sample_weight=[1, 1, 0, 0])
    assert m.result() == 0.5

    m = M.BinaryAccuracy()
    m.update_state([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]])
    assert m.result() == 0.75
    m.reset_state()
    m.update_state([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]], sample_weight=[1, 0, 0, 1])
    assert m.result() == 0.5

    for cls, y_true in ((M.CategoricalAccuracy, [[0, 0, 1], [0, 1, 0]]),
                        (M.SparseCategoricalAccuracy, [[2], [1]])):
        m = cls()
        m.update_state(y_true, [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
        assert m.result() == 0.5
        m.reset_state()
        m.update_state(y_true, [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], sample_weight=[0.7, 0.3])
        assert m.result() == pytest.approx(0.3)

    m = M.TopKCategoricalAccuracy(k=1)
    m.update_state([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    assert m.result() == 0.5

    for cls in (M.Precision, M.Recall):
        m = cls()
        m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
        assert m.result() == pytest.approx(2 / 3)
        m.reset_state()
        m.update_state([0, 1, 1, 1], [1, 0, 1, 1], sample_weight=[0, 0, 1, 0])
        assert m.result() == 1.0

    m = M.AUC()
    m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    assert m.result() == 0.75

    m = M.MeanAbsoluteError()
    m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]])
    assert m.result() == 0.25
    m.reset_state()
    m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]], sample_weight=[1, 0])
    assert m.result() == 0.5

    m = M.RootMeanSquaredError()
    m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]])
    assert m.result() == 0.5
    m.reset_state()
    m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]], sample_weight=[1, 0])
    assert m.result() == pytest.approx(0.70710677)

    m = M.R2Score()
    m.update_state(np.array([[1], [4], [3]]), np.array([[2], [4], [4]]))
    assert m.result() == pytest.approx(0.57142854)


def test_mean_as_loss_tracker_weights_batches_by_size():
    m = M.Mean(name="loss")
    m.update_state(2.0, sample_weight=3)  # a batch of 3 with mean loss 2
    m.update_state(1.0, sample_weight=1)
    assert m.result() == pytest.approx((2 * 3 + 1) / 4)
    t = M.Mean()
    t.update([2.0, 2.0, 2.0])  # torchmetrics: every element counts
    t.update(1.0)
    assert t.compute() == pytest.approx((2 * 3 + 1) / 4)
    t.update(np.array([5.0, 7.0]), weight=np.array([0.0, 1.0]))
    assert t.compute() == pytest.approx((2 * 3 + 1 + 7) / 5)


def test_regression_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"same shape.*\(4, 2\).*\(4, 3\)"):
        M.MeanSquaredError().update_state(np.ones((4, 2)), np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"same number of samples.*\(5,\).*\(4, 1\)"):
        M.MeanAbsoluteError().update_state(np.ones(5), np.ones((4, 1)))
    with pytest.raises(ValueError, match="y_pred holds 1 non-finite value"):
        M.R2Score().update_state([1.0, 2.0], [np.inf, 2.0])
    with pytest.raises(ValueError, match="sample_weight holds 1 non-finite"):
        M.MeanAbsoluteError().update_state([1.0, 2.0], [1.0, 2.0], sample_weight=[1.0, np.nan])
    r2 = M.R2Score()
    r2.update_state(np.ones((3, 2)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="this batch has 3 outputs, earlier ones had 2"):
        r2.update_state(np.ones((3, 3)), np.ones((3, 3)))
