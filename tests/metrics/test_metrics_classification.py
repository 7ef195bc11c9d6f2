"""Classification metrics against scikit-learn on random predictions fed in uneven batches."""
import warnings

import numpy as np
import pytest
from sklearn import metrics as skm

import gradkit.metrics as M

N, C = 257, 5


@pytest.fixture
def data(rng):
    """Labels, softmax-like scores (argmax right about half the time), per-sample weights."""
    y = rng.integers(0, C, N)
    scores = rng.random((N, C))
    scores[np.arange(N), y] += rng.random(N) * 0.6  # better than chance, not perfect
    scores /= scores.sum(1, keepdims=True)
    w = rng.uniform(0.1, 2.0, N)
    return y, scores, w


def onehot(y, c=C):
    return np.eye(c)[y]


# === accuracies ==========================================================================

@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("kind", ["numpy", "tensor", "list"])
def test_accuracies_equal_sklearn_accuracy_score(feed, data, rng, weighted, kind):
    y, s, w = data
    w = w if weighted else None
    pred = s.argmax(1)
    expected = skm.accuracy_score(y, pred, sample_weight=w)
    for metric, y_true, y_pred in ((M.SparseCategoricalAccuracy(), y, s),
                                   (M.SparseCategoricalAccuracy(), y[:, None], s),
                                   (M.CategoricalAccuracy(), onehot(y), s),
                                   (M.Accuracy(), y, pred)):
        assert feed(metric, y_true, y_pred, w, kind=kind) == pytest.approx(expected, abs=1e-12)

    yb = rng.integers(0, 2, N)
    p = rng.random(N)
    for threshold in (0.5, 0.3):
        expected = skm.accuracy_score(yb, p > threshold, sample_weight=w)
        got = feed(M.BinaryAccuracy(threshold=threshold), yb, p[:, None], w, kind=kind)  # (N,) vs (N, 1)
        assert got == pytest.approx(expected, abs=1e-12)


@pytest.mark.filterwarnings("ignore:'k' \\(5\\) greater:UserWarning")
@pytest.mark.parametrize("k", [1, 2, 3, 5])
@pytest.mark.parametrize("weighted", [False, True])
def test_top_k_equals_sklearn_top_k_accuracy_score(feed, data, k, weighted):
    y, s, w = data
    w = w if weighted else None
    expected = skm.top_k_accuracy_score(y, s, k=k, labels=range(C), sample_weight=w)
    assert feed(M.SparseTopKCategoricalAccuracy(k=k), y, s, w) == pytest.approx(expected, abs=1e-12)
    assert feed(M.TopKCategoricalAccuracy(k=k), onehot(y), s, w) == pytest.approx(expected, abs=1e-12)
    if k == C:
        assert expected == 1.0


# === precision, recall, F1 ===============================================================

SCORES = [(M.Precision, skm.precision_score), (M.Recall, skm.recall_score),
          (M.F1Score, skm.f1_score)]


@pytest.mark.parametrize("average", ["micro", "macro", "weighted", None])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("form", ["scores", "labels", "onehot_true"])
def test_multiclass_precision_recall_f1_equal_sklearn(feed, data, average, weighted, form):
    y, s, w = data
    w = w if weighted else None
    pred = s.argmax(1)
    yt, yp = {"scores": (y, s), "labels": (y, pred), "onehot_true": (onehot(y), s)}[form]
    for cls, sk in SCORES:
        got = feed(cls(num_classes=C, average=average), yt, yp, w)
        expected = sk(y, pred, average=average, sample_weight=w, zero_division=0)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_macro_leaves_out_classes_never_seen_as_sklearn_does(feed, rng):
    y = rng.integers(0, 4, N)  # classes 4 and 5 of num_classes=6 never appear
    pred = np.where(rng.random(N) < 0.6, y, rng.integers(0, 4, N))
    for cls, sk in SCORES:
        got = feed(cls(num_classes=6, average="macro"), y, pred)
        assert got == pytest.approx(sk(y, pred, average="macro"), abs=1e-12)


def test_micro_f1_of_single_label_classes_is_the_accuracy(feed, data):
    y, s, w = data
    assert feed(M.F1Score(num_classes=C, average="micro"), y, s, w) == pytest.approx(
        skm.accuracy_score(y, s.argmax(1), sample_weight=w), abs=1e-12)


@pytest.mark.parametrize("average", ["binary", "micro", "macro", "weighted"])
@pytest.mark.parametrize("threshold", [0.5, 0.7])
def test_binary_precision_recall_f1_equal_sklearn(feed, rng, average, threshold):
    y = rng.integers(0, 2, N)
    p = np.clip(y * 0.3 + rng.random(N) * 0.7, 0, 1)
    w = rng.uniform(0.1, 2.0, N)
    for cls, sk in SCORES:
        kw = {"thresholds": threshold} if cls is not M.F1Score else {"threshold": threshold}
        got = feed(cls(average=average, **kw), y, p[:, None], w)
        expected = sk(y, p > threshold, average=average, sample_weight=w, zero_division=0)
        assert got == pytest.approx(expected, abs=1e-12), (cls.__name__, average)


def test_binary_probabilities_with_num_classes_2_are_thresholded(feed, rng):
    y = rng.integers(0, 2, N)
    p = rng.random(N)
    got = feed(M.F1Score(num_classes=2, average="binary"), y, p)
    assert got == pytest.approx(skm.f1_score(y, p > 0.5), abs=1e-12)


def test_multilabel_entries_are_binary_decisions_as_in_keras(feed, rng):
    Y = rng.integers(0, 2, (N, 4))
    P = rng.random((N, 4))
    w = rng.uniform(0.1, 2.0, N)
    for cls, sk in SCORES:
        m = cls(threshold=0.5) if cls is M.F1Score else cls()
        expected = sk(Y, P > 0.5, average="micro", sample_weight=w)  # sklearn: micro over labels
        assert feed(m, Y, P, w) == pytest.approx(expected, abs=1e-12)
        m = cls(threshold=0.5, class_id=2) if cls is M.F1Score else cls(class_id=2)
        assert feed(m, Y, P, w) == pytest.approx(sk(Y[:, 2], P[:, 2] > 0.5, sample_weight=w), abs=1e-12)


def test_f1_default_reads_class_scores_by_argmax_and_infers_c(feed, data):
    y, s, w = data
    m = M.F1Score()
    assert feed(m, onehot(y), s, w) == pytest.approx(
        skm.f1_score(y, s.argmax(1), average="macro", sample_weight=w), abs=1e-12)
    assert m.confusion.shape == (C, C)


def test_class_id_with_num_classes_is_that_class_score(feed, data):
    y, s, _ = data
    got = feed(M.Recall(class_id=3, num_classes=C), y, s)
    assert got == pytest.approx(skm.recall_score(y, s.argmax(1), average=None)[3], abs=1e-12)


# === confusion matrix ====================================================================

@pytest.mark.parametrize("normalize", [None, "true", "pred", "all"])
@pytest.mark.parametrize("weighted", [False, True])
def test_confusion_matrix_equals_sklearn(feed, data, normalize, weighted):
    y, s, w = data
    w = w if weighted else None
    got = feed(M.ConfusionMatrix(C, normalize=normalize), y, s, w)
    expected = skm.confusion_matrix(y, s.argmax(1), labels=range(C), sample_weight=w,
                                    normalize=normalize)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    if normalize is None and not weighted:
        assert got.dtype == np.int64


def test_confusion_matrix_binary_probabilities_and_labels(feed, rng):
    y = rng.integers(0, 2, N)
    p = rng.random((N, 1))
    np.testing.assert_array_equal(feed(M.ConfusionMatrix(2), y, p),
                                  skm.confusion_matrix(y, p[:, 0] > 0.5))
    np.testing.assert_array_equal(feed(M.ConfusionMatrix(2, threshold=0.8), y, p),
                                  skm.confusion_matrix(y, p[:, 0] > 0.8))


# === AUC =================================================================================

@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ties", [False, True])
def test_auc_equals_sklearn_roc_auc_score(feed, rng, weighted, ties):
    y = rng.integers(0, 2, N)
    s = rng.random(N) + 0.3 * y
    if ties:
        s = np.round(s, 1)  # many tied scores: each tie is half a win
    w = rng.uniform(0.1, 2.0, N) if weighted else None
    expected = skm.roc_auc_score(y, s, sample_weight=w)
    assert feed(M.AUC(), y, s, w) == pytest.approx(expected, abs=1e-12)
    assert feed(M.AUC(), y[:, None], s[:, None], w) == pytest.approx(expected, abs=1e-12)


def test_auc_of_logits_equals_auc_of_probabilities(feed, rng):
    y = rng.integers(0, 2, N)
    logits = rng.normal(size=N) + y
    expected = skm.roc_auc_score(y, 1 / (1 + np.exp(-logits)))
    assert feed(M.AUC(from_logits=True), y, logits) == pytest.approx(expected, abs=1e-12)


def test_auc_multilabel_micro_and_macro_equal_sklearn(feed, rng):
    Y = rng.integers(0, 2, (N, 3))
    S = rng.random((N, 3)) + 0.2 * Y
    w = rng.uniform(0.1, 2.0, N)
    assert feed(M.AUC(), Y, S, w) == pytest.approx(
        skm.roc_auc_score(Y, S, average="micro", sample_weight=w), abs=1e-12)
    assert feed(M.AUC(multi_label=True, num_labels=3), Y, S, w) == pytest.approx(
        skm.roc_auc_score(Y, S, average="macro", sample_weight=w), abs=1e-12)


def test_auc_integer_labels_with_class_scores_is_one_vs_rest(feed, data):
    y, s, _ = data
    expected = skm.roc_auc_score(y, s, multi_class="ovr", average="macro")
    assert feed(M.AUC(multi_label=True), y, s) == pytest.approx(expected, abs=1e-12)


def test_auc_on_a_large_epoch_matches_to_1e_9(rng):
    y = rng.integers(0, 2, 200_000)
    s = (rng.random(200_000) + 0.1 * y).astype(np.float32)
    m = M.AUC()
    for chunk in np.array_split(np.arange(200_000), 7):
        m.update_state(y[chunk], s[chunk])
    assert m.result() == pytest.approx(skm.roc_auc_score(y, s), abs=1e-9)


def test_auc_with_one_class_warns_and_returns_zero_as_keras():
    m = M.AUC()
    m.update_state([1, 1, 1], [0.2, 0.5, 0.9])
    with pytest.warns(RuntimeWarning, match="only one class"):
        assert m.result() == 0.0


# === bad inputs ==========================================================================

@pytest.mark.parametrize("metric", [
    M.Accuracy(), M.BinaryAccuracy(), M.CategoricalAccuracy(), M.SparseCategoricalAccuracy(),
    M.Precision(), M.F1Score(num_classes=3), M.ConfusionMatrix(3), M.AUC()],
    ids=lambda m: type(m).__name__)
def test_nan_predictions_are_refused_with_the_position(metric):
    y_pred = np.full((4, 3), 0.2)
    y_pred[2, 1] = np.nan
    y_true = np.eye(3)[[0, 1, 2, 0]] if isinstance(metric, (M.CategoricalAccuracy, M.AUC, M.Accuracy,
                                                              M.BinaryAccuracy, M.Precision)) \
        else np.array([0, 1, 2, 0])
    with pytest.raises(ValueError, match=r"y_pred holds 1 non-finite value.*\(2, 1\).*diverged"):
        metric.update_state(y_true, y_pred)


def test_shape_mismatches_are_refused_with_both_shapes():
    with pytest.raises(ValueError, match=r"same number of samples.*\(4,\).*\(3,\)"):
        M.BinaryAccuracy().update_state([0, 1, 1, 0], [0.2, 0.9, 0.1])
    with pytest.raises(ValueError, match=r"\(4, 3\).*\(4, 2\)"):
        M.CategoricalAccuracy().update_state(np.eye(3)[[0, 1, 2, 0]], np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"same shape.*\(4, 2\).*\(4, 3\)"):
        M.Precision().update_state(np.ones((4, 2)), np.ones((4, 3)))
    with pytest.raises(ValueError, match="3 scores per sample.*num_classes=4"):
        M.F1Score(num_classes=4).update_state([0, 1], np.ones((2, 3)))
    with pytest.raises(ValueError, match="sample_weight has shape \\(3,\\).*one weight per sample"):
        M.Recall().update_state([0, 1], [0.2, 0.9], sample_weight=[1.0, 1.0, 1.0])


def test_labels_outside_num_classes_are_refused():
    with pytest.raises(ValueError, match=r"y_true holds label 7.*outside \[0, 5\).*at least 8"):
        M.F1Score(num_classes=5).update_state([0, 7, 1], [0, 1, 1])
    with pytest.raises(ValueError, match=r"y_pred holds label -1.*outside \[0, 3\)"):
        M.ConfusionMatrix(3).update_state([0, 1, 2], [0, -1, 2])
    with pytest.raises(ValueError, match=r"y_true holds label 3.*outside \[0, 3\)"):
        M.SparseCategoricalAccuracy().update_state([0, 3], np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"must hold 0 or 1; got 2.*num_classes=C"):
        M.Precision().update_state([0, 2, 1], [0.1, 0.9, 0.8])
    with pytest.raises(ValueError, match=r"integer class labels; got 0\.5"):
        M.Precision(num_classes=3).update_state([0, 1, 2], [0.5, 1.0, 2.0])
    with pytest.raises(ValueError, match=r"y_true must lie in \[0, 1\]"):
        M.AUC().update_state([0, 2, 1], [0.1, 0.9, 0.8])


def test_label_format_mixups_name_the_right_metric():
    with pytest.raises(ValueError, match="looks one-hot: use CategoricalAccuracy"):
        M.SparseCategoricalAccuracy().update_state(np.eye(3), np.ones((3, 3)))
    with pytest.raises(ValueError, match="integer class labels: use SparseCategoricalAccuracy"):
        M.CategoricalAccuracy().update_state([0, 1, 2], np.ones((3, 3)))


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="num_classes must be an integer >= 2"):
        M.F1Score(num_classes=1)
    with pytest.raises(ValueError, match="average must be"):
        M.Precision(average="samples")
    with pytest.raises(ValueError, match="'binary' needs two classes"):
        M.Recall(num_classes=3, average="binary")
    with pytest.raises(ValueError, match="top_k is not supported"):
        M.Precision(top_k=2)
    with pytest.raises(ValueError, match="curve='PR' is not supported"):
        M.AUC(curve="PR")
    with pytest.raises(ValueError, match="k must be a positive integer"):
        M.TopKCategoricalAccuracy(k=0)
    with pytest.raises(ValueError, match="num_classes is required"):
        M.ConfusionMatrix(None)


def test_no_warning_on_ordinary_use(data):
    y, s, w = data
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for m in (M.F1Score(num_classes=C), M.AUC(multi_label=True), M.ConfusionMatrix(C)):
            m.update_state(y, s, w)
            m.result()
