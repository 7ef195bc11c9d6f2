"""Optimizer state of another model (issue 15, defect 8): ``load_state_dict`` refuses it with the
parameter and both shapes, instead of a NumPy broadcast error at the first step."""
import numpy as np
import pytest
import torch

import gradkit as gk
import gradkit.nn as nn
from gradkit import optim


def _trained_adam(model):
    opt = optim.Adam(model.parameters(), lr=0.01)
    model(gk.randn(4, model[0].in_features)).sum().backward()
    opt.step()
    return opt


def test_adam_state_of_another_model_is_refused_at_load_naming_the_parameter():
    a = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))   # weights (4, 3), (4,), (2, 4), (2,)
    b = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))   # same count: (3, 4), (3,), (2, 3), (2,)
    state = _trained_adam(a).state_dict()
    opt = optim.Adam(b.parameters(), lr=0.01)
    with pytest.raises(ValueError) as e:
        opt.load_state_dict(state)
    msg = str(e.value)
    assert "parameter 0" in msg and "exp_avg" in msg and "(4, 3)" in msg and "(3, 4)" in msg
    assert "another model" in msg
    # nothing was loaded: the optimizer still steps on its own (empty) state
    b(gk.randn(2, 4)).sum().backward()
    opt.step()


def test_the_state_of_the_same_architecture_still_loads_and_continues():
    gk.manual_seed(0)
    a = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    state = _trained_adam(a).state_dict()
    b = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    b.load_state_dict(a.state_dict())
    opt = optim.Adam(b.parameters(), lr=0.01)
    opt.load_state_dict(state)
    np.testing.assert_array_equal(opt.state[b[0].weight]["exp_avg"].array,
                                  state["state"][0]["exp_avg"].array)


def test_pytorch_state_of_another_model_is_refused_too():
    t = torch.nn.Linear(3, 5)
    topt = torch.optim.Adam(t.parameters())
    t(torch.randn(2, 3)).sum().backward()
    topt.step()
    g = nn.Linear(5, 3)
    with pytest.raises(ValueError, match=r"parameter 0.*\(5, 3\).*\(3, 5\)"):
        optim.Adam(g.parameters()).load_state_dict(topt.state_dict())


def test_group_size_mismatch_says_the_state_is_of_another_model():
    a = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    state = _trained_adam(a).state_dict()
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group.*another "
                                         "model"):
        optim.Adam(nn.Linear(3, 4).parameters()).load_state_dict(state)
    two_groups = optim.Adam([{"params": a[0].parameters()}, {"params": a[1].parameters()}])
    with pytest.raises(ValueError, match="number of parameter groups.*another model"):
        two_groups.load_state_dict(state)
