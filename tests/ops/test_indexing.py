"""Indexing ops (gradkit/ops/indexing.py) against PyTorch and gradcheck, in float64: ``x[...]``,
gather, scatter_add, index_select, masked_fill, pad, one_hot, and the slicing family
(split/chunk/unbind/narrow), through ``oracle.check``; then their errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from oracle import check

import gradkit as gk


def _const(x, a):
    """``a`` as a constant tensor of x's framework (the oracle runs one lambda on both)."""
    return gk.tensor(a) if isinstance(x, gk.Tensor) else torch.tensor(a)


def _mod(x):
    return gk if isinstance(x, gk.Tensor) else torch


# ============================================================ getitem: basic indexing
@pytest.mark.parametrize("shape,index", [
    ((3, 4, 2), 1), ((3, 4, 2), -1), ((3, 4, 2), (0, -2)), ((3, 4, 2), (2, 3, 1)),
    ((3, 4, 2), slice(1, None)), ((3, 4, 2), slice(None, None, 2)), ((5,), slice(1, 5, 3)),
    ((3, 4, 2), (slice(None), slice(3, 0, None))), ((3, 4, 2), (slice(-2, None), slice(None, None, 3))),
    ((3, 4, 2), None), ((3, 4, 2), (None, 1)), ((3, 4, 2), (slice(None), None, 0)),
    ((3, 4, 2), Ellipsis), ((3, 4, 2), (Ellipsis, 1)), ((3, 4, 2), (1, Ellipsis)),
    ((3, 4, 2), (slice(1, None), None, Ellipsis, slice(None, None, 2))),
    ((3, 4, 2), (Ellipsis, None)), ((3, 4, 2), (slice(5, 9),)),  # an empty slice
    ((), None), ((), Ellipsis), ((), (None, Ellipsis)), ((1,), 0), ((1, 1), (0, slice(None))),
])
def test_getitem_basic(shape, index):
    check(lambda x: x[index], shapes=[shape])


def test_getitem_negative_step_as_numpy():
    # PyTorch refuses negative steps; gradkit follows NumPy: x[4:0:-2] is x.flip(0)[0:4:2]
    check(lambda x: x[4:0:-2], lambda x: x.flip(0)[0:4:2], shapes=[(5, 2)])
    check(lambda x: x[:, ::-1], lambda x: x.flip(1), shapes=[(2, 3)])


# ============================================================ getitem: advanced indexing
@pytest.mark.parametrize("shape,index", [
    ((4, 3), [2, 0, 3]),                                  # a list, one axis
    ((4, 3), ([0, 3], [2, 2])),                           # lists in two axes
    ((4, 3), (slice(None), [0, 2, 2])),                   # after a slice
    ((2, 4, 3), (1, [3, 0], slice(1, 3))),                # int, list and slice together
    ((2, 4, 3), (slice(None), [0, 1], [2, 0])),           # two adjacent index arrays
    ((2, 4, 3), ([1, 0], slice(None), [2, 2])),           # separated arrays: their dims go first
    ((4, 3), (np.array([[0, 1], [3, 3]]),)),              # a 2-D index array
    ((4, 3), ([-1, -4], 0)),                              # negative entries
    ((4, 3), (Ellipsis, [1, 0])),
    ((4, 3), ([0, 2], None)),
])
def test_getitem_integer_lists(shape, index):
    check(lambda x: x[index], shapes=[shape])


@pytest.mark.parametrize("kind", ["ndarray", "int64 tensor", "int32 tensor"])
@pytest.mark.parametrize("shape,rows,cols", [
    ((4, 3), [3, 1, 1], None), ((4, 3), [0, 3], [2, 0]), ((5,), [[4, 0], [0, 4]], None),
])
def test_getitem_integer_arrays_and_tensors(kind, shape, rows, cols):
    def as_index(x, a):
        a = np.asarray(a, np.int32 if kind == "int32 tensor" else np.int64)
        return a if kind == "ndarray" else _const(x, a)
    check(lambda x: x[as_index(x, rows)] if cols is None else x[as_index(x, rows), as_index(x, cols)],
          shapes=[shape])


def test_getitem_zero_d_integer_tensor_index_is_like_an_int():
    check(lambda x: x[_const(x, 2)], shapes=[(4, 3)])


@pytest.mark.parametrize("index,expected", [
    ([0, 0, 1], [[2.0] * 3, [1.0] * 3, [0.0] * 3, [0.0] * 3]),
    (([3, 3, 3], [1, 1, 0]), [[0, 0, 0], [0, 0, 0], [0, 0, 0], [1, 2, 0]]),
])
def test_getitem_repeated_indices_accumulate_in_backward(index, expected):
    x = gk.zeros(4, 3, dtype=gk.float64, requires_grad=True)
    x[index].sum().backward()
    np.testing.assert_array_equal(x.grad.array, np.asarray(expected, np.float64))
    # and with a random upstream gradient, against PyTorch and gradcheck
    check(lambda x: x[index], shapes=[(4, 3)])


# ============================================================ getitem: boolean masks
_RNG = np.random.default_rng(7)
_MASK_2D = _RNG.random((3, 4)) > 0.5
_MASK_ROWS = np.array([True, False, True])
_MASK_23 = np.array([[True, False, True], [False, False, True]])


@pytest.mark.parametrize("kind", ["bool tensor", "ndarray"])
@pytest.mark.parametrize("shape,mask,rest", [
    ((3, 4), _MASK_2D, ()),                          # a mask over the whole tensor -> 1-D
    ((3, 4), _MASK_ROWS, ()),                        # a mask over the first axis
    ((3, 4), _MASK_ROWS, (slice(1, None),)),         # mask then a slice
    ((2, 3, 4), _MASK_23, ()),                       # a 2-D mask over the first two of 3 dims
    ((3, 4), np.zeros((3, 4), bool), ()),            # selects nothing
    ((3, 4), np.ones(3, bool), ()),                  # selects everything
])
def test_getitem_boolean_mask(kind, shape, mask, rest):
    check(lambda x: x[((mask if kind == "ndarray" else _const(x, mask)),) + rest], shapes=[shape])


@pytest.mark.parametrize("flag", [True, False])
def test_getitem_python_bool_is_a_zero_d_mask(flag):
    check(lambda x: x[flag], shapes=[(2, 3)])


def test_getitem_mask_from_a_comparison():
    check(lambda x: x[x > 0.3], shapes=[(3, 4)])
    check(lambda x: x[x > 0], inputs=[np.array(1.5)])   # 0-d tensor, 0-d mask


def test_getitem_composes_with_higher_order_gradients():
    # the backward of getitem is itself differentiable: second derivative of sum(x[i]^3)
    idx = [0, 2, 2]
    x = gk.tensor([0.5, -1.0, 2.0], dtype=gk.float64, requires_grad=True)
    xt = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
    (g,) = gk.grad((x[idx] ** 3).sum(), [x], create_graph=True)
    (gt,) = torch.autograd.grad((xt[idx] ** 3).sum(), [xt], create_graph=True)
    np.testing.assert_allclose(g.array, gt.detach().numpy(), rtol=1e-12)
    g.sum().backward()
    gt.sum().backward()
    np.testing.assert_allclose(x.grad.array, xt.grad.numpy(), rtol=1e-12)


def test_basic_index_is_a_view_that_shares_memory_and_version():
    x = gk.zeros(3, 4)
    v = x[1:, ::2]
    assert np.shares_memory(v.array, x.array)
    with gk.no_grad():
        v.add_(1.0)
    assert x.array.sum() == 4.0 and x._version == v._version == 1
    assert gk.zeros(3)[1].array.base is not None          # x[i] of a 1-D tensor is a 0-d view
    assert not np.shares_memory(x[[0, 1]].array, x.array)  # advanced indexing copies


# ============================================================ getitem: errors
@pytest.mark.parametrize("index,match", [
    (5, r"getitem: index 5 is out of bounds for axis 0 with size 3 \(tensor shape \(3, 4\)\)"),
    (-4, r"index -4 is out of bounds for axis 0 with size 3"),
    ((slice(None), [0, 7]), r"index 7 is out of bounds for axis 1 with size 4"),
    ((0, 0, 0), r"too many indices.*\(tensor shape \(3, 4\)\)"),
])
def test_getitem_out_of_bounds_names_index_and_size(index, match):
    with pytest.raises(IndexError, match=match):
        gk.zeros(3, 4)[index]


def test_getitem_float_tensor_index_raises():
    with pytest.raises(IndexError, match=r"getitem: tensors used as indices must be integer or "
                                         r"bool, got float32"):
        gk.zeros(3, 4)[gk.tensor([0.0, 1.0])]


def test_getitem_bool_mask_of_wrong_size_raises():
    with pytest.raises(IndexError, match=r"getitem: boolean index did not match.*size of axis is 4"):
        gk.zeros(4)[gk.tensor([True, False])]


# ============================================================ gather
@pytest.mark.parametrize("shape,dim,index_shape", [
    ((3, 4), 1, (3, 2)), ((3, 4), 0, (5, 4)), ((3, 4), -1, (3, 6)),
    ((3, 4), 1, (2, 3)),                  # index smaller than the input in the other dim
    ((3, 4), 0, (1, 2)), ((2, 3, 4), 1, (2, 5, 3)), ((2, 3, 4), 2, (1, 2, 2)),
    ((4,), 0, (6,)), ((1,), 0, (3,)), ((3, 4), 1, (3, 0)),
])
def test_gather(shape, dim, index_shape):
    idx = np.random.default_rng(1).integers(0, shape[dim], size=index_shape)
    check(lambda x: x.gather(dim, _const(x, idx)), shapes=[shape])
    check(lambda x: _mod(x).gather(x, dim, _const(x, idx)), shapes=[shape], gradcheck=False)


def test_gather_repeated_indices_accumulate():
    x = gk.zeros(2, 3, dtype=gk.float64, requires_grad=True)
    x.gather(1, gk.tensor([[2, 2, 2, 0], [1, 1, 0, 0]])).sum().backward()
    np.testing.assert_array_equal(x.grad.array, [[1, 0, 3], [2, 2, 0]])


def test_gather_float_index_raises_type_error():
    with pytest.raises(TypeError, match=r"gather: index must be an integer tensor, got float32"):
        gk.zeros(3, 4).gather(1, gk.tensor([[0.0, 1.0]]))


@pytest.mark.parametrize("index,exc,match", [
    ([[0, 5]], IndexError, r"gather: index 5 is out of bounds for dim 1 of size 4"),
    ([0, 1], ValueError, (r"gather: index must have as many dimensions as the input; index \(2,\), "
                         r"input \(3, 4\)")),
    ([[0], [1], [2], [3]], ValueError, (r"gather: index \(4, 1\) is larger than the input \(3, 4\) "
                                       r"in dim 0")),
])
def test_gather_bad_index_raises(index, exc, match):
    with pytest.raises(exc, match=match):
        gk.zeros(3, 4).gather(1, gk.tensor(index))


# ============================================================ scatter_add
@pytest.mark.parametrize("shape,dim,index", [
    ((3, 4), 1, [[0, 0, 3], [1, 1, 1], [2, 0, 2]]),    # repeated indices add up
    ((3, 4), 0, [[0, 2, 0, 0], [0, 1, 2, 2]]),
    ((3, 4), 1, [[3, 3]]),                             # index smaller than self in dim 0
    ((2, 3, 2), -1, [[[1, 1], [0, 1]], [[0, 0], [1, 0]]]),
    ((5,), 0, [4, 4, 0, 4]),
])
def test_scatter_add(shape, dim, index):
    idx = np.asarray(index)
    check(lambda x, s: x.scatter_add(dim, _const(x, idx), s), shapes=[shape, idx.shape])
    check(lambda x, s: _mod(x).scatter_add(x, dim, _const(x, idx), s), shapes=[shape, idx.shape],
          gradcheck=False)


def test_scatter_add_src_larger_than_index():
    # PyTorch's own backward fails for this case (its src gradient has the index's shape), so
    # compare against PyTorch fed only the part of src that is used; the rest gets zero gradient
    idx = np.array([[0, 2], [1, 1]])
    check(lambda x, s: x.scatter_add(1, _const(x, idx), s),
          lambda x, s: x.scatter_add(1, torch.tensor(idx), s[:2, :2]) + 0 * s.sum(),
          shapes=[(3, 4), (3, 3)])
    s = gk.ones(3, 3, dtype=gk.float64, requires_grad=True)
    gk.zeros(3, 4, dtype=gk.float64).scatter_add(1, gk.tensor(idx), s).sum().backward()
    np.testing.assert_array_equal(s.grad.array, [[1, 1, 0], [1, 1, 0], [0, 0, 0]])


def test_scatter_add_gradient_for_input_only_and_src_only():
    idx = np.array([[1, 1, 0]])
    check(lambda x, s: x.scatter_add(1, _const(x, idx), s), shapes=[(2, 3), (1, 3)],
          grad_inputs=[True, False])
    check(lambda x, s: x.scatter_add(1, _const(x, idx), s), shapes=[(2, 3), (1, 3)],
          grad_inputs=[False, True])


@pytest.mark.parametrize("index,src_shape,exc,match", [
    ([[0, 1, 2]], (1, 2), ValueError, (r"scatter_add: index \(1, 3\) must be no larger than src "
                                      r"\(1, 2\)")),
    ([[0, 4]], (1, 2), IndexError, r"scatter_add: index 4 is out of bounds for dim 1 of size 4"),
    ([[0.0, 1.0]], (1, 2), TypeError, r"scatter_add: index must be an integer tensor"),
])
def test_scatter_add_bad_input_raises(index, src_shape, exc, match):
    with pytest.raises(exc, match=match):
        gk.zeros(3, 4).scatter_add(1, gk.tensor(index), gk.ones(*src_shape))


# ============================================================ index_select
@pytest.mark.parametrize("shape,dim,index", [
    ((4, 3), 0, [3, 0, 3]), ((4, 3), 1, [2]), ((2, 3, 4), -1, [1, 1, 0, 3]), ((5,), 0, [4, 4]),
    ((4, 3), 0, []),
])
def test_index_select(shape, dim, index):
    idx = np.asarray(index, np.int64)
    check(lambda x: x.index_select(dim, _const(x, idx)), shapes=[shape])
    check(lambda x: _mod(x).index_select(x, dim, _const(x, idx)), shapes=[shape], gradcheck=False)


@pytest.mark.parametrize("op", ["index_select", "gather"])
def test_negative_indices_are_refused_as_pytorch_does(op):
    # NumPy would count -1 from the end; PyTorch raises, and a silently wrapped index hides a bug
    x = gk.zeros(2, 3)
    index = gk.tensor([-1, 0]) if op == "index_select" else gk.tensor([[-1], [0]])
    with pytest.raises(IndexError, match=rf"{op}: index -1 is out of bounds for dim 1 of size 3; "
                                         r"indices must be in \[0, 2\] \(negative ones do not "
                                         "count from the end"):
        getattr(x, op)(1, index)
    with pytest.raises((IndexError, RuntimeError)):
        getattr(torch.zeros(2, 3), op)(1, torch.tensor(index.numpy()))


@pytest.mark.parametrize("index,exc,match", [
    ([0, 4], IndexError, r"index_select: index 4 is out of bounds for dim 0 of size 4"),
    ([0.0], TypeError, r"index_select: index must be an integer tensor, got float32"),
    ([[0, 1]], ValueError, r"index_select: index must be 1-D, got shape \(1, 2\)"),
])
def test_index_select_bad_index_raises(index, exc, match):
    with pytest.raises(exc, match=match):
        gk.zeros(4, 3).index_select(0, gk.tensor(index))


# ============================================================ masked_fill
_MASKS = [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 4), (3, 1)), ((2, 3, 4), (1, 3, 1)), ((), ()),
          ((1,), (1,)), ((2, 3), ())]


@pytest.mark.parametrize("shape,mask_shape", _MASKS)
def test_masked_fill_float_value(shape, mask_shape):
    mask = np.random.default_rng(2).random(mask_shape) > 0.4
    check(lambda x: x.masked_fill(_const(x, mask), 3.5), shapes=[shape])
    check(lambda x: _mod(x).masked_fill(x, _const(x, mask), -1.0), shapes=[shape], gradcheck=False)


@pytest.mark.parametrize("shape,mask_shape", _MASKS)
def test_masked_fill_zero_d_tensor_value(shape, mask_shape):
    mask = np.random.default_rng(2).random(mask_shape) > 0.4
    # a constant 0-d tensor
    check(lambda x: x.masked_fill(_const(x, mask), _const(x, np.float64(-1.5))), shapes=[shape])
    # a 0-d tensor that requires grad: it gets the sum of the gradient where the mask is True
    check(lambda x, v: x.masked_fill(_const(x, mask), v), shapes=[shape, ()])


def test_masked_fill_value_tensor_must_be_zero_d():
    with pytest.raises(ValueError, match=r"masked_fill: value must be a number or a 0-d tensor, "
                                         r"got a tensor of shape \(2,\)"):
        gk.zeros(2).masked_fill(gk.tensor([True, False]), gk.tensor([1.0, 2.0]))


def test_masked_fill_mask_must_be_bool():
    with pytest.raises(TypeError, match=r"masked_fill: mask must be a bool tensor, got int64"):
        gk.zeros(4).masked_fill(gk.tensor([1, 0, 0, 1]), 1.0)


def test_masked_fill_mask_must_broadcast_to_the_input():
    with pytest.raises(ValueError, match=r"masked_fill: mask of shape \(2, 3, 4\) does not "
                                         r"broadcast to the input's shape \(3, 4\)"):
        gk.zeros(3, 4).masked_fill(gk.ones(2, 3, 4).bool(), 1.0)
    with pytest.raises(ValueError, match=r"masked_fill: mask of shape \(3,\) does not broadcast"):
        gk.zeros(3, 4).masked_fill(gk.tensor([True, False, True]), 1.0)
    with pytest.raises(ValueError, match=r"does not broadcast"):  # also with a grad-carrying value
        gk.zeros(3, 4).masked_fill(gk.ones(2, 3, 4).bool(),
                                   gk.tensor(1.0, requires_grad=True))


# ============================================================ pad
@pytest.mark.parametrize("shape,pad,kw", [
    # constant, with and without value, 1-D to 4-D, PyTorch's (left, right, top, bottom, ...) order
    ((5,), (2, 1), {}), ((5,), (0, 3), {"value": 1.5}), ((2, 3), (1, 2, 2, 0), {"value": -2.0}),
    ((2, 3, 4), (1, 0, 0, 2, 1, 1), {}), ((1, 2, 3, 4), (1, 2, 2, 1), {"mode": "constant"}),
    # reflect / replicate / circular pad the last 1, 2 or 3 dims
    ((2, 5), (1, 2), {"mode": "reflect"}), ((2, 5), (3, 1), {"mode": "replicate"}),
    ((2, 5), (1, 2), {"mode": "circular"}), ((2, 3, 4), (3, 2), {"mode": "reflect"}),
    ((1, 2, 3, 4), (1, 2, 2, 1), {"mode": "reflect"}), ((1, 2, 3, 4), (1, 2, 2, 0), {"mode": "replicate"}),
    ((1, 2, 3, 4), (1, 2, 1, 2), {"mode": "circular"}), ((1, 1, 2, 2, 3), (1, 1, 1, 1, 1, 0), {"mode": "replicate"}),
    ((1, 1, 2, 2, 3), (1, 1, 1, 0, 1, 1), {"mode": "circular"}), ((1, 2, 3), (3, 3), {"mode": "circular"}),
    # negative pads crop
    ((2, 5), (-1, 2), {}), ((2, 5), (-1, -2), {}), ((3, 4), (1, -1, -1, 2), {"value": 0.5}),
    ((1, 2, 3, 5), (-1, 2, 1, -1), {"mode": "replicate"}), ((1, 2, 3, 5), (-1, 2, 1, -1), {"mode": "reflect"}),
    ((1, 2, 3, 5), (2, -2, -1, 1), {"mode": "circular"}),
    ((2, 3), (0, 0), {}),
])
def test_pad_against_torch(shape, pad, kw):
    check(lambda x: gk.pad(x, pad, **kw), lambda x: F.pad(x, pad, **kw), shapes=[shape])


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_pad_1d_input_in_every_mode(mode):
    # PyTorch wants a batch dim for these modes; gradkit pads a plain 1-D tensor the same way
    check(lambda x: gk.pad(x, (2, 1), mode=mode), lambda x: F.pad(x[None], (2, 1), mode=mode)[0],
          shapes=[(5,)])


def test_pad_order_is_last_dim_first():
    y = gk.pad(gk.ones(2, 3), (1, 2, 3, 4))   # last dim: 1 left, 2 right; first dim: 3 top, 4 bottom
    assert y.shape == (2 + 3 + 4, 3 + 1 + 2)
    assert y.array[3:5, 1:4].sum() == 6 and y.array.sum() == 6


@pytest.mark.parametrize("pad,kw,match", [
    ((1,), {}, (r"pad: expected an even number of pad values, at most 2 per dimension \(4 for shape "
               r"\(2, 3\)\); got 1")),
    ((1, 1, 1, 1, 1, 1), {}, r"got 6"),
    ((3, 1), {"mode": "reflect"}, (r"pad: reflect padding \(3, 1\) must be smaller than the "
                                  r"dimension size 3")),
    ((1, 1), {"mode": "wrap"}, r"pad: unknown mode 'wrap'"),
])
def test_pad_bad_arguments_raise(pad, kw, match):
    with pytest.raises(ValueError, match=match):
        gk.pad(gk.zeros(2, 3), pad, **kw)


# ============================================================ one_hot
@pytest.mark.parametrize("labels,num_classes", [
    ([0, 2, 1], -1), ([[0, 2], [1, 1]], 4), ([3], -1), (2, -1), (2, 5), ([0, 0], 1),
])
def test_one_hot(labels, num_classes):
    y = gk.one_hot(gk.tensor(labels), num_classes)
    yt = F.one_hot(torch.tensor(labels), num_classes)
    assert y.dtype == gk.int64 and not y.requires_grad
    assert y.shape == tuple(yt.shape)
    np.testing.assert_array_equal(y.array, yt.numpy())


def test_one_hot_infers_num_classes_from_the_largest_label():
    assert gk.one_hot(gk.tensor([1, 4, 0])).shape == (3, 5)


@pytest.mark.parametrize("labels,num_classes,bad", [([0, 5, 1], 3, 5), ([0, -1], 3, -1),
                                                    ([3], 3, 3)])
def test_one_hot_out_of_range_names_label_and_num_classes(labels, num_classes, bad):
    with pytest.raises(ValueError, match=rf"one_hot: class index {bad} is out of range for "
                                         rf"num_classes={num_classes}"):
        gk.one_hot(gk.tensor(labels), num_classes)


def test_one_hot_float_labels_raise():
    with pytest.raises(TypeError, match=r"one_hot: expects an integer tensor of class indices, "
                                        r"got float32"):
        gk.one_hot(gk.tensor([0.0, 1.0]), 2)


# ============================================================ split / chunk / unbind / narrow
def test_split_gradient_when_only_some_pieces_are_used():
    check(lambda x: x.split(2)[1] * 3, shapes=[(5, 3)])
    check(lambda x: x.split([1, 3], dim=1)[1], shapes=[(2, 4)])
    check(lambda x: x.chunk(3, dim=1)[0] * x.chunk(3, dim=1)[2], shapes=[(2, 6)])
    check(lambda x: x.unbind(1)[2] - x.unbind(1)[0], shapes=[(2, 3)])


@pytest.mark.parametrize("dim,start,length", [(0, -2, 2), (1, -3, 1), (0, 4, 0), (1, 0, 3)])
def test_narrow_start_may_be_negative(dim, start, length):
    check(lambda x: x.narrow(dim, start, length), shapes=[(4, 3)])
    check(lambda x: _mod(x).narrow(x, dim, start, length), shapes=[(4, 3)], gradcheck=False)


@pytest.mark.parametrize("start,length,exc,match", [
    (-5, 1, IndexError, r"narrow: start -5 is out of range for dim 0 of size 4"),
    (3, 2, ValueError, r"narrow: start \(3\) \+ length \(2\) exceeds dim 0 of size 4"),
    (0, -1, ValueError, r"length \(-1\)"),
])
def test_narrow_out_of_range_raises(start, length, exc, match):
    with pytest.raises(exc, match=match):
        gk.zeros(4, 3).narrow(0, start, length)


def test_chunk_count_must_be_positive():
    with pytest.raises(ValueError, match=r"chunk: chunks must be positive, got 0"):
        gk.zeros(4).chunk(0)
