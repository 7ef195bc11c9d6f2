"""The ops added by the API-coverage pass (issue 14 item 8), each against PyTorch in float64:
forward values, every input's gradient, and gradcheck (tests/oracle.py)."""
import numpy as np
import pytest
import torch

import gradkit as gk
from oracle import check


@pytest.mark.parametrize("eq,shapes", [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 2)]),
    ("i,i->", [(5,), (5,)]),
    ("ij->j", [(3, 4)]),
    ("ij,k->ijk", [(2, 3), (4,)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),
    ("bhqd,bhkd->bhqk", [(1, 2, 3, 4), (1, 2, 5, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("ij,ij", [(2, 3), (2, 3)]),                       # implicit output: the labels used once
])
def test_einsum(eq, shapes):
    check(lambda *xs: gk.einsum(eq, *xs), lambda *xs: torch.einsum(eq, *xs), shapes=shapes)


def test_einsum_operand_list():
    check(lambda a, b: gk.einsum("ij,jk", [a, b]), lambda a, b: torch.einsum("ij,jk", [a, b]),
          shapes=[(2, 3), (3, 2)])


@pytest.mark.parametrize("shifts,dims", [(1, None), (2, 0), ((1, -2), (0, 1)), (-1, -1)])
def test_roll(shifts, dims):
    check(lambda x: gk.roll(x, shifts, dims), lambda x: torch.roll(x, shifts, dims), shapes=[(3, 4)])
    check(lambda x: x.roll(shifts, dims), shapes=[(3, 4)])


@pytest.mark.parametrize("indexing", ["ij", "xy"])
def test_meshgrid(indexing):
    check(lambda a, b, c: gk.meshgrid(a, b, c, indexing=indexing),
          lambda a, b, c: torch.meshgrid(a, b, c, indexing=indexing), shapes=[(2,), (3,), (4,)])


@pytest.mark.parametrize("repeats,dim", [(2, None), (3, 0), (2, 1)])
def test_repeat_interleave(repeats, dim):
    check(lambda x: x.repeat_interleave(repeats, dim=dim), shapes=[(2, 3)])
    check(lambda x: gk.repeat_interleave(x, repeats, dim), lambda x: torch.repeat_interleave(
        x, repeats, dim), shapes=[(2, 3)])


def test_repeat_interleave_tensor_counts():
    counts = np.array([1, 0, 3])
    check(lambda x: x.repeat_interleave(gk.tensor(counts), dim=0),
          lambda x: x.repeat_interleave(torch.tensor(counts), dim=0), shapes=[(3, 2)])
    assert gk.repeat_interleave(gk.tensor(counts)).tolist() == \
        torch.repeat_interleave(torch.tensor(counts)).tolist()


def test_nan_to_num():
    x = np.array([1.0, np.nan, np.inf, -np.inf, -2.0])
    check(lambda t: gk.nan_to_num(t), lambda t: torch.nan_to_num(t), inputs=[x], gradcheck=False)
    check(lambda t: t.nan_to_num(nan=1.5, posinf=9.0, neginf=-9.0), inputs=[x], gradcheck=False)
    check(lambda t: gk.nan_to_num(t * 2), lambda t: torch.nan_to_num(t * 2), shapes=[(3, 2)])


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_scatter_and_scatter_(dim):
    rng = np.random.default_rng(1)
    # a permutation along dim: no repeated targets, so the gradient is well defined
    idx = np.argsort(rng.random((3, 4)), axis=dim)[:2] if dim == 0 else \
        np.argsort(rng.random((3, 4)), axis=dim)[:, :3]
    check(lambda x, s: x.scatter(dim, gk.tensor(idx), s),
          lambda x, s: x.scatter(dim, torch.tensor(idx), s), shapes=[(3, 4), idx.shape])
    check(lambda x: x.scatter(dim, gk.tensor(idx), 0.5),
          lambda x: x.scatter(dim, torch.tensor(idx), 0.5), shapes=[(3, 4)])
    check(lambda x, s: (x * 1).scatter_(dim, gk.tensor(idx), s),
          lambda x, s: (x * 1).scatter_(dim, torch.tensor(idx), s), shapes=[(3, 4), idx.shape])
    check(lambda x, s: (x * 1).scatter_add_(dim, gk.tensor(idx), s),
          lambda x, s: (x * 1).scatter_add_(dim, torch.tensor(idx), s), shapes=[(3, 4), idx.shape])


@pytest.mark.parametrize("dim", [0, 1])
def test_index_add(dim):
    idx = np.array([0, 2, 0])               # a repeated index accumulates
    src_shape = (3, 4) if dim == 0 else (3, 3)
    check(lambda x, s: x.index_add(dim, gk.tensor(idx), s, alpha=2.0),
          lambda x, s: x.index_add(dim, torch.tensor(idx), s, alpha=2.0), shapes=[(3, 4), src_shape])
    check(lambda x, s: (x * 1).index_add_(dim, gk.tensor(idx), s),
          lambda x, s: (x * 1).index_add_(dim, torch.tensor(idx), s), shapes=[(3, 4), src_shape])


def test_masked_scatter():
    mask = np.array([[True, False, True], [False, True, True]])
    check(lambda x, s: x.masked_scatter(gk.tensor(mask), s),
          lambda x, s: x.masked_scatter(torch.tensor(mask), s), shapes=[(2, 3), (2, 4)])
    row = np.array([True, False, True])     # broadcast over rows
    check(lambda x, s: (x * 1).masked_scatter_(gk.tensor(row), s),
          lambda x, s: (x * 1).masked_scatter_(torch.tensor(row), s), shapes=[(2, 3), (5,)])


def test_nonzero():
    a = np.array([[0, 1, 0], [2, 0, 3]])
    assert gk.nonzero(gk.tensor(a)).tolist() == torch.nonzero(torch.tensor(a)).tolist()
    got = gk.tensor(a).nonzero(as_tuple=True)
    want = torch.tensor(a).nonzero(as_tuple=True)
    assert [g.tolist() for g in got] == [w.tolist() for w in want]
    assert gk.tensor(a).nonzero().dtype == gk.int64


@pytest.mark.parametrize("dim,size,step", [(0, 2, 1), (1, 3, 2), (-1, 1, 1), (1, 5, 5)])
def test_unfold(dim, size, step):
    check(lambda x: x.unfold(dim, size, step), shapes=[(4, 5)])


def test_clamp_min_max_outer():
    check(lambda x: x.clamp_min(0.3), shapes=[(3, 4)])
    check(lambda x: x.clamp_max(-0.2), shapes=[(3, 4)])
    check(lambda x: (x * 1).clamp_min_(0.1), shapes=[(3,)])
    check(lambda a, b: a.outer(b), shapes=[(3,), (4,)])


def test_histc():
    x = np.random.default_rng(0).normal(size=100)
    for args in [(10, -1.0, 1.0), (5, 0, 0)]:
        np.testing.assert_array_equal(gk.histc(gk.tensor(x), *args).array,
                                      torch.histc(torch.tensor(x), *args).numpy())


def test_inplace_methods_and_unflatten():
    check(lambda x: x.unflatten(1, (2, 3)), shapes=[(2, 6)])
    x = gk.tensor([0.5, 2.0])
    x.log_()
    np.testing.assert_allclose(x.array, np.log([0.5, 2.0]), rtol=1e-6)
    assert gk.randn(2, 3).is_contiguous()


def test_typed_tensors_dtype_finfo_size_constants():
    assert gk.LongTensor([1, 2]).dtype == gk.int64
    assert gk.FloatTensor(2, 3).shape == (2, 3) and gk.FloatTensor(2, 3).dtype == gk.float32
    assert isinstance(gk.tensor([True]), gk.BoolTensor)
    assert not isinstance(gk.tensor([1.0]), gk.LongTensor)
    assert gk.tensor([1.5]).type(gk.LongTensor).dtype == gk.int64
    assert isinstance(gk.float32, gk.dtype)
    for dt, tdt in [(gk.float32, torch.float32), (gk.float16, torch.float16), (gk.float64, torch.float64)]:
        f, tf = gk.finfo(dt), torch.finfo(tdt)
        assert (f.min, f.max, f.eps, f.tiny, f.bits) == (tf.min, tf.max, tf.eps, tf.tiny, tf.bits)
    assert (gk.iinfo(gk.int32).max, gk.iinfo(gk.int64).min) == (torch.iinfo(torch.int32).max,
                                                               torch.iinfo(torch.int64).min)
    assert isinstance(gk.randn(2, 3).shape, gk.Size) and gk.Size([2, 3]).numel() == 6
    assert (gk.inf, gk.pi) == (torch.inf, torch.pi) and gk.nan != gk.nan


def test_generator():
    a = gk.randn(3, generator=gk.Generator().manual_seed(7))
    b = gk.randn(3, generator=gk.Generator().manual_seed(7))
    assert np.array_equal(a.array, b.array)
    g = gk.Generator()
    assert g.manual_seed(3) is g and g.initial_seed() == 3


def test_jit_autocast_assert():
    assert gk.jit.is_tracing() is False and gk.jit.is_scripting() is False
    f = gk.jit.unused(lambda: 1)
    assert f() == 1 and gk.jit.ignore(drop=True)(f) is f
    assert gk.is_autocast_enabled() is False
    gk._assert(True, "fine")
    with pytest.raises(AssertionError, match="broken"):
        gk._assert(False, "broken")
    with pytest.raises(NotImplementedError, match="does not support torch.jit.script"):
        gk.jit.script(lambda x: x)
