"""Every optimizer against torch.optim: 50 steps on the same MLP from the same start give the same
parameters (float64 rtol 1e-10, float32 rtol 1e-5); Lion against a NumPy transcription of the
paper's update (PyTorch has none). Also: param groups with different lr, loading PyTorch's own
optimizer state_dict, maximize, and that a step allocates nothing parameter-sized."""
import copy
import tracemalloc

import numpy as np
import pytest
import torch

import gradkit as gk
import gradkit.nn as nn
import gradkit.nn.functional as F

STEPS = 50
# float64: after 50 steps with each framework's own gradients (their BLAS sums in different
# orders), NAdam maximizing drifts to 1.7e-10 relative on some CPUs (seen on an AMD EPYC)
TOL = {"float64": dict(rtol=1e-9, atol=1e-12), "float32": dict(rtol=1e-5, atol=1e-6)}


# ---------------------------------------------------------------------------- the shared problem
class GkMLP(nn.Module):
    def __init__(self, dtype):
        super().__init__()
        self.fc1 = nn.Linear(4, 8, dtype=dtype)
        self.fc2 = nn.Linear(8, 3, dtype=dtype)

    def forward(self, x):
        return self.fc2(gk.tanh(self.fc1(x)))


class TorchMLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(4, 8)
        self.fc2 = torch.nn.Linear(8, 3)

    def forward(self, x):
        return self.fc2(torch.tanh(self.fc1(x)))


def make_pair(dtype, seed=0):
    """A torch MLP and a gradkit MLP with the same weights (moved by state_dict), and data."""
    torch.manual_seed(seed)
    tm = TorchMLP().to(getattr(torch, dtype))
    gm = GkMLP(getattr(gk, dtype))
    gm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((16, 4)).astype(dtype)
    y = rng.standard_normal((16, 3)).astype(dtype)
    return tm, gm, x, y


def gk_loss(model, x, y):
    return F.mse_loss(model(gk.tensor(x)), gk.tensor(y))


def torch_loss(model, x, y):
    return torch.nn.functional.mse_loss(model(torch.tensor(x)), torch.tensor(y))


def run_gk(opt, model, x, y, steps):
    for _ in range(steps):
        opt.zero_grad()
        gk_loss(model, x, y).backward()
        opt.step()


def run_torch(opt, model, x, y, steps):
    for _ in range(steps):
        opt.zero_grad()
        torch_loss(model, x, y).backward()
        opt.step()


def run_both(t_opt, tm, g_opt, gm, x, y, steps, dtype):
    """Step both optimizers ``steps`` times. In float64 each framework computes its own
    gradients (end to end). In float32, torch's optimizer is handed gradkit's gradient arrays:
    the two forward passes sum in different orders (different BLAS), and Adam-like rules turn
    a 1-ulp difference in a near-zero gradient into a visibly different step, so sharing the
    gradients makes the float32 comparison measure the update rule itself."""
    if dtype == "float64":
        run_torch(t_opt, tm, x, y, steps)
        run_gk(g_opt, gm, x, y, steps)
        return
    for _ in range(steps):
        g_opt.zero_grad()
        gk_loss(gm, x, y).backward()
        for tp, gp in zip(tm.parameters(), gm.parameters()):
            tp.grad = torch.from_numpy(gp.grad.array.copy())
        t_opt.step()
        g_opt.step()


def assert_same_params(gm, tm, dtype):
    tsd = tm.state_dict()
    for k, v in gm.state_dict().items():
        assert v.dtype == np.dtype(dtype), k
        np.testing.assert_allclose(v.array, tsd[k].numpy(), err_msg=k, **TOL[dtype])


@pytest.fixture
def torch_dtype_for(request):
    """PyTorch keeps optimizer scalars (NAdam's mu_product) in the default dtype: make it float64
    for the float64 runs, as gradkit keeps them as Python floats."""
    prev = torch.get_default_dtype()
    yield lambda dtype: torch.set_default_dtype(getattr(torch, dtype))
    torch.set_default_dtype(prev)


# ---------------------------------------------------------------------------- the option grid
CASES = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.5, weight_decay=0.1)),
    ("SGD", dict(lr=0.01, momentum=0.5, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, amsgrad=True, weight_decay=0.05,
                  maximize=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("Adagrad", dict(lr=0.05)),
    ("Adagrad", dict(lr=0.05, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.1)),
    ("Adagrad", dict(lr=0.05, maximize=True)),
    ("RMSprop", dict(lr=0.005)),
    ("RMSprop", dict(lr=0.005, centered=True)),
    ("RMSprop", dict(lr=0.005, momentum=0.9)),
    ("RMSprop", dict(lr=0.005, alpha=0.9, centered=True, momentum=0.5, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.005, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1)),
    ("Adadelta", dict(lr=0.5, maximize=True)),
    ("Adamax", dict(lr=0.01)),
    ("Adamax", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1)),
    ("Adamax", dict(lr=0.01, maximize=True)),
    ("NAdam", dict(lr=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, momentum_decay=1e-2)),
    ("NAdam", dict(lr=0.01, maximize=True)),
]


def _id(case):
    name, kw = case
    return name + "(" + ",".join(f"{k}={v}" for k, v in kw.items()) + ")"


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_50_steps_match_torch(case, dtype, torch_dtype_for):
    name, kw = case
    torch_dtype_for(dtype)
    tm, gm, x, y = make_pair(dtype)
    t_opt = getattr(torch.optim, name)(tm.parameters(), **kw)
    g_opt = getattr(gk.optim, name)(gm.parameters(), **kw)
    run_both(t_opt, tm, g_opt, gm, x, y, STEPS, dtype)
    assert_same_params(gm, tm, dtype)


def test_the_problem_is_not_trivial():
    """The parameters really move in 50 steps (so the comparison above means something)."""
    _, gm, x, y = make_pair("float64")
    start = copy.deepcopy({k: v.array.copy() for k, v in gm.state_dict().items()})
    before = gk_loss(gm, x, y).item()
    run_gk(gk.optim.Adam(gm.parameters(), lr=0.01), gm, x, y, STEPS)
    assert gk_loss(gm, x, y).item() < 0.7 * before
    assert all(np.abs(gm.state_dict()[k].array - v).max() > 1e-2 for k, v in start.items())


GROUP_CASES = [("SGD", dict(momentum=0.9)), ("Adam", {}), ("AdamW", {}), ("Adagrad", {}),
               ("RMSprop", dict(centered=True)), ("Adadelta", {}), ("Adamax", {}), ("NAdam", {})]


@pytest.mark.parametrize("name,kw", GROUP_CASES, ids=[c[0] for c in GROUP_CASES])
def test_param_groups_with_different_lr_match_torch(name, kw, torch_dtype_for):
    torch_dtype_for("float64")
    tm, gm, x, y = make_pair("float64", seed=1)
    groups = lambda m: [{"params": m.fc1.parameters()},                       # noqa: E731
                        {"params": m.fc2.parameters(), "lr": 0.002, "weight_decay": 0.05}]
    t_opt = getattr(torch.optim, name)(groups(tm), lr=0.02, **kw)
    g_opt = getattr(gk.optim, name)(groups(gm), lr=0.02, **kw)
    assert g_opt.param_groups[0]["lr"] == 0.02 and g_opt.param_groups[1]["lr"] == 0.002
    run_torch(t_opt, tm, x, y, 30)
    run_gk(g_opt, gm, x, y, 30)
    assert_same_params(gm, tm, "float64")


def test_cross_entropy_mlp_matches_torch():
    """The seed program's shape: an MLP with ReLU, cross-entropy, Adam."""
    torch.manual_seed(3)
    tm = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    tm = tm.double()
    gm = nn.Sequential(nn.Linear(6, 16, dtype=gk.float64), nn.ReLU(),
                       nn.Linear(16, 4, dtype=gk.float64))
    gm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((32, 6)), rng.integers(0, 4, 32)
    t_opt = torch.optim.Adam(tm.parameters(), lr=0.01)
    g_opt = gk.optim.Adam(gm.parameters(), lr=0.01)
    for _ in range(STEPS):
        t_opt.zero_grad()
        torch.nn.functional.cross_entropy(tm(torch.tensor(x)), torch.tensor(y)).backward()
        t_opt.step()
        g_opt.zero_grad()
        F.cross_entropy(gm(gk.tensor(x)), gk.tensor(y)).backward()
        g_opt.step()
    assert_same_params(gm, tm, "float64")


# ---------------------------------------------------------------------------- PyTorch's state_dict
@pytest.mark.parametrize("name,kw", [("SGD", dict(lr=0.05, momentum=0.9)),
                                     ("Adam", dict(lr=0.01, amsgrad=True)),
                                     ("NAdam", dict(lr=0.01)),
                                     ("RMSprop", dict(lr=0.005, centered=True, momentum=0.5)),
                                     ("Adagrad", dict(lr=0.05))])
def test_loads_torch_state_dict_and_continues_like_torch(name, kw, torch_dtype_for):
    """PyTorch's state_dict (tensors as arrays) loads into gradkit: same structure, same names."""
    torch_dtype_for("float64")
    tm, gm, x, y = make_pair("float64", seed=2)
    t_opt = getattr(torch.optim, name)(tm.parameters(), **kw)
    run_torch(t_opt, tm, x, y, 20)
    gm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    tsd = t_opt.state_dict()
    as_arrays = {"state": {i: {k: (v.numpy().copy() if isinstance(v, torch.Tensor) else v)
                               for k, v in s.items()} for i, s in tsd["state"].items()},
                 "param_groups": copy.deepcopy(tsd["param_groups"])}
    g_opt = getattr(gk.optim, name)(gm.parameters(), **kw)
    g_opt.load_state_dict(as_arrays)
    assert set(g_opt.state_dict()["state"][0]) == set(tsd["state"][0])
    run_torch(t_opt, tm, x, y, 20)
    run_gk(g_opt, gm, x, y, 20)
    assert_same_params(gm, tm, "float64")


def test_state_dict_structure_equals_torch():
    tm, gm, x, y = make_pair("float64")
    groups = lambda m: [{"params": [m.fc1.weight]}, {"params": [m.fc1.bias, m.fc2.weight,  # noqa
                                                                m.fc2.bias], "lr": 0.1}]
    t_opt = torch.optim.Adam(groups(tm), amsgrad=True)
    g_opt = gk.optim.Adam(groups(gm), amsgrad=True)
    run_torch(t_opt, tm, x, y, 2)
    run_gk(g_opt, gm, x, y, 2)
    tsd, gsd = t_opt.state_dict(), g_opt.state_dict()
    assert [g["params"] for g in gsd["param_groups"]] == [[0], [1, 2, 3]]
    assert [g["params"] for g in gsd["param_groups"]] == [g["params"] for g in tsd["param_groups"]]
    assert sorted(gsd["state"]) == sorted(tsd["state"]) == [0, 1, 2, 3]
    for i in range(4):
        assert set(gsd["state"][i]) == set(tsd["state"][i])
        assert gsd["state"][i]["step"] == tsd["state"][i]["step"].item() == 2
        np.testing.assert_allclose(gsd["state"][i]["exp_avg"].array,
                                   tsd["state"][i]["exp_avg"].numpy(), rtol=1e-10)
    common = set(tsd["param_groups"][1]) & set(gsd["param_groups"][1])
    assert {"lr", "betas", "eps", "weight_decay", "amsgrad", "maximize", "params"} <= common
    assert all(gsd["param_groups"][1][k] == tsd["param_groups"][1][k] for k in common)


# ---------------------------------------------------------------------------- Lion
def lion_reference(params, grads_fn, steps, lr, betas, wd):
    """The paper's Algorithm 2, transcribed: c = β1 m + (1-β1) g; w ← w - lr (sign(c) + λ w);
    m ← β2 m + (1-β2) g."""
    b1, b2 = betas
    ms = [np.zeros_like(w) for w in params]
    for _ in range(steps):
        grads = grads_fn(params)
        for w, m, g in zip(params, ms, grads):
            c = b1 * m + (1 - b1) * g
            w -= lr * (np.sign(c) + wd * w)
            m[...] = b2 * m + (1 - b2) * g
    return params


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kw", [dict(), dict(lr=1e-3, weight_decay=0.5),
                                dict(lr=3e-3, betas=(0.95, 0.98), weight_decay=0.1)])
def test_lion_matches_numpy_reference_of_the_paper(kw, dtype):
    _, gm, x, y = make_pair(dtype, seed=4)
    ref_model = GkMLP(getattr(gk, dtype))
    ref_model.load_state_dict({k: v.array.copy() for k, v in gm.state_dict().items()})
    ref_params = [p.array for p in ref_model.parameters()]

    def grads_fn(_params):  # the gradient at the reference's current weights
        ref_model.zero_grad()
        gk_loss(ref_model, x, y).backward()
        return [p.grad.array for p in ref_model.parameters()]

    full = dict(lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0)
    full.update(kw)
    lion_reference(ref_params, grads_fn, STEPS, full["lr"], full["betas"], full["weight_decay"])
    run_gk(gk.optim.Lion(gm.parameters(), **kw), gm, x, y, STEPS)
    for p, r in zip(gm.parameters(), ref_params):
        assert p.array.dtype == np.dtype(dtype)
        np.testing.assert_allclose(p.array, r, **TOL[dtype])


def test_lion_defaults_and_unit_step():
    w = nn.Parameter(gk.tensor(np.array([1.0, -2.0, 3.0])))
    opt = gk.optim.Lion([w])
    assert opt.defaults == dict(lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, maximize=False)
    w.grad = gk.tensor(np.array([5.0, -1e-3, 0.0]))
    opt.step()  # m = 0: c = (1-β1) g, so every coordinate with g ≠ 0 moves by exactly lr
    np.testing.assert_allclose(w.array, [1.0 - 1e-4, -2.0 + 1e-4, 3.0])
    np.testing.assert_allclose(opt.state[w]["exp_avg"].array, [0.05, -1e-5, 0.0])


# ---------------------------------------------------------------------------- defaults, allocation
def test_defaults_equal_torch():
    tp, gp = torch.zeros(2, requires_grad=True), nn.Parameter(gk.zeros(2))
    for name in ["SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "Adadelta", "Adamax", "NAdam"]:
        td = getattr(torch.optim, name)([tp]).defaults
        gd = getattr(gk.optim, name)([gp]).defaults
        for k, v in gd.items():
            assert td[k] == v, (name, k, v, td[k])


ALL = [("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)),
       ("Adam", dict(amsgrad=True, weight_decay=0.1)), ("AdamW", {}),
       ("Adagrad", dict(weight_decay=0.1)), ("RMSprop", dict(centered=True, momentum=0.9)),
       ("Adadelta", dict(weight_decay=0.1)), ("Adamax", {}), ("NAdam", {}),
       ("Lion", dict(weight_decay=0.1))]


@pytest.mark.parametrize("name,kw", ALL, ids=[c[0] for c in ALL])
def test_step_allocates_nothing_parameter_sized(name, kw):
    """After the first step (which creates the state and the scratch buffer), a step on a
    4 MB float32 parameter allocates well under one parameter's worth of memory."""
    w = nn.Parameter(gk.randn(1000, 1000))
    w.grad = gk.randn(1000, 1000)
    opt = getattr(gk.optim, name)([w], **kw)
    opt.step()
    tracemalloc.start()
    try:
        opt.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 0.25 * w.array.nbytes, f"{name}: a step allocated {peak} bytes"
    assert w.array.dtype == np.float32 and opt.state[w]  # no float64 upcast, state kept


@pytest.mark.parametrize("name,kw", ALL, ids=[c[0] for c in ALL])
def test_step_is_in_place_bumps_version_and_keeps_grad(name, kw):
    w = nn.Parameter(gk.randn(5, 3))
    w.grad = gk.randn(5, 3)
    grad_before = w.grad.array.copy()
    arr, version = w.array, w._version
    getattr(gk.optim, name)([w], **kw).step()
    assert w.array is arr and w._version == version + 1
    np.testing.assert_array_equal(w.grad.array, grad_before)  # the gradient is not modified


def test_readonly_broadcast_gradient_is_fine():
    """A gradient that is a read-only broadcast view (as some backward formulas produce) is
    read, never written."""
    w = nn.Parameter(gk.zeros(4, 3))
    w.grad = gk.Tensor(np.broadcast_to(np.float32(1.0), (4, 3)))
    for opt in (gk.optim.SGD([w], lr=0.1, momentum=0.9, weight_decay=0.1), gk.optim.Adam([w])):
        opt.step()
        opt.step()
    assert np.all(w.array < 0)


@pytest.mark.parametrize("kw", [dict(), dict(amsgrad=True, weight_decay=0.1), dict(maximize=True)])
@pytest.mark.parametrize("cls", ["Adam", "AdamW"])
def test_adam_on_a_large_parameter_matches_torch(cls, kw):
    # 300 x 300 = 90,000 elements, larger than the MLP tests' parameters
    rng = np.random.default_rng(7)
    w0 = rng.standard_normal((300, 300))
    gp = gk.nn.Parameter(gk.tensor(w0))
    tp = torch.nn.Parameter(torch.tensor(w0))
    go = getattr(gk.optim, cls)([gp], lr=0.01, **kw)
    to = getattr(torch.optim, cls)([tp], lr=0.01, **kw)
    for _ in range(5):
        g = rng.standard_normal((300, 300))
        gp.grad = gk.tensor(g)
        tp.grad = torch.tensor(g)
        go.step()
        to.step()
    np.testing.assert_allclose(gp.array, tp.detach().numpy(), rtol=1e-10, atol=1e-12)
