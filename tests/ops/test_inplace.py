"""In-place ops (gradkit/ops/inplace.py and the Tensor methods add_ sub_ mul_ div_ pow_ clamp_
masked_fill_ copy_ zero_ fill_ __setitem__ += -= *= /=) and clone, against PyTorch in float64.

The rules under test: under ``no_grad`` they write into the same array and bump ``_version``; on a
leaf that requires grad outside ``no_grad`` they refuse; on a non-leaf they record, and the
gradient is PyTorch's; a backward that needs a value modified since raises instead of computing
a wrong gradient. Views made by basic indexing share memory and version with their base.
"""
import numpy as np
import pytest
import torch
from oracle import check

import gradkit as gk

X0 = np.array([0.5, -1.0, 2.0, 1.5])


def _mod(x):
    return gk if isinstance(x, gk.Tensor) else torch


def _c(m, a):
    """A float64 constant of framework m."""
    return m.tensor(a, dtype=m.float64)


def _iadd(x, m):
    x += 1.5


def _isub(x, m):
    x -= _c(m, [1.0, 2.0, 3.0, 4.0])


def _imul(x, m):
    x *= -2.0


def _idiv(x, m):
    x /= _c(m, 4.0)


def _setitem(x, m):
    x[1:3] = _c(m, [7.0, 8.0])


# name -> fn(x, module): the same in-place update written for gradkit and for torch
INPLACE = {
    "add_": lambda x, m: x.add_(1.5),
    "add_ alpha": lambda x, m: x.add_(_c(m, [1.0, 2.0, 3.0, 4.0]), alpha=2),
    "sub_": lambda x, m: x.sub_(_c(m, 0.25)),
    "mul_": lambda x, m: x.mul_(_c(m, [1.0, -1.0, 2.0, 0.5])),
    "div_": lambda x, m: x.div_(2.0),
    "pow_": lambda x, m: x.pow_(2),
    "clamp_": lambda x, m: x.clamp_(-0.5, 1.0),
    "masked_fill_": lambda x, m: x.masked_fill_(m.tensor([True, False, False, True]), 9.0),
    "copy_": lambda x, m: x.copy_(_c(m, [4.0, 3.0, 2.0, 1.0])),
    "zero_": lambda x, m: x.zero_(),
    "fill_": lambda x, m: x.fill_(3.25),
    "setitem": _setitem,
    "setitem scalar": lambda x, m: x.__setitem__(0, 5.0),
    "+=": _iadd, "-=": _isub, "*=": _imul, "/=": _idiv,
}


# ============================================================ leaves under no_grad
@pytest.mark.parametrize("name", list(INPLACE))
def test_under_no_grad_a_leaf_is_modified_in_place(name):
    x = gk.tensor(X0, dtype=gk.float64, requires_grad=True)
    xt = torch.tensor(X0, dtype=torch.float64, requires_grad=True)
    data, version = x.array, x._version
    with gk.no_grad():
        INPLACE[name](x, gk)
    with torch.no_grad():
        INPLACE[name](xt, torch)
    assert x.array is data                       # the same array object, written into
    assert x._version == version + 1
    assert x.is_leaf and x.requires_grad and x.grad_fn is None
    np.testing.assert_allclose(x.array, xt.detach().numpy(), rtol=1e-12)


def test_no_grad_update_keeps_float32_without_upcast():
    w = gk.ones(3)
    with gk.no_grad():
        w.sub_(gk.tensor([0.1, 0.2, 0.3], dtype=gk.float64) * 0.5)
        w *= 2.0
    assert w.dtype == gk.float32
    np.testing.assert_allclose(w.array, [1.9, 1.8, 1.7], rtol=1e-6)


# ============================================================ leaves outside no_grad
@pytest.mark.parametrize("name", list(INPLACE))
def test_leaf_that_requires_grad_refuses_in_place_outside_no_grad(name):
    x = gk.tensor(X0, dtype=gk.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"leaf.*no_grad"):
        INPLACE[name](x, gk)
    np.testing.assert_array_equal(x.array, X0)   # untouched
    assert x._version == 0


def test_leaf_error_names_the_method():
    x = gk.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"^clamp_: a leaf tensor that requires grad"):
        x.clamp_(0, 1)
    with pytest.raises(RuntimeError, match=r"^add_: a leaf"):
        x += 1


def test_leaf_that_does_not_require_grad_is_modified_and_gets_a_history():
    # buf[1:3] = v with v requiring grad: buf now depends on v, as in PyTorch
    def f(m, v):
        buf = m.zeros(4, dtype=m.float64)
        buf[1:3] = v * 2
        buf.add_(v.sum())
        return (buf * buf).sum()
    _compare(f, extra=[np.array([0.3, -0.7])], x_grad=False)


def test_masked_fill_with_a_value_that_requires_grad_into_a_plain_tensor():
    def f(m, v):
        buf = m.ones(2, 3, dtype=m.float64)
        buf.masked_fill_(m.tensor([True, False, True]), v)
        return (buf * m.arange(6, dtype=m.float64).reshape(2, 3)).sum()
    _compare(f, extra=[np.array(0.5)], x_grad=False)


# ============================================================ non-leaves: gradients are PyTorch's
def _compare(fn, x0=X0, extra=(), x_grad=True):
    """Run fn(module, x, *extra) -> scalar in both frameworks; compare value and gradients."""
    gx = [gk.tensor(x0, dtype=gk.float64, requires_grad=True)] if x_grad else []
    tx = [torch.tensor(x0, dtype=torch.float64, requires_grad=True)] if x_grad else []
    gx += [gk.tensor(e, dtype=gk.float64, requires_grad=True) for e in extra]
    tx += [torch.tensor(e, dtype=torch.float64, requires_grad=True) for e in extra]
    z, zt = fn(gk, *gx), fn(torch, *tx)
    z.backward()
    zt.backward()
    np.testing.assert_allclose(z.item(), zt.item(), rtol=1e-10)
    for i, (a, b) in enumerate(zip(gx, tx)):
        np.testing.assert_allclose(a.grad.array, b.grad.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=f"gradient of input {i}")


@pytest.mark.parametrize("name", list(INPLACE))
def test_in_place_on_a_non_leaf_gives_pytorch_gradient(name):
    def f(m, x):
        y = x * _c(m, [1.0, 2.0, 3.0, 4.0])
        INPLACE[name](y, m)
        return (y * y * x).sum()
    _compare(f)


def test_brief_example_setitem_then_add_():
    def f(m, x):
        y = x * 2
        y[0] = 5
        y.add_(1)
        return (y * y).sum()
    _compare(f)


def test_chain_of_in_place_ops_that_save_their_input():
    # mul_, div_, pow_ need the old value in their backward: it must not be the overwritten one
    def f(m, x):
        y = x * 1
        y.sub_(x)
        y += 0.5
        y.mul_(x)
        y.pow_(2)
        y /= x + 3
        y.clamp_(0.01, 0.8)
        return y.sum()
    _compare(f)


@pytest.mark.parametrize("value", [np.array([3.0, -2.0]), np.array(0.7), np.array([1.5])])
def test_setitem_value_that_requires_grad_gets_gradient(value):
    def f(m, x, v):
        y = x * 1
        y[1:3] = v
        return (y ** 3).sum()
    _compare(f, extra=[value])


def test_setitem_with_integer_and_bool_indices():
    def f(m, x, v):
        y = x.reshape(2, 2) * 1
        y[[1, 0], [0, 0]] = v
        y[m.tensor([[True, False], [False, False]])] = v[0] * 3
        y[:, 1] = v.sum()
        return (y.exp()).sum()
    _compare(f, extra=[np.array([0.2, -0.4])])


def test_copy_from_a_tensor_that_requires_grad():
    def f(m, x, v):
        y = x * 3
        y.copy_(v)                  # same shape: the gradient goes to v, none to x through y
        return (y * x).sum()
    _compare(f, extra=[np.array([1.0, 2.0, 3.0, 4.0])])
    _compare(f, extra=[np.array(2.5)])   # broadcast copy


@pytest.mark.parametrize("op", ["zero_", "fill_", "copy_ const"])
def test_overwriting_a_non_leaf_keeps_a_history_with_zero_gradient(op):
    # PyTorch: y.zero_() has grad_fn ZeroBackward, and x.grad is zeros (not missing)
    def f(m, x):
        y = x * 2
        if op == "zero_":
            y.zero_()
        elif op == "fill_":
            y.fill_(1.5)
        else:
            y.copy_(_c(m, [1.0, 2.0, 3.0, 4.0]))
        assert y.requires_grad and y.grad_fn is not None
        return y.sum()
    _compare(f)


def test_gradcheck_through_in_place_program():
    def f(x):
        y = x * 1.5
        y[0] = x[1] * x[2]
        y.mul_(x)
        y += x.sum()
        return y
    gk.autograd.gradcheck(f, (gk.tensor(X0, dtype=gk.float64, requires_grad=True),))


def test_version_increases_by_one_per_in_place_op():
    x = gk.ones(3, requires_grad=True)
    y = x * 2
    assert y._version == 0
    y.add_(1)
    y[0] = 3.0
    y.mul_(y.detach())
    assert y._version == 3


# ============================================================ a value needed by backward
def test_exp_output_modified_raises():
    x = gk.tensor(X0, requires_grad=True)
    y = x.exp()
    y.add_(1)
    with pytest.raises(RuntimeError, match=r"ExpBackward: .*modified by an in-place operation"):
        y.sum().backward()


def test_mul_input_modified_raises():
    x = gk.tensor(X0, requires_grad=True)
    a = x * 2
    b = a * a
    a.mul_(3)
    with pytest.raises(RuntimeError, match=r"modified by an in-place operation \(its version is 1, "
                                           r"expected 0\)"):
        b.sum().backward()


def test_setitem_on_a_saved_tensor_raises():
    x = gk.tensor(X0, requires_grad=True)
    y = x * 2
    z = y ** 3       # saves y
    y[0] = 0.0
    w = y * y        # saved after the change: fine for w
    (w.sum()).backward(retain_graph=True)
    with pytest.raises(RuntimeError, match=r"modified by an in-place operation"):
        z.sum().backward()


def test_in_place_under_no_grad_is_still_detected():
    x = gk.tensor(X0, requires_grad=True)
    y = x.sigmoid()
    with gk.no_grad():
        y.mul_(2)
    with pytest.raises(RuntimeError, match=r"modified by an in-place operation"):
        y.sum().backward()


def test_a_value_saved_after_the_change_is_fine():
    def f(m, x):
        y = x * 2
        y.add_(1)
        return (y.exp() * y).sum()
    _compare(f)


# ============================================================ views (basic indexing)
def test_in_place_through_an_index_view_updates_the_base():
    def f(m, x):
        y = x * 2
        y[0].mul_(3)
        y[1:3].add_(x[:2])
        return (y * y).sum()
    _compare(f)


def test_in_place_through_a_chain_of_views():
    def f(m, x):
        y = x.reshape(2, 2) * 2
        y[1:][0].mul_(3)        # the middle view is a temporary
        r = y[:, 1]
        r.mul_(x[:2])
        y[0] *= 5               # getitem, imul on the view, setitem
        return (y ** 2).sum() + (r ** 3).sum()
    _compare(f)


def test_base_modified_after_a_view_was_taken():
    # the view sees the new values, and its gradient must follow them
    def f(m, x):
        y = x * 1
        s = y[1:]
        y.mul_(2)
        s.add_(1)
        return (y ** 2).sum() + (s ** 2).sum()
    _compare(f)


def test_modifying_a_view_is_seen_by_a_backward_that_saved_the_base():
    x = gk.tensor(X0, requires_grad=True)
    y = x * 2
    z = y * y
    y[0:2].add_(1)
    with pytest.raises(RuntimeError, match=r"modified by an in-place operation"):
        z.sum().backward()


def test_in_place_on_a_view_of_a_leaf_raises_outside_no_grad():
    x = gk.tensor(X0, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"mul_: a view of a leaf tensor that requires grad.*"
                                           r"no_grad"):
        x[0].mul_(2)
    np.testing.assert_array_equal(x.array, X0.astype(np.float32))
    with gk.no_grad():
        x[1:].zero_()
    np.testing.assert_array_equal(x.array, [0.5, 0, 0, 0])
    assert x._version == 1


def test_shared_memory_without_history_refuses_a_value_that_requires_grad():
    v = gk.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = gk.zeros(2, 3)
    with pytest.raises(RuntimeError, match=r"add_: this tensor shares memory with another one"):
        w[0].add_(v)


# ============================================================ dtype and shape rules
@pytest.mark.parametrize("fn", [lambda a: a.add_(0.5), lambda a: a.div_(2),
                                lambda a: a.mul_(gk.tensor([1.0, 2.0]))])
def test_float_result_into_integer_tensor_raises(fn):
    a = gk.tensor([1, 2])
    with pytest.raises(TypeError, match=r"result type float32 can't be cast to the dtype of the "
                                        r"tensor written in place \(int64\)"):
        fn(a)
    np.testing.assert_array_equal(a.array, [1, 2])


def test_integer_in_place_ops_that_keep_the_dtype_work():
    a = gk.tensor([1, 2])
    a *= 3
    a += gk.tensor([1, 1])
    a.fill_(a.array[0] + 1)
    assert a.dtype == gk.int64 and a.tolist() == [5, 5]


@pytest.mark.parametrize("grad", [False, True])
def test_in_place_op_that_would_change_the_shape_raises(grad):
    x = gk.zeros(3, requires_grad=grad) * 1
    with pytest.raises(ValueError, match=r"add_: a tensor of shape \(3,\) can't be updated in "
                                         r"place with an? \w+ of shape \(2, 3\)"):
        x += gk.ones(2, 3)


# ============================================================ clone
@pytest.mark.parametrize("shape", [(2, 3), (), (1,)])
def test_clone(shape):
    check(lambda x: x.clone() * x, shapes=[shape])
    check(lambda x: _mod(x).clone(x), shapes=[shape])


def test_clone_copies_and_protects_the_original():
    x = gk.tensor(X0, requires_grad=True)
    y = x.exp()
    c = y.clone()
    assert not np.shares_memory(c.array, y.array)
    assert c.grad_fn.name() == "CloneBackward" and not c.is_leaf
    c.add_(1)                       # y's saved output is untouched
    (y.sum() + c.sum()).backward()
    np.testing.assert_allclose(x.grad.array, 2 * np.exp(X0.astype(np.float32)), rtol=1e-6)


# ============================================================ detach and constant factors
def test_detached_in_place_is_detected():
    x = gk.tensor(X0, requires_grad=True)
    y = x.exp()
    y.detach().add_(1)
    with pytest.raises(RuntimeError, match=r"modified by an in-place operation"):
        y.sum().backward()


def test_mul_by_a_constant_does_not_pin_the_tensor():
    def f(m, x):
        y = x * 1
        d = y * 3
        y.add_(1)
        return (d + y).sum()
    _compare(f)
