"""Keras' cross-entropies, with and without from_logits and label_smoothing, against their
formulas written in NumPy (Keras' rule for probabilities: clip to [1e-7, 1 − 1e-7], then log)
and against torch (values and the gradients reaching y_pred and a y_true that has a graph);
the label checks each loss runs, with the message that names the fix."""
import numpy as np
import pytest
import torch

import gradkit as gk
import gradkit.keras as keras

EPS = 1e-7
rng = np.random.default_rng(11)
losses = keras.losses


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def _probs(shape, saturate=False):
    """Softmax outputs; saturated ones have entries below 1e-7 and above 1 - 1e-7 (clipped)."""
    return _softmax(rng.standard_normal(shape) * (30 if saturate else 1))


# === CategoricalCrossentropy ==================================================================
def _cce_numpy(y, out, from_logits, ls):
    c = out.shape[-1]
    y = y * (1 - ls) + ls / c
    if from_logits:
        logp = _log_softmax(out)
    else:
        p = np.clip(out, EPS, 1 - EPS)
        logp = np.log(p) - np.log(p.sum(-1, keepdims=True))
    return -(y * logp).sum(-1)


@pytest.mark.parametrize("shape", [(6, 4), (3, 5, 4)])
@pytest.mark.parametrize("from_logits", [True, False])
@pytest.mark.parametrize("ls", [0.0, 0.2])
@pytest.mark.parametrize("saturate", [False, True])
def test_categorical_crossentropy_is_its_formula_and_torchs(shape, from_logits, ls, saturate):
    out = rng.standard_normal(shape) * 3 if from_logits else _probs(shape, saturate)
    y = np.eye(shape[-1])[rng.integers(0, shape[-1], shape[:-1])]
    y_pred = gk.tensor(out, requires_grad=True)
    values = losses.categorical_crossentropy(y, y_pred, from_logits=from_logits,
                                             label_smoothing=ls)
    np.testing.assert_allclose(values.array, _cce_numpy(y, out, from_logits, ls),
                               rtol=1e-12, atol=1e-14)
    values.sum().backward()

    t_out = torch.tensor(out, requires_grad=True)
    logits = t_out if from_logits else torch.log(torch.clamp(t_out, EPS, 1 - EPS))
    dims = (0, logits.ndim - 1, *range(1, logits.ndim - 1))
    t_values = torch.nn.functional.cross_entropy(logits.permute(dims),
                                                 torch.tensor(y).permute(dims),
                                                 reduction="none", label_smoothing=ls)
    t_values.sum().backward()
    np.testing.assert_allclose(values.array, t_values.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(y_pred.grad.array, t_out.grad.numpy(), rtol=1e-10, atol=1e-14)

    loss = losses.CategoricalCrossentropy(from_logits=from_logits, label_smoothing=ls)
    w = rng.uniform(0, 2, shape[:-1])
    expected = (_cce_numpy(y, out, from_logits, ls) * w).sum() / w.size
    value = loss(y, gk.tensor(out), sample_weight=w)  # Keras: Σ w·ℓ / number of values
    assert float(value.array) == pytest.approx(expected, rel=1e-12)


def test_categorical_crossentropy_differentiates_a_y_true_with_a_graph_as_tensorflow_does():
    out = rng.standard_normal((5, 3))
    soft = rng.standard_normal((5, 3))
    teacher = gk.tensor(soft, requires_grad=True)
    student = gk.tensor(out, requires_grad=True)
    loss = losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
    loss(gk.nn.functional.softmax(teacher, dim=-1), student).backward()

    t_teacher = torch.tensor(soft, requires_grad=True)
    t_student = torch.tensor(out, requires_grad=True)
    torch.nn.functional.cross_entropy(t_student, torch.softmax(t_teacher, -1),
                                      label_smoothing=0.1).backward()
    np.testing.assert_allclose(teacher.grad.array, t_teacher.grad.numpy(), rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(student.grad.array, t_student.grad.numpy(), rtol=1e-10, atol=1e-15)


# === SparseCategoricalCrossentropy ============================================================
@pytest.mark.parametrize("from_logits", [True, False])
@pytest.mark.parametrize("label_shape", ["flat", "column", "sequence"])
def test_sparse_categorical_crossentropy_is_its_formula_and_torchs(from_logits, label_shape):
    n, c = 7, 4
    shape = (n, 3, c) if label_shape == "sequence" else (n, c)
    out = rng.standard_normal(shape) * 3 if from_logits else _probs(shape, saturate=True)
    ids = rng.integers(0, c, shape[:-1])
    labels = ids[:, None] if label_shape == "column" else ids
    y_pred = gk.tensor(out, requires_grad=True)
    values = losses.sparse_categorical_crossentropy(labels, y_pred, from_logits=from_logits)
    np.testing.assert_allclose(values.array, _cce_numpy(np.eye(c)[ids], out, from_logits, 0.0),
                               rtol=1e-12, atol=1e-14)
    values.sum().backward()

    t_out = torch.tensor(out, requires_grad=True)
    logits = t_out if from_logits else torch.log(torch.clamp(t_out, EPS, 1 - EPS))
    dims = (0, logits.ndim - 1, *range(1, logits.ndim - 1))
    torch.nn.functional.cross_entropy(logits.permute(dims), torch.tensor(ids),
                                      reduction="sum").backward()
    np.testing.assert_allclose(y_pred.grad.array, t_out.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_sparse_categorical_crossentropy_ignore_class_and_float_ids():
    out = rng.standard_normal((6, 3))
    ids = np.array([0, 2, -1, 1, -1, 2])
    values = losses.sparse_categorical_crossentropy(ids, gk.tensor(out), from_logits=True,
                                                    ignore_class=-1)
    keep = ids != -1
    expected = np.where(keep, -_log_softmax(out)[np.arange(6), np.where(keep, ids, 0)], 0)
    np.testing.assert_allclose(values.array, expected, rtol=1e-12, atol=1e-14)
    as_floats = losses.sparse_categorical_crossentropy(np.array([0.0, 2.0, 1.0]),
                                                       gk.tensor(out[:3]), from_logits=True)
    np.testing.assert_allclose(as_floats.array, -_log_softmax(out[:3])[[0, 1, 2], [0, 2, 1]],
                               rtol=1e-12, atol=1e-14)


# === BinaryCrossentropy =======================================================================
def _bce_numpy(y, out, from_logits, ls):
    y = y * (1 - ls) + 0.5 * ls
    if from_logits:
        values = np.maximum(out, 0) - out * y + np.log1p(np.exp(-np.abs(out)))
    else:
        p = np.clip(out, EPS, 1 - EPS)
        values = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    return values.mean(-1)


@pytest.mark.parametrize("shape", [(8, 1), (8, 3)])
@pytest.mark.parametrize("from_logits", [True, False])
@pytest.mark.parametrize("ls", [0.0, 0.2])
def test_binary_crossentropy_is_its_formula_and_torchs(shape, from_logits, ls):
    z = rng.standard_normal(shape) * 4
    out = z if from_logits else 1 / (1 + np.exp(-z * 6))  # some probabilities clip
    y = rng.integers(0, 2, shape).astype(np.float64)
    y_pred = gk.tensor(out, requires_grad=True)
    values = losses.binary_crossentropy(y, y_pred, from_logits=from_logits, label_smoothing=ls)
    np.testing.assert_allclose(values.array, _bce_numpy(y, out, from_logits, ls),
                               rtol=1e-12, atol=1e-14)
    values.sum().backward()

    t_out = torch.tensor(out, requires_grad=True)
    t_y = torch.tensor(y * (1 - ls) + 0.5 * ls)
    if from_logits:
        t_values = torch.nn.functional.binary_cross_entropy_with_logits(t_out, t_y,
                                                                        reduction="none")
    else:
        t_values = torch.nn.functional.binary_cross_entropy(torch.clamp(t_out, EPS, 1 - EPS),
                                                            t_y, reduction="none")
    t_values.mean(-1).sum().backward()
    np.testing.assert_allclose(y_pred.grad.array, t_out.grad.numpy(), rtol=1e-10, atol=1e-14)

    flat = losses.BinaryCrossentropy(from_logits=from_logits, label_smoothing=ls)
    assert float(flat(y[:, 0], gk.tensor(out[:, :1])).array) == pytest.approx(
        _bce_numpy(y[:, :1], out[:, :1], from_logits, ls).mean(), rel=1e-12)


# === the label checks =========================================================================
def test_each_loss_says_what_labels_it_expects():
    probs = _probs((4, 3))
    with pytest.raises(ValueError, match=r"label 3 .*0 to 2.*subtract 1"):
        losses.sparse_categorical_crossentropy(np.array([0, 3, 1, 2]), gk.tensor(probs))
    with pytest.raises(ValueError, match="whole numbers"):
        losses.sparse_categorical_crossentropy(np.array([0.0, 1.5, 1.0, 2.0]), gk.tensor(probs))
    with pytest.raises(ValueError, match=r"SparseCategoricalCrossentropy expects integer class "
                                         r"ids.*Use CategoricalCrossentropy"):
        losses.sparse_categorical_crossentropy(np.eye(3)[[0, 1, 2, 0]], gk.tensor(probs))
    with pytest.raises(ValueError, match=r"CategoricalCrossentropy expects one-hot labels of "
                                         r"shape \(N, 3\).*to_categorical\(y, 3\)"):
        losses.categorical_crossentropy(np.array([0, 1, 2, 0]), gk.tensor(probs))
    with pytest.raises(ValueError, match="negative values.*from_logits=True"):
        losses.categorical_crossentropy(np.eye(3)[[0, 1, 2, 0]], gk.tensor(probs - 0.5))
    with pytest.raises(ValueError, match=r"outside \[0, 1\].*from_logits=True"):
        losses.binary_crossentropy(np.ones((4, 1)), gk.tensor(probs[:, :1] * 3))


def test_fit_runs_the_losss_own_check_on_all_labels_before_the_first_step():
    from gradkit.keras import layers
    gk.manual_seed(0)
    x = rng.standard_normal((40, 3)).astype(np.float32)
    ids = rng.integers(0, 3, 40)
    ids[33] = 5                                   # past the first batch
    m = keras.Sequential([layers.Dense(3, activation="softmax", input_shape=(3,))])
    m.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"^fit: SparseCategoricalCrossentropy: the labels do not "
                                         r"fit the model's 3 output units.*1 label out of range, "
                                         r"the first at index 33: label 5"):
        m.fit(x, ids, batch_size=8, verbose=0)
    assert m.optimizer.iterations == 0
    ids[33] = -1                                  # ignored by ignore_class: the same check
    m.compile("sgd", losses.SparseCategoricalCrossentropy(ignore_class=-1))
    m.fit(x, ids, batch_size=8, verbose=0)
    assert m.optimizer.iterations == 5
    m.compile("sgd", "categorical_crossentropy")
    with pytest.raises(ValueError, match=r"^evaluate: CategoricalCrossentropy: the one-hot labels "
                                         r"have 4 columns"):
        m.evaluate(x, np.eye(4)[ids], verbose=0)
    with pytest.raises(ValueError, match=r"one-hot labels have 4 columns"):
        losses.categorical_crossentropy(np.eye(4)[ids[:5]], gk.tensor(_probs((5, 3))))
