"""gradcheck and detect_anomaly."""
import numpy as np
import pytest

import gradkit as gk
from gradkit.autograd import Function


def test_gradcheck_passes_on_correct_op():
    x = gk.randn(3, 2, dtype=gk.float64, requires_grad=True)
    w = gk.randn(2, 4, dtype=gk.float64, requires_grad=True)
    assert gk.autograd.gradcheck(lambda a, b: (a @ b).tanh(), (x, w))


class WrongSquare(Function):
    # deliberately wrong derivative: 3x instead of 2x
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    def backward(ctx, grad):
        (x,) = ctx.saved
        return grad * x * 3


def test_gradcheck_reports_the_worst_element_of_a_wrong_gradient():
    x = gk.tensor([1.0, 2.0, 5.0], dtype=gk.float64, requires_grad=True)
    with pytest.raises(AssertionError, match=r"input 0 at output element 2, input element 2: "
                                             r"numerical 10, analytical 15 "):
        gk.autograd.gradcheck(WrongSquare.apply, (x,))
    assert gk.autograd.gradcheck(WrongSquare.apply, (x,), raise_exception=False) is False


def test_gradcheck_requires_float64():
    x = gk.randn(3, requires_grad=True)
    with pytest.raises(TypeError, match="float64"):
        gk.autograd.gradcheck(lambda a: a * 2, (x,))


def test_detect_anomaly_names_the_op_and_the_user_line():
    x = gk.tensor([1.0, 0.0, 2.0], requires_grad=True)
    with gk.autograd.detect_anomaly():
        h = x * 1.0
        y = h.log()  # ANOMALY-LINE: log(0) = -inf; its backward gives 1/0 = inf
        loss = (y * 0.5).sum()
        with pytest.raises(RuntimeError) as info:
            loss.backward()
    msg = str(info.value)
    assert "LogBackward" in msg and "nan or inf" in msg
    assert __file__ in msg
    line = next(i for i, l in enumerate(open(__file__), 1) if "ANOMALY-LINE" in l and "h.log()" in l)
    assert f"line {line}" in msg
    assert "h.log()" in msg


def test_without_detect_anomaly_nan_passes_silently_and_nothing_is_recorded():
    x = gk.tensor([1.0, 0.0], requires_grad=True)
    y = x.log()
    assert not hasattr(y.grad_fn, "_trace") or y.grad_fn.__dict__.get("_trace") is None
    y.sum().backward()
    assert np.isinf(x.grad.array[1])
