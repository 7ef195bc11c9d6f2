"""nn.PReLU / F.prelu against PyTorch (float64 values and gradients), and the channel dropouts
nn.Dropout1d / nn.Dropout2d (whole channels zeroed, the rest scaled, identity in eval)."""
import numpy as np
import pytest
import torch

import gradkit as gk
import gradkit.nn as nn
import gradkit.nn.functional as F
from tests.oracle import check


@pytest.mark.parametrize("shape, slopes", [((4, 3), 3), ((2, 3, 5), 3), ((2, 3, 4, 4), 1),
                                           ((2, 3, 4, 4), 3)])
def test_prelu_matches_torch(shape, slopes):
    rng = np.random.default_rng(0)
    x, w = rng.uniform(-2, 2, shape), rng.uniform(0, 1, slopes)
    check(lambda a, b: F.prelu(a, b), lambda a, b: torch.nn.functional.prelu(a, b),
          inputs=[x, w])


def test_prelu_module_is_torch_s_with_the_same_weight():
    m, t = nn.PReLU(3, dtype=gk.float64), torch.nn.PReLU(3).double()
    assert np.allclose(m.weight.detach().numpy(), 0.25) and list(m.state_dict()) == ["weight"]
    x = np.random.default_rng(1).normal(size=(2, 3, 5))
    np.testing.assert_allclose(m(gk.tensor(x)).detach().numpy(),
                               t(torch.tensor(x)).detach().numpy(), rtol=1e-12)


@pytest.mark.parametrize("cls, shape", [(nn.Dropout1d, (8, 16, 5)), (nn.Dropout2d, (8, 16, 3, 4))])
def test_channel_dropout_zeroes_whole_channels(cls, shape):
    gk.manual_seed(0)
    x = gk.tensor(np.random.default_rng(2).uniform(1, 2, shape))
    m = cls(0.5)
    y = m(x).numpy()
    spatial = tuple(range(2, len(shape)))
    dropped = (y == 0).all(axis=spatial)
    kept = np.isclose(y, 2 * x.numpy()).all(axis=spatial)
    assert (dropped | kept).all() and 0.3 < dropped.mean() < 0.7
    m.eval()
    assert np.array_equal(m(x).numpy(), x.numpy())
    with pytest.raises(ValueError, match="expected a"):
        cls(0.5)(gk.ones(*shape[:len(shape) - 2]))
