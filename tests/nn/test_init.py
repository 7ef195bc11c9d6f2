"""nn.init: distributions and their statistics vs PyTorch's formulas."""
import math

import numpy as np
import pytest
import torch

import gradkit as gk
import gradkit.nn as nn
from gradkit.nn import init


def _pair(shape):
    return gk.empty(*shape), torch.empty(*shape)


@pytest.mark.parametrize("name,kw", [
    ("xavier_uniform_", {}), ("xavier_normal_", {"gain": 2.0}),
    ("kaiming_uniform_", {"a": math.sqrt(5)}), ("kaiming_normal_", {"mode": "fan_out", "nonlinearity": "relu"}),
    ("uniform_", {"a": -0.3, "b": 0.7}), ("normal_", {"mean": 1.0, "std": 0.2}),
    ("trunc_normal_", {"std": 1.0, "a": -1.0, "b": 1.5}),
])
def test_init_statistics_match_torch(name, kw):
    g, t = _pair((256, 128, 3))
    getattr(init, name)(g, **kw)
    getattr(torch.nn.init, name)(t, **kw)
    a, b = g.array.ravel(), t.numpy().ravel()
    # tolerances as Python floats: pytest 9.2 rejects a NumPy float32 one
    assert a.mean() == pytest.approx(b.mean(), abs=float(4 * b.std() / math.sqrt(a.size) + 1e-3))
    assert a.std() == pytest.approx(b.std(), rel=0.02)
    assert a.min() >= b.min() - 0.05 * b.std() - 1e-6 or name.endswith("normal_")


def test_trunc_normal_bounds_and_constants():
    g = gk.empty(1000)
    init.trunc_normal_(g, mean=0.0, std=1.0, a=-0.5, b=0.5)
    assert g.array.min() >= -0.5 and g.array.max() <= 0.5
    init.constant_(g, 3.0)
    assert np.all(g.array == 3)
    init.zeros_(g)
    assert np.all(g.array == 0)
    init.ones_(g)
    assert np.all(g.array == 1)
    e = gk.empty(3, 4)
    init.eye_(e)
    np.testing.assert_array_equal(e.array, np.eye(3, 4))


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (3, 2, 2)])
def test_orthogonal(shape):
    g = gk.empty(*shape)
    init.orthogonal_(g, gain=2.0)
    m = g.array.reshape(shape[0], -1)
    if m.shape[0] <= m.shape[1]:
        np.testing.assert_allclose(m @ m.T, 4 * np.eye(m.shape[0]), atol=1e-5)
    else:
        np.testing.assert_allclose(m.T @ m, 4 * np.eye(m.shape[1]), atol=1e-5)


def test_gain_and_fans_match_torch():
    for nl, p in [("relu", None), ("tanh", None), ("leaky_relu", 0.2), ("sigmoid", None), ("selu", None)]:
        assert init.calculate_gain(nl, p) == pytest.approx(torch.nn.init.calculate_gain(nl, p))
    g, t = _pair((8, 3, 5, 5))
    assert init._calculate_fan_in_and_fan_out(g) == torch.nn.init._calculate_fan_in_and_fan_out(t)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(gk.empty(5))


def test_init_is_reproducible_from_manual_seed():
    gk.manual_seed(7)
    a = nn.Linear(10, 10).weight.array.copy()
    gk.manual_seed(7)
    b = nn.Linear(10, 10).weight.array.copy()
    gk.manual_seed(8)
    c = nn.Linear(10, 10).weight.array.copy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


# === where the draws come from: the global generator, or generator= ===========================
# (function, its arguments, the draw it makes from a numpy Generator, for a (6, 4) tensor)
_A = math.sqrt(6 / 10)
DRAWS = [
    ("uniform_", {"a": -0.3, "b": 0.7}, lambda g: g.uniform(-0.3, 0.7, (6, 4))),
    ("normal_", {"mean": 1.0, "std": 0.2}, lambda g: g.normal(1.0, 0.2, (6, 4))),
    ("xavier_uniform_", {"gain": 2.0}, lambda g: g.uniform(-2 * _A, 2 * _A, (6, 4))),
    ("xavier_normal_", {}, lambda g: g.normal(0.0, math.sqrt(2 / 10), (6, 4))),
    ("kaiming_uniform_", {"a": math.sqrt(5)},
     lambda g: g.uniform(-1 / math.sqrt(4), 1 / math.sqrt(4), (6, 4))),
    ("kaiming_normal_", {"mode": "fan_out", "nonlinearity": "relu"},
     lambda g: g.normal(0.0, math.sqrt(2) / math.sqrt(6), (6, 4))),
]


@pytest.mark.parametrize("name,kw,draw", DRAWS)
def test_without_generator_the_draws_come_from_the_global_generator(name, kw, draw):
    gk.manual_seed(5)
    t = getattr(init, name)(gk.empty(6, 4), **kw)
    np.testing.assert_array_equal(t.array, draw(np.random.default_rng(5)).astype(np.float32))


@pytest.mark.parametrize("name,kw,draw", DRAWS)
def test_generator_gives_the_draws_of_a_fresh_generator_and_leaves_the_global_one(name, kw, draw):
    gk.manual_seed(0)
    state = gk.random.get_rng_state()
    global_generator = gk.random.get_generator()
    t = getattr(init, name)(gk.empty(6, 4), generator=np.random.default_rng(11), **kw)
    np.testing.assert_array_equal(t.array, draw(np.random.default_rng(11)).astype(np.float32))
    assert gk.random.get_rng_state() == state and gk.random.get_generator() is global_generator
    # the same seed, the same values; and a generator continues where it stopped
    g = np.random.default_rng(11)
    a = getattr(init, name)(gk.empty(6, 4), generator=g, **kw).array.copy()
    b = getattr(init, name)(gk.empty(6, 4), generator=g, **kw).array.copy()
    np.testing.assert_array_equal(a, t.array)
    assert not np.array_equal(a, b)


def test_orthogonal_and_trunc_normal_take_a_generator():
    o1 = init.orthogonal_(gk.empty(5, 3), generator=np.random.default_rng(2)).array
    o2 = init.orthogonal_(gk.empty(5, 3), generator=np.random.default_rng(2)).array
    gk.manual_seed(2)
    o3 = init.orthogonal_(gk.empty(5, 3)).array
    np.testing.assert_array_equal(o1, o2)
    np.testing.assert_array_equal(o1, o3)
    t1 = init.trunc_normal_(gk.empty(500), std=2.0, a=-1.0, b=1.0,
                            generator=np.random.default_rng(4)).array
    gk.manual_seed(4)
    t2 = init.trunc_normal_(gk.empty(500), std=2.0, a=-1.0, b=1.0).array
    np.testing.assert_array_equal(t1, t2)
    assert t1.min() >= -1 and t1.max() <= 1


def test_a_generator_that_is_not_a_numpy_generator_is_refused():
    with pytest.raises(TypeError, match=r"uniform_: generator must be a numpy Generator "
                                        r"\(np\.random\.default_rng\(seed\)\), got int"):
        init.uniform_(gk.empty(3), generator=3)


def test_skipped_leaves_the_tensor_and_draws_nothing():
    gk.manual_seed(0)
    state = gk.random.get_rng_state()
    t = gk.zeros(4, 4)
    with init.skipped():
        init.kaiming_uniform_(t, a=math.sqrt(5))
        init.normal_(t, generator=np.random.default_rng(0))
    assert np.all(t.array == 0) and gk.random.get_rng_state() == state
