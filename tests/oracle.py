"""The one shared oracle: run an op in gradkit and in PyTorch on the same float64 inputs and
compare the forward value and every input's gradient; then gradcheck the gradkit op.

    check(lambda a, b: a * b, shapes=[(3, 1), (4,)])              # same code for both frameworks
    check(gk_fn, torch_fn, inputs=[x_array, y_array])           # different code, given inputs
"""
import numpy as np
import torch

import gradkit as gk

RTOL = 1e-6
ATOL = 1e-9


def rand_inputs(shapes, rng=None, low=-2.0, high=2.0):
    rng = rng or np.random.default_rng(0)
    return [rng.uniform(low, high, size=s) for s in shapes]


def _to_gk(a, grad):
    return gk.tensor(a, dtype=gk.float64, requires_grad=grad) if a.dtype.kind == "f" else gk.tensor(a)


def _to_torch(a, grad):
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad) if a.dtype.kind == "f" else torch.tensor(a)


def _outs(o):
    return list(o) if isinstance(o, (tuple, list)) else [o]


def check(gk_fn, torch_fn=None, shapes=None, inputs=None, rtol=RTOL, atol=ATOL, grad=True,
          gradcheck=True, seed=0, grad_inputs=None):
    """Compare gk_fn and torch_fn (defaults to gk_fn: the same code runs on both) on float64.

    inputs: arrays (float arrays become differentiable inputs; integer arrays are passed as
    constants). grad_inputs: optional list of bools to pick which float inputs are differentiated.
    Returns the gradkit outputs.
    """
    torch_fn = torch_fn or gk_fn
    rng = np.random.default_rng(seed)
    if inputs is None:
        inputs = rand_inputs(shapes, rng)
    inputs = [np.asarray(a) for a in inputs]
    diff = grad_inputs or [a.dtype.kind == "f" for a in inputs]
    gx = [_to_gk(a, grad and d) for a, d in zip(inputs, diff)]
    tx = [_to_torch(a, grad and d) for a, d in zip(inputs, diff)]
    go, to = _outs(gk_fn(*gx)), _outs(torch_fn(*tx))
    assert len(go) == len(to), f"{len(go)} outputs vs torch's {len(to)}"
    for g, t in zip(go, to):
        t = t.detach().numpy()
        assert g.shape == tuple(t.shape), f"shape {g.shape} vs torch {tuple(t.shape)}"
        np.testing.assert_allclose(g.array, t, rtol=rtol, atol=atol, err_msg="forward value")
    if not grad or not any(diff):
        return go
    # a random upstream gradient for each float output, the same in both
    g_diff = [(g, t) for g, t in zip(go, to) if g.requires_grad]
    if not g_diff:
        return go
    ups = [rng.standard_normal(g.shape) for g, _ in g_diff]
    gsum = sum((g * gk.tensor(u, dtype=gk.float64)).sum() for (g, _), u in zip(g_diff, ups))
    tsum = sum((t * torch.tensor(u, dtype=torch.float64)).sum() for (_, t), u in zip(g_diff, ups))
    gsum.backward()
    tsum.backward()
    for i, (g, t) in enumerate(zip(gx, tx)):
        if not g.requires_grad:
            continue
        tg = t.grad.numpy() if t.grad is not None else np.zeros(t.shape)
        gg = g.grad.array if g.grad is not None else np.zeros(g.shape)
        np.testing.assert_allclose(gg, tg, rtol=rtol, atol=atol, err_msg=f"gradient of input {i}")
    if gradcheck:
        gx2 = [_to_gk(a, grad and d) for a, d in zip(inputs, diff)]
        gk.autograd.gradcheck(lambda *xs: tuple(o for o in _outs(gk_fn(*xs)) if o.requires_grad), tuple(gx2))
    return go
