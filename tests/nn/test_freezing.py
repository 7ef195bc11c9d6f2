"""Freezing with requires_grad_(False): trainable_parameters(), no gradient buffer and no
gradient computed for a frozen weight (Linear, conv, normalization, embedding), no optimizer
state and no weight decay, the gradient and state bytes of a frozen backbone's training equal to
its head's alone, and BatchNorm's running statistics as in PyTorch."""
import tracemalloc

import numpy as np
import pytest
import torch

import gradkit as gk
from gradkit import nn
from gradkit.nn import functional as F


def _model():
    gk.manual_seed(0)
    backbone = nn.Sequential(nn.Linear(32, 256), nn.ReLU(), nn.LayerNorm(256),
                             nn.Linear(256, 256), nn.ReLU())
    return nn.Sequential(backbone, nn.Linear(256, 10))


def _batch():
    rng = np.random.default_rng(0)
    return gk.tensor(rng.standard_normal((64, 32)).astype(np.float32)), \
        gk.tensor(rng.integers(0, 10, 64))


# === trainable_parameters ===================================================
def test_trainable_parameters_lists_what_requires_grad():
    model = _model()
    assert len(list(model.trainable_parameters())) == len(list(model.parameters())) == 8
    model[0].requires_grad_(False)
    assert [n for n, _ in model.named_trainable_parameters()] == ["1.weight", "1.bias"]
    assert [id(p) for p in model.trainable_parameters()] == [id(model[1].weight),
                                                             id(model[1].bias)]
    assert len(list(model.parameters())) == 8  # unchanged: every parameter
    model[0][2].requires_grad_(True)  # unfreeze one sub-module of the frozen one
    assert [n for n, _ in model.named_trainable_parameters()] == [
        "0.2.weight", "0.2.bias", "1.weight", "1.bias"]
    assert model.requires_grad_(True) is model


# === no gradient buffer, no gradient computed ===============================
def test_a_frozen_backbone_gets_no_gradient_buffers():
    model = _model()
    model[0].requires_grad_(False)
    x, y = _batch()
    F.cross_entropy(model(x), y).backward()
    assert all(p.grad is None for p in model[0].parameters())
    assert all(p.grad is not None for p in model[1].parameters())


def _backward_of(y, g=None):
    """Run the backward formula of the node that made ``y`` as the engine does (no recording)
    -> the gradient per input, None where none is computed."""
    g = gk.ones(*y.shape, dtype=y.dtype) if g is None else g
    with gk.no_grad():
        out = y.grad_fn.backward(g)
    return out if isinstance(out, tuple) else (out,)


@pytest.mark.parametrize("layer,x", [
    (lambda: nn.Linear(6, 4), lambda: gk.randn(3, 5, 6, requires_grad=True)),
    (lambda: nn.Conv2d(3, 4, 3, padding=1), lambda: gk.randn(2, 3, 6, 6, requires_grad=True)),
    (lambda: nn.LayerNorm(6), lambda: gk.randn(3, 6, requires_grad=True)),
    (lambda: nn.BatchNorm1d(6), lambda: gk.randn(8, 6, requires_grad=True)),
    (lambda: nn.GroupNorm(2, 4), lambda: gk.randn(2, 4, 3, requires_grad=True)),
    (lambda: nn.RMSNorm(6), lambda: gk.randn(3, 6, requires_grad=True)),
], ids=["Linear", "Conv2d", "LayerNorm", "BatchNorm1d", "GroupNorm", "RMSNorm"])
def test_frozen_weight_gets_no_gradient_computed(layer, x):
    # the op's backward reads ctx.needs_input_grad: with the weight frozen it computes the
    # input's gradient (and a trainable bias's) and nothing for the weight
    m = layer()
    m.weight.requires_grad_(False)
    grads = _backward_of(m(x()))
    assert grads[0] is not None and grads[1] is None
    if getattr(m, "bias", None) is not None:
        assert grads[2] is not None
    m.requires_grad_(False)  # all frozen: only the input's gradient
    grads = _backward_of(m(x()))
    assert grads[0] is not None and all(g is None for g in grads[1:])


def test_frozen_embedding_records_no_node():
    emb = nn.Embedding(10, 4).requires_grad_(False)
    y = emb(gk.tensor(np.array([[1, 2], [3, 1]])))
    assert y.grad_fn is None and not y.requires_grad


# === optimizer: no state, no weight decay ===================================
@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop"])
def test_frozen_parameters_get_no_optimizer_state_and_no_decay(name):
    model = _model()
    x, y = _batch()
    F.cross_entropy(model(x), y).backward()  # gradients from before the freeze are ignored too
    model[0].requires_grad_(False)
    before = [p.array.copy() for p in model[0].parameters()]
    kw = {"momentum": 0.9} if name in ("SGD", "RMSprop") else {}
    opt = getattr(gk.optim, name)(model.parameters(), lr=0.1, weight_decay=0.5, **kw)
    for _ in range(2):
        opt.step()
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
    for p, b in zip(model[0].parameters(), before):
        np.testing.assert_array_equal(p.array, b)  # not even decayed
        assert not opt.state.get(p)
    assert all(opt.state.get(p) for p in model[1].parameters())


def _state_bytes(opt):
    return sum(v.array.nbytes for s in opt.state.values() for v in s.values()
               if isinstance(v, (gk.Tensor, np.ndarray)))


def _grad_bytes(params):
    return sum(p.grad.array.nbytes for p in params if p.grad is not None)


def test_frozen_backbone_costs_the_gradient_and_state_bytes_of_its_head_alone():
    """Training a frozen backbone's head holds exactly the gradients and Adam state of training
    the head alone on the backbone's features: the backbone gets neither.

    Activations differ by what the backbone's forward allocates while it runs: with no input
    and no parameter requiring grad the backbone records no graph, so it keeps nothing for the
    backward; its arrays live only as long as the forward (the peak measured below)."""
    x, y = _batch()
    model = _model()
    model[0].requires_grad_(False)
    opt = gk.optim.Adam(model.parameters(), lr=1e-3)
    F.cross_entropy(model(x), y).backward()
    opt.step()
    frozen = _grad_bytes(model.parameters()) + _state_bytes(opt)

    head = _model()[1]
    with gk.no_grad():
        features = _model()[0](x)
    opt_head = gk.optim.Adam(head.parameters(), lr=1e-3)
    F.cross_entropy(head(features), y).backward()
    opt_head.step()
    alone = _grad_bytes(head.parameters()) + _state_bytes(opt_head)

    n_head = sum(p.array.size for p in head.parameters())
    assert frozen == alone == 3 * 4 * n_head  # float32 gradient, exp_avg, exp_avg_sq
    full = _model()
    opt_full = gk.optim.Adam(full.parameters(), lr=1e-3)
    F.cross_entropy(full(x), y).backward()
    opt_full.step()
    assert _grad_bytes(full.parameters()) + _state_bytes(opt_full) > 20 * frozen


def test_frozen_backbone_step_peak_is_the_heads_plus_the_backbone_forward():
    x, y = _batch()
    model = _model()
    model[0].requires_grad_(False)
    opt = gk.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    def head_step():  # the same work, split: the backbone under no_grad, then the head
        opt.zero_grad()
        with gk.no_grad():
            features = model[0](x)
        F.cross_entropy(model[1](features), y).backward()
        opt.step()

    peaks = {}
    for name, run in [("frozen", step), ("head", head_step)]:
        run()  # the optimizer's state and scratch exist before measuring
        tracemalloc.start()
        run()
        peaks[name] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    # equal up to a few Python objects; a backbone that kept its activations for a backward
    # would add three (64, 256) float32 arrays, 196,608 bytes
    assert abs(peaks["frozen"] - peaks["head"]) < 2048


# === BatchNorm ==============================================================
def test_frozen_batchnorm_updates_running_stats_in_train_mode_as_pytorch():
    # requires_grad_(False) freezes gamma and beta, not the running statistics: in train mode
    # they still move (PyTorch's rule); eval() is what stops them
    rng = np.random.default_rng(3)
    ours = nn.BatchNorm1d(4, dtype=gk.float64).requires_grad_(False)
    ref = torch.nn.BatchNorm1d(4).double().requires_grad_(False)
    for _ in range(3):
        x = rng.standard_normal((16, 4)) * 3 + 1
        np.testing.assert_allclose(ours(gk.tensor(x)).array, ref(torch.tensor(x)).numpy(),
                                   rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.running_mean.array, ref.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.running_var.array, ref.running_var.numpy(), rtol=1e-12)
    assert int(ours.num_batches_tracked.array) == int(ref.num_batches_tracked) == 3
    assert not np.allclose(ours.running_mean.array, 0)
    ours.eval()
    ref.eval()
    stats = ours.running_mean.array.copy(), ours.running_var.array.copy()
    x = rng.standard_normal((16, 4))
    np.testing.assert_allclose(ours(gk.tensor(x)).array, ref(torch.tensor(x)).numpy(),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(ours.running_mean.array, stats[0])
    np.testing.assert_array_equal(ours.running_var.array, stats[1])
