"""Singular value decomposition (ops/linalg.py): gk.linalg.svd (U, S, Vh), gk.linalg.svdvals,
gk.svd / Tensor.svd (U, S, V), against PyTorch in float64.

U and V are unique only up to the sign of each singular pair (and LAPACK builds may choose
differently), so the comparisons are of quantities that do not depend on it: S, the
reconstruction U diag(S) Vh, projections U_k U_kᵀ, elementwise squares U ⊙ U, |U|. Gradients are
compared for such losses, and gradchecked on matrices with well-separated singular values."""
import numpy as np
import pytest
import torch
from oracle import check

import gradkit as gk

SHAPES = [(4, 4), (5, 3), (3, 5), (2, 4, 4), (2, 5, 3), (3, 2, 3, 5), (1, 1)]


def _well_conditioned(shape, seed=0):
    """A matrix of ``shape`` with singular values 1, 2, ..., k (distinct, far from 0)."""
    rng = np.random.default_rng(seed)
    *batch, m, n = shape
    k = min(m, n)
    Q1 = np.linalg.qr(rng.standard_normal((*batch, m, m)))[0][..., :k]
    Q2 = np.linalg.qr(rng.standard_normal((*batch, n, n)))[0][..., :k]
    return (Q1 * np.arange(1.0, k + 1)[::-1]) @ np.swapaxes(Q2, -1, -2)


def _invariants(U, S, Vh):
    """Sign-invariant functions of the factors (any framework: only @, *, slicing, .mT)."""
    k = S.shape[-1]
    U, Vh = U[..., :k], Vh[..., :k, :]
    j = max(1, k // 2)
    return (S, (U * S.unsqueeze(-2)) @ Vh, U[..., :j] @ U[..., :j].mT,
            Vh[..., :j, :].mT @ Vh[..., :j, :], U * U, Vh * Vh)


# === values and gradients against PyTorch ==================================
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("full_matrices", [False, True])
def test_linalg_svd_matches_torch(shape, full_matrices):
    out = check(lambda A: _invariants(*gk.linalg.svd(A, full_matrices=full_matrices)),
                lambda A: _invariants(*torch.linalg.svd(A, full_matrices=full_matrices)),
                inputs=[_well_conditioned(shape)], gradcheck=shape[-1] * shape[-2] <= 16)
    np.testing.assert_allclose(out[1].array, _well_conditioned(shape), atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("full_matrices", [False, True])
def test_shapes_and_orthonormal_factors(shape, full_matrices):
    A = gk.tensor(np.random.default_rng(1).standard_normal(shape))
    U, S, Vh = gk.linalg.svd(A, full_matrices=full_matrices)
    tU, tS, tVh = torch.linalg.svd(torch.tensor(A.array), full_matrices=full_matrices)
    assert (U.shape, S.shape, Vh.shape) == (tuple(tU.shape), tuple(tS.shape), tuple(tVh.shape))
    eye = lambda n: np.broadcast_to(np.eye(n), shape[:-2] + (n, n))  # noqa: E731
    np.testing.assert_allclose(U.array.swapaxes(-1, -2) @ U.array, eye(U.shape[-1]), atol=1e-12)
    np.testing.assert_allclose(Vh.array @ Vh.array.swapaxes(-1, -2), eye(Vh.shape[-2]), atol=1e-12)
    np.testing.assert_allclose(S.array, tS.numpy(), atol=1e-12)
    assert np.all(np.diff(S.array, axis=-1) <= 0), "singular values in descending order"
    # |U| up to sign per column is exactly PyTorch's (distinct singular values)
    np.testing.assert_allclose(np.abs(U.array), np.abs(tU.numpy()), atol=1e-10)


def test_named_fields():
    A = gk.randn(4, 3, dtype=gk.float64)
    r = gk.linalg.svd(A)
    assert r.U is r[0] and r.S is r[1] and r.Vh is r[2]
    r = gk.svd(A)
    assert r.U is r[0] and r.S is r[1] and r.V is r[2]


@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5), (2, 3, 4)], ids=str)
def test_svdvals_matches_torch(shape):
    check(gk.linalg.svdvals, torch.linalg.svdvals, inputs=[_well_conditioned(shape, seed=2)])
    check(gk.linalg.svdvals, torch.linalg.svdvals, shapes=[shape], gradcheck=False)


def test_svdvals_gradient_with_repeated_singular_values():
    # d(sum S)/dA = U Vh, well defined for A = I (all singular values equal): no division by
    # S_i² − S_j², the gradient uses only U and V
    A = gk.tensor(np.eye(3), requires_grad=True)
    gk.linalg.svdvals(A).sum().backward()
    np.testing.assert_allclose(A.grad.array, np.eye(3), atol=1e-12)
    # the same through linalg.svd when the loss uses S alone (gU, gVh are None, as in PyTorch)
    B = gk.tensor(np.eye(3), requires_grad=True)
    gk.linalg.svd(B)[1].sum().backward()
    np.testing.assert_allclose(B.grad.array, np.eye(3), atol=1e-12)


@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5), (2, 5, 3)], ids=str)
@pytest.mark.parametrize("some", [True, False])
def test_torch_svd_returns_V(shape, some):
    def invariants(svd):
        return lambda A: _invariants(*(lambda U, S, V: (U, S, V.mT))(*svd(A, some=some)))

    check(invariants(gk.svd), invariants(torch.svd), inputs=[_well_conditioned(shape, seed=3)],
          gradcheck=False)
    check(invariants(lambda A, some: A.svd(some=some)),
          invariants(lambda A, some: A.svd(some=some)), inputs=[_well_conditioned(shape, seed=3)],
          gradcheck=False)
    A = gk.tensor(_well_conditioned(shape, seed=3))
    U, S, V = gk.svd(A, some=some)
    tU, tS, tV = torch.svd(torch.tensor(A.array), some=some)
    assert (U.shape, S.shape, V.shape) == (tuple(tU.shape), tuple(tS.shape), tuple(tV.shape))


def test_torch_svd_compute_uv_false():
    a = _well_conditioned((2, 5, 3), seed=4)
    A, tA = gk.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    U, S, V = gk.svd(A, compute_uv=False)
    tU, tS, tV = torch.svd(tA, compute_uv=False)
    assert U.shape == tuple(tU.shape) == (2, 5, 5) and V.shape == tuple(tV.shape) == (2, 3, 3)
    assert not U.array.any() and not V.array.any()
    np.testing.assert_allclose(S.array, tS.detach().numpy(), atol=1e-12)
    (S * S).sum().backward()
    (tS * tS).sum().backward()
    np.testing.assert_allclose(A.grad.array, tA.grad.numpy(), atol=1e-12)


# === gradients through U, S and Vh separately ===============================
LOSSES = {
    "sum_S": lambda U, S, Vh, W: S.sum(),
    "nuclear_and_frobenius": lambda U, S, Vh, W: (S.sum()
                                                  + ((U * S.unsqueeze(-2)) @ Vh).pow(2).sum()),
    "reconstruction_weighted": lambda U, S, Vh, W: (((U * S.unsqueeze(-2)) @ Vh) * W).sum(),
    "U_projection": lambda U, S, Vh, W: ((U[..., :2] @ U[..., :2].mT) * (W @ W.mT)).sum(),
    "V_projection": lambda U, S, Vh, W: ((Vh[..., :2, :].mT @ Vh[..., :2, :])
                                         * (W.mT @ W)).sum(),
    "abs_U_only": lambda U, S, Vh, W: U.abs().sum(),
    "abs_Vh_only": lambda U, S, Vh, W: Vh.abs().sum(),
}


@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize("shape", [(4, 4), (6, 3), (3, 6), (2, 5, 4)], ids=str)
def test_gradient_matches_torch(loss, shape):
    a = _well_conditioned(shape, seed=5)
    w = np.random.default_rng(6).standard_normal(shape)
    f = LOSSES[loss]
    check(lambda A: f(*gk.linalg.svd(A, full_matrices=False), gk.tensor(w)),
          lambda A: f(*torch.linalg.svd(A, full_matrices=False), torch.tensor(w)),
          inputs=[a])


@pytest.mark.parametrize("shape", [(5, 3), (3, 5)], ids=str)
def test_full_matrices_ignores_the_extra_columns_gradient(shape):
    # PyTorch: "When full_matrices=True, the gradients with respect to U[..., :, min(m, n):] and
    # Vh[..., min(m, n):, :] will be ignored, as those vectors can be arbitrary bases"
    a = _well_conditioned(shape, seed=7)
    A, tA = gk.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    U, S, Vh = gk.linalg.svd(A)
    tU, tS, tVh = torch.linalg.svd(tA)
    (U.abs().sum() + Vh.abs().sum()).backward()
    (tU.abs().sum() + tVh.abs().sum()).backward()
    np.testing.assert_allclose(A.grad.array, tA.grad.numpy(), atol=1e-10)
    # the same as the reduced SVD's gradient: the extra columns contribute nothing
    A2 = gk.tensor(a, requires_grad=True)
    U2, _, Vh2 = gk.linalg.svd(A2, full_matrices=False)
    (U2.abs().sum() + Vh2.abs().sum()).backward()
    np.testing.assert_allclose(A.grad.array, A2.grad.array, atol=1e-12)


def test_second_derivative_matches_torch():
    a = _well_conditioned((4, 3), seed=8)
    w = np.random.default_rng(9).standard_normal((4, 3))

    def loss(lib, A):
        U, S, Vh = lib.linalg.svd(A, full_matrices=False)
        return (S ** 3).sum() + (U * U * lib.tensor(w)).sum()

    A, tA = gk.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    (g,) = gk.grad(loss(gk, A), A, create_graph=True)
    (tg,) = torch.autograd.grad(loss(torch, tA), tA, create_graph=True)
    np.testing.assert_allclose(g.array, tg.detach().numpy(), atol=1e-10)
    (g * gk.tensor(w)).sum().backward()
    (tg * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(A.grad.array, tA.grad.numpy(), atol=1e-9)


def test_no_graph_without_requires_grad():
    U, S, Vh = gk.linalg.svd(gk.randn(3, 3))
    assert not (U.requires_grad or S.requires_grad or Vh.requires_grad)
    with gk.no_grad():
        S = gk.linalg.svdvals(gk.randn(3, 3, requires_grad=True))
    assert not S.requires_grad


# === dtypes and errors ======================================================
@pytest.mark.parametrize("dtype", [gk.float32, gk.float64])
def test_dtype_preserved(dtype):
    A = gk.randn(2, 5, 3, dtype=dtype, requires_grad=True)
    U, S, Vh = gk.linalg.svd(A, full_matrices=False)
    assert U.dtype == S.dtype == Vh.dtype == dtype
    assert gk.linalg.svdvals(A).dtype == dtype
    assert all(t.dtype == dtype for t in gk.svd(A)) and all(t.dtype == dtype for t in A.svd())
    (S.sum() + ((U * S.unsqueeze(-2)) @ Vh).pow(2).sum() + (U[..., :1] @ U[..., :1].mT).sum()
     ).backward()
    assert A.grad.dtype == dtype
    np.testing.assert_allclose((U.array * S.array[..., None, :]) @ Vh.array, A.array,
                               atol=1e-5 if dtype == gk.float32 else 1e-12)


@pytest.mark.parametrize("fn,name", [(gk.linalg.svd, "linalg.svd"),
                                     (gk.linalg.svdvals, "linalg.svdvals"),
                                     (gk.svd, "svd"), (lambda A: A.svd(), "svd")])
def test_fewer_than_two_dims_is_a_clear_error(fn, name):
    with pytest.raises(ValueError, match=rf"^{name}: expected A of at least 2 dimensions .*"
                                         r"got shape \(3,\)"):
        fn(gk.randn(3))
    with pytest.raises(ValueError, match=r"got shape \(\)"):
        fn(gk.tensor(1.0))


def test_integer_input_is_a_clear_error():
    with pytest.raises(TypeError, match="linalg.svd: expected a float32 or float64 tensor.*int64"):
        gk.linalg.svd(gk.ones(3, 3, dtype=gk.int64))


def test_non_finite_input_is_a_clear_error():
    with pytest.raises(np.linalg.LinAlgError, match="linalg.svd: .*non-finite"):
        gk.linalg.svd(gk.tensor([[float("nan"), 1.0], [1.0, 1.0]]))


def test_svd_is_no_longer_refused():
    assert hasattr(gk.Tensor, "svd") and hasattr(gk, "svd")
    assert hasattr(gk.linalg, "svd") and hasattr(gk.linalg, "svdvals")
