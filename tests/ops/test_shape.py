"""Shape ops (gradkit/ops/shape.py, and split/chunk/unbind/narrow from ops/indexing.py) against
PyTorch and gradcheck, in float64: values and every input's gradient through ``oracle.check``."""
import numpy as np
import pytest
import torch
from oracle import check

import gradkit as gk


# ============================================================ reshaping
@pytest.mark.parametrize("shape,target", [
    ((2, 3), (3, 2)), ((2, 3), (6,)), ((6,), (2, -1, 1)), ((2, 3, 4), (-1, 4)),
    ((2, 3, 4), (4, -1)),
    ((), (1,)), ((), ()), ((1,), ()), ((1, 1), (-1,)), ((2, 3), (2, 3)), ((4,), (1, 4, 1)),
])
@pytest.mark.parametrize("method", ["reshape", "view"])
def test_reshape_view(method, shape, target):
    check(lambda x: getattr(x, method)(*target) if target else getattr(x, method)(()),
          shapes=[shape])
    check(lambda x: getattr(x, method)(target), shapes=[shape], gradcheck=False)  # tuple form


def test_reshape_function_and_view_as():
    check(lambda x: gk.reshape(x, (3, -1)), lambda x: torch.reshape(x, (3, -1)), shapes=[(2, 3)])
    check(lambda x, y: x.view_as(y), shapes=[(2, 3), (3, 2)], grad_inputs=[True, False])
    check(lambda x, y: x.reshape_as(y), shapes=[(6,), (1, 2, 3)], grad_inputs=[True, False])


def test_reshape_that_changes_nothing_returns_the_tensor_itself():
    # (-1, k) of an (n, k) tensor, as Linear's backward asks: no node, no view
    x = gk.ones(4, 3, requires_grad=True)
    assert x.reshape(-1, 3) is x and x.reshape(4, -1) is x and x.view(4, 3) is x
    y = x.reshape(-1, 2)
    assert y.shape == (6, 2) and y.grad_fn is not None


@pytest.mark.parametrize("shape,start,end", [
    ((2, 3, 4), 0, -1), ((2, 3, 4), 1, -1), ((2, 3, 4), 0, 1), ((2, 3, 4), -2, -1),
    ((2, 3, 4), 1, 1), ((5,), 0, -1), ((), 0, -1), ((2, 1, 3), 1, 2),
])
def test_flatten(shape, start, end):
    check(lambda x: x.flatten(start, end), shapes=[shape])
    check(lambda x: gk.flatten(x, start_dim=start, end_dim=end),
          lambda x: torch.flatten(x, start_dim=start, end_dim=end), shapes=[shape], gradcheck=False)


@pytest.mark.parametrize("shape,dim", [
    ((1, 3, 1), None), ((1, 3, 1), 0), ((1, 3, 1), -1), ((1, 3, 1), 1), ((1, 3, 1), (0, 2)),
    ((2, 3), None), ((2, 3), 0), ((), None), ((), 0), ((1,), None), ((1, 1), -2),
])
def test_squeeze(shape, dim):
    # a dim of size != 1 is left alone, as PyTorch
    check(lambda x: x.squeeze() if dim is None else x.squeeze(dim), shapes=[shape])


@pytest.mark.parametrize("shape,dim", [((2, 3), 0), ((2, 3), 1), ((2, 3), 2), ((2, 3), -1),
                                       ((2, 3), -2), ((2, 3), -3), ((), 0), ((), -1), ((4,), 1)])
def test_unsqueeze(shape, dim):
    check(lambda x: x.unsqueeze(dim), shapes=[shape])


# ============================================================ reordering
@pytest.mark.parametrize("shape,d0,d1", [((2, 3), 0, 1), ((2, 3), 1, 0), ((2, 3, 4), 0, -1),
                                          ((2, 3, 4), -2, 2), ((2, 3), 1, 1), ((4,), 0, -1)])
def test_transpose(shape, d0, d1):
    check(lambda x: x.transpose(d0, d1), shapes=[shape])
    check(lambda x: gk.swapaxes(x, d0, d1), lambda x: torch.swapaxes(x, d0, d1), shapes=[shape],
          gradcheck=False)


@pytest.mark.parametrize("shape,dims", [((2, 3), (1, 0)), ((2, 3, 4), (2, 0, 1)),
                                        ((2, 3, 4), (-1, 0, -2)), ((2, 3, 4), (0, 1, 2)),
                                        ((1, 2, 1, 3), (3, 1, 0, 2))])
def test_permute(shape, dims):
    check(lambda x: x.permute(*dims), shapes=[shape])
    check(lambda x: x.permute(dims), shapes=[shape], gradcheck=False)  # tuple form
    check(lambda x: gk.permute(x, dims), lambda x: torch.permute(x, dims), shapes=[shape],
          gradcheck=False)


@pytest.mark.parametrize("shape", [(2, 3), (1, 5), (3, 1)])
def test_T_property(shape):
    check(lambda x: x.T, shapes=[shape])


@pytest.mark.parametrize("shape", [(2, 3, 4), (4,), ()])
def test_T_of_other_than_2d_reverses_all_dims(shape):
    # PyTorch deprecates .T outside 2-D (with a warning); its meaning is "reverse every dim"
    check(lambda x: x.T, lambda x: x.permute(*reversed(range(x.ndim))) if x.ndim else x * 1,
          shapes=[shape])


@pytest.mark.parametrize("shape", [(2, 3), (4, 2, 3), (2, 1, 3, 1)])
def test_mT_property(shape):
    check(lambda x: x.mT, shapes=[shape])


def test_mT_of_1d_raises():
    with pytest.raises(IndexError, match=r"transpose: dim -2 is out of range for a tensor of 1"):
        gk.ones(3).mT


@pytest.mark.parametrize("shape,dims", [((4,), (0,)), ((2, 3), (0,)), ((2, 3), (-1,)),
                                        ((2, 3), (0, 1)), ((2, 3, 4), (0, 2)), ((), ())])
def test_flip(shape, dims):
    check(lambda x: x.flip(*dims) if dims else x.flip(()), shapes=[shape])
    check(lambda x: gk.flip(x, dims), lambda x: torch.flip(x, dims), shapes=[shape],
          gradcheck=False)


# ============================================================ broadcasting
@pytest.mark.parametrize("shape,sizes", [
    ((3, 1), (3, 4)), ((3, 1), (-1, 4)), ((3, 1), (2, 3, 4)), ((3, 1), (2, -1, -1)),
    ((1,), (2, 3)), ((), (2, 3)), ((2, 3), (2, 3)), ((1, 1), (1, 5)), ((2, 1, 3), (2, 4, 3)),
])
def test_expand(shape, sizes):
    check(lambda x: x.expand(*sizes), shapes=[shape])
    check(lambda x: x.expand(sizes), shapes=[shape], gradcheck=False)  # tuple form


def test_expand_as():
    check(lambda x, y: x.expand_as(y), shapes=[(3, 1), (2, 3, 4)], grad_inputs=[True, False])


@pytest.mark.parametrize("shape,target", [((3, 1), (3, 4)), ((4,), (2, 3, 4)), ((), (2, 2)),
                                          ((2, 1, 3), (2, 5, 3)), ((2, 3), (2, 3))])
def test_broadcast_to(shape, target):
    check(lambda x: x.broadcast_to(target), shapes=[shape])
    check(lambda x: gk.broadcast_to(x, target), lambda x: torch.broadcast_to(x, target),
          shapes=[shape], gradcheck=False)


@pytest.mark.parametrize("shape,target", [((4, 2, 3), (2, 1)), ((4, 2, 3), (1, 3)),
                                          ((4, 2, 3), (2, 3)), ((4, 2, 3), ()),
                                          ((4, 2, 3), (1, 1, 1)), ((4, 2, 3), (4, 1, 3)),
                                          ((2, 3), (2, 3)), ((3,), (1,))])
def test_sum_to_shape_is_torch_sum_to_size(shape, target):
    check(lambda x: gk.sum_to_shape(x, target), lambda x: x.sum_to_size(target), shapes=[shape])


def test_sum_to_shape_undoes_broadcasting_in_binary_backward():
    # the gradient of a broadcast add arrives at each input in that input's shape
    check(lambda a, b: a + b, shapes=[(3, 1), (2, 1, 4)])


# ============================================================ copying
@pytest.mark.parametrize("shape,sizes", [((2, 3), (2, 1)), ((2, 3), (1, 2)), ((2, 3), (2, 1, 2)),
                                         ((), (3,)), ((1,), (2, 2)), ((3,), (2,)),
                                         ((2, 1, 2), (1, 3, 1))])
def test_repeat(shape, sizes):
    check(lambda x: x.repeat(*sizes), shapes=[shape])
    check(lambda x: x.repeat(sizes), shapes=[shape], gradcheck=False)  # tuple form


@pytest.mark.parametrize("shape,dims", [((2, 3), (2,)), ((2, 3), (2, 2)), ((2, 3), (2, 1, 1)),
                                        ((3,), (2, 2)), ((), (3,))])
def test_tile(shape, dims):
    # fewer dims than the tensor: leading ones are assumed (torch.tile, unlike repeat)
    check(lambda x: x.tile(dims), shapes=[shape])
    check(lambda x: gk.tile(x, dims), lambda x: torch.tile(x, dims), shapes=[shape],
          gradcheck=False)


# ============================================================ joining
@pytest.mark.parametrize("shapes,dim", [
    ([(2, 3), (4, 3)], 0), ([(2, 3), (2, 1)], 1), ([(2, 3), (2, 1)], -1),
    ([(2, 3), (1, 3), (3, 3)], 0), ([(2,)], 0), ([(1, 2, 3), (1, 2, 1), (1, 2, 2)], 2),
])
def test_cat(shapes, dim):
    check(lambda *xs: gk.cat(xs, dim), lambda *xs: torch.cat(xs, dim), shapes=shapes)
    check(lambda *xs: gk.cat(list(xs), dim=dim), lambda *xs: torch.cat(list(xs), dim=dim),
          shapes=shapes, gradcheck=False)


def test_cat_with_an_input_that_does_not_require_grad():
    check(lambda a, b: gk.cat([a, b], 1), lambda a, b: torch.cat([a, b], 1),
          shapes=[(2, 3), (2, 2)], grad_inputs=[False, True])


def test_cat_aliases_and_mixed_dtypes_promote():
    a = gk.ones(2, dtype=gk.float32)
    b = gk.tensor([1, 2])
    # PyTorch's rule: float32 with int64 stays float32 (NumPy's would give float64)
    assert gk.concat([a, b]).dtype == gk.float32 == gk.concatenate([a, b]).dtype
    assert torch.cat([torch.ones(2), torch.tensor([1, 2])]).dtype == torch.float32
    assert gk.cat([a, gk.ones(1, dtype=gk.float64)]).dtype == gk.float64
    assert gk.cat([b, gk.tensor([True])]).dtype == gk.int64
    np.testing.assert_array_equal(gk.cat([a, b]).numpy(), [1.0, 1.0, 1.0, 2.0])


@pytest.mark.parametrize("shape,n,dim", [((2, 3), 2, 0), ((2, 3), 3, 1), ((2, 3), 2, 2),
                                         ((2, 3), 2, -1), ((), 3, 0), ((4,), 2, -2)])
def test_stack(shape, n, dim):
    shapes = [shape] * n
    check(lambda *xs: gk.stack(xs, dim), lambda *xs: torch.stack(xs, dim), shapes=shapes)


# ============================================================ splitting
@pytest.mark.parametrize("shape,size,dim", [
    ((5, 3), 2, 0),          # int size with a remainder: 2, 2, 1
    ((5, 3), 5, 0), ((5, 3), 7, 0), ((2, 6), 4, 1), ((2, 6), 3, -1),
    ((5, 3), [1, 4], 0), ((5, 3), [2, 0, 3], 0), ((2, 6), [1, 2, 3], -1),
])
def test_split(shape, size, dim):
    pieces = check(lambda x: x.split(size, dim), shapes=[shape])
    check(lambda x: gk.split(x, size, dim=dim), lambda x: torch.split(x, size, dim=dim),
          shapes=[shape], gradcheck=False)
    assert sum(p.shape[dim] for p in pieces) == shape[dim]


@pytest.mark.parametrize("shape,chunks,dim", [((5, 3), 2, 0), ((5, 3), 3, 1), ((6, 2), 4, 0),
                                              ((3,), 3, 0), ((3,), 5, 0), ((2, 4), 2, -1)])
def test_chunk(shape, chunks, dim):
    check(lambda x: x.chunk(chunks, dim), shapes=[shape])
    check(lambda x: gk.chunk(x, chunks, dim), lambda x: torch.chunk(x, chunks, dim),
          shapes=[shape], gradcheck=False)


@pytest.mark.parametrize("shape,dim", [((3, 2), 0), ((3, 2), 1), ((3, 2), -1), ((2, 3, 2), 1),
                                       ((4,), 0)])
def test_unbind(shape, dim):
    check(lambda x: x.unbind(dim), shapes=[shape])


@pytest.mark.parametrize("shape,dim,start,length", [((5, 3), 0, 1, 3), ((5, 3), -1, 1, 2),
                                                    ((5, 3), 1, 0, 3), ((5,), 0, 4, 1),
                                                    ((5,), 0, 2, 0)])
def test_narrow(shape, dim, start, length):
    check(lambda x: x.narrow(dim, start, length), shapes=[shape])


# ============================================================ bad input
def test_reshape_to_incompatible_shape_names_both_shapes():
    with pytest.raises(ValueError, match=r"reshape: cannot reshape a tensor of shape \(2, 3\) "
                                         r"\(6 elements\) into shape \(4, 2\)"):
        gk.ones(2, 3).reshape(4, 2)
    with pytest.raises(ValueError, match=r"reshape: .*shape \(2, 3\).*into shape \(-1, 4\)"):
        gk.ones(2, 3).view(-1, 4)


def test_reshape_with_two_minus_ones_raises():
    with pytest.raises(ValueError, match=r"reshape: .*\(2, 3\).*\(-1, -1\)"):
        gk.ones(2, 3).reshape(-1, -1)


def test_cat_mismatched_shapes_names_them():
    with pytest.raises(ValueError, match=r"cat: tensors must have the same shape except in dim 0; "
                                         r"tensor 0 has shape \(2, 3\), tensor 1 has shape "
                                         r"\(3, 2\)"):
        gk.cat([gk.ones(2, 3), gk.ones(3, 2)])
    with pytest.raises(ValueError, match=r"cat: .*dim 1.*tensor 0 has shape \(2, 3\), tensor 2 "
                                         r"has shape \(2,\)"):
        gk.cat([gk.ones(2, 3), gk.ones(2, 1), gk.ones(2)], dim=1)


def test_cat_and_stack_of_nothing_raise():
    with pytest.raises(ValueError, match=r"cat: expected a non-empty list of tensors"):
        gk.cat([])
    with pytest.raises(ValueError, match=r"stack: expected a non-empty list of tensors"):
        gk.stack([])


def test_stack_mismatched_shapes_names_them():
    with pytest.raises(ValueError, match=r"stack: .*\(2,\) at entry 0 and \(3,\) at entry 1"):
        gk.stack([gk.ones(2), gk.ones(3)])


@pytest.mark.parametrize("shape,sizes", [((2, 3), (3, 3)), ((2, 3), (2, 4)), ((2, 3), (1, 3)),
                                         ((2, 3), (4, 2, 1))])
def test_expand_to_incompatible_shape_raises(shape, sizes):
    with pytest.raises(ValueError, match=rf"expand: cannot broadcast a tensor of shape "
                                         rf"\(2, 3\) to \({sizes[0]}, {sizes[1]}"):
        gk.ones(*shape).expand(*sizes)
    with pytest.raises(RuntimeError):
        torch.ones(*shape).expand(*sizes)


def test_expand_with_minus_one_in_a_new_leading_dim_raises():
    with pytest.raises(ValueError, match=r"expand: -1 is not allowed for a new leading dimension "
                                         r"\(sizes \(-1, 2, 3\) for a tensor of shape \(2, 3\)\)"):
        gk.ones(2, 3).expand(-1, 2, 3)


def test_expand_with_fewer_sizes_than_dims_raises():
    with pytest.raises(ValueError, match=r"expand: the number of sizes \(1\) must be at least "
                                         r"the number of dimensions \(2\)"):
        gk.ones(2, 3).expand(3)


@pytest.mark.parametrize("target", [(3,), (1, 3), (3, 3)])
def test_broadcast_to_incompatible_shape_names_both(target):
    with pytest.raises(ValueError, match=rf"broadcast_to: cannot broadcast a tensor of shape "
                                         rf"\(2, 3\) to \({target[0]},"):
        gk.ones(2, 3).broadcast_to(target)


def test_permute_with_a_repeated_dim_raises():
    with pytest.raises(ValueError, match=r"permute: dims \(0, 0\) must be a permutation of 0\.\.1"):
        gk.ones(2, 3).permute(0, 0)


def test_permute_with_too_few_dims_raises():
    with pytest.raises(ValueError, match=r"permute: dims \(1,\) must be a permutation of 0\.\.1"):
        gk.ones(2, 3).permute(1)


@pytest.mark.parametrize("op,args", [("transpose", (0, 2)), ("squeeze", (2,)),
                                     ("flatten", (0, 3)), ("flip", (2,)),
                                     ("permute", (0, 2)), ("split", (1, 2)), ("chunk", (2, -3)),
                                     ("unbind", (2,)), ("narrow", (2, 0, 1))])
def test_out_of_range_dim_names_the_op(op, args):
    with pytest.raises(IndexError, match=rf"^{op}: dim -?\d is out of range for a tensor of \d "
                                         r"dimensions \(valid: -\d to \d\)"):
        getattr(gk.ones(2, 3), op)(*args)


@pytest.mark.parametrize("dim", [3, -4])
def test_unsqueeze_and_stack_out_of_range_dim_give_the_insert_range(dim):
    # a new dim may go at -3 .. 2 of a 2-d tensor; the message counts the tensor's own 2 dims
    with pytest.raises(IndexError, match=rf"^unsqueeze: dim {dim} is out of range for inserting "
                                         r"a dimension into a tensor of 2 dimensions "
                                         r"\(valid: -3 to 2\)"):
        gk.ones(2, 3).unsqueeze(dim)
    with pytest.raises(IndexError, match=rf"^stack: dim {dim} is out of range.*of 2 dimensions "
                                         r"\(valid: -3 to 2\)"):
        gk.stack([gk.ones(2, 3), gk.ones(2, 3)], dim)


def test_cat_out_of_range_dim():
    with pytest.raises(IndexError, match=r"^cat: dim 2 is out of range.*valid: -2 to 1"):
        gk.cat([gk.ones(2, 3), gk.ones(2, 3)], 2)


def test_flatten_start_after_end_raises():
    with pytest.raises(ValueError,
                       match=r"flatten: start_dim \(2\) must not come after end_dim \(0\)"):
        gk.ones(2, 3, 4).flatten(2, 0)


def test_repeat_with_fewer_sizes_than_dims_raises():
    with pytest.raises(ValueError, match=r"repeat: the number of repeat dims \(1\) can not be "
                                         r"smaller than the number of tensor dims \(2\)"):
        gk.ones(2, 3).repeat(2)


def test_split_sizes_that_do_not_sum_to_the_dim_raise():
    with pytest.raises(ValueError, match=r"split: sizes \[1, 3\] sum to 4, but dim 0 has size 5"):
        gk.ones(5, 3).split([1, 3])


def test_split_size_must_be_positive():
    with pytest.raises(ValueError, match=r"split: split_size must be positive, got 0"):
        gk.ones(5, 3).split(0)


def test_narrow_past_the_end_raises():
    with pytest.raises((ValueError, IndexError), match=r"^narrow: .*4.*3.*5"):
        gk.ones(5, 3).narrow(0, 4, 3)


def test_cat_of_0d_tensors_raises():
    with pytest.raises(ValueError,
                       match=r"cat: tensor 0 is 0-d and cannot be concatenated; use stack"):
        gk.cat([gk.tensor(1.0), gk.tensor(2.0)])


# ============================================================ views share no graph surprises
def test_shape_ops_of_tensors_without_grad_record_nothing():
    x = gk.ones(2, 3)
    for y in (x.reshape(3, 2), x.T, x.unsqueeze(0), x.expand(4, 2, 3), x.flip(0), x.repeat(2, 1),
              gk.cat([x, x]), gk.stack([x, x])):
        assert not y.requires_grad and y.grad_fn is None


def test_gradient_accumulates_through_several_views_of_one_tensor():
    # x used via reshape, transpose and expand: the three gradients add up at x
    check(lambda x: x.reshape(3, 2).sum(0) * 2 + x.T.sum(0)[:2] + x.expand(4, 2, 3).sum((0, 2)),
          shapes=[(2, 3)])
