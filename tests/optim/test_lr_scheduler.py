"""Every learning-rate schedule against torch.optim.lr_scheduler: the same lr sequence over 60
steps (rtol 1e-6) with two param groups, OneCycleLR's momentum/beta1 cycle, ReduceLROnPlateau on
a given metric sequence, and state_dict round trips that continue the same sequence."""
import copy
import warnings

import numpy as np
import pytest
import torch

import gradkit as gk
import gradkit.nn as nn
from gradkit.optim import lr_scheduler as gsched

tsched = torch.optim.lr_scheduler
STEPS = 60


def optimizers(name="SGD", lrs=(0.1, 0.03), **kw):
    """The same optimizer in both frameworks, with one parameter per group."""
    tps = [torch.zeros(2, requires_grad=True) for _ in lrs]
    gps = [nn.Parameter(gk.zeros(2)) for _ in lrs]
    t = getattr(torch.optim, name)([{"params": [p], "lr": lr} for p, lr in zip(tps, lrs)], **kw)
    g = getattr(gk.optim, name)([{"params": [p], "lr": lr} for p, lr in zip(gps, lrs)], **kw)
    return t, g


def lr_sequence(opt, sched, steps=STEPS, metrics=None, extra=None):
    """lrs after construction and after each step (optimizer.step() first, as in training)."""
    seq = [list(sched.get_last_lr())]
    extras = [extra(opt)] if extra else []
    for i in range(steps):
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[i])
        seq.append(list(sched.get_last_lr()))
        assert seq[-1] == [g["lr"] for g in opt.param_groups]
        if extra:
            extras.append(extra(opt))
    return np.array(seq, dtype=float), np.array(extras, dtype=float)


SCHEDULERS = {
    "StepLR": lambda m, o: m.StepLR(o, step_size=7, gamma=0.5),
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, milestones=[5, 12, 12, 40], gamma=0.3),
    "ExponentialLR": lambda m, o: m.ExponentialLR(o, gamma=0.95),
    "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, T_max=20, eta_min=1e-3),
    "CosineAnnealingWarmRestarts": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=7),
    "CosineAnnealingWarmRestarts-Tmult": lambda m, o: m.CosineAnnealingWarmRestarts(
        o, T_0=3, T_mult=2, eta_min=1e-4),
    "LinearLR": lambda m, o: m.LinearLR(o, start_factor=0.1, end_factor=0.9, total_iters=15),
    "LinearLR-decay": lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.05,
                                              total_iters=40),
    "ConstantLR": lambda m, o: m.ConstantLR(o, factor=0.25, total_iters=8),
    "PolynomialLR": lambda m, o: m.PolynomialLR(o, total_iters=30, power=2.0),
    "LambdaLR": lambda m, o: m.LambdaLR(o, lambda e: 1.0 / (1 + 0.1 * e)),
    "LambdaLR-list": lambda m, o: m.LambdaLR(o, [lambda e: 0.9 ** e, lambda e: min(1, e / 10)]),
    "MultiplicativeLR": lambda m, o: m.MultiplicativeLR(o, lambda e: 0.97),
    "OneCycleLR": lambda m, o: m.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=STEPS),
    "OneCycleLR-linear-3phase": lambda m, o: m.OneCycleLR(
        o, max_lr=0.8, epochs=6, steps_per_epoch=10, pct_start=0.25, anneal_strategy="linear",
        three_phase=True, div_factor=10.0, final_div_factor=100.0),
    "OneCycleLR-no-momentum": lambda m, o: m.OneCycleLR(o, max_lr=0.5, total_steps=STEPS,
                                                        cycle_momentum=False),
    "SequentialLR-warmup-cosine": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.01, total_iters=10), m.CosineAnnealingLR(o, T_max=50)],
        milestones=[10]),
    "SequentialLR-three": lambda m, o: m.SequentialLR(
        o, [m.ConstantLR(o, factor=0.5, total_iters=5), m.ExponentialLR(o, gamma=0.9),
            m.StepLR(o, step_size=5)], milestones=[5, 25]),
    "ChainedScheduler": lambda m, o: m.ChainedScheduler(
        [m.LinearLR(o, start_factor=0.2, total_iters=10), m.ExponentialLR(o, gamma=0.97)]),
}


def _momentum(opt):
    return [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]


@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_lr_sequence_matches_torch(name, opt_name):
    t_opt, g_opt = optimizers(opt_name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = SCHEDULERS[name](tsched, t_opt)
        t_seq, t_mom = lr_sequence(t_opt, t, extra=_momentum)
    g = SCHEDULERS[name](gsched, g_opt)
    g_seq, g_mom = lr_sequence(g_opt, g, extra=_momentum)
    np.testing.assert_allclose(g_seq, t_seq, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(g_mom, t_mom, rtol=1e-6)  # OneCycleLR cycles momentum / beta1
    assert getattr(g, "last_epoch", None) == getattr(t, "last_epoch", None)
    assert len(np.unique(g_seq[:, 0])) > 1  # the schedule does something


def test_onecycle_cycles_sgd_momentum_and_adam_beta1():
    for name, key in [("SGD", "momentum"), ("Adam", "betas")]:
        _, g_opt = optimizers(name, lrs=(0.1,))
        sched = gsched.OneCycleLR(g_opt, max_lr=1.0, total_steps=20)
        _, mom = lr_sequence(g_opt, sched, steps=19, extra=_momentum)
        assert mom[0, 0] == pytest.approx(0.95) and mom.min() == pytest.approx(0.85, abs=1e-3)
        assert mom[-1, 0] == pytest.approx(0.95)
        if key == "betas":
            assert g_opt.param_groups[0]["betas"][1] == 0.999


PLATEAU = {
    "min-rel": dict(mode="min", factor=0.5, patience=3),
    "min-abs-cooldown": dict(mode="min", factor=0.3, patience=2, threshold=0.05,
                             threshold_mode="abs", cooldown=4, min_lr=[1e-3, 5e-3]),
    "max-rel": dict(mode="max", factor=0.7, patience=1, threshold=0.01, min_lr=0.01),
    "max-abs": dict(mode="max", factor=0.5, patience=0, threshold=0.1, threshold_mode="abs",
                    eps=1e-3),
}


def _metrics():
    """A loss that improves, plateaus with noise, improves again, then plateaus."""
    rng = np.random.default_rng(0)
    base = np.concatenate([np.linspace(1.0, 0.5, 15), np.full(15, 0.5), np.linspace(0.5, 0.2, 10),
                           np.full(20, 0.2)])
    return list(base + 0.01 * rng.standard_normal(STEPS))


@pytest.mark.parametrize("name", list(PLATEAU))
def test_reduce_lr_on_plateau_matches_torch(name):
    metrics = _metrics()
    if PLATEAU[name]["mode"] == "max":
        metrics = [-m for m in metrics]
    t_opt, g_opt = optimizers()
    t_seq, _ = lr_sequence(t_opt, tsched.ReduceLROnPlateau(t_opt, **PLATEAU[name]),
                           metrics=metrics)
    g_sched = gsched.ReduceLROnPlateau(g_opt, **PLATEAU[name])
    g_seq, _ = lr_sequence(g_opt, g_sched, metrics=metrics)
    np.testing.assert_allclose(g_seq, t_seq, rtol=1e-6)
    assert g_seq[-1, 0] < g_seq[0, 0]  # it did reduce


@pytest.mark.parametrize("name", list(PLATEAU))
def test_reduce_lr_on_plateau_state_dict_round_trip(name):
    metrics = _metrics()
    if PLATEAU[name]["mode"] == "max":
        metrics = [-m for m in metrics]
    _, g_opt = optimizers()
    full, _ = lr_sequence(g_opt, gsched.ReduceLROnPlateau(g_opt, **PLATEAU[name]),
                          metrics=metrics)
    _, opt = optimizers()
    sched = gsched.ReduceLROnPlateau(opt, **PLATEAU[name])
    first, _ = lr_sequence(opt, sched, steps=33, metrics=metrics)
    saved_sched, saved_opt = copy.deepcopy(sched.state_dict()), copy.deepcopy(opt.state_dict())
    _, opt2 = optimizers(lrs=(1.0, 1.0))
    sched2 = gsched.ReduceLROnPlateau(opt2)  # default settings: all restored by the load
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved_sched)
    rest, _ = lr_sequence(opt2, sched2, steps=STEPS - 33, metrics=metrics[33:])
    np.testing.assert_array_equal(np.concatenate([first, rest[1:]]), full)


def test_reduce_lr_on_plateau_accepts_tensor_metric_and_errors():
    _, g_opt = optimizers()
    s = gsched.ReduceLROnPlateau(g_opt, patience=0)
    s.step(gk.tensor(1.0))
    s.step(gk.tensor(2.0))
    assert s.get_last_lr() == pytest.approx([0.01, 0.003])
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        gsched.ReduceLROnPlateau(g_opt, factor=1.0)
    with pytest.raises(ValueError, match="mode avg is unknown"):
        gsched.ReduceLROnPlateau(g_opt, mode="avg")
    with pytest.raises(ValueError, match="expected 2 min_lrs, got 3"):
        gsched.ReduceLROnPlateau(g_opt, min_lr=[0, 0, 0])


# ---------------------------------------------------------------------------- state_dict
ROUND_TRIP = [n for n in SCHEDULERS if not n.startswith("LambdaLR")] + ["LambdaLR-object"]


class WarmupFactor:
    """A callable object: its attributes are saved by LambdaLR.state_dict (a lambda's cannot be)."""

    def __init__(self, warmup):
        self.warmup = warmup

    def __call__(self, epoch):
        return min(1.0, (epoch + 1) / self.warmup)


def _build(name, mod, opt):
    if name == "LambdaLR-object":
        return mod.LambdaLR(opt, WarmupFactor(12))
    return SCHEDULERS[name](mod, opt)


@pytest.mark.parametrize("name", ROUND_TRIP)
def test_state_dict_round_trip_continues_the_sequence(name):
    _, g_opt = optimizers("Adam")
    ref = _build(name, gsched, g_opt)
    full, full_mom = lr_sequence(g_opt, ref, extra=_momentum)

    _, opt = optimizers("Adam")
    sched = _build(name, gsched, opt)
    first, _ = lr_sequence(opt, sched, steps=30)
    saved_sched, saved_opt = copy.deepcopy(sched.state_dict()), copy.deepcopy(opt.state_dict())
    assert "optimizer" not in saved_sched

    _, opt2 = optimizers("Adam", lrs=(0.5, 0.5))  # different settings, overwritten by the loads
    sched2 = _build(name, gsched, opt2)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved_sched)
    rest, rest_mom = lr_sequence(opt2, sched2, steps=30, extra=_momentum)
    np.testing.assert_allclose(np.concatenate([first, rest[1:]]), full, rtol=1e-12)
    np.testing.assert_allclose(rest_mom, full_mom[30:], rtol=1e-12)


def test_lambda_state_dict_saves_callable_objects_not_functions():
    _, opt = optimizers(lrs=(0.1, 0.1))
    s = gsched.LambdaLR(opt, [WarmupFactor(5), lambda e: 1.0])
    sd = s.state_dict()
    assert sd["lr_lambdas"] == [{"warmup": 5}, None]
    sd["lr_lambdas"][0]["warmup"] = 50
    s.load_state_dict(sd)
    assert s.lr_lambdas[0].warmup == 50


def test_multisteplr_state_from_json_keys():
    """A checkpoint's metadata written as JSON turns the milestone counter's keys into strings."""
    _, opt = optimizers()
    s = gsched.MultiStepLR(opt, milestones=[3, 6])
    sd = s.state_dict()
    sd["milestones"] = {str(k): v for k, v in sd["milestones"].items()}
    s2 = gsched.MultiStepLR(opt, milestones=[100])
    s2.load_state_dict(sd)
    for _ in range(3):
        s2.step()
    assert s2.get_last_lr()[0] == pytest.approx(0.01)


# ---------------------------------------------------------------------------- PyTorch semantics
def test_constructor_takes_the_first_step_and_sets_initial_lr():
    _, opt = optimizers(lrs=(0.1, 0.2))
    s = gsched.LinearLR(opt, start_factor=0.5, total_iters=4)
    assert s.last_epoch == 0 and s._step_count == 1
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.2] == s.base_lrs
    assert s.get_last_lr() == [0.05, 0.1]


def test_resuming_with_last_epoch_needs_initial_lr():
    _, opt = optimizers()
    with pytest.raises(KeyError, match="initial_lr"):
        gsched.StepLR(opt, step_size=3, last_epoch=5)
    t_opt, opt = optimizers()
    for g in opt.param_groups + t_opt.param_groups:
        g["initial_lr"] = g["lr"]
    seqs = [lr_sequence(o, m.CosineAnnealingLR(o, T_max=10, last_epoch=4), steps=10)[0]
            for m, o in ((tsched, t_opt), (gsched, opt))]
    np.testing.assert_allclose(seqs[1], seqs[0], rtol=1e-12)


def test_step_with_epoch_uses_closed_form_and_warns():
    _, opt = optimizers()
    s = gsched.StepLR(opt, step_size=3, gamma=0.5)
    with pytest.warns(UserWarning, match="deprecated"):
        s.step(7)
    assert s.get_last_lr()[0] == pytest.approx(0.1 * 0.25)


def test_scheduler_errors():
    _, opt = optimizers()
    with pytest.raises(TypeError, match="is not an Optimizer"):
        gsched.StepLR(object(), step_size=1)
    with pytest.raises(ValueError, match="positive integer T_0"):
        gsched.CosineAnnealingWarmRestarts(opt, T_0=0)
    with pytest.raises(ValueError, match="either total_steps OR"):
        gsched.OneCycleLR(opt, max_lr=1.0)
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        s = gsched.OneCycleLR(opt, max_lr=1.0, total_steps=3)
        for _ in range(4):
            s.step()
    with pytest.raises(ValueError, match="momentum or beta1"):
        gsched.OneCycleLR(gk.optim.Adagrad([nn.Parameter(gk.zeros(1))]), max_lr=1.0,
                          total_steps=5)
    with pytest.raises(ValueError, match="one more than the number of milestone"):
        gsched.SequentialLR(opt, [gsched.StepLR(opt, 2), gsched.StepLR(opt, 3)], milestones=[])
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
        gsched.LambdaLR(opt, [lambda e: 1.0])
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        gsched.LinearLR(opt, start_factor=0)
