"""Bad labels and shapes (issue 15, "Probes in the suite"): class ids out of range, targets of the
wrong shape, class weights of the wrong length, regression targets that would broadcast, and
layers given inputs of the wrong rank, width, channels or index range. Each probe asserts the
error type and that the message names the problem and the fix, and runs the same mistake through
PyTorch to record what it does (docs/reliability.md keeps the table).

Where gradkit differs on purpose: a regression loss (MSELoss, L1Loss, HuberLoss, SmoothL1Loss)
whose target shape differs from the input's is refused. PyTorch warns and broadcasts, and an
(N, 1) output against an (N,) target becomes an (N, N) matrix: a wrong loss that still trains.
"""
import re
import warnings

import numpy as np
import pytest
import torch

import gradkit as gk
import gradkit.nn as nn
import gradkit.nn.functional as F

RNG = np.random.default_rng(0)
LOGITS = RNG.standard_normal((4, 3)).astype(np.float32)


def _torch_raises(fn, error, match=None):
    with pytest.raises(error, match=match):
        fn()


# === cross-entropy: class ids out of range =======================================================
@pytest.mark.parametrize("bad", [3, 100, -1, -2])
@pytest.mark.parametrize("loss", ["module", "F", "nll_loss"])
def test_class_id_out_of_range_is_named_with_the_valid_range(loss, bad):
    labels = [0, 1, bad, 2]
    fn = {"module": nn.CrossEntropyLoss(), "F": F.cross_entropy, "nll_loss": F.nll_loss}[loss]
    op = "nll_loss" if loss == "nll_loss" else "cross_entropy"
    with pytest.raises(IndexError) as e:
        fn(gk.tensor(LOGITS), gk.tensor(labels))
    assert str(e.value) == (f"{op}: target {bad} at position (2,) is out of range for 3 classes "
                            "(valid labels: 0 to 2)")
    tfn = {"module": torch.nn.CrossEntropyLoss(), "F": torch.nn.functional.cross_entropy,
           "nll_loss": torch.nn.functional.nll_loss}[loss]
    _torch_raises(lambda: tfn(torch.tensor(LOGITS), torch.tensor(labels)), IndexError,
                  f"Target {bad} is out of bounds")


@pytest.mark.parametrize("shape,labels,position", [
    ((3,), 3, "()"),                                   # one unbatched sample
    ((2, 3, 5), np.full((2, 5), 3), "(0, 0)"),          # (N, C, L): per-position labels
])
def test_class_id_out_of_range_in_other_layouts_names_cross_entropy(shape, labels, position):
    with pytest.raises(IndexError, match=re.escape(f"cross_entropy: target 3 at position "
                                                   f"{position} is out of range for 3 classes")):
        F.cross_entropy(gk.randn(*shape), gk.tensor(labels))
    _torch_raises(lambda: torch.nn.functional.cross_entropy(torch.randn(*shape),
                                                            torch.tensor(labels)), IndexError)


def test_ignore_index_minus_100_is_not_out_of_range():
    labels = [0, -100, 1, 2]
    got = nn.CrossEntropyLoss()(gk.tensor(LOGITS), gk.tensor(labels)).item()
    want = torch.nn.CrossEntropyLoss()(torch.tensor(LOGITS), torch.tensor(labels)).item()
    np.testing.assert_allclose(got, want, rtol=1e-6)


# === cross-entropy: targets of the wrong shape or weights of the wrong length ====================
@pytest.mark.parametrize("labels,fix", [
    ([[0], [1], [2], [0]], "reshape it: y.reshape(4)"),                      # a Keras-style column
    ([0, 1, 2, 0, 1], "the input holds 4 samples and the target 5: pass the targets of the same "
                      "batch"),
    ([[0, 1]] * 4, "pass one integer class id per position, or class probabilities (floats) of "
                   "the input's shape"),
])
def test_class_ids_of_the_wrong_shape_say_what_to_pass(labels, fix):
    t = np.array(labels)
    with pytest.raises(ValueError) as e:
        nn.CrossEntropyLoss()(gk.tensor(LOGITS), gk.tensor(t))
    assert str(e.value) == (f"cross_entropy: expected target shape (4,) for input shape (4, 3), "
                            f"got {t.shape}; {fix}")
    _torch_raises(lambda: torch.nn.CrossEntropyLoss()(torch.tensor(LOGITS), torch.tensor(t)),
                  (RuntimeError, ValueError))


def test_a_column_of_class_ids_reshaped_as_the_message_says_works():
    col = np.array([[0], [1], [2], [0]])
    got = F.cross_entropy(gk.tensor(LOGITS), gk.tensor(col).reshape(4)).item()
    want = torch.nn.functional.cross_entropy(torch.tensor(LOGITS), torch.tensor(col[:, 0])).item()
    np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize("n", [2, 4])
@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
def test_class_weights_of_the_wrong_length_are_refused(loss, n):
    """Regression: a weight of length 4 for 3 classes was accepted silently (only the first 3
    were read), and one of length 2 failed with a bare NumPy IndexError. PyTorch refuses both."""
    with pytest.raises(ValueError) as e:
        getattr(F, loss)(gk.tensor(LOGITS), gk.tensor([0, 1, 2, 1]), weight=gk.ones(n))
    assert str(e.value) == (f"{loss}: weight must hold one value per class, shape (3,) for 3 "
                            f"classes; got shape ({n},)")
    with pytest.raises(ValueError, match=r"weight must hold one value per class"):
        nn.CrossEntropyLoss(weight=gk.ones(n))(gk.tensor(LOGITS), gk.tensor([0, 1, 2, 1]))
    _torch_raises(lambda: getattr(torch.nn.functional, loss)(
        torch.tensor(LOGITS), torch.tensor([0, 1, 2, 1]), weight=torch.ones(n)), RuntimeError,
        "weight tensor should be defined either for all 3 classes or no classes")


def test_class_weights_of_the_right_length_match_pytorch():
    w = [0.2, 1.0, 3.0]
    got = nn.CrossEntropyLoss(weight=gk.tensor(w))(gk.tensor(LOGITS), gk.tensor([0, 1, 2, 1]))
    want = torch.nn.CrossEntropyLoss(weight=torch.tensor(w))(torch.tensor(LOGITS),
                                                             torch.tensor([0, 1, 2, 1]))
    np.testing.assert_allclose(got.item(), want.item(), rtol=1e-6)


# === regression losses: shapes that would broadcast ==============================================
@pytest.mark.parametrize("name", ["MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss"])
def test_regression_target_that_would_broadcast_is_refused_where_pytorch_warns(name):
    target = np.array([1.0, 2.0, 3.0, 4.0])
    pred = target.reshape(4, 1)                  # a perfect prediction, as a column
    with pytest.raises(ValueError) as e:
        getattr(nn, name)()(gk.tensor(pred), gk.tensor(target))
    assert "input shape (4, 1) and target shape (4,) differ; they must match" in str(e.value)
    assert "y.view(-1, 1)" in str(e.value)
    # PyTorch: a warning, and the (4, 4) broadcast's mean: the perfect prediction's loss is not 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tloss = getattr(torch.nn, name)()(torch.tensor(pred), torch.tensor(target)).item()
    assert any("different to the input size" in str(w.message) for w in caught)
    assert tloss > 0.5
    # the fix the message gives gives the right number
    assert getattr(nn, name)()(gk.tensor(pred), gk.tensor(target).view(-1, 1)).item() == 0.0


@pytest.mark.parametrize("name", ["BCELoss", "BCEWithLogitsLoss"])
def test_binary_target_of_another_shape_is_refused_as_pytorch(name):
    pred, target = np.full((4, 1), 0.5), np.ones(4)
    with pytest.raises(ValueError, match=r"input shape \(4, 1\) and target shape \(4,\) differ"):
        getattr(nn, name)()(gk.tensor(pred), gk.tensor(target))
    _torch_raises(lambda: getattr(torch.nn, name)()(torch.tensor(pred), torch.tensor(target)),
                  ValueError)


# === layers given the wrong input ================================================================
def test_linear_given_the_wrong_last_dimension():
    for shape in [(4, 7), (7,), (4, 10, 1)]:
        with pytest.raises(ValueError) as e:
            nn.Linear(10, 2)(gk.randn(*shape))
        assert str(e.value) == (f"Linear(in_features=10): input has {shape[-1]} features (shape "
                                f"{shape}); the last dimension must be 10")
        _torch_raises(lambda: torch.nn.Linear(10, 2)(torch.randn(*shape)), RuntimeError,
                      "cannot be multiplied")


def test_linear_inside_sequential_names_the_layer():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(5, 2))
    with pytest.raises(ValueError, match=r"in layer '2' \(Linear\): Linear\(in_features=5\): input "
                                         r"has 4 features"):
        model(gk.randn(2, 3))


def test_linear_given_integers_says_to_convert():
    with pytest.raises(TypeError, match=r"linear: input dtype int64 does not match the weight's "
                                        r"float32; convert the input \(x.to\(float32\)\)"):
        nn.Linear(3, 2)(gk.tensor([[1, 2, 3]]))


def test_conv2d_given_an_unbatched_3d_input_works_as_pytorch():
    g = nn.Conv2d(3, 4, 3)
    t = torch.nn.Conv2d(3, 4, 3)
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in g.state_dict().items()})
    x = RNG.standard_normal((3, 8, 8)).astype(np.float32)
    out = g(gk.tensor(x))
    assert out.shape == (4, 6, 6)
    np.testing.assert_allclose(out.detach().numpy(), t(torch.tensor(x)).detach().numpy(), rtol=1e-5,
                               atol=1e-5)


@pytest.mark.parametrize("shape,detail", [
    ((8, 8, 8), "got (8, 8, 8) (8 channels at dim 0)"),
    ((8, 8), "got (8, 8) (2-D)"),
    ((2, 1, 8, 8), "got (2, 1, 8, 8) (1 channel at dim 1)"),
    ((2, 8, 8, 3), "got (2, 8, 8, 3) (8 channels at dim 1); channels-last input? convert to "
                   "(N, C, H, W) with x.permute(0, 3, 1, 2)"),
])
def test_conv2d_given_the_wrong_rank_or_channels(shape, detail):
    with pytest.raises(ValueError) as e:
        nn.Conv2d(3, 4, 3)(gk.randn(*shape))
    assert str(e.value) == ("Conv2d(in_channels=3, out_channels=4, kernel_size=(3, 3)): expected "
                            f"input of shape (N, 3, H, W) or unbatched (3, H, W), {detail}")
    _torch_raises(lambda: torch.nn.Conv2d(3, 4, 3)(torch.randn(*shape)), RuntimeError)


def test_conv2d_kernel_larger_than_the_input():
    with pytest.raises(ValueError, match=r"conv2d: the kernel .* is larger than the padded input "
                                         r".*; use a smaller kernel, more padding or a larger "
                                         r"input"):
        nn.Conv2d(3, 4, 5)(gk.randn(2, 3, 3, 3))
    _torch_raises(lambda: torch.nn.Conv2d(3, 4, 5)(torch.randn(2, 3, 3, 3)), RuntimeError)


@pytest.mark.parametrize("bad", [10, 11, -1])
def test_embedding_index_out_of_range(bad):
    with pytest.raises(IndexError) as e:
        nn.Embedding(10, 3)(gk.tensor([1, bad]))
    assert str(e.value) == (f"embedding: index {bad} is out of range for num_embeddings=10 "
                            "(valid indices: 0 to 9)")
    _torch_raises(lambda: torch.nn.Embedding(10, 3)(torch.tensor([1, bad])), IndexError)


def test_embedding_given_float_indices_says_long():
    with pytest.raises(TypeError, match=r"embedding: indices must be an integer tensor .* got "
                                        r"float32; convert them with .long\(\)"):
        nn.Embedding(10, 3)(gk.tensor([1.0, 2.0]))


@pytest.mark.parametrize("cls", ["LSTM", "GRU", "RNN"])
def test_recurrent_layer_given_the_wrong_input_size(cls):
    with pytest.raises(ValueError) as e:
        getattr(nn, cls)(5, 4, batch_first=True)(gk.randn(2, 7, 6))
    assert str(e.value) == (f"{cls}(5, 4): input has 6 features (shape (2, 7, 6)); the last "
                            "dimension must be input_size=5")
    _torch_raises(lambda: getattr(torch.nn, cls)(5, 4, batch_first=True)(torch.randn(2, 7, 6)),
                  RuntimeError, "Expected 5, got 6")


def test_lstm_given_a_4d_input_or_a_wrong_initial_state():
    with pytest.raises(ValueError, match=r"LSTM\(5, 4\): expected a 3-D input \(L, N, H_in\) or a "
                                         r"2-D unbatched input \(L, H_in\), got 4-D"):
        nn.LSTM(5, 4)(gk.randn(2, 7, 5, 1))
    h0 = (gk.zeros(1, 3, 4), gk.zeros(1, 3, 4))
    with pytest.raises(ValueError, match=r"LSTM\(5, 4\): expected h_0 of shape \(1, 2, 4\) "
                                         r"\(num_layers \* num_directions, batch, hidden_size\), "
                                         r"got \(1, 3, 4\)"):
        nn.LSTM(5, 4)(gk.randn(7, 2, 5), h0)


def test_batchnorm_given_the_wrong_features_or_one_sample():
    with pytest.raises(ValueError, match=r"BatchNorm1d\(4\): input has 5 channels \(shape "
                                         r"\(8, 5\)\); dimension 1 must be num_features=4"):
        nn.BatchNorm1d(4)(gk.randn(8, 5))
    with pytest.raises(ValueError, match=r"batch of one sample .* drop_last=True.* "
                                         r"model\.eval\(\)"):
        nn.BatchNorm1d(4)(gk.randn(1, 4))
    _torch_raises(lambda: torch.nn.BatchNorm1d(4)(torch.randn(1, 4)), ValueError,
                  "Expected more than 1 value per channel")


def test_one_hot_class_out_of_range():
    with pytest.raises(ValueError, match=r"one_hot: class index 3 is out of range for "
                                         r"num_classes=3 \(valid: 0 to 2\)"):
        F.one_hot(gk.tensor([0, 3]), 3)
    _torch_raises(lambda: torch.nn.functional.one_hot(torch.tensor([0, 3]), 3), RuntimeError)
