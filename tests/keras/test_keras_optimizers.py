"""keras.optimizers is a table over gradkit.optim: every Keras optimizer, given the same gradients,
follows step for step the gradkit.optim optimizer its argument map names (float64, 5 steps);
Keras AdamW is gradkit.optim.AdamW; Keras' clipnorm / global_clipnorm / clipvalue equal PyTorch's
clip_grad_norm_ / clip_grad_value_ followed by the step; Keras' weight_decay is decoupled
(w ← w − lr·λ·w) for every optimizer."""
import numpy as np
import pytest
import torch

import gradkit as gk
from gradkit import keras

STEPS = 5
SHAPES = [(4, 3), (3,), (2, 5)]

# (Keras name, Keras arguments, gradkit.optim name, the same settings in gradkit.optim's names)
CASES = [
    ("SGD", dict(), "SGD", dict(lr=0.01)),
    ("SGD", dict(learning_rate=0.1, momentum=0.9, nesterov=True), "SGD",
     dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("Adam", dict(), "Adam", dict(lr=0.001, eps=1e-7)),
    ("Adam", dict(learning_rate=0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-6, amsgrad=True),
     "Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, amsgrad=True)),
    ("AdamW", dict(), "AdamW", dict(lr=0.001, eps=1e-7, weight_decay=0.004)),
    ("AdamW", dict(learning_rate=0.01, weight_decay=0.1, beta_1=0.8, amsgrad=True), "AdamW",
     dict(lr=0.01, weight_decay=0.1, betas=(0.8, 0.999), eps=1e-7, amsgrad=True)),
    ("RMSprop", dict(), "RMSprop", dict(lr=0.001, alpha=0.9, eps=1e-7)),
    ("RMSprop", dict(learning_rate=0.01, rho=0.8, momentum=0.5, epsilon=1e-6, centered=True),
     "RMSprop", dict(lr=0.01, alpha=0.8, momentum=0.5, eps=1e-6, centered=True)),
    ("Adagrad", dict(), "Adagrad", dict(lr=0.001, initial_accumulator_value=0.1, eps=1e-7)),
    ("Adagrad", dict(learning_rate=0.1, initial_accumulator_value=0.2, epsilon=1e-6), "Adagrad",
     dict(lr=0.1, initial_accumulator_value=0.2, eps=1e-6)),
    ("Adadelta", dict(), "Adadelta", dict(lr=0.001, rho=0.95, eps=1e-7)),
    ("Adadelta", dict(learning_rate=0.5, rho=0.8, epsilon=1e-6), "Adadelta",
     dict(lr=0.5, rho=0.8, eps=1e-6)),
    ("Adamax", dict(), "Adamax", dict(lr=0.001, eps=1e-7)),
    ("Adamax", dict(learning_rate=0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-6), "Adamax",
     dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6)),
    ("Nadam", dict(), "NAdam", dict(lr=0.001, eps=1e-7)),
    ("Nadam", dict(learning_rate=0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-6), "NAdam",
     dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6)),
    ("Lion", dict(), "Lion", dict(lr=0.001, betas=(0.9, 0.99))),
    ("Lion", dict(learning_rate=0.01, beta_1=0.8, beta_2=0.9), "Lion",
     dict(lr=0.01, betas=(0.8, 0.9))),
]


def _ids(cases):
    return [f"{k}({','.join(kw)})" for k, kw, *_ in cases]


def _start(seed=0):
    rng = np.random.default_rng(seed)
    w0 = [rng.standard_normal(s) for s in SHAPES]
    grads = [[rng.standard_normal(s) for s in SHAPES] for _ in range(STEPS)]
    return w0, grads


def _params(w0):
    return [gk.nn.Parameter(gk.tensor(w.copy())) for w in w0]


def run_keras(optimizer, w0, grads):
    ws = _params(w0)
    trajectory = []
    for gs in grads:
        optimizer.apply_gradients(zip([gk.tensor(g) for g in gs], ws))
        trajectory.append([w.array.copy() for w in ws])
    return trajectory


def run_optim(make, w0, grads, before_step=None):
    ws = _params(w0)
    opt = make(ws)
    trajectory = []
    for gs in grads:
        for w, g in zip(ws, gs):
            w.grad = gk.tensor(g)
        if before_step is not None:
            before_step(ws, opt)
        opt.step()
        opt.zero_grad()
        trajectory.append([w.array.copy() for w in ws])
    return trajectory


def assert_same(a, b, rtol=1e-12):
    for step, (wa, wb) in enumerate(zip(a, b)):
        for i, (x, y) in enumerate(zip(wa, wb)):
            np.testing.assert_allclose(x, y, rtol=rtol, atol=1e-14,
                                       err_msg=f"step {step + 1}, parameter {i}")


# ---------------------------------------------------------------------------- the argument map
@pytest.mark.parametrize("keras_name,keras_kw,optim_name,optim_kw", CASES, ids=_ids(CASES))
def test_each_keras_optimizer_is_its_optim_counterpart(keras_name, keras_kw, optim_name,
                                                       optim_kw):
    w0, grads = _start()
    got = run_keras(getattr(keras.optimizers, keras_name)(**keras_kw), w0, grads)
    want = run_optim(lambda ps: getattr(gk.optim, optim_name)(ps, **optim_kw), w0, grads)
    assert_same(got, want)


def test_keras_adamw_equals_optim_adamw_step_for_step():
    w0, grads = _start(1)
    got = run_keras(keras.optimizers.AdamW(learning_rate=0.05, weight_decay=0.3), w0, grads)
    want = run_optim(lambda ps: gk.optim.AdamW(ps, lr=0.05, weight_decay=0.3, eps=1e-7),
                     w0, grads)
    assert_same(got, want)
    # and the decay is really there: without it the trajectory differs
    plain = run_optim(lambda ps: gk.optim.Adam(ps, lr=0.05, eps=1e-7), w0, grads)
    assert not np.allclose(got[-1][0], plain[-1][0])


def test_keras_adamw_in_fit_equals_optim_adamw():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 4))
    y = rng.integers(0, 3, 32)

    def model():
        gk.manual_seed(0)
        m = keras.Sequential([keras.layers.Dense(8, activation="tanh", dtype="float64"),
                              keras.layers.Dense(3, activation="softmax", dtype="float64")])
        m.build((None, 4))
        return m

    a, b = model(), model()
    a.compile(keras.optimizers.AdamW(learning_rate=0.01, weight_decay=0.2),
              "sparse_categorical_crossentropy")
    b.compile(gk.optim.AdamW(b.parameters(), lr=0.01, weight_decay=0.2, eps=1e-7),
              "sparse_categorical_crossentropy")
    a.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    b.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-12)


# ---------------------------------------------------------------------------- decoupled decay
@pytest.mark.parametrize("keras_name,keras_kw,optim_name,optim_kw",
                         [c for c in CASES if c[0] != "AdamW" and c[1]], ids=_ids(
                             [c for c in CASES if c[0] != "AdamW" and c[1]]))
def test_keras_weight_decay_is_decoupled_for_every_optimizer(keras_name, keras_kw, optim_name,
                                                             optim_kw):
    """Keras 3's rule: w ← w − lr·λ·w before the step, for every optimizer."""
    lam = 0.2
    w0, grads = _start(2)
    got = run_keras(getattr(keras.optimizers, keras_name)(weight_decay=lam, **keras_kw), w0,
                    grads)

    def decay(ws, opt):
        with gk.no_grad():
            for w in ws:
                w.array *= 1 - opt.param_groups[0]["lr"] * lam
    want = run_optim(lambda ps: getattr(gk.optim, optim_name)(ps, **optim_kw), w0, grads,
                     before_step=decay)
    assert_same(got, want, rtol=1e-11)


# ---------------------------------------------------------------------------- clipping vs torch
def _torch_run(clip, w0, grads, opt_name, **kw):
    ws = [torch.nn.Parameter(torch.tensor(w)) for w in w0]
    opt = getattr(torch.optim, opt_name)(ws, **kw)
    out = []
    for gs in grads:
        for w, g in zip(ws, gs):
            w.grad = torch.tensor(g)
        clip(ws)
        opt.step()
        out.append([w.detach().numpy().copy() for w in ws])
    return out


CLIPS = [
    ("clipnorm", 1.5, lambda ws: [torch.nn.utils.clip_grad_norm_([w], 1.5) for w in ws]),
    ("global_clipnorm", 2.0, lambda ws: torch.nn.utils.clip_grad_norm_(ws, 2.0)),
    ("clipvalue", 0.5, lambda ws: torch.nn.utils.clip_grad_value_(ws, 0.5)),
]


@pytest.mark.parametrize("option,value,torch_clip", CLIPS, ids=[c[0] for c in CLIPS])
@pytest.mark.parametrize("keras_name,torch_name,kw", [
    ("SGD", "SGD", dict(lr=0.1, momentum=0.9)),
    ("Adam", "Adam", dict(lr=0.01, eps=1e-7)),
])
def test_keras_clipping_equals_torch_clip_then_step(option, value, torch_clip, keras_name,
                                                     torch_name, kw):
    w0, grads = _start(3)
    grads = [[3 * g for g in gs] for gs in grads]  # large enough that every clip acts
    keras_kw = {"learning_rate": kw["lr"], option: value}
    if "momentum" in kw:
        keras_kw["momentum"] = kw["momentum"]
    got = run_keras(getattr(keras.optimizers, keras_name)(**keras_kw), w0, grads)
    want = _torch_run(torch_clip, w0, grads, torch_name, **kw)
    assert_same(got, want, rtol=1e-10)


def test_keras_options_are_validated_when_constructed():
    with pytest.raises(ValueError, match="clipnorm or global_clipnorm, not both"):
        keras.optimizers.SGD(clipnorm=1, global_clipnorm=1)
    with pytest.raises(ValueError, match="clipvalue must be positive"):
        keras.optimizers.SGD(clipvalue=0)
    with pytest.raises(ValueError, match="momentum"):
        keras.optimizers.SGD(momentum=-1)
    with pytest.raises(ValueError, match="beta"):
        keras.optimizers.Adam(beta_1=1.5)
    with pytest.raises(TypeError, match="unexpected keyword"):
        keras.optimizers.Adam(beta1=0.9)


def test_positional_arguments_follow_keras_order_and_config_round_trips():
    opt = keras.optimizers.AdamW(0.01, 0.1, 0.8)
    assert (opt.learning_rate, opt.weight_decay, opt.beta_1) == (0.01, 0.1, 0.8)
    sgd = keras.optimizers.SGD(0.1, 0.9, True)
    assert (sgd.learning_rate, sgd.momentum, sgd.nesterov) == (0.1, 0.9, True)
    config = opt.get_config()
    assert config["beta_1"] == 0.8 and config["epsilon"] == 1e-7 and config["weight_decay"] == 0.1
    again = keras.optimizers.AdamW.from_config(config)
    assert again.get_config() == config
