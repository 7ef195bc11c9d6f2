"""transformers' warm-up schedules (get_linear/cosine_schedule_with_warmup): the same learning
rate at every step as transformers.optimization on a torch optimizer, over 30 steps with two
param groups; a state_dict round trip continues the sequence; bad step counts are refused."""
import numpy as np
import pytest
import torch

import gradkit as gk
import gradkit.nn as nn
from gradkit.optim import lr_scheduler as gsched

transformers_optimization = pytest.importorskip("transformers.optimization")

STEPS = 30
LRS = (0.1, 3e-4)


def optimizers():
    tps = [torch.zeros(2, requires_grad=True) for _ in LRS]
    gps = [nn.Parameter(gk.zeros(2)) for _ in LRS]
    t = torch.optim.AdamW([{"params": [p], "lr": lr} for p, lr in zip(tps, LRS)])
    g = gk.optim.AdamW([{"params": [p], "lr": lr} for p, lr in zip(gps, LRS)])
    return t, g


def lr_sequence(opt, sched, steps=STEPS):
    seq = [list(sched.get_last_lr())]
    for _ in range(steps):
        opt.step()
        sched.step()
        seq.append(list(sched.get_last_lr()))
        assert seq[-1] == [g["lr"] for g in opt.param_groups]
    return np.array(seq, dtype=float)


CASES = {
    "linear": ("get_linear_schedule_with_warmup", dict(num_warmup_steps=5, num_training_steps=25)),
    "linear-no-warmup": ("get_linear_schedule_with_warmup",
                         dict(num_warmup_steps=0, num_training_steps=30)),
    "cosine": ("get_cosine_schedule_with_warmup", dict(num_warmup_steps=5, num_training_steps=25)),
    "cosine-no-warmup": ("get_cosine_schedule_with_warmup",
                         dict(num_warmup_steps=0, num_training_steps=30)),
    "cosine-2-cycles": ("get_cosine_schedule_with_warmup",
                        dict(num_warmup_steps=3, num_training_steps=30, num_cycles=2.0)),
    "cosine-1.5-cycles": ("get_cosine_schedule_with_warmup",
                          dict(num_warmup_steps=4, num_training_steps=20, num_cycles=1.5)),
    "cosine-warmup-only": ("get_cosine_schedule_with_warmup",
                           dict(num_warmup_steps=10, num_training_steps=10)),
}


@pytest.mark.parametrize("case", CASES)
def test_same_lrs_as_transformers(case):
    name, kwargs = CASES[case]
    t_opt, g_opt = optimizers()
    expected = lr_sequence(t_opt, getattr(transformers_optimization, name)(t_opt, **kwargs))
    got = lr_sequence(g_opt, getattr(gsched, name)(g_opt, **kwargs))
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)


def test_shape_of_the_cosine_schedule():
    # facts independent of transformers: starts at 0, peaks at base_lr after warm-up, ends at 0
    _, opt = optimizers()
    seq = lr_sequence(opt, gsched.get_cosine_schedule_with_warmup(opt, 4, 20))[:, 0]
    assert seq[0] == 0.0
    np.testing.assert_allclose(seq[:5], np.array([0, 1, 2, 3, 4]) / 4 * LRS[0])
    assert seq.argmax() == 4
    assert np.all(np.diff(seq[4:21]) <= 0) and seq[20] == pytest.approx(0.0, abs=1e-15)
    np.testing.assert_allclose(seq[12], LRS[0] / 2)   # halfway through the decay: cos(π/2) = 0


@pytest.mark.parametrize("name", ["get_linear_schedule_with_warmup",
                                  "get_cosine_schedule_with_warmup"])
def test_state_dict_resumes_the_sequence(name):
    _, opt = optimizers()
    sched = getattr(gsched, name)(opt, num_warmup_steps=3, num_training_steps=20)
    full = lr_sequence(opt, sched, steps=20)

    _, opt2 = optimizers()
    first = getattr(gsched, name)(opt2, num_warmup_steps=3, num_training_steps=20)
    lr_sequence(opt2, first, steps=8)
    state = first.state_dict()
    assert state["lr_lambdas"][0]["num_training_steps"] == 20   # the settings are saved

    # a fresh schedule built with other settings takes the saved ones back
    resumed = getattr(gsched, name)(opt2, num_warmup_steps=0, num_training_steps=5)
    resumed.load_state_dict(state)
    np.testing.assert_allclose(lr_sequence(opt2, resumed, steps=12)[1:], full[9:], rtol=1e-12)


@pytest.mark.parametrize("kwargs, bad", [(dict(num_warmup_steps=-1, num_training_steps=10),
                                          "num_warmup_steps"),
                                         (dict(num_warmup_steps=2, num_training_steps=10.5),
                                          "num_training_steps")])
def test_bad_step_counts_are_refused(kwargs, bad):
    _, opt = optimizers()
    with pytest.raises(ValueError, match=f"get_cosine_schedule_with_warmup: {bad} must be a "
                                         "non-negative int"):
        gsched.get_cosine_schedule_with_warmup(opt, **kwargs)
