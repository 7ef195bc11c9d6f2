"""The model zoo's index (gradkit.models.create_model, MODELS), and the checks every
tests/models/test_zoo_*.py file shares: the save/load round trip, the PyTorch twin in float64, a
short training run, and the small data sets those runs learn from."""
import numpy as np
import pytest
import torch

import gradkit as gk
from gradkit import models
from gradkit.nn import functional as F

VOCAB_MODELS = {"char_rnn", "gpt", "transformer_classifier"}


# === shared checks
def assert_round_trip(make, inputs, tmp_path, outputs=lambda out: out):
    """gk.save(model.state_dict()) then load_state_dict into a fresh ``make()`` gives the same
    outputs, bit for bit (and a fresh model alone gives different ones: the load did it)."""
    model, fresh = make().eval(), make().eval()
    path = tmp_path / "model.safetensors"
    gk.save(model.state_dict(), path)
    with gk.no_grad():
        want = [o.numpy() for o in _flat(outputs(model(*inputs)))]
        before = [o.numpy() for o in _flat(outputs(fresh(*inputs)))]
        assert any(not np.array_equal(a, b) for a, b in zip(want, before)), \
            "two fresh models agree before loading: the test would prove nothing"
        fresh.load_state_dict(gk.load(path))
        got = [o.numpy() for o in _flat(outputs(fresh(*inputs)))]
    for a, b in zip(want, got):
        np.testing.assert_array_equal(a, b)
    return model, fresh


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [out]


def to_torch_state(model):
    """The model's state_dict as torch tensors (copies), for ``torch_model.load_state_dict``."""
    return {k: torch.from_numpy(v.numpy().copy()) for k, v in model.state_dict().items()}


def assert_matches_torch(gk_model, torch_model, x, train=True, atol=1e-10):
    """Same weights (moved by state_dict names), same float64 input: the same outputs, and after
    a backward of the same random upstream gradient the same gradient for every parameter (by
    name) and for a float input. Returns the gradkit output."""
    gk_model.double()
    torch_model.double()
    torch_model.load_state_dict(to_torch_state(gk_model))
    gk_model.train(train)
    torch_model.train(train)
    x = np.asarray(x)
    floating = x.dtype.kind == "f"
    gx = gk.tensor(x, requires_grad=floating)
    tx = torch.tensor(x, requires_grad=floating)
    g_out, t_out = gk_model(gx), torch_model(tx)
    np.testing.assert_allclose(g_out.detach().numpy(), t_out.detach().numpy(), rtol=0,
                               atol=atol, err_msg="forward")
    up = np.random.default_rng(1).standard_normal(g_out.shape)
    (g_out * gk.tensor(up)).sum().backward()
    (t_out * torch.tensor(up)).sum().backward()
    g_params = dict(gk_model.named_parameters())
    t_params = dict(torch_model.named_parameters())
    assert set(g_params) == set(t_params)
    for name, p in g_params.items():
        np.testing.assert_allclose(p.grad.numpy(), t_params[name].grad.numpy(), rtol=0,
                                   atol=atol, err_msg=f"gradient of {name}")
    if floating:
        np.testing.assert_allclose(gx.grad.numpy(), tx.grad.numpy(), rtol=0, atol=atol,
                                   err_msg="gradient of the input")
    return g_out


def train(model, batches, loss_fn, steps, lr=1e-3, optimizer=None):
    """``steps`` Adam steps over ``batches`` (cycled); returns the losses (floats)."""
    opt = optimizer or gk.optim.Adam(model.parameters(), lr=lr)
    model.train()
    losses = []
    for i in range(steps):
        batch = batches[i % len(batches)]
        opt.zero_grad()
        loss = loss_fn(model, *batch)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def start_and_end(losses, k=5):
    """The mean of the first and of the last ``k`` losses (one batch's loss is noisy)."""
    return float(np.mean(losses[:k])), float(np.mean(losses[-k:]))


def classify(model, x, y):
    return F.cross_entropy(model(x), y)


# === small data sets
def bar_images(n, classes=4, size=28, channels=1, noise=0.3, seed=0):
    """(images (n, channels, size, size) float32, labels (n,) int64): class k is a bright band of
    rows in the k-th of ``classes`` horizontal stripes, over Gaussian noise. Learnable, but only
    by looking at where the light is."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    x = rng.normal(0.0, noise, (n, channels, size, size))
    band = size // classes
    for i, k in enumerate(y):
        x[i, :, k * band:(k + 1) * band] += 1.0
    return gk.tensor(x.astype(np.float32)), gk.tensor(y)


def batches_of(x, y, batch_size):
    return [(x[i:i + batch_size], y[i:i + batch_size]) for i in range(0, x.shape[0], batch_size)]


PANGRAMS = ("the quick brown fox jumps over the lazy dog. pack my box with five dozen liquor "
            "jugs. how vexingly quick daft zebras jump! ")


def char_data(text=PANGRAMS, seq_len=16, seed=0, count=32):
    """(vocabulary, [(x, y)]) for next-character prediction on ``text`` repeated: windows of
    ``seq_len`` ids and the same shifted by one, ``count`` of them at random offsets."""
    vocab = sorted(set(text))
    ids = np.array([vocab.index(c) for c in text * 4], dtype=np.int64)
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, len(ids) - seq_len - 1, count)
    x = np.stack([ids[s:s + seq_len] for s in starts])
    y = np.stack([ids[s + 1:s + seq_len + 1] for s in starts])
    return vocab, [(gk.tensor(x[i:i + 8]), gk.tensor(y[i:i + 8])) for i in range(0, count, 8)]


# === the index
def test_every_zoo_model_is_exported_documented_and_made_by_name():
    for name, factory in models.MODELS.items():
        kwargs = {"vocab_size": 11} if name in VOCAB_MODELS else {}
        model = models.create_model(name, **kwargs)
        assert isinstance(model, gk.nn.Module), name
        assert type(model).__name__ in models.__all__, name
        assert type(model).__doc__ and factory.__doc__, f"{name} has no docstring"
        assert sum(p.numel() for p in model.parameters()) > 0


def test_create_model_passes_arguments_on():
    model = models.create_model("resnet20", in_channels=1, num_classes=3)
    assert model.depth == 20 and model.conv1.weight.shape == (16, 1, 3, 3)
    assert model.fc.weight.shape == (3, 64)


def test_create_model_names_the_zoo_for_an_unknown_name():
    with pytest.raises(ValueError, match=r"no model named 'resnet18'.*resnet20"):
        models.create_model("resnet18")
