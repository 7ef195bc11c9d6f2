"""Sorting (gradkit/ops/sorting.py) and the triangle ops (tril/triu, in indexing.py) against
PyTorch and gradcheck, in float64: sort, argsort, topk, tril, triu; then Tensor.new_* and
multinomial (creation.py), checked by dtype, shape, errors, frequencies and reproducibility
(torch's draws can't match)."""
import numpy as np
import pytest
import torch
from oracle import check

import gradkit as gk


def _distinct(shape, seed=0):
    """Values without ties, so that every sort order (stable or not) is the same."""
    rng = np.random.default_rng(seed)
    return rng.permutation(int(np.prod(shape))).reshape(shape) / 7.0 - 1.0


# ============================================================ sort / argsort / topk
@pytest.mark.parametrize("shape,dim", [((5,), -1), ((3, 4), 0), ((3, 4), 1), ((2, 3, 4), 1),
                                       ((2, 3, 4), -1), ((4, 1), 1), ((0, 3), 1)])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_values_indices_and_gradient(shape, dim, descending):
    check(lambda x: tuple(x.sort(dim=dim, descending=descending)), inputs=[_distinct(shape)])
    check(lambda x: (x.argsort(dim=dim, descending=descending),), inputs=[_distinct(shape)])
    check(lambda x: tuple(gk.sort(x, dim, descending) if isinstance(x, gk.Tensor)
                          else torch.sort(x, dim, descending)), inputs=[_distinct(shape)])


@pytest.mark.parametrize("descending", [False, True])
def test_stable_sort_with_ties_and_nan_matches_torch(descending):
    a = np.array([[2.0, 1.0, 2.0, np.nan, 1.0, 0.0, np.nan, 2.0], [1.0] * 8])
    gv, gi = gk.sort(gk.tensor(a), descending=descending, stable=True)
    tv, ti = torch.sort(torch.tensor(a), descending=descending, stable=True)
    np.testing.assert_array_equal(gv.array, tv.numpy())
    np.testing.assert_array_equal(gi.array, ti.numpy())
    gi = gk.tensor(a).argsort(descending=descending, stable=True)
    ti = torch.tensor(a).argsort(descending=descending, stable=True)
    np.testing.assert_array_equal(gi.array, ti.numpy())


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_])
def test_sort_integer_and_bool_dtypes(dtype):
    a = np.array([[3, 0, 2, 2, 1], [1, 1, 0, 0, 1]]).astype(dtype)
    for desc in (False, True):
        gv, gi = gk.tensor(a).sort(descending=desc, stable=True)
        tv, ti = torch.tensor(a).sort(descending=desc, stable=True)
        np.testing.assert_array_equal(gv.array, tv.numpy())
        np.testing.assert_array_equal(gi.array, ti.numpy())
        assert gv.dtype == a.dtype and gi.dtype == np.int64


def test_sort_returns_a_named_tuple_and_zero_d():
    out = gk.sort(gk.tensor([3.0, 1.0]))
    values, indices = out
    assert out.values is values and out.indices is indices and indices.dtype == np.int64
    check(lambda x: tuple(x.sort()), inputs=[np.array(2.5)])
    check(lambda x: tuple(x.topk(1)), inputs=[np.array(2.5)])
    assert gk.tensor(2.5).argsort().shape == ()


@pytest.mark.parametrize("shape,k,dim", [((6,), 3, -1), ((3, 5), 2, 1), ((4, 3), 4, 0),
                                         ((2, 3, 4), 1, 1), ((3, 4), 0, 1), ((3, 4), 4, -1)])
@pytest.mark.parametrize("largest", [True, False])
def test_topk_values_indices_and_gradient(shape, k, dim, largest):
    check(lambda x: tuple(x.topk(k, dim=dim, largest=largest)), inputs=[_distinct(shape)])
    check(lambda x: tuple(gk.topk(x, k, dim, largest) if isinstance(x, gk.Tensor)
                          else torch.topk(x, k, dim, largest)), inputs=[_distinct(shape)])


def test_topk_unsorted_selects_the_same_set():
    a = _distinct((3, 6))
    gv, gi = gk.topk(gk.tensor(a), 3, sorted=False)
    tv, ti = torch.topk(torch.tensor(a), 3, sorted=False)
    np.testing.assert_array_equal(np.sort(gi.array, -1), np.sort(ti.numpy(), -1))
    out = gk.topk(gk.tensor(a), 2)
    assert out.values is out[0] and out.indices is out[1]


def test_topk_gradient_goes_to_the_chosen_positions_only():
    x = gk.tensor([[1.0, 5.0, 3.0, 4.0]], requires_grad=True)
    x.topk(2).values.sum().backward()
    np.testing.assert_array_equal(x.grad.array, [[0.0, 1.0, 0.0, 1.0]])


def test_sorting_errors():
    x = gk.ones(2, 3)
    with pytest.raises(RuntimeError, match=r"topk: k \(4\) is out of range for dim -1 of size 3"):
        gk.topk(x, 4)
    with pytest.raises(RuntimeError, match="topk: k"):
        x.topk(-1)
    with pytest.raises(IndexError, match="sort: dim 2 is out of range"):
        x.sort(dim=2)
    with pytest.raises(IndexError, match="argsort: dim -3"):
        x.argsort(dim=-3)
    with pytest.raises(TypeError, match="topk: k must be an int"):
        x.topk(1.5)


# ============================================================ tril / triu
@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (5, 2), (2, 3, 4), (2, 1, 3, 3), (0, 3)])
@pytest.mark.parametrize("diagonal", [0, 1, -1, 3, -4])
def test_tril_triu_and_gradient(shape, diagonal):
    check(lambda x: x.tril(diagonal), shapes=[shape])
    check(lambda x: x.triu(diagonal), shapes=[shape])
    check(lambda x: gk.tril(x, diagonal=diagonal) if isinstance(x, gk.Tensor)
          else torch.tril(x, diagonal=diagonal), shapes=[shape])
    check(lambda x: gk.triu(x, diagonal) if isinstance(x, gk.Tensor) else torch.triu(x, diagonal),
          shapes=[shape])


def test_tril_second_derivative_and_int_dtype():
    check(lambda x: (x.tril() ** 2).triu(-1), shapes=[(3, 3)])
    a = np.arange(9).reshape(3, 3)
    np.testing.assert_array_equal(gk.tensor(a).triu(1).array, torch.tensor(a).triu(1).numpy())
    assert gk.tensor(a).tril().dtype == np.int64


def test_tril_triu_errors():
    with pytest.raises(RuntimeError, match="tril: input must have at least 2 dimensions"):
        gk.tril(gk.ones(3))
    with pytest.raises(RuntimeError, match="triu: input must have at least 2 dimensions"):
        gk.ones(()).triu()


# ============================================================ Tensor.new_*
@pytest.mark.parametrize("dtype", [gk.float64, gk.float32, gk.int64, gk.bool])
def test_new_factories_keep_dtype_and_make_no_graph(dtype):
    x = gk.ones(2, dtype=dtype)
    if dtype.kind == "f":
        x.requires_grad_()
    for t, shape in [(x.new_zeros(2, 3), (2, 3)), (x.new_ones((4,)), (4,)),
                     (x.new_empty(1, 2), (1, 2)), (x.new_full((2, 2), 1), (2, 2)),
                     (x.new_tensor([[1, 0]]), (1, 2))]:
        assert t.dtype == dtype and t.shape == shape
        assert not t.requires_grad and t.grad_fn is None
    np.testing.assert_array_equal(x.new_zeros(2).array, [0, 0])
    np.testing.assert_array_equal(x.new_ones(2).array, [1, 1])
    np.testing.assert_array_equal(x.new_full((2,), 1).array, [1, 1])


def test_new_factories_match_torch_and_take_a_dtype():
    for ga, ta in [(gk.tensor([1, 2]), torch.tensor([1, 2])),
                   (gk.tensor([1.0], dtype=gk.float64), torch.tensor([1.0], dtype=torch.float64))]:
        for gt, tt in [(ga.new_tensor([1.5, 2.7]), ta.new_tensor([1.5, 2.7])),
                       (ga.new_full((2,), 3.5), ta.new_full((2,), 3.5)),
                       (ga.new_zeros(3), ta.new_zeros(3))]:
            np.testing.assert_array_equal(gt.array, tt.numpy())
            assert str(gt.dtype) == str(tt.dtype).replace("torch.", "")
    x = gk.tensor([1, 2])
    assert x.new_zeros(2, dtype=gk.float32).dtype == np.float32
    assert x.new_tensor([1, 2], dtype=gk.float64).dtype == np.float64
    assert x.new_full((1,), 2, dtype=gk.float16).dtype == np.float16
    src = np.array([1.0, 2.0])
    t = gk.tensor(src).new_tensor(src)
    src[0] = 9.0
    assert t.array[0] == 1.0  # a copy, as in PyTorch


# ============================================================ multinomial
def test_multinomial_with_replacement_frequencies():
    gk.manual_seed(0)
    w = np.array([[1.0, 0.0, 3.0, 6.0], [5.0, 5.0, 0.0, 0.0]])
    n = 20000
    s = gk.multinomial(gk.tensor(w), n, replacement=True)
    assert s.shape == (2, n) and s.dtype == np.int64
    for row, wr in zip(s.array, w):
        freq = np.bincount(row, minlength=4) / n
        np.testing.assert_allclose(freq, wr / wr.sum(), atol=0.015)
        assert freq[wr == 0].sum() == 0


def test_multinomial_without_replacement_distinct_and_sequential_frequencies():
    gk.manual_seed(1)
    w = np.array([1.0, 2.0, 3.0, 0.0])
    p = w / w.sum()
    trials = 20000
    draws = gk.multinomial(gk.tensor(np.tile(w, (trials, 1))), 2).array
    assert draws.shape == (trials, 2) and (draws[:, 0] != draws[:, 1]).all()
    assert not (draws == 3).any()
    # P(first=a, second=b) = p_a * p_b / (1 - p_a): sequential draws without replacement
    for a in range(3):
        for b in range(3):
            if a != b:
                expected = p[a] * p[b] / (1 - p[a])
                got = np.mean((draws[:, 0] == a) & (draws[:, 1] == b))
                assert abs(got - expected) < 0.015, (a, b, got, expected)
    # all categories of positive weight: a permutation of them
    full = gk.multinomial(gk.tensor(w), 3).array
    assert sorted(full.tolist()) == [0, 1, 2]
    # more samples than positive weights: as PyTorch 2.x, the zero-weight categories come last
    for _ in range(20):
        assert gk.multinomial(gk.tensor(w), 4).array[3] == 3
    assert torch.multinomial(torch.tensor(w), 4)[3] == 3


def test_multinomial_shapes_dtypes_and_reproducibility():
    w = gk.rand(3, 5)
    assert gk.multinomial(gk.tensor([0.2, 0.8]), 1).shape == (1,)
    assert gk.multinomial(w, 4).shape == (3, 4)
    assert gk.multinomial(w.double(), 7, replacement=True).shape == (3, 7)
    gk.manual_seed(123)
    a = gk.multinomial(w, 3).array, gk.multinomial(w, 9, True).array
    gk.manual_seed(123)
    b = gk.multinomial(w, 3).array, gk.multinomial(w, 9, True).array
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    g = np.random.default_rng(5)
    c = gk.multinomial(w, 3, generator=g).array
    np.testing.assert_array_equal(c, gk.multinomial(w, 3, generator=np.random.default_rng(5)).array)
    assert gk.multinomial(gk.tensor([0.0, 1.0]), 5, replacement=True).array.tolist() == [1] * 5


@pytest.mark.parametrize("w,n,repl,match", [
    ([1.0, 0.0, 2.0], 4, False, "cannot draw 4 samples without replacement from 3 categories"),
    ([1.0, -1.0], 1, True, "inf, nan or a negative"),
    ([1.0, float("inf")], 1, True, "inf, nan or a negative"),
    ([1.0, float("nan")], 1, False, "inf, nan or a negative"),
    ([0.0, 0.0], 1, True, "sums to 0"),
    ([1.0, 2.0], 0, True, "num_samples must be a positive int"),
    ([[[1.0]]], 1, True, "1-D or 2-D"),
])
def test_multinomial_errors(w, n, repl, match):
    with pytest.raises(RuntimeError, match=match):
        gk.multinomial(gk.tensor(w), n, replacement=repl)
    # PyTorch refuses the same inputs
    with pytest.raises(RuntimeError):
        torch.multinomial(torch.tensor(w), n, replacement=repl)


def test_multinomial_refuses_integer_weights():
    with pytest.raises(TypeError, match="multinomial: weights must be a floating point"):
        gk.multinomial(gk.tensor([1, 2]), 1)
