"""Matrix products (ops/linalg.py): matmul / @ with NumPy's 1-D rules and broadcasting batch dims,
mm bmm dot outer; values and gradients against PyTorch (float64, via the oracle, with gradcheck),
second derivatives, dtypes and shape errors."""
import numpy as np
import pytest
import torch
from oracle import check

import gradkit as gk

MATMUL_SHAPES = [
    ((4,), (4,)),                 # 1-D · 1-D -> 0-d
    ((4,), (4, 3)),               # 1-D · 2-D -> (3,)
    ((3, 4), (4,)),               # 2-D · 1-D -> (3,)
    ((3, 4), (4, 2)),             # 2-D · 2-D
    ((1, 1), (1, 1)),             # size-1 edge case
    ((2, 3, 4), (2, 4, 2)),       # batched 3-D · 3-D
    ((2, 1, 3, 4), (5, 4, 2)),    # broadcasting batch dims -> (2, 5, 3, 2)
    ((2, 3, 4), (4, 2)),          # 3-D · 2-D (the folded-batch backward path)
    ((3, 4), (2, 4, 2)),          # 2-D · 3-D
    ((1, 3, 4), (2, 4, 2)),       # batch dim of size 1 on the left
    ((2, 3, 4), (1, 4, 2)),       # batch dim of size 1 on the right
    ((4,), (2, 4, 3)),            # 1-D · 3-D -> (2, 3)
    ((2, 3, 4), (4,)),            # 3-D · 1-D -> (2, 3)
    ((3, 0), (0, 2)),             # empty inner dimension -> zeros (3, 2)
    ((2, 0, 3), (3, 4)),          # empty batch rows
]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul_operator(shapes):
    out = check(lambda a, b: a @ b, shapes=list(shapes))
    assert out[0].shape == np.matmul(np.ones(shapes[0]), np.ones(shapes[1])).shape


@pytest.mark.parametrize("shapes", MATMUL_SHAPES[:4] + MATMUL_SHAPES[6:8], ids=str)
def test_matmul_function_and_method(shapes):
    check(lambda a, b: gk.matmul(a, b), lambda a, b: torch.matmul(a, b), shapes=list(shapes),
          gradcheck=False)
    check(lambda a, b: a.matmul(b), shapes=list(shapes), gradcheck=False)


@pytest.mark.parametrize("which", [0, 1])
def test_matmul_gradient_for_one_input_only(which):
    # needs_input_grad: only one side requires grad (a weight times a constant input, and back)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 2))
    check(lambda a, b: a @ b, inputs=[a, b], grad_inputs=[which == 0, which == 1])


def test_mm():
    check(gk.mm, torch.mm, shapes=[(3, 4), (4, 2)])
    check(lambda a, b: a.mm(b), shapes=[(2, 3), (3, 3)], gradcheck=False)


def test_bmm():
    check(gk.bmm, torch.bmm, shapes=[(2, 3, 4), (2, 4, 2)])
    check(lambda a, b: a.bmm(b), shapes=[(2, 2, 3), (2, 3, 1)], gradcheck=False)


def test_dot():
    out = check(gk.dot, torch.dot, shapes=[(5,), (5,)])
    assert out[0].shape == ()


@pytest.mark.parametrize("shapes", [((3,), (4,)), ((1,), (5,)), ((4,), (1,))], ids=str)
def test_outer(shapes):
    out = check(gk.outer, torch.outer, shapes=list(shapes))
    assert out[0].shape == (shapes[0][0], shapes[1][0])


def test_chain_of_matmuls_is_a_small_mlp():
    # x W1 -> tanh -> W2, gradients of every weight against PyTorch
    check(lambda x, w1, w2: (x @ w1).tanh() @ w2, shapes=[(4, 3), (3, 5), (5, 2)])


def test_matmul_second_derivative():
    # Hessian-vector product of f(A, B) = sum((A B)²) against PyTorch
    rng = np.random.default_rng(1)
    a_np, b_np = rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 2))
    va, vb = rng.standard_normal(a_np.shape), rng.standard_normal(b_np.shape)

    a = gk.tensor(a_np, requires_grad=True)
    b = gk.tensor(b_np, requires_grad=True)
    ga, gb = gk.grad(((a @ b) ** 2).sum(), (a, b), create_graph=True)
    ha, hb = gk.grad((ga * gk.tensor(va)).sum() + (gb * gk.tensor(vb)).sum(), (a, b))

    ta, tb = torch.tensor(a_np, requires_grad=True), torch.tensor(b_np, requires_grad=True)
    tga, tgb = torch.autograd.grad(((ta @ tb) ** 2).sum(), (ta, tb), create_graph=True)
    tha, thb = torch.autograd.grad((tga * torch.tensor(va)).sum() + (tgb * torch.tensor(vb)).sum(),
                                   (ta, tb))
    for mine, theirs in [(ga, tga), (gb, tgb), (ha, tha), (hb, thb)]:
        np.testing.assert_allclose(mine.array, theirs.detach().numpy(), rtol=1e-6, atol=1e-9)


# === dtypes =================================================================
def test_matmul_keeps_float32():
    a = gk.randn(3, 4, requires_grad=True)
    w = gk.randn(4, 2, requires_grad=True)
    y = a @ w
    assert y.dtype == gk.float32
    y.sum().backward()
    assert a.grad.dtype == gk.float32 and w.grad.dtype == gk.float32


def test_matmul_float32_with_float64_is_float64():
    a = gk.randn(3, 4, requires_grad=True)
    w = gk.tensor(np.ones((4, 2)), dtype=gk.float64, requires_grad=True)
    y = a @ w
    assert y.dtype == gk.float64
    y.sum().backward()
    assert a.grad.dtype == gk.float32 and w.grad.dtype == gk.float64
    np.testing.assert_allclose(a.grad.array, np.full((3, 4), 2.0))


def test_matmul_with_ndarray_operand():
    a = gk.tensor(np.eye(3), dtype=gk.float64, requires_grad=True)
    m = np.arange(6.0).reshape(3, 2)
    y = a @ m
    np.testing.assert_array_equal(y.array, m)
    y.sum().backward()
    np.testing.assert_array_equal(a.grad.array, np.tile(m.sum(1), (3, 1)))


# === errors =================================================================
def test_matmul_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"matmul.*\(2, 3\).*\(4, 5\)"):
        gk.ones(2, 3) @ gk.ones(4, 5)
    with pytest.raises(ValueError, match=r"matmul.*\(3,\).*\(4,\)"):
        gk.matmul(gk.ones(3), gk.ones(4))
    with pytest.raises(ValueError, match=r"matmul.*\(2, 3\).*\(2,\)"):
        gk.ones(2, 3) @ gk.ones(2)


def test_matmul_batch_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"matmul: batch dimensions of a \(2, 3, 4\) and b "
                                         r"\(3, 4, 5\) do not broadcast"):
        gk.ones(2, 3, 4) @ gk.ones(3, 4, 5)


def test_matmul_rejects_0d():
    with pytest.raises(ValueError, match=r"matmul: both arguments need at least 1 dimension; got "
                                         r"shapes \(\) and \(3,\)"):
        gk.tensor(2.0) @ gk.ones(3)


@pytest.mark.parametrize("fn,shapes,msg", [
    (gk.mm, [(2, 3, 4), (4, 2)], r"mm: expects 2-D tensors, got \(2, 3, 4\) and \(4, 2\)"),
    (gk.bmm, [(3, 4), (4, 2)], r"bmm: expects 3-D tensors, got \(3, 4\) and \(4, 2\)"),
    (gk.dot, [(2, 3), (3,)], r"dot: expects 1-D tensors, got \(2, 3\) and \(3,\)"),
])
def test_fixed_rank_products_check_the_rank(fn, shapes, msg):
    with pytest.raises(ValueError, match=msg):
        fn(gk.ones(*shapes[0]), gk.ones(*shapes[1]))
