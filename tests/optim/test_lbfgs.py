"""optim.LBFGS against torch.optim.LBFGS in float64: the same iterates, step by step, with and
without the strong-Wolfe line search; its state survives gk.save/gk.load; errors name the fix."""
import numpy as np
import pytest
import torch

import gradkit as gk
import gradkit.nn as nn


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((40, 5))
    y = np.sin(x @ rng.standard_normal((5, 1)))
    w1, b1 = rng.standard_normal((8, 5)) * 0.5, rng.standard_normal(8) * 0.1
    w2, b2 = rng.standard_normal((1, 8)) * 0.5, rng.standard_normal(1) * 0.1
    return x, y, [w1, b1, w2, b2]


def _models(weights):
    g = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 1)).double()
    t = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).double()
    with gk.no_grad(), torch.no_grad():
        for pg, pt, w in zip(g.parameters(), t.parameters(), weights):
            pg.copy_(gk.tensor(w))
            pt.copy_(torch.tensor(w))
    return g, t


def _closure(opt, model, x, y, lib):
    def closure():
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        return loss
    return closure


@pytest.mark.parametrize("options", [
    {}, {"line_search_fn": "strong_wolfe"}, {"lr": 0.5, "history_size": 3, "max_iter": 7},
    {"line_search_fn": "strong_wolfe", "max_eval": 9, "tolerance_change": 1e-12}])
def test_iterates_equal_pytorchs(options):
    x, y, weights = _problem()
    g, t = _models(weights)
    og, ot = gk.optim.LBFGS(g.parameters(), **options), torch.optim.LBFGS(t.parameters(), **options)
    cg = _closure(og, g, gk.tensor(x), gk.tensor(y), gk)
    ct = _closure(ot, t, torch.tensor(x), torch.tensor(y), torch)
    first = None
    for step in range(4):
        lg, lt = og.step(cg), ot.step(ct)
        first = first if first is not None else float(lg.item())
        # 20 iterations a step: the sums' order (BLAS vs ATen) leaves ~1e-9 after 60 of them
        assert abs(float(lg.item()) - float(lt.item())) <= 1e-9 * max(1.0, abs(float(lt.item())))
        for pg, pt in zip(g.parameters(), t.parameters()):
            np.testing.assert_allclose(pg.detach().numpy(), pt.detach().numpy(), rtol=1e-7,
                                       atol=1e-9, err_msg=f"step {step}")
        sg, st = og.state[next(iter(g.parameters()))], ot.state[next(iter(t.parameters()))]
        assert (sg["func_evals"], sg["n_iter"]) == (st["func_evals"], st["n_iter"])
    final = float(((g(gk.tensor(x)) - gk.tensor(y)) ** 2).mean().item())
    assert final < 0.2 * first     # it minimises: the loss fell a lot in 4 steps


def test_state_survives_save_and_load_and_continues_identically(tmp_path):
    x, y, weights = _problem(1)
    a, _ = _models(weights)
    b, _ = _models(weights)
    oa = gk.optim.LBFGS(a.parameters(), history_size=4)
    ca = _closure(oa, a, gk.tensor(x), gk.tensor(y), gk)
    oa.step(ca)
    gk.save({"model": a.state_dict(), "opt": oa.state_dict()}, tmp_path / "s.safetensors")
    saved = gk.load(tmp_path / "s.safetensors")
    b.load_state_dict(saved["model"])
    ob = gk.optim.LBFGS(b.parameters(), history_size=4)
    ob.load_state_dict(saved["opt"])
    cb = _closure(ob, b, gk.tensor(x), gk.tensor(y), gk)
    oa.step(ca), ob.step(cb)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert np.array_equal(pa.detach().numpy(), pb.detach().numpy())


def test_a_closure_is_required_and_one_group_only():
    p = nn.Parameter(gk.zeros(2))
    with pytest.raises(TypeError, match=r"LBFGS.step needs a closure.*def closure\(\)"):
        gk.optim.LBFGS([p]).step()
    with pytest.raises(ValueError, match="doesn't support per-parameter options"):
        gk.optim.LBFGS([{"params": [p]}, {"params": [nn.Parameter(gk.zeros(1))]}])
    with pytest.raises(ValueError, match="line_search_fn must be None or 'strong_wolfe'"):
        gk.optim.LBFGS([p], line_search_fn="armijo")


def test_stops_at_once_at_a_minimum():
    p = nn.Parameter(gk.zeros(3, dtype=gk.float64))
    opt = gk.optim.LBFGS([p])

    def closure():
        opt.zero_grad()
        loss = (p ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    assert opt.state[p]["func_evals"] == 1 and np.array_equal(p.detach().numpy(), np.zeros(3))


def test_float32_parameters_stay_float32_and_so_does_the_state():
    model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 1))
    opt = gk.optim.LBFGS(model.parameters(), history_size=3, line_search_fn="strong_wolfe")
    x, y = gk.randn(6, 4), gk.randn(6, 1)

    def closure():
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        return loss

    for _ in range(2):
        opt.step(closure)
    assert all(p.dtype == gk.float32 for p in model.parameters())
    state = opt.state[next(iter(model.parameters()))]
    assert state["d"].dtype == np.float32 and state["prev_flat_grad"].dtype == np.float32
    assert all(a.dtype == np.float32 for a in state["old_dirs"] + state["old_stps"])
