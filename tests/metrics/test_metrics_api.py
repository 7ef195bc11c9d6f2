"""The metric protocol: both method sets, reset, get(), configs, resolve_accuracy."""
import numpy as np
import pytest

import gradkit as gk
import gradkit.metrics as M

N, C = 150, 4


def _classification(rng):
    y = rng.integers(0, C, N)
    s = rng.random((N, C))
    return y, s


# each case: a factory and how to make (y_true, y_pred) for it
CASES = {
    "accuracy": (lambda: M.Accuracy(), lambda y, s, r: (y, s.argmax(1))),
    "binary_accuracy": (lambda: M.BinaryAccuracy(), lambda y, s, r: (y % 2, s[:, :1])),
    "categorical_accuracy": (lambda: M.CategoricalAccuracy(), lambda y, s, r: (np.eye(C)[y], s)),
    "sparse_categorical_accuracy": (lambda: M.SparseCategoricalAccuracy(), lambda y, s, r: (y, s)),
    "top_k": (lambda: M.TopKCategoricalAccuracy(k=2), lambda y, s, r: (np.eye(C)[y], s)),
    "sparse_top_k": (lambda: M.SparseTopKCategoricalAccuracy(k=2), lambda y, s, r: (y, s)),
    "precision": (lambda: M.Precision(), lambda y, s, r: (y % 2, s[:, 0])),
    "recall_macro": (lambda: M.Recall(num_classes=C), lambda y, s, r: (y, s)),
    "f1_weighted": (lambda: M.F1Score(average="weighted", num_classes=C), lambda y, s, r: (y, s)),
    "f1_per_class": (lambda: M.F1Score(average=None), lambda y, s, r: (y, s)),
    "auc": (lambda: M.AUC(), lambda y, s, r: (y % 2, s[:, 0])),
    "confusion_matrix": (lambda: M.ConfusionMatrix(C), lambda y, s, r: (y, s)),
    "mae": (lambda: M.MeanAbsoluteError(), lambda y, s, r: (s[:, 0], s[:, 1:2])),
    "mse": (lambda: M.MeanSquaredError(), lambda y, s, r: (s[:, :2], s[:, 2:])),
    "rmse": (lambda: M.RootMeanSquaredError(), lambda y, s, r: (s[:, 0], s[:, 1])),
    "r2": (lambda: M.R2Score(), lambda y, s, r: (s[:, 0], s[:, 0] + 0.1 * s[:, 1])),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_both_apis_give_the_same_numbers_and_reset_works(feed, rng, case):
    make, inputs = CASES[case]
    y, s = _classification(rng)
    yt, yp = inputs(y, s, rng)
    w = rng.uniform(0.1, 2.0, N)

    keras_style, torch_style = make(), make()
    a = feed(keras_style, yt, yp, w, api="keras")
    b = feed(torch_style, yt, yp, w, api="torch", kind="tensor")
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    assert np.all(np.isfinite(a))
    if np.ndim(a) == 0:
        assert isinstance(a, float) and isinstance(b, float)

    # reset: the second epoch knows nothing of the first
    half = N // 2
    fresh = make()
    fresh.update_state(yt[:half], yp[:half])
    keras_style.reset_state()
    keras_style.update_state(yt[:half], yp[:half])
    torch_style.reset()
    torch_style.update(yp[:half], yt[:half])
    np.testing.assert_allclose(keras_style.result(), fresh.result(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(torch_style.compute(), fresh.result(), rtol=0, atol=1e-12)
    keras_style.reset_states()  # TensorFlow 2's name
    if case != "confusion_matrix":
        assert np.all(np.asarray(keras_style.result()) == 0.0)


def test_call_accumulates_and_returns_the_running_value():
    m = M.SparseCategoricalAccuracy(name="train_accuracy")
    assert m([0, 1], [[0.9, 0.1], [0.2, 0.8]]) == 1.0  # the TF tutorials' train_accuracy(labels, preds)
    assert m([0, 1], [[0.1, 0.9], [0.2, 0.8]]) == 0.75
    loss = M.Mean(name="train_loss")
    assert loss(gk.tensor(2.0)) == 2.0
    assert loss(4.0) == 3.0
    assert loss.result().numpy() == 3.0  # TensorFlow code calls .numpy() on result()


def test_tensors_that_require_grad_are_read_without_a_graph():
    y_pred = gk.tensor(np.array([[0.3, 0.7], [0.8, 0.2]]), requires_grad=True)
    m = M.SparseCategoricalAccuracy()
    m.update(y_pred, gk.tensor(np.array([1, 1])))
    assert m.compute() == 0.5
    loss = (y_pred * y_pred).sum()
    tracker = M.Mean()
    tracker.update(loss)
    assert tracker.compute() == pytest.approx(float(loss.detach().numpy()))


def test_result_before_any_update_is_zero_as_in_keras():
    for m in (M.Mean(), M.Accuracy(), M.F1Score(), M.AUC(), M.R2Score(), M.MeanAbsoluteError()):
        assert m.result() == 0.0
    np.testing.assert_array_equal(M.ConfusionMatrix(3).result(), np.zeros((3, 3)))


# === names and get() =====================================================================

DEFAULT_NAMES = {
    M.Accuracy: "accuracy", M.BinaryAccuracy: "binary_accuracy",
    M.CategoricalAccuracy: "categorical_accuracy",
    M.SparseCategoricalAccuracy: "sparse_categorical_accuracy",
    M.TopKCategoricalAccuracy: "top_k_categorical_accuracy",
    M.SparseTopKCategoricalAccuracy: "sparse_top_k_categorical_accuracy",
    M.Precision: "precision", M.Recall: "recall", M.F1Score: "f1_score", M.AUC: "auc",
    M.MeanAbsoluteError: "mean_absolute_error", M.MeanSquaredError: "mean_squared_error",
    M.RootMeanSquaredError: "root_mean_squared_error", M.R2Score: "r2_score", M.Mean: "mean",
}


def test_default_names_are_keras():
    for cls, name in DEFAULT_NAMES.items():
        assert cls().name == name
    assert M.ConfusionMatrix(3).name == "confusion_matrix"


@pytest.mark.parametrize("string, cls", [
    ("accuracy", M.Accuracy), ("acc", M.Accuracy), ("binary_accuracy", M.BinaryAccuracy),
    ("categorical_accuracy", M.CategoricalAccuracy),
    ("sparse_categorical_accuracy", M.SparseCategoricalAccuracy),
    ("top_k_categorical_accuracy", M.TopKCategoricalAccuracy), ("precision", M.Precision),
    ("recall", M.Recall), ("f1", M.F1Score), ("auc", M.AUC), ("mae", M.MeanAbsoluteError),
    ("mean_absolute_error", M.MeanAbsoluteError), ("mse", M.MeanSquaredError),
    ("mean_squared_error", M.MeanSquaredError), ("rmse", M.RootMeanSquaredError),
    ("r2", M.R2Score)])
def test_get_maps_strings_to_metrics_named_as_given(string, cls):
    m = M.get(string)
    assert type(m) is cls
    assert m.name == string  # compile(metrics=['mae']) logs 'mae' and 'val_mae'
    assert M.get(string) is not m  # a fresh state each time


def test_get_accepts_classes_instances_functions_and_configs():
    assert M.get("MeanAbsoluteError").name == "mean_absolute_error"
    assert type(M.get(M.AUC)) is M.AUC
    m = M.Precision()
    assert M.get(m) is m and M.get(None) is None
    by_function = M.get(M.functional.mae)  # mae is mean_absolute_error, named as the function
    assert type(by_function) is M.MeanAbsoluteError and by_function.name == "mean_absolute_error"

    def within_one(y_true, y_pred):
        return (np.abs(np.asarray(y_true) - np.asarray(y_pred)) <= 1).astype(float)

    custom = M.get(within_one)
    assert custom.name == "within_one"
    custom.update_state([1, 2, 3, 4], [1, 4, 3, 9], sample_weight=[1, 1, 1, 3])
    assert custom.result() == pytest.approx(2 / 6)

    f1 = M.F1Score(average="weighted", num_classes=3, name="f1w")
    again = M.get({"class_name": "F1Score", "config": f1.get_config()})
    assert again.get_config() == f1.get_config() and type(again) is M.F1Score


@pytest.mark.parametrize("metric", [
    M.BinaryAccuracy(threshold=0.3), M.SparseTopKCategoricalAccuracy(k=3),
    M.Precision(thresholds=0.7, num_classes=None, average="binary"), M.Recall(num_classes=4),
    M.AUC(multi_label=True, num_labels=3), M.ConfusionMatrix(5, normalize="true"),
    M.R2Score(class_aggregation=None, num_regressors=2), M.Mean(name="loss")],
    ids=lambda m: type(m).__name__)
def test_config_round_trip(metric):
    again = type(metric).from_config(metric.get_config())
    assert again.get_config() == metric.get_config()


def test_unknown_names_list_the_known_ones():
    with pytest.raises(ValueError, match=r"Unknown metric 'acuracy'\. Did you mean 'accuracy'\?"
                                         r".*mae.*sparse_categorical_accuracy"):
        M.get("acuracy")
    with pytest.raises(TypeError, match="cannot make a metric from 3"):
        M.get(3)


# === resolve_accuracy: compile(metrics=['accuracy']) =====================================

@pytest.mark.parametrize("loss, y_true, y_pred, cls, threshold", [
    ("binary_crossentropy", (32, 1), (32, 1), M.BinaryAccuracy, 0.5),
    ("mse", (32,), (32, 1), M.BinaryAccuracy, 0.5),          # one output unit
    ("mse", (32,), (32,), M.BinaryAccuracy, 0.5),            # 1-D output
    ("binary_crossentropy", (32, 4), (32, 4), M.BinaryAccuracy, 0.5),  # multi-label
    (gk.nn.BCEWithLogitsLoss(), (32, 1), (32, 1), M.BinaryAccuracy, 0.0),
    ("sparse_categorical_crossentropy", (32,), (32, 10), M.SparseCategoricalAccuracy, None),
    ("sparse_categorical_crossentropy", (32, 1), (32, 10), M.SparseCategoricalAccuracy, None),
    (None, (32,), (32, 10), M.SparseCategoricalAccuracy, None),
    ("categorical_crossentropy", (32, 10), (32, 10), M.CategoricalAccuracy, None),
    (gk.nn.CrossEntropyLoss(), (32,), (32, 10), M.SparseCategoricalAccuracy, None),
])
def test_resolve_accuracy_follows_the_keras_rule(loss, y_true, y_pred, cls, threshold):
    m = M.resolve_accuracy(loss, y_true, y_pred)
    assert type(m) is cls and m.name == "accuracy"
    if threshold is not None:
        assert m.get_config()["threshold"] == threshold


def test_resolve_accuracy_reads_from_logits_and_keeps_the_users_name():
    class BinaryCrossentropy:  # stands in for a Keras loss object
        name = "binary_crossentropy"
        from_logits = True

    m = M.resolve_accuracy(BinaryCrossentropy(), np.zeros((8, 1)), np.zeros((8, 1)), name="acc")
    assert type(m) is M.BinaryAccuracy and m.name == "acc"
    assert m.get_config()["threshold"] == 0.0
    m.update_state([1, 0], [[2.5], [-1.0]])  # logits
    assert m.result() == 1.0
