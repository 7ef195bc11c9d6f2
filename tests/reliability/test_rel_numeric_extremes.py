"""Numeric extremes against PyTorch (issue 15, "Probes in the suite"): logits of ±1e4 and ±inf in
the normalisers and losses, saturating activations, overflow, log(0), √0, division by zero,
float16/float32, and NaN through max/relu/sum. Each probe runs the same code in gradkit and in
PyTorch (``T`` is the framework, ``F`` its nn.functional) and asserts the same value and gradient
of every input: the same inf/nan pattern, and finite numbers to tolerance. Where gradkit differs
on purpose, the test asserts both behaviours and says why (docs/reliability.md lists them).

NumPy emits a RuntimeWarning ("invalid value encountered in subtract") where a result is inf - inf
or 0/0; PyTorch is silent. The values are what these probes check, so the warning is filtered.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import gradkit as gk
import gradkit.nn.functional as GF

pytestmark = [pytest.mark.filterwarnings("ignore::RuntimeWarning"),
              pytest.mark.filterwarnings("ignore:(var|std)\\(\\). degrees of freedom:UserWarning")]

inf, nan = np.inf, np.nan
GK, PT = (gk, GF), (torch, TF)
# float16: PyTorch computes a half op in float32 and rounds once; gradkit (NumPy) rounds each
# step in float16, so a sigmoid or tanh gradient can differ by a few float16 ulps (eps ~ 1e-3).
TOL = {"float64": dict(rtol=1e-12, atol=1e-12),
       "float32": dict(rtol=1e-5, atol=1e-6),
       "float16": dict(rtol=5e-3, atol=1e-3)}


def _run(framework, fn, arrays, dtype, ints):
    T, F = framework
    xs = [T.tensor(np.asarray(a, dtype), requires_grad=True) for a in arrays]
    y = fn(T, F, *xs, *[T.tensor(np.asarray(i)) for i in ints])
    # a fixed upstream gradient 1, 2, 3, ...: a wrong weight per element shows
    w = np.arange(1, y.numel() + 1, dtype=dtype).reshape(tuple(y.shape))
    (y * T.tensor(w)).sum().backward()
    grads = [np.asarray(x.grad.detach().numpy()) if x.grad is not None else None for x in xs]
    return np.asarray(y.detach().numpy()), grads


def same(fn, *arrays, dtype="float64", ints=()):
    """Run fn in both frameworks; assert the same dtype, value and gradients (inf and nan in the
    same places, finite values to TOL). Returns gradkit's (value, grads)."""
    gv, gg = _run(GK, fn, arrays, dtype, ints)
    tv, tg = _run(PT, fn, arrays, dtype, ints)
    assert gv.dtype == tv.dtype == np.dtype(dtype)
    np.testing.assert_allclose(gv, tv, err_msg="value", **TOL[dtype])
    for i, (g, t) in enumerate(zip(gg, tg)):
        assert (g is None) == (t is None)
        np.testing.assert_allclose(g, t, err_msg=f"gradient of input {i}", **TOL[dtype])
    return gv, gg


# === softmax, log_softmax, logsumexp, cross-entropy at huge and infinite logits ==================
ROWS = [[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [inf, 0.0, 1.0], [-inf, 0.0, 1.0],
        [-inf, -inf, -inf], [inf, inf, 0.0], [inf, -inf, 0.0], [nan, 0.0, 1.0]]
NORMALISERS = {
    "softmax": lambda T, F, x: T.softmax(x, dim=-1),
    "log_softmax": lambda T, F, x: T.log_softmax(x, dim=-1),
    "logsumexp": lambda T, F, x: T.logsumexp(x, dim=-1),
}


@pytest.mark.parametrize("row", ROWS, ids=str)
@pytest.mark.parametrize("op", NORMALISERS)
def test_normalisers_at_extreme_logits(op, row):
    same(NORMALISERS[op], [row, [0.5, 1.0, 2.0]])


def test_stable_normalisers_give_the_exact_answer_at_1e4():
    x = [[1e4, -1e4, 0.0]]
    v, _ = same(NORMALISERS["softmax"], x)
    np.testing.assert_array_equal(v, [[1.0, 0.0, 0.0]])
    v, _ = same(NORMALISERS["log_softmax"], x)
    np.testing.assert_array_equal(v, [[0.0, -2e4, -1e4]])
    v, _ = same(NORMALISERS["logsumexp"], x)
    np.testing.assert_array_equal(v, [1e4])


@pytest.mark.parametrize("row", ROWS, ids=str)
@pytest.mark.parametrize("target", [0, 1])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_cross_entropy_at_extreme_logits(row, target, reduction):
    same(lambda T, F, x, t: F.cross_entropy(x, t, reduction=reduction), [row, row[::-1]],
         ints=([target, 2],))


def test_cross_entropy_of_a_confident_right_and_wrong_answer():
    v, (g,) = same(lambda T, F, x, t: F.cross_entropy(x, t, reduction="none"),
                   [[1e4, -1e4, 0.0], [1e4, -1e4, 0.0]], ints=([0, 1],))
    np.testing.assert_array_equal(v, [0.0, 2e4])             # exact, no overflow
    np.testing.assert_array_equal(g, [[0.0, 0.0, 0.0], [2.0, -2.0, 0.0]])


def test_cross_entropy_with_probabilities_and_masked_classes():
    # a -inf logit with probability 0 for that class: 0 · -inf would be nan; both give nan
    same(lambda T, F, x, p: F.cross_entropy(x, p), [[-inf, 0.0, 1.0]], [[0.0, 0.5, 0.5]])


# === BCE with logits at ±100 (and beyond) ========================================================
@pytest.mark.parametrize("x", [100.0, -100.0, 1e4, -1e4, inf, -inf])
@pytest.mark.parametrize("y", [0.0, 1.0, 0.5])
def test_bce_with_logits_at_large_logits(x, y):
    value, _ = same(lambda T, F, a, b: F.binary_cross_entropy_with_logits(a, b, reduction="none"),
                    [x, -x], [y, 1 - y])
    if np.isfinite(x):    # the stable formula: finite, and exactly |x| when the label is wrong
        assert np.all(np.isfinite(value))
        if y != 0.5:
            np.testing.assert_allclose(value, [abs(x) if (x > 0) != (y == 1) else 0.0] * 2,
                                       atol=1e-40)    # 0, or e^-100 = 3.7e-44


# === saturating activations, overflow, log(0), √0, division by zero ==============================
@pytest.mark.parametrize("op", ["sigmoid", "tanh"])
def test_saturating_activations_at_1e3(op):
    value, (g,) = same(lambda T, F, x: getattr(T, op)(x), [1e3, -1e3, inf, -inf, 0.0, nan])
    low = 0.0 if op == "sigmoid" else -1.0
    np.testing.assert_array_equal(value[:4], [1.0, low, 1.0, low])
    np.testing.assert_array_equal(g[:4], [0.0, 0.0, 0.0, 0.0])   # saturated: no nan gradients


@pytest.mark.parametrize("op,x", [
    ("exp", [1e3, -1e3, 709.0, 710.0, inf, -inf]),       # overflow is inf, with gradient inf
    ("log", [0.0, -0.0, -1.0, 1e-310, inf]),             # log 0 = -inf, d/dx = 1/0 = inf
    ("sqrt", [0.0, -0.0, -1.0, 1e-310, inf]),            # d√x/dx at 0 = 1/(2·0) = inf
    ("log1p", [-1.0, -2.0, 1e-310, inf]),
    ("expm1", [1e3, -1e3, 1e-310]),
    ("rsqrt", [0.0, -1.0, 1e-310, inf]),
])
def test_overflow_and_poles(op, x):
    value, (g,) = same(lambda T, F, a: getattr(T, op)(a), x)
    if op == "exp":
        assert value[0] == inf and g[0] == inf and value[1] == 0.0
    if op in ("log", "sqrt"):
        assert g[0] == inf


def test_log_of_zero_is_minus_inf_with_gradient_inf():
    value, (g,) = same(lambda T, F, a: T.log(a), [0.0])
    assert value[0] == -inf and g[0] == inf


def test_sqrt_of_zero_has_gradient_inf():
    value, (g,) = same(lambda T, F, a: T.sqrt(a), [0.0])
    assert value[0] == 0.0 and g[0] == inf


@pytest.mark.parametrize("a,b", [(1.0, 0.0), (-1.0, 0.0), (0.0, 0.0), (1.0, -0.0), (inf, inf),
                                 (0.0, inf), (inf, 0.0)])
def test_division_by_zero_and_infinity(a, b):
    same(lambda T, F, x, y: x / y, [a], [b])


@pytest.mark.parametrize("base,exponent", [(0.0, 0.5), (0.0, 2.0), (0.0, 0.0), (0.0, -1.0),
                                           (-1.0, 0.5), (inf, 0.0)])
def test_powers_at_zero(base, exponent):
    same(lambda T, F, x, p: x ** p, [base], [exponent])


def test_norm_of_zero_has_gradient_zero():
    _, (g,) = same(lambda T, F, x: x.norm(), [0.0, 0.0])
    np.testing.assert_array_equal(g, [0.0, 0.0])


def test_mse_with_an_infinite_prediction():
    same(lambda T, F, x, y: F.mse_loss(x, y), [inf, 1.0], [1.0, 1.0])


# === float16 and float32 =========================================================================
LOW_PRECISION = {
    "exp overflow": (lambda T, F, x: T.exp(x), [[12.0, 89.0, -20.0]]),
    "softmax 1e4": (lambda T, F, x: T.softmax(x, dim=-1), [[1e4, -1e4, 0.0]]),
    "log_softmax 6e4": (lambda T, F, x: T.log_softmax(x, dim=-1), [[6e4, -6e4, 0.0]]),
    "logsumexp 6e4": (lambda T, F, x: T.logsumexp(x, dim=-1), [[6e4, 6e4]]),
    "sum overflow": (lambda T, F, x: x.sum(), [[6e4, 6e4]]),
    "mean overflow": (lambda T, F, x: x.mean(), [[6e4, 6e4]]),
    "sigmoid": (lambda T, F, x: T.sigmoid(x), [[1e3, -1e3, 2.0]]),
    "tanh": (lambda T, F, x: T.tanh(x), [[1e3, -1e3, 2.0]]),
    "bce_with_logits": (lambda T, F, x, y: F.binary_cross_entropy_with_logits(x, y),
                        [[100.0, -100.0], [0.0, 1.0]]),
    "division by zero": (lambda T, F, x, y: x / y, [[1.0, 0.0, -1.0], [0.0, 0.0, 0.0]]),
    "log 0": (lambda T, F, x: T.log(x), [[0.0, 1.0]]),
    "sqrt 0": (lambda T, F, x: T.sqrt(x), [[0.0, 4.0]]),
}


@pytest.mark.parametrize("dtype", ["float16", "float32"])
@pytest.mark.parametrize("probe", LOW_PRECISION)
def test_low_precision_extremes_keep_their_dtype(probe, dtype):
    fn, arrays = LOW_PRECISION[probe]
    same(fn, *arrays, dtype=dtype)


@pytest.mark.parametrize("dtype", ["float16", "float32"])
def test_cross_entropy_in_low_precision(dtype):
    same(lambda T, F, x, t: F.cross_entropy(x, t), [[1e4, -1e4, 0.0], [0.0, 1.0, 2.0]],
         dtype=dtype, ints=([1, 2],))


def test_float16_overflow_points():
    v, _ = same(lambda T, F, x: T.exp(x), [11.0, 12.0], dtype="float16")   # e^11 < 65504 < e^12
    assert np.isfinite(v[0]) and v[1] == inf
    v, _ = same(lambda T, F, x: x.sum(), [6e4, 6e4], dtype="float16")
    assert v == inf


# === NaN through max, relu, sum ==================================================================
@pytest.mark.parametrize("name,fn", [
    ("max()", lambda T, F, x: x.max()),
    ("min()", lambda T, F, x: x.min()),
    ("max(dim)", lambda T, F, x: x.max(dim=1)[0]),
    ("min(dim)", lambda T, F, x: x.min(dim=1)[0]),
    ("relu", lambda T, F, x: T.relu(x)),
    ("F.relu", lambda T, F, x: F.relu(x)),
    ("sum", lambda T, F, x: x.sum(dim=1)),
    ("mean", lambda T, F, x: x.mean()),
    ("softmax", lambda T, F, x: T.softmax(x, dim=1)),
    ("sigmoid", lambda T, F, x: T.sigmoid(x)),
    ("argmax picks the NaN", lambda T, F, x: x.argmax(dim=1).to(x.dtype) * x.sum()),
], ids=lambda v: v if isinstance(v, str) else "")
def test_nan_propagates_as_in_pytorch(name, fn):
    same(fn, [[1.0, nan, 3.0], [nan, nan, -1.0], [2.0, 5.0, -4.0]])


def test_nan_in_relu_passes_its_gradient_as_pytorch():
    """Regression: relu's backward masked with y > 0, so a NaN input got gradient 0 where
    PyTorch's (x <= 0 ? 0 : g) passes g; now the mask is y != 0."""
    _, (g,) = same(lambda T, F, x: T.relu(x), [nan, -1.0, 0.0, 2.0])
    np.testing.assert_array_equal(g, [1.0, 0.0, 0.0, 4.0])


def test_nan_in_max_sends_the_gradient_to_the_nan_as_pytorch():
    """Regression: max() (no dim) split the gradient among elements equal to the maximum; none is
    equal to a NaN, so every element got 0/0 = nan. PyTorch's max() gives it to the NaN(s),
    as max(dim) and argmax already did."""
    _, (g,) = same(lambda T, F, x: x.max(), [1.0, nan, 3.0, nan])
    np.testing.assert_array_equal(g, [0.0, 0.5, 0.0, 0.5])


def test_var_of_one_element_has_a_nan_gradient_not_an_exception():
    """Regression: var's backward divided by n - correction in Python, so one element raised
    ZeroDivisionError; PyTorch's gradient is nan (2/0 · 0)."""
    value, (g,) = same(lambda T, F, x: x.var(), [2.5])
    assert np.isnan(value) and np.isnan(g).all()
    same(lambda T, F, x: x.std(dim=1), [[2.5], [1.0]])


def test_sum_of_opposite_infinities():
    value, (g,) = same(lambda T, F, x: x.sum(), [inf, -inf, 1.0])
    assert np.isnan(value) and np.array_equal(g, [1.0, 1.0, 1.0])


# === where gradkit differs on purpose ============================================================
def _grads(framework, fn, *arrays):
    return _run(framework, fn, arrays, "float64", ())


def test_difference_maximum_with_a_nan_gives_the_gradient_to_one_side():
    """gradkit's maximum keeps one weight array w for a and gives b 1 - w (one array saved per
    call); with a NaN neither a > b nor a == b holds, so the gradient goes to b. PyTorch gives the
    full gradient to both. The value is NaN in both."""
    fn = lambda T, F, a, b: T.maximum(a, b)     # noqa: E731
    (gv, (ga, gb)), (tv, (ta, tb)) = _grads(GK, fn, [nan, 1.0], [1.0, nan]), \
        _grads(PT, fn, [nan, 1.0], [1.0, nan])
    assert np.isnan(gv).all() and np.isnan(tv).all()
    np.testing.assert_array_equal(ga + gb, [1.0, 2.0])           # gradkit: the total is g
    np.testing.assert_array_equal(gb, [1.0, 2.0])
    np.testing.assert_array_equal(ta, [1.0, 2.0])                # PyTorch: g to each side
    np.testing.assert_array_equal(tb, [1.0, 2.0])


def test_difference_amax_with_a_nan_sends_the_gradient_to_the_nan():
    """gradkit's amax and max() share one backward, which treats a NaN as its slice's maximum.
    PyTorch's amax divides by the count of elements equal to the result, which is 0 for a NaN,
    so every element of that slice gets nan; its max() does what gradkit does."""
    fn = lambda T, F, x: T.amax(x, dim=1)       # noqa: E731
    x = [[1.0, nan, 3.0], [2.0, 5.0, -4.0]]
    (_, (g,)), (_, (t,)) = _grads(GK, fn, x), _grads(PT, fn, x)
    np.testing.assert_array_equal(g, [[0.0, 1.0, 0.0], [0.0, 2.0, 0.0]])
    assert np.isnan(t[0]).all()
    np.testing.assert_array_equal(t[1], [0.0, 2.0, 0.0])          # the slices without a NaN agree


def test_difference_abs_of_nan_has_a_nan_gradient():
    """d|x|/dx = sign(x), and NumPy's sign(nan) is nan, so the NaN stays visible in gradkit's
    gradient; PyTorch's sgn(nan) is 0."""
    fn = lambda T, F, x: T.abs(x)              # noqa: E731
    (_, (g,)), (_, (t,)) = _grads(GK, fn, [nan, -2.0]), _grads(PT, fn, [nan, -2.0])
    assert np.isnan(g[0]) and t[0] == 0.0
    assert g[1] == t[1] == -2.0
