"""The update loop the Optimizer base owns, for every optimizer: gradient clipping (by norm, per
parameter and joint, and by value) equals PyTorch's clip_grad_norm_ / clip_grad_value_ followed
by the step; decoupled weight decay for any optimizer; frozen parameters get no update and no
decay; a closure works; grad_scale (accumulation over micro-batches) equals scaling the loss;
the option checks are written once and run for every optimizer."""
import numpy as np
import pytest
import torch

import gradkit as gk
import gradkit.nn as nn

SHAPES = [(4, 3), (3,), (2, 5)]
STEPS = 5
# every optimizer with PyTorch's counterpart (Lion has none: it is checked against itself)
TORCH = [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.01)),
         ("AdamW", dict(lr=0.01, weight_decay=0.1)), ("Adagrad", dict(lr=0.1)),
         ("RMSprop", dict(lr=0.01, centered=True)), ("Adadelta", dict(lr=0.5)),
         ("Adamax", dict(lr=0.01)), ("NAdam", dict(lr=0.01))]
ALL = TORCH + [("Lion", dict(lr=1e-3, weight_decay=0.1))]


def _start(seed=0, scale=3.0):
    rng = np.random.default_rng(seed)
    w0 = [rng.standard_normal(s) for s in SHAPES]
    grads = [[scale * rng.standard_normal(s) for s in SHAPES] for _ in range(STEPS)]
    return w0, grads


def run_gk(name, kw, w0, grads, options=None):
    ws = [nn.Parameter(gk.tensor(w.copy())) for w in w0]
    opt = getattr(gk.optim, name)(ws, **kw, **(options or {}))
    for gs in grads:
        for w, g in zip(ws, gs):
            w.grad = gk.tensor(g)
        opt.step()
    return [w.array for w in ws]


def run_torch(name, kw, w0, grads, clip):
    prev = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # NAdam keeps mu_product in the default dtype
    try:
        ws = [torch.nn.Parameter(torch.tensor(w)) for w in w0]
        opt = getattr(torch.optim, name)(ws, **kw)
        for gs in grads:
            for w, g in zip(ws, gs):
                w.grad = torch.tensor(g)
            clip(ws)
            opt.step()
    finally:
        torch.set_default_dtype(prev)
    return [w.detach().numpy() for w in ws]


# ---------------------------------------------------------------------------- clipping
CLIPS = [
    (dict(clip_grad_norm=2.0), lambda ws: torch.nn.utils.clip_grad_norm_(ws, 2.0)),
    (dict(clip_grad_norm_per_param=1.5),
     lambda ws: [torch.nn.utils.clip_grad_norm_([w], 1.5) for w in ws]),
    (dict(clip_grad_value=0.5), lambda ws: torch.nn.utils.clip_grad_value_(ws, 0.5)),
    (dict(clip_grad_value=2.0, clip_grad_norm=3.0),
     lambda ws: (torch.nn.utils.clip_grad_value_(ws, 2.0),
                 torch.nn.utils.clip_grad_norm_(ws, 3.0))),
]


@pytest.mark.parametrize("options,torch_clip", CLIPS, ids=["norm", "norm_per_param", "value",
                                                           "value_then_norm"])
@pytest.mark.parametrize("name,kw", TORCH, ids=[n for n, _ in TORCH])
def test_clipping_equals_torch_clip_then_step(name, kw, options, torch_clip):
    w0, grads = _start()
    got = run_gk(name, kw, w0, grads, options)
    want = run_torch(name, kw, w0, grads, torch_clip)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    unclipped = run_gk(name, kw, w0, grads)
    assert not np.allclose(got[0], unclipped[0])  # the clip acted


def test_clipping_leaves_grad_untouched_and_keeps_float32():
    w = nn.Parameter(gk.ones(3))
    w.grad = gk.tensor(np.array([30.0, 40.0, 0.0], np.float32))
    gk.optim.SGD([w], lr=1.0, clip_grad_norm=5.0).step()
    np.testing.assert_allclose(w.array, [1 - 3.0, 1 - 4.0, 1.0], rtol=1e-5)
    np.testing.assert_array_equal(w.grad.array, [30.0, 40.0, 0.0])
    assert w.array.dtype == np.float32


def test_clip_options_are_checked():
    p = [nn.Parameter(gk.zeros(2))]
    for option in ("clip_grad_norm", "clip_grad_norm_per_param", "clip_grad_value"):
        with pytest.raises(ValueError, match=f"Invalid {option} value: 0"):
            gk.optim.Adam(p, **{option: 0})


# ---------------------------------------------------------------------------- decoupled decay
@pytest.mark.parametrize("name,kw", [c for c in ALL if c[0] not in ("AdamW", "Lion")],
                         ids=[n for n, _ in ALL if n not in ("AdamW", "Lion")])
def test_decoupled_weight_decay_for_any_optimizer(name, kw):
    """w ← w (1 − lr λ) before the rule, for every optimizer (what Keras' weight_decay is)."""
    lam = 0.3
    w0, grads = _start(1)
    got = run_gk(name, kw, w0, grads, dict(weight_decay=lam, decoupled_weight_decay=True))
    ws = [nn.Parameter(gk.tensor(w.copy())) for w in w0]
    opt = getattr(gk.optim, name)(ws, **kw)
    for gs in grads:
        with gk.no_grad():
            for w, g in zip(ws, gs):
                w.array *= 1 - kw["lr"] * lam
                w.grad = gk.tensor(g)
        opt.step()
    for a, w in zip(got, ws):
        np.testing.assert_allclose(a, w.array, rtol=1e-12)


def test_adam_with_decoupled_decay_is_adamw():
    w0, grads = _start(2)
    a = run_gk("Adam", dict(lr=0.01, weight_decay=0.2, decoupled_weight_decay=True), w0, grads)
    b = run_gk("AdamW", dict(lr=0.01, weight_decay=0.2), w0, grads)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_base_options_stay_out_of_torch_shaped_defaults():
    """Options PyTorch does not have appear in the groups only when set, so state_dicts keep
    PyTorch's structure."""
    p = [nn.Parameter(gk.zeros(2))]
    assert "decoupled_weight_decay" not in gk.optim.SGD(p).defaults
    sgd = gk.optim.SGD(p, weight_decay=0.1, decoupled_weight_decay=True)
    assert sgd.param_groups[0]["decoupled_weight_decay"] is True
    adam = gk.optim.Adam(p, clip_grad_norm=1.0)
    assert "clip_grad_norm" not in adam.state_dict()["param_groups"][0]


# ---------------------------------------------------------------------------- frozen, closure
@pytest.mark.parametrize("name,kw", ALL, ids=[n for n, _ in ALL])
def test_frozen_parameter_gets_no_update_no_decay_no_state(name, kw):
    a, b = nn.Parameter(gk.ones(3)), nn.Parameter(gk.ones(3))
    a.grad, b.grad = gk.ones(3), gk.ones(3)
    b.requires_grad_(False)
    options = {**kw, "weight_decay": 0.5, "clip_grad_norm": 1.0}
    if name not in ("AdamW", "Lion"):
        options["decoupled_weight_decay"] = True
    opt = getattr(gk.optim, name)([a, b], **options)
    for _ in range(3):
        opt.step()
    np.testing.assert_array_equal(b.array, np.ones(3, np.float32))
    assert b._version == 0 and not opt.state.get(b)
    assert not np.array_equal(a.array, np.ones(3, np.float32))


@pytest.mark.parametrize("name,kw", ALL, ids=[n for n, _ in ALL])
def test_closure_returns_its_loss_and_the_step_uses_its_gradient(name, kw):
    gk.manual_seed(0)
    model = nn.Linear(3, 1, dtype=gk.float64)
    x = gk.tensor(np.random.default_rng(0).standard_normal((8, 3)))
    opt = getattr(gk.optim, name)(model.parameters(), **kw)
    ref = nn.Linear(3, 1, dtype=gk.float64)
    ref.load_state_dict(model.state_dict())
    ref_opt = getattr(gk.optim, name)(ref.parameters(), **kw)

    def closure():
        opt.zero_grad()
        loss = (model(x) ** 2).mean()
        loss.backward()
        return loss

    losses = []
    for _ in range(3):
        with gk.no_grad():  # the closure records a graph even inside no_grad
            losses.append(opt.step(closure).item())
        ref_opt.zero_grad()
        (ref(x) ** 2).mean().backward()
        ref_opt.step()
    np.testing.assert_array_equal(model.weight.array, ref.weight.array)
    assert losses[0] != losses[-1]


# ---------------------------------------------------------------------------- grad_scale
@pytest.mark.parametrize("name,kw", ALL, ids=[n for n, _ in ALL])
def test_grad_scale_equals_scaling_the_gradient(name, kw):
    w0, grads = _start(4)
    got = run_gk(name, kw, w0, grads, None)
    ws = [nn.Parameter(gk.tensor(w.copy())) for w in w0]
    opt = getattr(gk.optim, name)(ws, **kw)
    for gs in grads:
        for w, g in zip(ws, gs):
            w.grad = gk.tensor(g / 4)   # a sum over micro-batches, 4 times too small
        opt.step(grad_scale=4.0)
    for a, w in zip(got, ws):
        np.testing.assert_allclose(a, w.array, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------------- option checks
def test_check_options_is_the_constructors_check():
    with pytest.raises(ValueError, match="Invalid momentum value: -1"):
        gk.optim.SGD.check_options(dict(lr=0.1, momentum=-1))
    with pytest.raises(ValueError, match="Invalid beta parameter at index 0: 1.5"):
        gk.optim.Adam.check_options(dict(betas=(1.5, 0.9)))
    gk.optim.Adam.check_options(dict(lr=0.1, betas=(0.9, 0.99), eps=1e-8))  # fine
