"""Reductions (gradkit/ops/reduction.py) against PyTorch and gradcheck, in float64.

Each op runs through ``oracle.check``: the same inputs in gradkit and PyTorch, forward values and
every input gradient compared at rtol 1e-6, then ``gk.autograd.gradcheck``.
"""
import math
import warnings

import numpy as np
import pytest
import torch
from oracle import check

import gradkit as gk

# (shape, dim): None, int, negative int, tuple (also unsorted / negative), 0-d and size-1 cases
CASES = [
    ((), None), ((), 0), ((), -1),
    ((1,), 0), ((5,), None), ((5,), 0), ((5,), -1),
    ((3, 4), None), ((3, 4), 0), ((3, 4), 1), ((3, 4), -1), ((3, 4), (0, 1)), ((3, 4), (-1, 0)),
    ((2, 1, 3), 1), ((2, 3, 4), -2), ((2, 3, 4), (0, 2)), ((2, 3, 4), (2, -3)), ((2, 3, 4), None),
]
KEEP = [False, True]
ids = [f"{s}-dim{d}" for s, d in CASES]


def _norm_dims(dim, ndim):
    if dim is None:
        return tuple(range(ndim))
    dims = dim if isinstance(dim, tuple) else (dim,)
    return tuple(sorted(d % ndim for d in dims)) if ndim else ()


def torch_over(fn, x, dim, keepdim):
    """A torch reduction ``fn(x, -1)`` over any set of dims: move them last, flatten, reduce.
    Independent of torch's own support for tuple / None dims (prod takes one int only)."""
    dims = _norm_dims(dim, x.ndim)
    rest = [d for d in range(x.ndim) if d not in dims]
    moved = x.permute(*rest, *dims) if x.ndim else x
    y = fn(moved.reshape(*[x.shape[d] for d in rest], -1), -1)
    shape = [1 if d in dims else x.shape[d] for d in range(x.ndim)] if keepdim else \
        [x.shape[d] for d in rest]
    return y.reshape(shape)


def _count(shape, dim):
    return int(np.prod([shape[d] for d in _norm_dims(dim, len(shape))]))


# ============================================================ sums
@pytest.mark.parametrize("keepdim", KEEP)
@pytest.mark.parametrize("shape,dim", CASES, ids=ids)
def test_sum(shape, dim, keepdim):
    check(lambda x: x.sum(dim, keepdim=keepdim), shapes=[shape])


@pytest.mark.parametrize("keepdim", KEEP)
@pytest.mark.parametrize("shape,dim", CASES, ids=ids)
def test_mean(shape, dim, keepdim):
    check(lambda x: x.mean(dim, keepdim=keepdim), shapes=[shape])


@pytest.mark.parametrize("keepdim", KEEP)
@pytest.mark.parametrize("shape,dim", [c for c in CASES if _count(*c) > 1],
                         ids=[i for c, i in zip(CASES, ids) if _count(*c) > 1])
@pytest.mark.parametrize("op", ["var", "std"])
def test_var_std_default_is_unbiased(op, shape, dim, keepdim):
    check(lambda x: getattr(x, op)(dim, keepdim=keepdim), shapes=[shape])


@pytest.mark.parametrize("op", ["var", "std"])
@pytest.mark.parametrize("kwargs", [dict(unbiased=True), dict(unbiased=False), dict(correction=0),
                                    dict(correction=1), dict(correction=2)])
@pytest.mark.parametrize("shape,dim", [((6,), None), ((3, 4), 1), ((2, 3, 4), (0, 2))])
def test_var_std_correction(op, kwargs, shape, dim):
    check(lambda x: getattr(x, op)(dim, keepdim=True, **kwargs), shapes=[shape])
    check(lambda x: getattr(x, op)(dim, **kwargs), shapes=[shape])


def test_var_positional_unbiased_flag():
    check(lambda x: x.var(1, False), shapes=[(3, 4)])
    check(lambda x: x.std(0, True, True), shapes=[(3, 4)])


@pytest.mark.parametrize("op", ["var", "std"])
def test_var_of_one_element_is_nan_with_correction_and_zero_without(op):
    x = gk.tensor([[2.5]], dtype=gk.float64)
    assert np.isnan(getattr(x, op)().item())  # n - correction = 0, as PyTorch
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch warns "degrees of freedom is <= 0"
        assert np.isnan(getattr(torch.tensor([[2.5]]), op)().item())
    assert getattr(x, op)(correction=0).item() == 0.0


@pytest.mark.parametrize("keepdim", KEEP)
@pytest.mark.parametrize("shape,dim", CASES, ids=ids)
def test_prod(shape, dim, keepdim):
    check(lambda x: x.prod(dim, keepdim=keepdim),
          lambda x: torch_over(torch.prod, x, dim, keepdim), shapes=[shape])


# zeros: one zero in a slice gets the product of the others, two zeros give all-zero gradients
PROD_ZEROS = [
    ([0.0, 2.0, -3.0], None),
    ([1.5, 2.0, 0.0], 0),
    ([0.0, 2.0, 0.0], None),
    ([[0.0, 2.0, 3.0], [1.5, -2.0, 0.5], [0.0, 0.0, 4.0]], 1),
    ([[0.0, 2.0, 3.0], [1.5, -2.0, 0.5], [0.0, 0.0, 4.0]], 0),
    ([[0.0, 2.0, 3.0], [1.5, -2.0, 0.5], [0.0, 0.0, 4.0]], -1),
    ([[0.0, 2.0, 3.0], [1.5, -2.0, 0.5], [0.0, 0.0, 4.0]], None),
    ([[[0.0, 2.0], [3.0, 1.5]], [[-2.0, 0.5], [0.0, 0.0]]], (0, 2)),
]


@pytest.mark.parametrize("keepdim", KEEP)
@pytest.mark.parametrize("values,dim", PROD_ZEROS)
def test_prod_with_zeros_matches_torch_gradient(values, dim, keepdim):
    check(lambda x: x.prod(dim, keepdim=keepdim),
          lambda x: torch_over(torch.prod, x, dim, keepdim), inputs=[np.array(values)])


def test_prod_gradient_at_single_zero_is_product_of_the_others():
    x = gk.tensor([2.0, 0.0, -3.0, 0.5], dtype=gk.float64, requires_grad=True)
    x.prod().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, -3.0, 0.0, 0.0])


@pytest.mark.parametrize("shape,dim", [((), 0), ((5,), 0), ((5,), -1), ((3, 4), 0), ((3, 4), 1),
                                       ((2, 3, 4), -2), ((1, 1), 1)])
def test_cumsum(shape, dim):
    check(lambda x: x.cumsum(dim), shapes=[shape])
    check(lambda x: gk.cumsum(x, dim=dim), lambda x: torch.cumsum(x, dim=dim), shapes=[shape])


@pytest.mark.parametrize("dtype,tdtype", [(gk.int64, torch.int64), (gk.int32, torch.int32),
                                          (gk.bool_, torch.bool)])
def test_cumsum_of_integers_is_int64_without_grad(dtype, tdtype):
    y = gk.tensor([[1, 0, 1], [1, 1, 0]], dtype=dtype).cumsum(1)
    t = torch.tensor([[1, 0, 1], [1, 1, 0]], dtype=tdtype).cumsum(1)
    assert y.dtype == gk.int64 and t.dtype == torch.int64
    np.testing.assert_array_equal(y.numpy(), t.numpy())
    assert not y.requires_grad


NORM_CASES = [(2, None), (2, 1), (2, (0, 1)), ("fro", None), ("fro", (0, 1)), ("fro", -1),
              (1, None), (1, 0), (1, -1), (float("inf"), None), (float("inf"), 1),
              (float("-inf"), 0), (3, None), (3, 1), (0.5, 1)]


@pytest.mark.parametrize("keepdim", KEEP)
@pytest.mark.parametrize("p,dim", NORM_CASES)
def test_norm(p, dim, keepdim):
    check(lambda x: x.norm(p, dim, keepdim), shapes=[(3, 4)])
    check(lambda x: gk.norm(x, p=p, dim=dim, keepdim=keepdim),
          lambda x: torch.norm(x, p=p, dim=dim, keepdim=keepdim), shapes=[(3, 4)], gradcheck=False)


@pytest.mark.parametrize("p", [2, "fro"])
def test_norm_gradient_at_the_zero_vector_is_zero_as_torch(p):
    # √(Σx²) alone would give 0·∞ = nan here; PyTorch defines the gradient as 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check(lambda x: x.norm(p), inputs=[np.zeros((2, 3))], gradcheck=False)
        check(lambda x: x.norm(p, dim=1), inputs=[np.array([[0.0, 0.0], [3.0, -4.0]])],
              gradcheck=False)


def test_norm_inf_ties_share_the_gradient_as_torch():
    check(lambda x: x.norm(float("inf")), inputs=[np.array([1.0, -3.0, 3.0, 2.0])], gradcheck=False)


def test_norm_rejects_unknown_p():
    with pytest.raises(ValueError, match=r"norm: p='nuc' is not supported"):
        gk.ones(2, 2).norm("nuc")


# ============================================================ extremes
@pytest.mark.parametrize("op", ["amax", "amin"])
@pytest.mark.parametrize("keepdim", KEEP)
@pytest.mark.parametrize("shape,dim", CASES, ids=ids)
def test_amax_amin(op, shape, dim, keepdim):
    # uniform random inputs have no ties: the gradient goes to the one extreme element
    def t_fn(x):
        return getattr(x, op)(() if dim is None else dim, keepdim=keepdim)
    check(lambda x: getattr(x, op)(dim, keepdim=keepdim), t_fn, shapes=[shape])


TIES = np.array([[3.0, 1.0, 3.0, 3.0], [2.0, 2.0, -1.0, 0.0], [5.0, 5.0, 5.0, 5.0]])


@pytest.mark.parametrize("op", ["amax", "amin"])
@pytest.mark.parametrize("dim", [None, 0, 1, (0, 1)])
@pytest.mark.parametrize("keepdim", KEEP)
def test_amax_amin_split_ties_evenly_as_torch(op, dim, keepdim):
    def t_fn(x):
        return getattr(x, op)(() if dim is None else dim, keepdim=keepdim)
    # gradcheck is off: at a tie the function is not differentiable
    check(lambda x: getattr(x, op)(dim, keepdim=keepdim), t_fn, inputs=[TIES], gradcheck=False)


def test_amax_tie_gradient_values():
    x = gk.tensor([1.0, 4.0, 4.0, 4.0, 2.0], dtype=gk.float64, requires_grad=True)
    x.amax().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0, 1 / 3, 1 / 3, 1 / 3, 0])


def test_amax_input_modified_in_place_before_backward_raises():
    # backward compares x with the max to find the ties, so x must be unchanged since forward
    x = gk.tensor([1.0, 3.0, 2.0], requires_grad=True)
    y = x * 1
    m = y.amax()
    y.mul_(2)
    with pytest.raises(RuntimeError, match=r"AMaxBackward: .*modified by an in-place operation"):
        m.backward()


@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("shape", [(), (1,), (5,), (3, 4), (2, 3, 4)])
def test_max_min_full_reduction(op, shape):
    check(lambda x: getattr(x, op)(), shapes=[shape])


@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_full_reduction_splits_ties_as_torch(op):
    check(lambda x: getattr(x, op)(), inputs=[TIES], gradcheck=False)


@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("keepdim", KEEP)
@pytest.mark.parametrize("shape,dim", [((), 0), ((), -1), ((1,), 0), ((5,), 0), ((5,), -1),
                                       ((3, 4), 0), ((3, 4), 1), ((3, 4), -1), ((2, 3, 4), 1),
                                       ((2, 1, 3), 1)])
def test_max_min_with_dim_gives_values_and_indices(op, shape, dim, keepdim):
    vals, idx = check(lambda x: getattr(x, op)(dim, keepdim=keepdim), shapes=[shape])
    assert idx.dtype == gk.int64 and not idx.requires_grad


@pytest.mark.parametrize("op", ["max", "min"])
def test_max_with_dim_is_a_namedtuple(op):
    x = gk.tensor([[1.0, 7.0, 3.0], [9.0, 2.0, 0.0]])
    out = getattr(x, op)(1)
    assert out.values is out[0] and out.indices is out[1]
    values, indices = out
    t = getattr(torch.tensor(x.numpy()), op)(1)
    np.testing.assert_array_equal(values.numpy(), t.values.numpy())
    np.testing.assert_array_equal(indices.numpy(), t.indices.numpy())


def test_max_with_dim_and_ties_routes_gradient_to_the_returned_index():
    # PyTorch's max(dim) (unlike amax) sends the whole gradient to the index it returns
    check(lambda x: x.max(1), inputs=[np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])],
          gradcheck=False)


@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("sa,sb", [((3, 4), (3, 4)), ((3, 1), (4,)), ((), (2, 3))])
def test_max_min_of_two_tensors_is_elementwise(op, sa, sb):
    check(lambda a, b: getattr(gk, op)(a, b), lambda a, b: getattr(torch, op)(a, b),
          shapes=[sa, sb])


@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_of_two_tensors_split_ties_in_half_as_torch(op):
    a, b = np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 3.0])
    check(lambda a, b: getattr(gk, op)(a, b), lambda a, b: getattr(torch, op)(a, b),
          inputs=[a, b], gradcheck=False)


@pytest.mark.parametrize("op", ["argmax", "argmin"])
@pytest.mark.parametrize("keepdim", KEEP)
@pytest.mark.parametrize("shape,dim", [((), None), ((), 0), ((5,), None), ((5,), 0),
                                       ((3, 4), None), ((3, 4), 0), ((3, 4), -1),
                                       ((2, 3, 4), 1)])
def test_argmax_argmin(op, shape, dim, keepdim):
    (out,) = check(lambda x: getattr(x, op)(dim, keepdim=keepdim), shapes=[shape], grad=False)
    assert out.dtype == gk.int64 and not out.requires_grad


@pytest.mark.parametrize("op", ["argmax", "argmin"])
def test_argmax_argmin_ties_give_the_first_index(op):
    x = np.array([[2.0, 5.0, 5.0, -1.0, -1.0]])
    check(lambda x: getattr(x, op)(1), inputs=[x], grad=False)
    check(lambda x: getattr(x, op)(), inputs=[x], grad=False)


@pytest.mark.parametrize("op", ["amax", "amin", "max", "min"])
def test_extremes_of_an_empty_dimension_raise(op):
    with pytest.raises(ValueError, match=rf"{op}: cannot reduce over an empty dimension"):
        getattr(gk.zeros(2, 0), op)(1)


# ============================================================ normalisers
@pytest.mark.parametrize("keepdim", KEEP)
@pytest.mark.parametrize("shape,dim", CASES, ids=ids)
def test_logsumexp(shape, dim, keepdim):
    check(lambda x: x.logsumexp(dim, keepdim=keepdim),
          lambda x: torch_over(torch.logsumexp, x, dim, keepdim), shapes=[shape])


@pytest.mark.parametrize("dim", [(0, 2), -1, 1])
def test_logsumexp_tuple_dims_as_torch_native(dim):
    check(lambda x: x.logsumexp(dim), shapes=[(2, 3, 4)])


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,dim", [((), 0), ((1,), 0), ((5,), 0), ((5,), -1), ((3, 4), 0),
                                       ((3, 4), 1), ((2, 3, 4), -2), ((2, 1, 3), 1)])
def test_softmax_log_softmax(op, shape, dim):
    check(lambda x: getattr(x, op)(dim), shapes=[shape])
    check(lambda x: getattr(gk, op)(x, dim=dim), lambda x: getattr(torch, op)(x, dim=dim),
          shapes=[shape], gradcheck=False)


# ============================================================ numerics at extreme logits
@pytest.fixture
def warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


BIG = [1e4, 0.0, -1e4]


@pytest.mark.usefixtures("warnings_are_errors")
@pytest.mark.parametrize("dtype", [gk.float32, gk.float64])
def test_log_softmax_exact_at_logits_of_1e4(dtype):
    x = gk.tensor(BIG, dtype=dtype, requires_grad=True)
    y = gk.log_softmax(x, dim=0)
    assert y.dtype == dtype
    np.testing.assert_array_equal(y.detach().numpy(), [0.0, -1e4, -2e4])
    g = gk.tensor([1.0, 2.0, 1.0], dtype=dtype)
    y.backward(g)
    assert x.grad.dtype == dtype
    np.testing.assert_array_equal(x.grad.numpy(), [1.0 - 4.0, 2.0, 1.0])  # g - softmax Σg


@pytest.mark.usefixtures("warnings_are_errors")
@pytest.mark.parametrize("dtype", [gk.float32, gk.float64])
def test_softmax_exact_and_finite_at_logits_of_1e4(dtype):
    x = gk.tensor(BIG, dtype=dtype, requires_grad=True)
    y = gk.softmax(x, dim=0)
    np.testing.assert_array_equal(y.detach().numpy(), [1.0, 0.0, 0.0])
    y.backward(gk.tensor([0.3, -1.0, 2.0], dtype=dtype))
    assert np.all(np.isfinite(x.grad.numpy()))
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 0.0])


@pytest.mark.usefixtures("warnings_are_errors")
@pytest.mark.parametrize("sign", [1, -1])
def test_logsumexp_exact_at_logits_of_1e4(sign):
    x = gk.tensor([sign * 1e4, sign * 1e4], dtype=gk.float64, requires_grad=True)
    y = x.logsumexp(0)
    assert y.item() == sign * 1e4 + math.log(2)
    y.backward()
    # e^(x - y) with y rounded at 1e4: 0.5 to ~1e-13, the same value as PyTorch's
    np.testing.assert_allclose(x.grad.numpy(), [0.5, 0.5], rtol=1e-12)


@pytest.mark.usefixtures("warnings_are_errors")
@pytest.mark.parametrize("dtype,tdtype", [(gk.float32, torch.float32), (gk.float64, torch.float64)])
def test_logsumexp_at_1e4_gradient_finite_and_as_torch(dtype, tdtype):
    data = [1e4, 1e4, -1e4]
    x = gk.tensor(data, dtype=dtype, requires_grad=True)
    y = x.logsumexp(0)
    assert y.dtype == dtype
    np.testing.assert_allclose(y.item(), 1e4 + math.log(2), rtol=1e-7)
    y.backward()
    t = torch.tensor(data, dtype=tdtype, requires_grad=True)
    t.logsumexp(0).backward()
    assert np.all(np.isfinite(x.grad.numpy()))
    # float32 rounds y = 1e4 + ln 2 to 1e-3, so e^(x - y) is 0.4999: the same formula as PyTorch
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), [0.5, 0.5, 0.0], rtol=3e-4)


@pytest.mark.usefixtures("warnings_are_errors")
@pytest.mark.parametrize("op", ["softmax", "log_softmax", "logsumexp"])
def test_extreme_logits_match_torch_values_and_gradients(op):
    x = np.array([[1e4, 0.0, -1e4], [-1e4, -1e4, -1e4], [1e4, 1e4, 0.0]])
    check(lambda x: getattr(x, op)(1), inputs=[x], gradcheck=False)


@pytest.mark.usefixtures("warnings_are_errors")
@pytest.mark.parametrize("op", ["softmax", "log_softmax", "logsumexp"])
def test_minus_inf_logits_mask_without_warnings(op):
    # -inf logits (attention masks) give exact zeros / -inf and finite gradients, as PyTorch
    x = np.array([[0.0, -np.inf, 1.0], [-np.inf, 2.0, -np.inf]])
    gx = gk.tensor(x, dtype=gk.float64, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    gy, ty = getattr(gx, op)(1), getattr(tx, op)(1)
    np.testing.assert_allclose(gy.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
    up = np.random.default_rng(0).standard_normal(gy.shape)
    gy.backward(gk.tensor(up, dtype=gk.float64))
    ty.backward(torch.tensor(up))
    assert np.all(np.isfinite(gx.grad.numpy()))
    np.testing.assert_allclose(gx.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.usefixtures("warnings_are_errors")
def test_logsumexp_of_all_minus_inf_is_minus_inf():
    y = gk.tensor([-np.inf, -np.inf], dtype=gk.float64).logsumexp(0)
    assert y.item() == -np.inf == torch.tensor([-np.inf, -np.inf]).logsumexp(0).item()


# ============================================================ booleans
BOOLS = np.array([[True, False, True], [True, True, True]])


@pytest.mark.parametrize("op", ["all", "any"])
@pytest.mark.parametrize("keepdim", KEEP)
@pytest.mark.parametrize("dim", [None, 0, 1, -1, (0, 1)])
def test_all_any(op, dim, keepdim):
    if dim is None:
        gk_fn, t_fn = (lambda x: getattr(x, op)(None, keepdim)), None
        t_fn = (lambda x: getattr(x, op)().reshape((1, 1) if keepdim else ()))
    else:
        gk_fn = t_fn = lambda x: getattr(x, op)(dim, keepdim=keepdim)
    (out,) = check(gk_fn, t_fn, inputs=[BOOLS], grad=False)
    assert out.dtype == gk.bool_


@pytest.mark.parametrize("op", ["all", "any"])
def test_all_any_of_floats_test_nonzero(op):
    x = np.array([[0.0, 1.5], [0.0, 0.0]])
    check(lambda x: getattr(x, op)(1), inputs=[x], grad=False)


# ============================================================ dtypes
@pytest.mark.parametrize("dtype,tdtype", [(gk.int64, torch.int64), (gk.int32, torch.int32),
                                          (gk.uint8, torch.uint8), (gk.bool_, torch.bool)])
@pytest.mark.parametrize("dim", [None, 1])
def test_integer_sum_is_int64_without_grad(dtype, tdtype, dim):
    data = [[1, 0, 1], [1, 1, 1]]
    y = gk.tensor(data, dtype=dtype).sum(dim)
    t = torch.tensor(data, dtype=tdtype).sum(dim) if dim is not None else \
        torch.tensor(data, dtype=tdtype).sum()
    assert y.dtype == gk.int64 and t.dtype == torch.int64
    assert not y.requires_grad and y.grad_fn is None
    np.testing.assert_array_equal(y.numpy(), t.numpy())


def test_sum_with_dtype_converts_first():
    y = gk.tensor([1, 2, 3]).sum(dtype=gk.float64)
    assert y.dtype == gk.float64 and y.item() == 6.0


@pytest.mark.parametrize("op", ["mean", "var", "std", "softmax", "log_softmax", "norm"])
def test_float_only_reductions_reject_integers(op):
    x = gk.tensor([[1, 2], [3, 4]])
    with pytest.raises(TypeError,
                       match=rf"{op}: needs a floating point tensor, got int64.*\.float\(\)"):
        getattr(x, op)(1) if op in ("softmax", "log_softmax") else getattr(x, op)()


@pytest.mark.parametrize("op", ["sum", "mean", "var", "std", "prod", "amax", "amin", "logsumexp",
                                "softmax", "log_softmax", "cumsum", "norm"])
def test_float32_stays_float32_in_forward_and_backward(op):
    x = gk.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], requires_grad=True)
    y = getattr(x, op)(dim=1)
    assert x.dtype == y.dtype == gk.float32
    y.sum().backward()
    assert x.grad.dtype == gk.float32


@pytest.mark.parametrize("op", ["prod", "amax", "amin", "max", "min", "argmax", "cumsum"])
def test_integer_reductions_keep_integers(op):
    x = gk.tensor([[3, 1, 2], [4, 6, 5]])
    t = torch.tensor([[3, 1, 2], [4, 6, 5]])
    y, ty = (x.cumsum(1), t.cumsum(1)) if op == "cumsum" else (getattr(x, op)(), getattr(t, op)())
    assert y.dtype == gk.int64 and ty.dtype == torch.int64
    np.testing.assert_array_equal(y.numpy(), ty.numpy())


# ============================================================ NumPy aliases
ALIAS_OPS = ["sum", "mean", "var", "std", "prod", "amax", "amin", "logsumexp", "argmax",
             "argmin", "max", "min"]


@pytest.mark.parametrize("op", ALIAS_OPS)
@pytest.mark.parametrize("dim", [1, -1, (0, 2), None])
@pytest.mark.parametrize("keepdim", KEEP)
def test_axis_keepdims_aliases_equal_dim_keepdim(op, dim, keepdim):
    if op in ("argmax", "argmin", "max", "min") and isinstance(dim, tuple):
        return  # these take one dim
    rng = np.random.default_rng(1)
    x = gk.tensor(rng.uniform(-2, 2, (2, 3, 4)), dtype=gk.float64)
    a = getattr(x, op)(dim=dim, keepdim=keepdim)
    b = getattr(x, op)(axis=dim, keepdims=keepdim)
    c = getattr(gk, op)(x, axis=dim, keepdims=keepdim)
    a, b, c = ([t[0] if isinstance(t, tuple) else t for t in (a, b, c)])
    assert a.shape == b.shape == c.shape
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(a.numpy(), c.numpy())


def test_numpy_ddof_alias_for_var_std():
    x = gk.tensor([[1.0, 2.0, 4.0], [3.0, 5.0, 9.0]], dtype=gk.float64)
    np.testing.assert_allclose(x.var(axis=1, ddof=0).numpy(), np.var(x.numpy(), axis=1, ddof=0))
    np.testing.assert_allclose(x.std(axis=0, ddof=1).numpy(), np.std(x.numpy(), axis=0, ddof=1))


@pytest.mark.parametrize("op", ["softmax", "log_softmax", "cumsum"])
def test_axis_alias_for_one_dim_ops(op):
    x = gk.tensor([[1.0, 2.0, 4.0], [3.0, 5.0, 9.0]], dtype=gk.float64)
    np.testing.assert_array_equal(getattr(x, op)(axis=0).numpy(), getattr(x, op)(dim=0).numpy())


@pytest.mark.parametrize("op", ["all", "any"])
def test_axis_keepdims_aliases_for_all_any(op):
    x = gk.tensor(BOOLS)
    expected = getattr(np, op)(BOOLS, axis=1, keepdims=True)
    np.testing.assert_array_equal(getattr(gk, op)(x, axis=1, keepdims=True).numpy(), expected)
    np.testing.assert_array_equal(getattr(x, op)(axis=1, keepdims=True).numpy(), expected)


# ============================================================ bad input
DIM_OPS = ["sum", "mean", "var", "std", "prod", "amax", "amin", "logsumexp", "max", "min",
           "argmax", "argmin", "cumsum", "softmax", "log_softmax", "all", "any"]


@pytest.mark.parametrize("op", DIM_OPS)
@pytest.mark.parametrize("dim", [2, -3, (0, 2)])
def test_out_of_range_dim_names_op_and_valid_range(op, dim):
    if isinstance(dim, tuple) and op in ("max", "min", "argmax", "argmin", "cumsum", "softmax",
                                         "log_softmax"):
        dim = 5
    x = gk.ones(2, 3)
    bad = dim[1] if isinstance(dim, tuple) else dim
    with pytest.raises(IndexError, match=rf"^{op}: dim {bad} is out of range for a tensor of 2 "
                                         r"dimensions \(valid: -2 to 1\)"):
        getattr(x, op)(dim)


def test_out_of_range_dim_of_norm_names_norm():
    with pytest.raises(IndexError, match=r"^norm: dim 2 is out of range.*valid: -2 to 1"):
        gk.ones(2, 3).norm(1, dim=2)
    with pytest.raises(IndexError, match=r"^norm: dim 2 is out of range.*valid: -2 to 1"):
        gk.ones(2, 3).norm(2, dim=2)


@pytest.mark.parametrize("dim", [1, -2])
def test_out_of_range_dim_of_a_0d_tensor(dim):
    with pytest.raises(IndexError, match=rf"^sum: dim {dim} is out of range for a tensor of 0 "
                                         r"dimensions \(valid: -1 to 0\)"):
        gk.tensor(1.0).sum(dim)


@pytest.mark.parametrize("op", ["sum", "mean", "amax", "logsumexp", "prod", "var"])
def test_repeated_dim_raises(op):
    with pytest.raises(ValueError, match=rf"{op}: dim \(1, -1\) names a dimension more than once"):
        getattr(gk.ones(2, 3), op)((1, -1))


@pytest.mark.parametrize("op", ["sum", "mean", "amax", "logsumexp", "prod", "var", "all"])
def test_unknown_keyword_raises(op):
    with pytest.raises(TypeError, match=rf"{op}: unexpected keyword arguments \['foo'\]"):
        getattr(gk, op)(gk.ones(2, 3), dim=1, foo=2)


@pytest.mark.parametrize("op", ["cumsum", "softmax", "log_softmax"])
def test_one_dim_ops_require_dim(op):
    with pytest.raises(TypeError, match=rf"{op}: dim is required"):
        getattr(gk, op)(gk.ones(2, 3))


# ============================================================ second order
def _second_order(fn, x, seed=0):
    """d/dx <v, d/dx <u, fn(x)>> in gradkit and torch (float64), compared."""
    rng = np.random.default_rng(seed)
    gx = gk.tensor(x, dtype=gk.float64, requires_grad=True)
    tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    gy, ty = fn(gx), fn(tx)
    u = rng.standard_normal(gy.shape)
    v = rng.standard_normal(x.shape)
    (g1,) = gk.grad((gy * gk.tensor(u, dtype=gk.float64)).sum(), gx, create_graph=True)
    (t1,) = torch.autograd.grad((ty * torch.tensor(u)).sum(), tx, create_graph=True)
    np.testing.assert_allclose(g1.detach().numpy(), t1.detach().numpy(), rtol=1e-6, atol=1e-9)
    assert g1.requires_grad
    (g2,) = gk.grad((g1 * gk.tensor(v, dtype=gk.float64)).sum(), gx)
    (t2,) = torch.autograd.grad((t1 * torch.tensor(v)).sum(), tx)
    np.testing.assert_allclose(g2.numpy(), t2.numpy(), rtol=1e-6, atol=1e-9)
    assert np.abs(t2.numpy()).max() > 1e-3  # a real second derivative, not a trivially zero one


SECOND = {
    "softmax": lambda x: x.softmax(1),
    "log_softmax": lambda x: x.log_softmax(-1),
    "logsumexp": lambda x: x.logsumexp(1),
    "logsumexp_all_keepdim": lambda x: x.logsumexp((0, 1), keepdim=True),
    "var": lambda x: x.var(0),
    "var_all_biased": lambda x: x.var(unbiased=False),
    "std": lambda x: x.std(1, keepdim=True),
    "prod": lambda x: x.prod(),
    "prod_dim": lambda x: x.prod(1, keepdim=True),
    "mean_of_squares": lambda x: (x * x).mean(1),
    "norm": lambda x: x.norm(dim=1),
    "cumsum_of_cube": lambda x: (x * x * x).cumsum(1),
}


@pytest.mark.parametrize("name", list(SECOND))
def test_second_order_matches_torch(name):
    x = np.random.default_rng(3).uniform(0.5, 1.5, (3, 4)) * np.array([1, -1, 1, -1])
    _second_order(SECOND[name], x)


ZEROS_ROWS = np.array([[0.0, 1.5, -2.0, 0.5], [0.0, 0.0, 1.2, -0.7], [1.1, -0.9, 1.3, 0.8]])


@pytest.mark.parametrize("x,dim", [
    (ZEROS_ROWS, 1), (ZEROS_ROWS, -1), (ZEROS_ROWS.T, 0),      # rows with one, two and no zeros
    (np.array([[0.0, 1.5], [-2.0, 0.5]]), None),              # one zero in a full reduction
    (np.array([[0.0, 1.5], [-2.0, 0.0]]), None),              # two zeros in a full reduction
])
def test_second_order_of_prod_with_zeros_matches_torch(x, dim):
    # Π_{j≠i} xj must stay differentiable under create_graph, also where it is 0
    _second_order(lambda x: x.prod() if dim is None else x.prod(dim), x)


def test_third_order_of_prod_with_zeros_matches_torch():
    x = np.array([0.0, 2.0, 0.0, 3.0])
    gx = gk.tensor(x, dtype=gk.float64, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    (g1,) = gk.grad(gx.prod(), gx, create_graph=True)
    (t1,) = torch.autograd.grad(tx.prod(), tx, create_graph=True)
    (g2,) = gk.grad(g1[0], gx, create_graph=True)
    (t2,) = torch.autograd.grad(t1[0], tx, create_graph=True)
    (g3,) = gk.grad(g2[2], gx)
    (t3,) = torch.autograd.grad(t2[2], tx)
    for g, t in [(g1, t1), (g2, t2), (g3, t3)]:
        np.testing.assert_array_equal(g.detach().numpy(), t.detach().numpy())
    np.testing.assert_array_equal(g3.numpy(), [0.0, 3.0, 0.0, 2.0])  # ∂³(x0 x1 x2 x3)/∂x0∂x2∂xi
