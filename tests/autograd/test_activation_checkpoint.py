"""gradkit.utils.checkpoint: the same gradients as without it (inputs and the parameters used
inside), dropout replayed, tuples, nesting, keyword arguments, gk.grad, hooks once, the warning
when nothing requires grad, the errors; and against torch.utils.checkpoint on the same net."""
import warnings

import numpy as np
import pytest
import torch
import torch.utils.checkpoint

import gradkit as gk
from gradkit import nn
from gradkit.nn import functional as F
from gradkit.utils.checkpoint import checkpoint, checkpoint_sequential


def _net(dtype=gk.float64, p=0.0):
    gk.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Dropout(p), nn.Linear(16, 16),
                         nn.GELU(), nn.LayerNorm(16), nn.Linear(16, 3)).to(dtype)


def _grads(net, x, run, seed=1):
    """Run ``run(net, x)`` from generator state ``seed``, backpropagate a fixed function of its
    output; -> [loss, x.grad, every parameter's grad] as arrays."""
    net.zero_grad()
    x.grad = None
    gk.manual_seed(seed)
    y = run(net, x)
    loss = (y * y).sum() + y.sum()
    loss.backward()
    return [loss.array.copy(), x.grad.array.copy()] + [p.grad.array.copy() for p in net.parameters()]


def _same(a, b, atol):
    assert len(a) == len(b)
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=0, atol=atol)


@pytest.mark.parametrize("dtype,atol", [(gk.float64, 1e-12), (gk.float32, 1e-6)])
def test_same_gradients_as_without_for_inputs_and_parameters(dtype, atol):
    net = _net(dtype)
    x = gk.randn(8, 5, dtype=dtype, requires_grad=True)
    plain = _grads(net, x, lambda m, t: m(t))
    ckpt = _grads(net, x, lambda m, t: checkpoint(m, t, use_reentrant=False))
    _same(plain, ckpt, atol)


def test_dropout_masks_are_replayed():
    net = _net(p=0.5)
    x = gk.randn(8, 5, dtype=gk.float64, requires_grad=True)
    plain = _grads(net, x, lambda m, t: m(t))
    ckpt = _grads(net, x, lambda m, t: checkpoint(m, t))
    _same(plain, ckpt, 1e-12)
    # without replaying the generator the recomputation draws other masks: other gradients
    other = _grads(net, x, lambda m, t: checkpoint(m, t, preserve_rng_state=False))
    assert not np.allclose(other[1], plain[1])
    # and the replay leaves the generator where the forward left it: later draws are unchanged
    gk.manual_seed(3)
    net(x)
    after_plain = gk.rand(4).array
    gk.manual_seed(3)
    checkpoint(net, x).sum().backward()
    np.testing.assert_array_equal(gk.rand(4).array, after_plain)


def test_nested_checkpoints_and_a_sequence_of_them():
    net = _net()
    x = gk.randn(6, 5, dtype=gk.float64, requires_grad=True)

    def outer(t):  # a checkpoint inside a checkpoint
        t = checkpoint(net[0:3], t)
        return net[3:](t)

    plain = _grads(net, x, lambda m, t: m(t))
    _same(plain, _grads(net, x, lambda m, t: checkpoint(outer, t)), 1e-12)
    _same(plain, _grads(net, x, lambda m, t: checkpoint_sequential(m, 3, t)), 1e-12)


def test_a_function_returning_a_tuple():
    net = _net()
    x = gk.randn(4, 5, dtype=gk.float64, requires_grad=True)
    w = nn.Parameter(gk.randn(3, dtype=gk.float32))  # a float32 output beside float64 ones

    def f(t):
        y = net(t)
        return y, t * 2.0, "a label", w * 3.0, y.detach()

    def loss_of(outs):
        y, t2, label, w3, frozen = outs
        assert label == "a label" and not frozen.requires_grad
        return (y ** 2).sum() + (t2 ** 3).sum() + (w3 * w3).sum() * y.sum()

    def grads(run):
        net.zero_grad()
        x.grad = w.grad = None
        loss_of(run(f, x)).backward()
        return [x.grad.array, w.grad.array] + [p.grad.array for p in net.parameters()]

    outs = checkpoint(f, x)
    assert isinstance(outs, tuple) and outs[3].dtype == gk.float32 and outs[1].shape == (4, 5)
    _same(grads(lambda fn, t: fn(t)), grads(lambda fn, t: checkpoint(fn, t)), 1e-6)


def test_parameters_get_gradients_when_no_input_requires_grad():
    # a frozen embedding in front of trainable layers (LoRA): the layers' inputs need no
    # gradient, their parameters do (PyTorch's reentrant checkpoint would give them none)
    net = _net()
    x = gk.randn(4, 5, dtype=gk.float64)
    plain = _grads_params(net, lambda: net(x))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ckpt = _grads_params(net, lambda: checkpoint(net, x))
    _same(plain, ckpt, 1e-12)


def _grads_params(net, run):
    net.zero_grad()
    (run() ** 2).sum().backward()
    return [p.grad.array.copy() for p in net.parameters()]


def test_keyword_arguments_non_tensor_arguments_and_frozen_parameters():
    net = _net()
    net[0].requires_grad_(False)
    x = gk.randn(4, 5, dtype=gk.float64, requires_grad=True)
    scale = gk.randn(3, dtype=gk.float64, requires_grad=True)

    def f(t, k, *, scale, mask=None):
        return net(t)[:, :k] * scale[:k] + (0 if mask is None else mask)

    def grads(run):
        net.zero_grad()
        x.grad = scale.grad = None
        (run() ** 2).sum().backward()
        return [x.grad.array, scale.grad.array] + [p.grad.array for p in net.trainable_parameters()]

    plain = grads(lambda: f(x, 2, scale=scale))
    _same(plain, grads(lambda: checkpoint(f, x, 2, scale=scale)), 1e-12)
    assert net[0].weight.grad is None  # frozen: still no gradient


def test_gk_grad_through_a_checkpoint_writes_no_grad_attribute():
    net = _net()
    x = gk.randn(4, 5, dtype=gk.float64, requires_grad=True)
    w = net[3].weight
    expected = gk.grad((net(x) ** 2).sum(), [x, w])
    got = gk.grad((checkpoint(net, x) ** 2).sum(), [x, w])
    _same([g.array for g in expected], [g.array for g in got], 1e-12)
    assert all(p.grad is None for p in net.parameters())


def test_parameter_hooks_run_once_and_the_recomputation_keeps_no_graph():
    net = _net()
    x = gk.randn(4, 5, dtype=gk.float64, requires_grad=True)
    calls = []
    net[0].weight.register_hook(lambda g: calls.append(1))
    y = checkpoint(net, x)
    assert type(y.grad_fn).__name__ == "Checkpoint"
    # the node's inputs: the argument and the parameters used inside, nothing else
    parents = y.grad_fn.parents
    assert parents[0] is x and {id(p) for p in parents[1:]} == {id(p) for p in net.parameters()}
    y.sum().backward()
    assert calls == [1]


def test_warns_when_nothing_requires_grad_and_is_a_plain_call_under_no_grad():
    net = _net().requires_grad_(False)
    x = gk.randn(4, 5, dtype=gk.float64)
    with pytest.warns(UserWarning, match=r"none of the inputs requires grad, and neither does "
                                         r"any parameter"):
        y = checkpoint(net, x)
    assert not y.requires_grad
    with gk.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("error")
        assert checkpoint(_net(), x).grad_fn is None


def test_errors_name_the_function_and_the_fix():
    net = _net()
    x = gk.randn(4, 5, dtype=gk.float64, requires_grad=True)
    with pytest.raises(TypeError, match=r"argument 0 is a list holding tensors that require "
                                        r"grad; pass each tensor as an argument of its own"):
        checkpoint(lambda ts: net(ts[0]), [x])
    with pytest.raises(TypeError, match=r"must return a Tensor or a tuple/list of Tensors; got "
                                        r"dict"):
        checkpoint(lambda t: {"y": net(t)}, x)
    y = checkpoint(net, x)
    with pytest.raises(RuntimeError, match=r"second derivatives \(create_graph=True\)"):
        gk.grad(y.sum(), x, create_graph=True)
    # an input changed in place between the forward and the backward
    z = x * 1.0
    y = checkpoint(net, z)
    with gk.no_grad():
        z.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.sum().backward()
    # a function that computes something else the second time
    state = {"n": 4}
    y = checkpoint(lambda t: net(t[:state["n"]]), x)
    state["n"] = 2
    with pytest.raises(RuntimeError, match=r"recomputing the function gave \(2, 3\) where the "
                                           r"forward gave shape \(4, 3\)"):
        y.sum().backward()


def test_equals_torch_utils_checkpoint_on_the_same_net():
    net = _net()
    ref = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.Tanh(), torch.nn.Linear(16, 16),
                              torch.nn.GELU(), torch.nn.LayerNorm(16),
                              torch.nn.Linear(16, 3)).double()
    ours = [m for m in net if not isinstance(m, nn.Dropout)]
    for a, b in zip(ours, ref):
        b.load_state_dict({k: torch.tensor(v.array) for k, v in a.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((6, 5))
    xg = gk.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    y = checkpoint(net, xg)
    yt = torch.utils.checkpoint.checkpoint(ref, xt, use_reentrant=False)
    (y ** 2).sum().backward()
    (yt ** 2).sum().backward()
    np.testing.assert_allclose(y.array, yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(xg.grad.array, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    for a, b in zip([p for m in ours for p in m.parameters()], ref.parameters()):
        np.testing.assert_allclose(a.grad.array, b.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_the_graph_keeps_the_inputs_not_the_activations():
    # what a forward leaves alive until the backward: every layer's activations without
    # checkpoint; with it, the output and the node's references to its inputs (no arrays)
    import tracemalloc

    gk.manual_seed(0)
    net = nn.Sequential(*[nn.Sequential(nn.Linear(128, 128), nn.Tanh()) for _ in range(6)])
    x = gk.randn(256, 128, requires_grad=True)
    held = {}
    for name, run in [("plain", lambda: net(x)), ("checkpoint", lambda: checkpoint(net, x))]:
        tracemalloc.start()
        y = run()
        held[name] = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        y.sum().backward()
    one = 256 * 128 * 4  # one activation array, bytes
    assert held["plain"] > 5.5 * one  # per layer tanh's output (the next Linear's input)
    assert held["checkpoint"] < 1.5 * one  # the output only
    node = checkpoint(net, x).grad_fn
    assert node.parents[0] is x
    assert all(s.array is p.array for s, p in zip(node.saved, node.parents))
