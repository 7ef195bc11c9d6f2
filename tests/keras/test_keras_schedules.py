"""keras.optimizers.schedules: each schedule's value at every step against its closed form
(Keras' documented formula) and against the gradkit.optim scheduler it adapts, stepped as in
training; the configs (names and values) that save and load them; an optimizer following one."""
import math

import numpy as np
import pytest

import gradkit as gk
import gradkit.keras as keras
from gradkit.optim import lr_scheduler as sched

schedules = keras.optimizers.schedules
STEPS = 40


def _optim_lrs(make, base_lr, steps=STEPS):
    """The lr a gradkit.optim scheduler gives at steps 0..steps-1 (stepped once per step)."""
    opt = gk.optim.SGD([gk.nn.Parameter(gk.zeros(1))], lr=base_lr)
    s = make(opt)
    lrs = [s.get_last_lr()[0]]
    for _ in range(steps - 1):
        opt.step()
        s.step()
        lrs.append(s.get_last_lr()[0])
    return np.array(lrs)


def _keras_lrs(schedule, steps=STEPS):
    return np.array([float(schedule(t)) for t in range(steps)])


# === ExponentialDecay =========================================================================
@pytest.mark.parametrize("decay_steps", [1, 3, 10])
@pytest.mark.parametrize("staircase", [False, True])
def test_exponential_decay_is_its_closed_form(decay_steps, staircase):
    s = schedules.ExponentialDecay(0.1, decay_steps=decay_steps, decay_rate=0.7,
                                   staircase=staircase)
    for t in range(STEPS):
        p = t // decay_steps if staircase else t / decay_steps
        assert float(s(t)) == pytest.approx(0.1 * 0.7 ** p, rel=1e-15, abs=0)


def test_exponential_decay_is_exponential_lr_per_step_and_step_lr_with_staircase():
    smooth = schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.9)
    np.testing.assert_allclose(_keras_lrs(smooth),
                               _optim_lrs(lambda o: sched.ExponentialLR(o, gamma=0.9), 0.1),
                               rtol=1e-12)
    stairs = schedules.ExponentialDecay(0.1, decay_steps=4, decay_rate=0.5, staircase=True)
    np.testing.assert_allclose(_keras_lrs(stairs),
                               _optim_lrs(lambda o: sched.StepLR(o, step_size=4, gamma=0.5), 0.1),
                               rtol=1e-12)


# === PiecewiseConstantDecay ===================================================================
def test_piecewise_constant_decay_holds_each_value_up_to_its_boundary():
    s = schedules.PiecewiseConstantDecay([3, 7, 20], [1.0, 0.5, 0.25, 0.1])
    expected = [1.0] * 4 + [0.5] * 4 + [0.25] * 13 + [0.1] * (STEPS - 21)
    assert _keras_lrs(s).tolist() == expected
    assert float(s(3.5)) == 0.5  # a step just past a boundary takes the next value
    with pytest.raises(ValueError, match="len\\(boundaries\\) \\+ 1"):
        schedules.PiecewiseConstantDecay([3, 7], [1.0, 0.5])


def test_piecewise_constant_decay_is_multistep_lr_with_milestones_one_past_the_boundaries():
    boundaries = [3, 7, 20]
    s = schedules.PiecewiseConstantDecay(boundaries, [0.1 * 0.5 ** i for i in range(4)])
    multistep = _optim_lrs(lambda o: sched.MultiStepLR(o, [b + 1 for b in boundaries], 0.5), 0.1)
    np.testing.assert_allclose(_keras_lrs(s), multistep, rtol=1e-12)


# === CosineDecay ==============================================================================
@pytest.mark.parametrize("alpha", [0.0, 0.1])
def test_cosine_decay_is_its_closed_form_and_holds_after_decay_steps(alpha):
    s = schedules.CosineDecay(0.2, decay_steps=25, alpha=alpha)
    for t in range(STEPS):
        p = min(t, 25) / 25
        expected = 0.2 * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * p)) + alpha)
        assert float(s(t)) == pytest.approx(expected, rel=1e-12, abs=1e-17)
    assert float(s(1000)) == pytest.approx(0.2 * alpha, abs=1e-17)


@pytest.mark.parametrize("alpha", [0.0, 0.1])
def test_cosine_decay_is_cosine_annealing_lr_down_to_alpha_times_the_rate(alpha):
    s = schedules.CosineDecay(0.2, decay_steps=25, alpha=alpha)
    annealed = _optim_lrs(lambda o: sched.CosineAnnealingLR(o, T_max=25, eta_min=0.2 * alpha),
                          0.2, steps=26)
    np.testing.assert_allclose(_keras_lrs(s, 26), annealed, rtol=1e-9, atol=1e-15)


# === configs and use by an optimizer ==========================================================
@pytest.mark.parametrize("schedule,config", [
    (schedules.ExponentialDecay(0.1, 5, 0.5, staircase=True, name="exp"),
     {"initial_learning_rate": 0.1, "decay_steps": 5, "decay_rate": 0.5, "staircase": True,
      "name": "exp"}),
    (schedules.PiecewiseConstantDecay([2, 4], [0.3, 0.2, 0.1]),
     {"boundaries": [2, 4], "values": [0.3, 0.2, 0.1], "name": None}),
    (schedules.CosineDecay(0.1, 10, alpha=0.05),
     {"initial_learning_rate": 0.1, "decay_steps": 10, "alpha": 0.05, "name": None}),
])
def test_schedule_configs_keep_keras_names_and_round_trip(schedule, config):
    assert schedule.get_config() == config
    again = type(schedule).from_config(schedule.get_config())
    assert _keras_lrs(again).tolist() == _keras_lrs(schedule).tolist()
    opt = keras.optimizers.Adam(learning_rate=schedule)
    restored = keras.optimizers.Adam.from_config(opt.get_config())
    assert type(restored._learning_rate) is type(schedule)
    assert restored._learning_rate.get_config() == config


def test_an_optimizer_uses_the_schedule_at_its_iteration_count():
    s = schedules.CosineDecay(0.5, decay_steps=6, alpha=0.1)
    opt = keras.optimizers.SGD(learning_rate=s)
    w = gk.nn.Parameter(np.zeros(1))
    moved = []
    for t in range(8):
        assert opt.learning_rate == pytest.approx(float(s(t)), rel=1e-15)
        before = float(w.array[0])
        opt.apply_gradients([(gk.ones(1, dtype=gk.float64), w)])
        moved.append(before - float(w.array[0]))
    np.testing.assert_allclose(moved, _keras_lrs(s, 8), rtol=1e-12)
