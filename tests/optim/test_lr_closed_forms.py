"""The schedules' pure forms in gradkit.optim.lr_scheduler (what keras.optimizers.schedules and
keras.callbacks.ReduceLROnPlateau call): each closed form equals its scheduler stepped as in
training and torch's scheduler; Plateau alone cuts where ReduceLROnPlateau (and torch's) do."""
import numpy as np
import pytest
import torch

import gradkit as gk
from gradkit.optim import lr_scheduler as sched

tsched = torch.optim.lr_scheduler
STEPS = 50


def _sequence(make, lr=0.1, steps=STEPS):
    """The lr after construction and after each of ``steps`` steps (make(module, optimizer))."""
    opt = gk.optim.SGD([gk.nn.Parameter(gk.zeros(1))], lr=lr)
    s = make(sched, opt)
    out = [s.get_last_lr()[0]]
    for _ in range(steps):
        opt.step()
        s.step()
        out.append(s.get_last_lr()[0])
    return np.array(out)


def _torch_sequence(make, lr=0.1, steps=STEPS):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    s = make(tsched, opt)
    out = [s.get_last_lr()[0]]
    for _ in range(steps):
        opt.step()
        s.step()
        out.append(s.get_last_lr()[0])
    return np.array(out)


@pytest.mark.parametrize("make,closed", [
    (lambda m, o: m.StepLR(o, step_size=7, gamma=0.5),
     lambda t: sched.step_decay(0.1, t, 7, 0.5)),
    (lambda m, o: m.ExponentialLR(o, gamma=0.93),
     lambda t: sched.exponential_decay(0.1, t, 0.93)),
    (lambda m, o: m.CosineAnnealingLR(o, T_max=20, eta_min=0.01),
     lambda t: sched.cosine_annealing(0.1, t, 20, 0.01)),
    (lambda m, o: m.MultiStepLR(o, milestones=[5, 12, 30], gamma=0.3),
     lambda t: sched.piecewise_constant(t, [4, 11, 29], [0.1 * 0.3 ** i for i in range(4)])),
])
def test_each_closed_form_is_its_scheduler_step_by_step(make, closed):
    ours = _sequence(make)
    np.testing.assert_allclose(ours, _torch_sequence(make), rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(ours, [closed(t) for t in range(STEPS + 1)], rtol=1e-9, atol=1e-15)


def test_warm_restarts_use_the_cosine_closed_form_within_each_period():
    def make(module, opt):
        return module.CosineAnnealingWarmRestarts(opt, T_0=5, T_mult=2, eta_min=0.001)

    ours = _sequence(make, steps=40)
    np.testing.assert_allclose(ours, _torch_sequence(make, steps=40), rtol=1e-6, atol=1e-12)
    starts = [0, 5, 15, 35]          # periods of 5, 10, 20
    for t in range(41):
        t0 = max(s for s in starts if s <= t)
        period = 5 * 2 ** starts.index(t0)
        assert ours[t] == pytest.approx(sched.cosine_annealing(0.1, t - t0, period, 0.001),
                                        rel=1e-12)


def test_closed_forms_used_on_resume_and_by_step_with_an_epoch():
    opt = gk.optim.SGD([gk.nn.Parameter(gk.zeros(1))], lr=0.1)
    s = sched.StepLR(opt, step_size=3, gamma=0.5)
    with pytest.warns(UserWarning, match="epoch parameter"):
        s.step(10)
    assert s.get_last_lr() == [sched.step_decay(0.1, 10, 3, 0.5)]


@pytest.mark.parametrize("mode,threshold_mode,threshold", [("min", "rel", 1e-2),
                                                            ("max", "abs", 0.05)])
def test_plateau_alone_cuts_where_reduce_lr_on_plateau_and_torch_do(mode, threshold_mode,
                                                                    threshold):
    rng = np.random.default_rng(4)
    metrics = np.round(np.cumsum(rng.choice([-1, 0, 0, 1], 80)) / 10 + 1, 2)
    kw = dict(mode=mode, factor=0.5, patience=2, threshold=threshold,
              threshold_mode=threshold_mode, cooldown=1)
    opt = gk.optim.SGD([gk.nn.Parameter(gk.zeros(1))], lr=0.1)
    scheduler = sched.ReduceLROnPlateau(opt, min_lr=0.01, **kw)
    t_opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    t_scheduler = tsched.ReduceLROnPlateau(t_opt, min_lr=0.01, **kw)
    plateau, lr = sched.Plateau(**kw), 0.1
    for m in metrics:
        scheduler.step(m)
        t_scheduler.step(m)
        if plateau.observe(m):
            new = plateau.reduced_lr(lr, 0.01)
            lr = lr if new is None else new
            plateau.start_cooldown()
        assert opt.param_groups[0]["lr"] == lr == pytest.approx(t_opt.param_groups[0]["lr"],
                                                                rel=1e-12)
    assert lr == 0.01  # the sequence did reach the floor
    assert set(scheduler.state_dict()) == set(t_scheduler.state_dict())
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        sched.Plateau(factor=1.5)
    with pytest.raises(ValueError, match="mode up is unknown"):
        sched.Plateau(mode="up")
