"""Loss argument checks (issue 15): BCE targets outside [0, 1], float class ids in cross-entropy."""
import numpy as np
import pytest
import torch

import gradkit as gk
import gradkit.nn as nn
import gradkit.nn.functional as F


@pytest.mark.parametrize("target", [[0.0, 1.5, 1.0], [0.0, -0.5, 1.0], [2.0, 3.0, 0.0]])
@pytest.mark.parametrize("loss", [F.binary_cross_entropy, nn.BCELoss()], ids=["F", "module"])
def test_bce_refuses_targets_outside_0_1_as_pytorch(loss, target):
    p = [0.2, 0.5, 0.9]
    with pytest.raises(RuntimeError, match="all elements of target should be between 0 and 1"):
        torch.nn.functional.binary_cross_entropy(torch.tensor(p), torch.tensor(target))
    with pytest.raises(ValueError, match=r"binary_cross_entropy: target values must be between 0 "
                                         r"and 1, got values from -?\d"):
        loss(gk.tensor(p), gk.tensor(target))


def test_bce_accepts_labels_and_probabilities_at_the_bounds():
    p, y = [0.2, 0.5, 0.9, 0.4], [0.0, 1.0, 0.3, 1.0]
    np.testing.assert_allclose(F.binary_cross_entropy(gk.tensor(p), gk.tensor(y)).item(),
                               torch.nn.functional.binary_cross_entropy(torch.tensor(p),
                                                                        torch.tensor(y)).item(),
                               rtol=1e-6)


@pytest.mark.parametrize("shape,target_shape,ids_shape", [
    ((4, 3), (4,), (4,)), ((4, 3, 5), (4, 5), (4, 5)), ((4, 3), (4, 1), (4,))])
def test_cross_entropy_with_float_class_ids_says_to_use_long(shape, target_shape, ids_shape):
    x = gk.randn(*shape)
    y = gk.tensor(np.zeros(target_shape, np.float32))
    for loss in (F.cross_entropy, nn.CrossEntropyLoss()):
        with pytest.raises(ValueError) as e:
            loss(x, y)
        msg = str(e.value)
        assert f"integer class ids of shape {ids_shape} (convert it: y.long())" in msg
        assert f"class probabilities of the input's shape {shape}" in msg
        assert str(target_shape) in msg and "view(-1, 1)" not in msg
    loss = F.cross_entropy(x, y.long().reshape(ids_shape))   # the suggested fix works
    assert np.isfinite(loss.item())
