import numpy as np
import pytest
import torch

import gradkit as gk
import gradkit.nn as nn
from gradkit.nn import utils


def _models():
    # float64, seeded: the gradients are computed by each framework independently, and in
    # float32 their last digits differ by more than the clipping tests' tolerance
    torch.manual_seed(0)
    t = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2)).double()
    g = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2)).double()
    g.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((6, 4))
    (g(gk.tensor(x)) * 10).pow(2).sum().backward()
    (t(torch.tensor(x)) * 10).pow(2).sum().backward()
    return g, t


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
def test_clip_grad_norm_matches_torch(norm_type):
    g, t = _models()
    n1 = utils.clip_grad_norm_(g.parameters(), 0.5, norm_type)
    n2 = torch.nn.utils.clip_grad_norm_(t.parameters(), 0.5, norm_type)
    assert n1.item() == pytest.approx(n2.item(), rel=1e-5)
    for p, q in zip(g.parameters(), t.parameters()):
        np.testing.assert_allclose(p.grad.array, q.grad.numpy(), rtol=1e-4, atol=1e-7)


def test_clip_grad_norm_nonfinite_error():
    p = nn.Parameter(gk.ones(2))
    p.grad = gk.tensor([np.inf, 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)


def test_clip_grad_value_matches_torch():
    g, t = _models()
    utils.clip_grad_value_(g.parameters(), 0.1)
    torch.nn.utils.clip_grad_value_(t.parameters(), 0.1)
    for p, q in zip(g.parameters(), t.parameters()):
        np.testing.assert_allclose(p.grad.array, q.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_parameters_vector_round_trip():
    g, t = _models()
    v = utils.parameters_to_vector(g.parameters())
    np.testing.assert_allclose(v.array, torch.nn.utils.parameters_to_vector(t.parameters()).detach().numpy())
    utils.vector_to_parameters(v * 2, g.parameters())
    np.testing.assert_allclose(utils.parameters_to_vector(g.parameters()).array, 2 * v.array)
    with pytest.raises(ValueError, match="1-D vector of 37 elements"):
        utils.vector_to_parameters(gk.zeros(5), g.parameters())


def test_skip_init_leaves_parameters_undrawn_and_the_generator_untouched():
    import gradkit as gk
    from gradkit import nn

    gk.manual_seed(3)
    state = gk.get_rng_state()
    lin = nn.utils.skip_init(nn.Linear, 4, 3)
    assert gk.get_rng_state() == state  # nothing was drawn
    assert lin.weight.shape == (3, 4) and lin.bias.shape == (3,)
    drawn = nn.Linear(4, 3)  # outside skip_init initialisers draw again
    assert gk.get_rng_state() != state
    assert abs(drawn.weight.array).max() <= 0.5
    emb = nn.utils.skip_init(nn.Embedding, 5, 2)
    assert emb.weight.shape == (5, 2)
