"""The engine: backward, accumulation, retain_graph, freeing, hooks, grad mode, gk.grad."""
import gc
import sys
import tracemalloc
import weakref

import numpy as np
import pytest
import torch

import gradkit as gk


def test_chain_rule_by_hand_three_layer_network_matches_torch():
    # y = W3 tanh(W2 relu(W1 x + b1) + b2) + b3, loss = mean((y - t)^2), written with raw tensors
    rng = np.random.default_rng(1)
    shapes = {"W1": (5, 4), "b1": (5,), "W2": (6, 5), "b2": (6,), "W3": (2, 6), "b3": (2,)}
    vals = {k: rng.standard_normal(s) for k, s in shapes.items()}
    x, t = rng.standard_normal((8, 4)), rng.standard_normal((8, 2))

    def net(lib, p, x, t):
        h1 = lib.relu(x @ p["W1"].T + p["b1"])
        h2 = lib.tanh(h1 @ p["W2"].T + p["b2"])
        y = h2 @ p["W3"].T + p["b3"]
        return ((y - t) ** 2).mean()

    gp = {k: gk.tensor(v, requires_grad=True) for k, v in vals.items()}
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in vals.items()}
    gl = net(gk, gp, gk.tensor(x), gk.tensor(t))
    tl = net(torch, tp, torch.tensor(x), torch.tensor(t))
    gl.backward()
    tl.backward()
    assert gl.item() == pytest.approx(tl.item(), rel=1e-12)
    for k in vals:
        np.testing.assert_allclose(gp[k].grad.array, tp[k].grad.numpy(), rtol=1e-10, atol=1e-12)


def test_gradients_accumulate_across_backward_calls():
    x = gk.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.array, [3 + 2, 3 + 4])


def test_shared_subexpression_gradient_is_summed():
    x = gk.tensor(3.0, dtype=gk.float64, requires_grad=True)
    a = x * x          # used twice below
    y = a * a + a      # y = x^4 + x^2, dy/dx = 4x^3 + 2x
    y.backward()
    assert x.grad.item() == pytest.approx(4 * 27 + 6)


def test_many_gradients_meeting_at_a_node_and_a_leaf_are_summed():
    x = gk.tensor(2.0, requires_grad=True)   # 0-d: the summed gradient must stay an array
    h = x * 1.0
    y = h + h + h + x + x                    # h gets 3 gradients, x 3 (via h's node) + 2
    y.backward()
    assert type(x.grad.array) is np.ndarray and x.grad.dtype == gk.float32
    assert x.grad.item() == 5


def test_accumulation_never_writes_a_gradient_array_someone_else_holds():
    # Add's backward hands one gradient to both inputs: w.grad and x's first share are the
    # caller's array itself; x's second share must be added into a new buffer, not into it
    x = gk.tensor([1.0, 2.0], requires_grad=True)
    w = gk.tensor([3.0, 4.0], requires_grad=True)
    up = np.ones(2, np.float32)
    ((x + w) + x).backward(gk.from_numpy(up))
    np.testing.assert_array_equal(w.grad.array, [1, 1])
    np.testing.assert_array_equal(x.grad.array, [2, 2])
    np.testing.assert_array_equal(up, [1, 1])
    # a .grad set by the caller is added to, not written into
    mine = np.zeros(2, np.float32)
    x.grad = gk.from_numpy(mine)
    (x * 3 + x).sum().backward()
    np.testing.assert_array_equal(x.grad.array, [4, 4])
    np.testing.assert_array_equal(mine, [0, 0])


def test_a_grad_that_a_hook_sets_during_backward_is_not_written_into():
    # the engine works on (x + x) first, giving x.grad a summed buffer of its own; the hook on
    # m then replaces x.grad before m's backward sends x its last gradient
    x = gk.tensor([1.0, 2.0], requires_grad=True)
    mine = np.zeros(2, np.float32)
    m = x * 1.0

    def reset(g):
        x.grad = gk.from_numpy(mine)
    m.register_hook(reset)
    (m.sum() + (x + x).sum()).backward()
    np.testing.assert_array_equal(x.grad.array, [1, 1])
    np.testing.assert_array_equal(mine, [0, 0])


def test_implicit_gradient_only_for_scalars():
    x = gk.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"implicitly created only for scalar.*\(3,\)"):
        (x * 2).backward()
    y = x * 2
    y.backward(gk.tensor([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(x.grad.array, [2, 4, 6])
    with pytest.raises(RuntimeError, match="gradient has shape"):
        (x * 2).backward(gk.ones(2))


def test_backward_on_tensor_without_grad_is_a_clear_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        gk.ones(3).sum().backward()
    with gk.no_grad():
        y = (gk.ones(3, requires_grad=True) * 2).sum()
    with pytest.raises(RuntimeError, match="no_grad"):
        y.backward()


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(RuntimeError, match="only floating point tensors can require gradients"):
        gk.tensor([1, 2, 3], requires_grad=True)
    with pytest.raises(RuntimeError, match="int64"):
        gk.arange(3).requires_grad_()


def test_second_backward_through_freed_graph_raises():
    x = gk.tensor([0.5, 1.0], requires_grad=True)
    y = x.tanh().sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = gk.tensor([0.5, 1.0], requires_grad=True)
    y = x.tanh().sum()
    y.backward(retain_graph=True)
    g1 = x.grad.array.copy()
    y.backward()
    np.testing.assert_allclose(x.grad.array, 2 * g1)


def test_deep_chain_of_100000_ops_has_no_recursion_error():
    limit = sys.getrecursionlimit()
    x = gk.tensor(1.0, dtype=gk.float64, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0001
    y.backward()
    assert sys.getrecursionlimit() == limit
    assert x.grad.item() == pytest.approx(1.0001 ** 100_000, rel=1e-9)


def test_saved_buffers_are_freed_after_backward():
    x = gk.randn(256, 256, requires_grad=True)
    h = x.tanh()             # saves its 256 KB output
    node = h.grad_fn
    big = h.exp()            # saves another 256 KB output
    loss = big.sum()
    ref = weakref.ref(big.grad_fn)
    del h, big
    assert node._saved is not None
    loss.backward()
    assert node._saved is None and node._out is None
    del loss
    gc.collect()
    assert ref() is None      # the whole graph is gone once the output is dropped


def test_backward_releases_memory_tracemalloc():
    x = gk.randn(512, 512, requires_grad=True)   # 1 MB
    tracemalloc.start()
    y = x
    for _ in range(8):
        y = (y * 0.5).tanh()   # each op keeps its ~1 MB output for backward
    loss = y.sum()
    held, _ = tracemalloc.get_traced_memory()
    loss.backward()
    del y
    after, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert held > 8e6          # the graph held the saved activations
    assert after < 3e6         # and released them: only x.grad (1 MB) and small objects remain


def test_no_grad_context_and_decorator_and_enable_grad():
    x = gk.ones(2, requires_grad=True)
    with gk.no_grad():
        y = x * 2
        assert not gk.is_grad_enabled()
        with gk.enable_grad():
            z = x * 2
    assert gk.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn is not None

    @gk.no_grad()
    def f(t):
        return t * 3
    assert not f(x).requires_grad
    assert gk.is_grad_enabled()


def test_set_grad_enabled():
    x = gk.ones(2, requires_grad=True)
    with gk.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad


def test_no_graph_when_nothing_requires_grad():
    a, b = gk.ones(3), gk.ones(3)
    c = a * b + 1
    assert c.grad_fn is None and not c.requires_grad


def test_is_leaf_grad_fn_and_requires_grad_propagation():
    x = gk.ones(2, requires_grad=True)
    c = gk.ones(2)
    y = x * c
    assert x.is_leaf and c.is_leaf and not y.is_leaf
    assert y.grad_fn.name() == "MulBackward"
    assert "grad_fn=<MulBackward>" in repr(y)


def test_detach_cuts_the_graph():
    x = gk.tensor([2.0], requires_grad=True)
    y = x * x
    z = y.detach() * x
    z.backward()
    np.testing.assert_allclose(x.grad.array, [4.0])   # y treated as the constant 4
    assert y.detach().array is y.array


def test_tensor_hook_modifies_gradient_and_can_be_removed():
    x = gk.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    h = x.register_hook(lambda g: seen.append(g.array.copy()) or g * 10)
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.array, [30, 30])
    np.testing.assert_allclose(seen[0], [3, 3])
    h.remove()
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.array, [3, 3])


def test_hook_on_intermediate_tensor_and_retain_grad():
    x = gk.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.retain_grad()
    y.register_hook(lambda g: g * 0.5)
    (y * y).sum().backward()
    xt = torch.tensor([1.0, 2.0], requires_grad=True)
    yt = xt * 2
    yt.retain_grad()
    yt.register_hook(lambda g: g * 0.5)
    (yt * yt).sum().backward()
    np.testing.assert_allclose(x.grad.array, xt.grad.numpy())
    np.testing.assert_allclose(y.grad.array, yt.grad.numpy())


def test_functional_grad_does_not_touch_dot_grad():
    x = gk.tensor([1.0, 2.0], requires_grad=True)
    w = gk.tensor([3.0, 4.0], requires_grad=True)
    (gx,) = gk.grad((x * w).sum(), x)
    np.testing.assert_allclose(gx.array, [3, 4])
    assert x.grad is None and w.grad is None


def test_functional_grad_unused_input():
    x = gk.ones(2, requires_grad=True)
    u = gk.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        gk.grad((x * 2).sum(), [x, u])
    gx, gu = gk.grad((x * 2).sum(), [x, u], allow_unused=True)
    assert gu is None
    np.testing.assert_allclose(gx.array, [2, 2])


def test_functional_grad_with_respect_to_intermediate():
    x = gk.tensor([1.0, 2.0], dtype=gk.float64, requires_grad=True)
    h = x * 3
    y = (h * h).sum()
    (gh,) = gk.grad(y, h)
    np.testing.assert_allclose(gh.array, 2 * h.array)


def test_grad_outputs_vector_jacobian_product():
    x = gk.tensor([1.0, 2.0, 3.0], dtype=gk.float64, requires_grad=True)
    (g,) = gk.grad(x * x, x, grad_outputs=gk.tensor([1.0, 0.0, 2.0], dtype=gk.float64))
    np.testing.assert_allclose(g.array, [2, 0, 12])


def test_multiple_roots_and_non_scalar_gradient_accumulation_dtype():
    x = gk.randn(3, requires_grad=True)
    (x.exp() * 2).backward(gk.ones(3))
    assert x.grad.dtype == gk.float32


def test_mixed_precision_graph_gives_each_leaf_its_own_dtype():
    a = gk.randn(3, requires_grad=True)
    b = gk.randn(3, dtype=gk.float64, requires_grad=True)
    y = (a * b).sum()
    assert y.dtype == gk.float64
    y.backward()
    assert a.grad.dtype == gk.float32 and b.grad.dtype == gk.float64
    np.testing.assert_allclose(a.grad.array, b.array.astype(np.float32), rtol=1e-6)
