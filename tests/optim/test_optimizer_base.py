"""The Optimizer base: state_dict round trips resume bit-identically, frozen parameters are left
alone, zero_grad, param groups (add_param_group, per-group options), closures, validation errors."""
import copy

import numpy as np
import pytest

import gradkit as gk
import gradkit.nn as nn
import gradkit.nn.functional as F

ALL = [("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
       ("SGD", dict(lr=0.05)),
       ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.01)),
       ("AdamW", dict(lr=0.01)),
       ("Adagrad", dict(lr=0.05, lr_decay=0.01)),
       ("RMSprop", dict(lr=0.005, centered=True, momentum=0.9)),
       ("Adadelta", dict(lr=0.5)),
       ("Adamax", dict(lr=0.01)),
       ("NAdam", dict(lr=0.01)),
       ("Lion", dict(lr=1e-3, weight_decay=0.1))]
IDS = [n + "-" + "-".join(kw) for n, kw in ALL]


def make_model(dtype=gk.float32, seed=0):
    gk.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 7, dtype=dtype), nn.Tanh(), nn.Linear(7, 2, dtype=dtype))


def data(dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    return gk.tensor(rng.standard_normal((12, 5)).astype(dtype)), \
        gk.tensor(rng.standard_normal((12, 2)).astype(dtype))


def train(model, opt, x, y, steps):
    for _ in range(steps):
        opt.zero_grad()
        F.mse_loss(model(x), y).backward()
        opt.step()


def weights(model):
    return {k: v.array.copy() for k, v in model.state_dict().items()}


def as_saved(sd):
    """What a checkpoint file gives back: plain arrays and numbers, no live references."""
    return {"state": {i: {k: (np.array(v.array) if isinstance(v, gk.Tensor) else v)
                          for k, v in s.items()} for i, s in sd["state"].items()},
            "param_groups": copy.deepcopy(sd["param_groups"])}


# ---------------------------------------------------------------------------- resuming
@pytest.mark.parametrize("dtype", [gk.float32, gk.float64])
@pytest.mark.parametrize("name,kw", ALL, ids=IDS)
def test_state_dict_round_trip_resumes_bit_identically(name, kw, dtype):
    x, y = data(np.dtype(dtype))
    ref = make_model(dtype)
    ref_opt = getattr(gk.optim, name)(ref.parameters(), **kw)
    train(ref, ref_opt, x, y, 50)

    model = make_model(dtype)
    opt = getattr(gk.optim, name)(model.parameters(), **kw)
    train(model, opt, x, y, 25)
    saved_w, saved_opt = weights(model), as_saved(opt.state_dict())
    del model, opt

    model2 = make_model(dtype, seed=123)  # different initial weights, overwritten by the load
    model2.load_state_dict(saved_w)
    opt2 = getattr(gk.optim, name)(model2.parameters(), **kw)
    opt2.load_state_dict(saved_opt)
    train(model2, opt2, x, y, 25)
    for k, v in weights(ref).items():
        np.testing.assert_array_equal(model2.state_dict()[k].array, v, err_msg=k)
        assert model2.state_dict()[k].dtype == dtype


def test_state_dict_through_json_metadata_resumes_identically():
    """A checkpoint format that keeps the non-tensor part as JSON (string keys, lists for
    tuples) loads back to the same trajectory."""
    import json
    x, y = data()
    ref, model = make_model(), make_model()
    ref_opt = gk.optim.NAdam(ref.parameters(), lr=0.01)
    opt = gk.optim.NAdam(model.parameters(), lr=0.01)
    train(ref, ref_opt, x, y, 10)
    train(model, opt, x, y, 5)
    sd = as_saved(opt.state_dict())
    arrays = {(i, k): v for i, s in sd["state"].items() for k, v in s.items()
              if isinstance(v, np.ndarray)}
    meta = json.loads(json.dumps({
        "state": {i: {k: v for k, v in s.items() if not isinstance(v, np.ndarray)}
                  for i, s in sd["state"].items()},
        "param_groups": sd["param_groups"]}))
    for (i, k), v in arrays.items():
        meta["state"][str(i)][k] = v
    opt2 = gk.optim.NAdam(model.parameters(), lr=0.01)
    opt2.load_state_dict(meta)
    train(model, opt2, x, y, 5)
    for k, v in weights(ref).items():
        np.testing.assert_array_equal(model.state_dict()[k].array, v, err_msg=k)


def test_loaded_state_is_a_copy_and_cast_to_param_dtype():
    model = make_model(gk.float32)
    opt = gk.optim.Adam(model.parameters())
    x, y = data()
    train(model, opt, x, y, 3)
    sd = opt.state_dict()
    sd64 = {"state": {i: {k: (v.array.astype(np.float64) if isinstance(v, gk.Tensor) else v)
                          for k, v in s.items()} for i, s in sd["state"].items()},
            "param_groups": sd["param_groups"]}
    opt2 = gk.optim.Adam(model.parameters())
    opt2.load_state_dict(sd64)
    p0 = model[0].weight
    assert opt2.state[p0]["exp_avg"].dtype == gk.float32
    assert opt2.state[p0]["step"] == 3 and isinstance(opt2.state[p0]["step"], int)
    assert not np.shares_memory(opt2.state[p0]["exp_avg"].array, opt.state[p0]["exp_avg"].array)


def test_load_state_dict_restores_group_options_and_keeps_params():
    model = make_model()
    opt = gk.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sd = opt.state_dict()
    sd["param_groups"][0]["lr"] = 0.01
    opt2 = gk.optim.SGD(model.parameters(), lr=0.5)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == 0.01 and opt2.param_groups[0]["momentum"] == 0.9
    assert opt2.param_groups[0]["params"][0] is model[0].weight


def test_load_state_dict_errors():
    model = make_model()
    opt = gk.optim.Adam(model.parameters())
    two = gk.optim.Adam([{"params": model[0].parameters()}, {"params": model[2].parameters()}])
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict(two.state_dict())
    small = gk.optim.Adam(model[0].parameters())
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        opt.load_state_dict(small.state_dict())


def test_state_is_keyed_by_the_parameter_itself():
    model = make_model()
    opt = gk.optim.Adam(model.parameters())
    x, y = data()
    train(model, opt, x, y, 1)
    assert set(map(id, opt.state)) == set(map(id, model.parameters()))
    assert all(isinstance(k, nn.Parameter) for k in opt.state)


# ---------------------------------------------------------------------------- frozen parameters
@pytest.mark.parametrize("name,kw", ALL, ids=IDS)
def test_frozen_submodule_gets_no_update_and_no_weight_decay(name, kw):
    kw = dict(kw)
    if name not in ("Adagrad",):
        kw.setdefault("weight_decay", 0.1)
    model = make_model()
    x, y = data()
    # a gradient left over from before freezing must not be applied either
    F.mse_loss(model(x), y).backward()
    model[0].requires_grad_(False)
    frozen = {k: v.array.copy() for k, v in model[0].state_dict().items()}
    trained = model[2].weight.array.copy()
    opt = getattr(gk.optim, name)(model.parameters(), **kw)
    for _ in range(3):
        opt.step()
        F.mse_loss(model(x), y).backward()
    for k, v in model[0].state_dict().items():
        np.testing.assert_array_equal(v.array, frozen[k])
    assert not np.array_equal(model[2].weight.array, trained)
    assert model[0].weight not in opt.state or not opt.state[model[0].weight]


def test_parameter_without_grad_is_skipped():
    a, b = nn.Parameter(gk.ones(3)), nn.Parameter(gk.ones(3))
    a.grad = gk.ones(3)
    opt = gk.optim.AdamW([a, b], lr=0.1, weight_decay=0.5)
    opt.step()
    np.testing.assert_array_equal(b.array, np.ones(3, np.float32))  # not even decayed
    assert (a.array < 1).all() and b._version == 0


# ---------------------------------------------------------------------------- zero_grad, closure
def test_zero_grad_set_to_none_and_to_zero():
    model = make_model()
    x, y = data()
    opt = gk.optim.SGD(model.parameters(), lr=0.1)
    F.mse_loss(model(x), y).backward()
    opt.zero_grad(set_to_none=False)
    for p in model.parameters():
        assert p.grad is not None and not p.grad.array.any() and p.grad.shape == p.shape
    opt.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_zero_grad_false_does_not_write_into_a_shared_array():
    w = nn.Parameter(gk.ones(3))
    upstream = gk.tensor([1.0, 2.0, 3.0])
    (w * 1.0).backward(upstream)
    gk.optim.SGD([w]).zero_grad(set_to_none=False)
    np.testing.assert_array_equal(upstream.array, [1.0, 2.0, 3.0])


def test_step_with_closure_returns_loss_and_steps():
    model = make_model(gk.float64)
    x, y = data(np.float64)
    opt = gk.optim.SGD(model.parameters(), lr=0.1)

    def closure():
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        return loss

    with gk.no_grad():  # the closure records a graph even inside no_grad
        first = opt.step(closure)
    second = opt.step(closure)
    assert second.item() < first.item()


# ---------------------------------------------------------------------------- param groups
def test_add_param_group_uses_defaults_and_validates():
    model = make_model()
    opt = gk.optim.SGD(model[0].parameters(), lr=0.1, momentum=0.9)
    opt.add_param_group({"params": model[2].weight, "lr": 0.01})
    g = opt.param_groups[1]
    assert g["lr"] == 0.01 and g["momentum"] == 0.9 and g["params"] == [model[2].weight]
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [model[0].weight]})
    with pytest.raises(TypeError, match="ordered collections"):
        opt.add_param_group({"params": {model[2].bias}})
    with pytest.raises(ValueError, match="duplicate parameters"):
        opt.add_param_group({"params": [model[2].bias, model[2].bias]})
    opt.add_param_group({"params": [model[2].bias]})
    assert len(opt.param_groups) == 3


def test_group_options_are_read_each_step():
    """A scheduler (or the user) changing group['lr'] takes effect at the next step."""
    w = nn.Parameter(gk.zeros(1))
    opt = gk.optim.SGD([w], lr=1.0)
    w.grad = gk.ones(1)
    opt.step()
    opt.param_groups[0]["lr"] = 0.5
    opt.step()
    np.testing.assert_allclose(w.array, [-1.5])


def test_named_parameters_are_accepted_and_names_saved():
    model = make_model()
    opt = gk.optim.Adam(model.named_parameters())
    assert opt.param_groups[0]["param_names"] == [n for n, _ in model.named_parameters()]
    assert opt.state_dict()["param_groups"][0]["param_names"][0] == "0.weight"


def test_constructor_errors():
    model = make_model()
    with pytest.raises(ValueError, match="empty parameter list"):
        gk.optim.SGD([])
    with pytest.raises(TypeError, match="iterable of Tensors"):
        gk.optim.SGD(model[0].weight)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        gk.optim.SGD([np.zeros(3)])
    x = nn.Parameter(gk.ones(2))
    with pytest.raises(ValueError, match="non-leaf"):
        gk.optim.SGD([x * 2])


@pytest.mark.parametrize("ctor,match", [
    (lambda p: gk.optim.SGD(p, lr=-1), r"Invalid learning rate: -1$"),
    (lambda p: gk.optim.SGD(p, momentum=-0.5), "Invalid momentum value: -0.5"),
    (lambda p: gk.optim.SGD(p, weight_decay=-1e-4), "Invalid weight_decay value: -0.0001"),
    (lambda p: gk.optim.SGD(p, nesterov=True), "Nesterov momentum requires a momentum and zero"),
    (lambda p: gk.optim.SGD(p, momentum=0.9, dampening=0.1, nesterov=True), "zero dampening"),
    (lambda p: gk.optim.Adam(p, lr=-0.1), "Invalid learning rate: -0.1"),
    (lambda p: gk.optim.Adam(p, eps=-1.0), "Invalid epsilon value: -1.0"),
    (lambda p: gk.optim.Adam(p, betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
    (lambda p: gk.optim.AdamW(p, betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    (lambda p: gk.optim.AdamW(p, weight_decay=-1), "Invalid weight_decay value: -1"),
    (lambda p: gk.optim.Adagrad(p, lr_decay=-1), "Invalid lr_decay value: -1"),
    (lambda p: gk.optim.Adagrad(p, initial_accumulator_value=-1),
     "Invalid initial_accumulator_value value: -1"),
    (lambda p: gk.optim.RMSprop(p, alpha=-1), "Invalid alpha value: -1"),
    (lambda p: gk.optim.RMSprop(p, momentum=-1), "Invalid momentum value: -1"),
    (lambda p: gk.optim.Adadelta(p, rho=1.5), "Invalid rho value: 1.5"),
    (lambda p: gk.optim.Adamax(p, eps=-1), "Invalid epsilon value: -1"),
    (lambda p: gk.optim.NAdam(p, momentum_decay=-1), "Invalid momentum_decay value: -1"),
    (lambda p: gk.optim.Lion(p, lr=-1), "Invalid learning rate: -1"),
    (lambda p: gk.optim.Lion(p, betas=(0.9, 1.0)), "Invalid beta parameter at index 1: 1.0"),
])
def test_hyperparameter_errors_match_torch_wording(ctor, match):
    with pytest.raises(ValueError, match=match):
        ctor([nn.Parameter(gk.zeros(2))])


def test_repr_lists_groups():
    opt = gk.optim.SGD([nn.Parameter(gk.zeros(2))], lr=0.1, momentum=0.9)
    r = repr(opt)
    assert r.startswith("SGD (") and "Parameter Group 0" in r and "momentum: 0.9" in r


def test_top_level_export():
    import gradkit
    assert gradkit.optim.Adam is gk.optim.adam.Adam
    assert gradkit.optim.lr_scheduler.StepLR.__module__.startswith("gradkit.optim.lr_scheduler")
    assert issubclass(gradkit.optim.lr_scheduler.StepLR, gradkit.optim.lr_scheduler.LRScheduler)
