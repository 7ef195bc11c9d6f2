"""Function.apply: what an op says when it is given something that is not a Tensor."""
import numpy as np
import pytest

import gradkit as gk


def test_an_op_given_a_numpy_array_says_to_convert_it():
    layer = gk.nn.Linear(3, 2)
    with pytest.raises(TypeError, match=r"linear: input 0 is a numpy.ndarray, not a Tensor; "
                                        r"convert it first with gk.tensor\(x\)"):
        layer(np.zeros((1, 3), np.float32))
    with pytest.raises(TypeError, match=r"input 1 is a builtins.list, not a Tensor"):
        gk.ops.linalg.MatMul.apply(gk.zeros(2, 2, requires_grad=True), [[1.0, 0.0], [0.0, 1.0]])
