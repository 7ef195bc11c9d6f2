"""gradkit.models.TransformerClassifier: shapes for both poolings, padding left out of attention
and pooling, save/load, and that it learns a task that needs the whole sequence."""
import numpy as np
import pytest

import gradkit as gk
from gradkit.models import TransformerClassifier
from test_zoo_index import assert_round_trip, classify, start_and_end, train


def small(pooling="mean", padding_idx=0, **kw):
    return TransformerClassifier(20, num_classes=3, d_model=16, nhead=2, num_layers=2,
                                 dim_feedforward=32, max_len=12, pooling=pooling,
                                 padding_idx=padding_idx, **kw)


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_shapes(pooling):
    model = small(pooling)
    assert model(gk.randint(1, 20, (4, 12))).shape == (4, 3)
    assert model(gk.randint(1, 20, (4, 5))).shape == (4, 3)
    assert model.pos_embedding.weight.shape == (12 + (pooling == "cls"), 16)


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_padding_at_the_end_changes_nothing(pooling):
    model = small(pooling).eval()
    ids = np.random.default_rng(0).integers(1, 20, (2, 6))
    padded = np.concatenate([ids, np.zeros((2, 4), np.int64)], axis=1)
    with gk.no_grad():
        alone, batch = model(gk.tensor(ids)).numpy(), model(gk.tensor(padded)).numpy()
    np.testing.assert_allclose(batch, alone, rtol=1e-5, atol=1e-6)
    # the same weights with nothing masked: the padding is attended to and changes the logits
    blind = small(pooling, padding_idx=None).eval()
    blind.load_state_dict(model.state_dict())
    with gk.no_grad():
        assert not np.allclose(blind(gk.tensor(padded)).numpy(), alone, atol=1e-3)


def test_save_load_round_trip(tmp_path):
    assert_round_trip(lambda: small("cls"), [gk.randint(1, 20, (3, 7))], tmp_path)


def marker_task(n, length=10, seed=0):
    """Class k in {0, 1, 2}: the sequence holds the marker token k + 1 once, somewhere among
    filler tokens 4..19, and ends with 0 to 3 padding ids."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.integers(4, 20, (n, length))
    for i in range(n):
        real = length - rng.integers(0, 4)
        x[i, rng.integers(0, real)] = y[i] + 1
        x[i, real:] = 0
    return gk.tensor(x), gk.tensor(y)


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_learns_which_marker_the_sequence_holds(pooling):
    x, y = marker_task(256)
    model = small(pooling, dropout=0.0)
    batches = [(x[i:i + 16], y[i:i + 16]) for i in range(0, 256, 16)]
    losses = train(model, batches, classify, steps=200, lr=3e-3)
    first, last = start_and_end(losses)
    assert last < 0.05 * first, (first, last)
    xt, yt = marker_task(128, seed=1)     # sequences it has not seen
    with gk.no_grad():
        assert (model.eval()(xt).argmax(1).numpy() == yt.numpy()).mean() > 0.95
