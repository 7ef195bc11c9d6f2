"""Factories (gradkit/ops/creation.py) and the Tensor basics they hand out: dtype inference,
copying vs sharing memory, shapes given as varargs or a tuple, the random factories and
``manual_seed``, the ``*_like`` family, and the attributes, conversions and casts of a Tensor
(with gradients through float casts), against PyTorch where PyTorch defines the answer."""
import numpy as np
import pytest
import torch
from oracle import check

import gradkit as gk


# ============================================================ tensor(): dtype inference and copying
@pytest.mark.parametrize("data,dtype", [
    ([1.0, 2.0], gk.float32), ([1, 2.5], gk.float32), (2.5, gk.float32), ([], gk.float32),
    ([1, 2], gk.int64), (3, gk.int64), ([[1, 2], [3, 4]], gk.int64),
    ([True, False], gk.bool), (True, gk.bool),
    ([[1.0, 2.0], [3.0, 4.0]], gk.float32), ([[[1.5]], [[2]]], gk.float32),
    (np.zeros(3), gk.float64), (np.zeros(3, np.float32), gk.float32),
    (np.zeros(3, np.int32), gk.int32), (np.float64(2.0), gk.float64),
])
def test_tensor_infers_the_dtype_as_pytorch(data, dtype):
    t = gk.tensor(data)
    assert t.dtype == dtype
    assert str(torch.tensor(data).dtype) == "torch." + str(dtype)
    assert t.shape == tuple(torch.tensor(data).shape)
    np.testing.assert_array_equal(t.array, torch.tensor(data).numpy())


def test_tensor_of_a_list_of_numpy_float64_scalars_is_float64():
    assert gk.tensor([np.float64(1.0), np.float64(2.0)]).dtype == gk.float64


def test_tensor_dtype_argument():
    assert gk.tensor([1, 2], dtype=gk.float64).dtype == gk.float64
    assert gk.tensor([1.7, -1.7], dtype=gk.int64).tolist() == [1, -1]   # truncates, as PyTorch
    assert gk.tensor(np.zeros(2), dtype="float32").dtype == gk.float32


def test_tensor_copies_its_data():
    a = np.zeros(3)
    t = gk.tensor(a)
    a[0] = 5.0
    assert t.array[0] == 0.0 and not np.shares_memory(t.array, a)
    s = gk.ones(3, requires_grad=True)
    u = gk.tensor(s)                         # from a tensor: a new leaf with its own memory
    assert not np.shares_memory(u.array, s.array) and not u.requires_grad and u.is_leaf


def test_tensor_requires_grad():
    t = gk.tensor([1.0, 2.0], requires_grad=True)
    assert t.requires_grad and t.is_leaf and t.grad is None


@pytest.mark.parametrize("factory", [
    lambda: gk.tensor([1, 2], requires_grad=True),
    lambda: gk.zeros(3, dtype=gk.int64, requires_grad=True),
    lambda: gk.ones(2, dtype=gk.bool, requires_grad=True),
    lambda: gk.full((2,), 3, requires_grad=True),
    lambda: gk.arange(3, requires_grad=True),
    lambda: gk.ones_like(gk.tensor([1]), requires_grad=True),
    lambda: gk.tensor([1, 2]).requires_grad_(),
])
def test_integer_tensor_can_not_require_grad(factory):
    with pytest.raises(RuntimeError, match=r"only floating point tensors can require gradients; "
                                           r"this one is (int64|bool)"):
        factory()


def test_tensor_of_ragged_lists_raises():
    with pytest.raises(ValueError, match=r"tensor\(\): the nested lists must form a rectangular "
                                         r"array"):
        gk.tensor([[1, 2], [3]])


def test_tensor_of_strings_raises():
    with pytest.raises(TypeError, match=r"tensor\(\): can't convert data of type list"):
        gk.tensor(["a", "b"])


# ============================================================ sharing memory
def test_as_tensor_and_from_numpy_share_memory():
    a = np.zeros(3)
    for t in (gk.as_tensor(a), gk.from_numpy(a)):
        assert t.array is a and t.dtype == gk.float64
    a[1] = 7.0
    assert gk.from_numpy(a).tolist() == [0.0, 7.0, 0.0]
    t = gk.from_numpy(a)
    with gk.no_grad():
        t.add_(1.0)
    assert a.tolist() == [1.0, 8.0, 1.0]


def test_as_tensor_copies_only_when_the_dtype_changes():
    a = np.zeros(3)
    assert not np.shares_memory(gk.as_tensor(a, dtype=gk.float32).array, a)
    t = gk.ones(2)
    assert gk.as_tensor(t) is t


# ============================================================ constant factories
@pytest.mark.parametrize("name", ["zeros", "ones", "empty"])
@pytest.mark.parametrize("args", [(2, 3), ((2, 3),), ([2, 3],), ((),), (0,), (4,)])
def test_constant_factories_take_shape_as_varargs_or_tuple(name, args):
    t = getattr(gk, name)(*args)
    ref = getattr(torch, name)(*args)
    assert t.shape == tuple(ref.shape) and t.dtype == gk.float32
    if name != "empty":
        np.testing.assert_array_equal(t.array, ref.numpy())


def test_constant_factories_dtype_and_requires_grad():
    assert gk.zeros(2, dtype=gk.float64).dtype == gk.float64
    assert gk.ones(2, 3, dtype=gk.int64).dtype == gk.int64
    t = gk.zeros(2, 3, requires_grad=True)
    assert t.requires_grad and t.is_leaf


@pytest.mark.parametrize("shape,value,dtype", [
    ((2, 3), 1.5, gk.float32), ((2,), 7, gk.int64), ((2,), True, gk.bool), (3, -2.0, gk.float32),
    ((), 4.0, gk.float32),
])
def test_full(shape, value, dtype):
    t = gk.full(shape, value)
    ref = torch.full(shape if isinstance(shape, tuple) else (shape,), value)
    assert t.dtype == dtype and str(ref.dtype) == "torch." + str(dtype)
    np.testing.assert_array_equal(t.array, ref.numpy())
    assert gk.full(shape, value, dtype=gk.float64).dtype == gk.float64


@pytest.mark.parametrize("args", [(5,), (1, 4), (10, 0, -3), (0,), (2, 2)])
def test_arange_int(args):
    t, ref = gk.arange(*args), torch.arange(*args)
    assert t.dtype == gk.int64 and t.tolist() == ref.tolist()


@pytest.mark.parametrize("args", [(5.0,), (0, 1, 0.25), (1, 2.5, 0.5), (0, 1, 0.1), (-1.0, 1.0, 0.3)])
def test_arange_float(args):
    t, ref = gk.arange(*args), torch.arange(*args)
    assert t.dtype == gk.float32 and t.shape == tuple(ref.shape)
    np.testing.assert_allclose(t.array, ref.numpy(), rtol=1e-6, atol=1e-7)
    assert gk.arange(*args, dtype=gk.float64).dtype == gk.float64


@pytest.mark.parametrize("start,end,steps", [(0, 1, 5), (2, 3, 1), (-1, 1, 4), (3, -3, 7), (0, 1, 0)])
def test_linspace(start, end, steps):
    t, ref = gk.linspace(start, end, steps), torch.linspace(start, end, steps)
    assert t.dtype == gk.float32 and t.shape == tuple(ref.shape)
    np.testing.assert_allclose(t.array, ref.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("args", [(3,), (2, 3), (3, 2), (1,), (0,)])
def test_eye(args):
    t, ref = gk.eye(*args), torch.eye(*args)
    assert t.dtype == gk.float32
    np.testing.assert_array_equal(t.array, ref.numpy())
    assert gk.eye(*args, dtype=gk.float64).dtype == gk.float64


# ============================================================ random factories
@pytest.mark.parametrize("name", ["rand", "randn"])
def test_rand_randn_shapes_and_dtypes(name):
    f = getattr(gk, name)
    assert f(2, 3).shape == (2, 3) and f((2, 3)).shape == (2, 3) and f(()).shape == ()
    assert f(4).dtype == gk.float32 and f(4, dtype=gk.float64).dtype == gk.float64
    t = f(3, requires_grad=True)
    assert t.requires_grad and t.is_leaf


def test_rand_is_uniform_on_zero_one():
    u = gk.rand(20000, dtype=gk.float64).array
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.01 and abs(u.var() - 1 / 12) < 0.003


def test_randn_is_standard_normal():
    z = gk.randn(20000, dtype=gk.float64).array
    assert abs(z.mean()) < 0.03 and abs(z.std() - 1.0) < 0.03


@pytest.mark.parametrize("name", ["rand", "randn"])
def test_rand_randn_refuse_integer_dtype(name):
    with pytest.raises(TypeError, match=rf"{name}: samples floating point numbers; dtype int64 is "
                                        r"not a floating dtype"):
        getattr(gk, name)(3, dtype=gk.int64)


@pytest.mark.parametrize("args,kw,low,high,shape", [
    ((0, 5, (3, 4)), {}, 0, 5, (3, 4)), ((3, 5, (200,)), {}, 3, 5, (200,)),
    ((5, (200,)), {}, 0, 5, (200,)), ((-2, 2), {"size": (2, 3)}, -2, 2, (2, 3)),
    ((10,), {"size": (50,)}, 0, 10, (50,)), ((0, 3, 4), {}, 0, 3, (4,)),
])
def test_randint(args, kw, low, high, shape):
    t = gk.randint(*args, **kw)
    assert t.shape == shape and t.dtype == gk.int64
    assert t.array.min() >= low and t.array.max() < high
    if t.numel() >= 200:
        assert set(t.tolist()) == set(range(low, high))   # every value is reachable


def test_randint_errors():
    with pytest.raises(TypeError, match=r"randint: size is required"):
        gk.randint(0, 5)
    with pytest.raises(ValueError, match=r"randint: expected low < high, got low=5, high=5"):
        gk.randint(5, 5, (2,))


def test_randperm():
    p = gk.randperm(10)
    assert p.dtype == gk.int64 and sorted(p.tolist()) == list(range(10))
    assert gk.randperm(0).shape == (0,)


@pytest.mark.parametrize("make", [
    lambda: gk.rand(5), lambda: gk.randn(2, 3), lambda: gk.randint(0, 100, (6,)),
    lambda: gk.randperm(20), lambda: gk.randn_like(gk.zeros(4)), lambda: gk.rand_like(gk.zeros(4)),
])
def test_manual_seed_makes_random_factories_reproducible(make):
    gk.manual_seed(123)
    a = make().tolist()
    gk.manual_seed(123)
    b = make().tolist()
    gk.manual_seed(124)
    c = make().tolist()
    assert a == b
    assert a != c


def test_manual_seed_covers_a_sequence_of_calls():
    gk.manual_seed(0)
    first = [gk.rand(3).tolist(), gk.randn(2).tolist(), gk.randint(0, 9, (4,)).tolist()]
    gk.manual_seed(0)
    assert [gk.rand(3).tolist(), gk.randn(2).tolist(), gk.randint(0, 9, (4,)).tolist()] == first


# ============================================================ *_like
@pytest.mark.parametrize("src", [gk.ones(2, 3, dtype=gk.float64), gk.ones(4), gk.tensor([1, 2]),
                                 gk.tensor(2.0)])
def test_like_factories_keep_shape_and_dtype(src):
    for t in (gk.zeros_like(src), gk.ones_like(src), gk.full_like(src, 3)):
        assert t.shape == src.shape and t.dtype == src.dtype
    assert gk.zeros_like(src).array.sum() == 0 and gk.ones_like(src).array.sum() == src.numel()
    assert (gk.full_like(src, 3).array == 3).all()
    assert not np.shares_memory(gk.zeros_like(src).array, src.array)
    if src.dtype.kind == "f":
        r = gk.randn_like(src)
        assert r.shape == src.shape and r.dtype == src.dtype


def test_like_factories_dtype_and_requires_grad():
    src = gk.ones(2, 3)
    assert gk.zeros_like(src, dtype=gk.int64).dtype == gk.int64
    assert gk.randn_like(src, dtype=gk.float64).dtype == gk.float64
    assert gk.ones_like(src, requires_grad=True).requires_grad
    assert gk.full_like(gk.tensor([1, 2]), 2.7).tolist() == [2, 2]   # keeps int, as PyTorch


def test_randn_like_of_an_integer_tensor_raises():
    with pytest.raises(TypeError, match=r"randn: samples floating point numbers; dtype int64"):
        gk.randn_like(gk.tensor([1, 2]))


# ============================================================ Tensor basics
def test_tensor_attributes():
    x = gk.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    assert x.shape == (2, 3) and x.dtype == gk.float32 and x.ndim == 2 and x.dim() == 2
    assert x.size() == (2, 3) and x.size(0) == 2 and x.size(-1) == 3 and x.numel() == 6
    assert x.is_leaf and x.grad_fn is None and x.requires_grad
    y = x * 2
    assert not y.is_leaf and y.grad_fn.name() == "MulBackward"
    s = gk.tensor(3.0)
    assert s.shape == () and s.ndim == 0 and s.numel() == 1 and s.size() == ()


@pytest.mark.parametrize("data,value,kind", [([2.5], 2.5, float), (3, 3, int), ([[True]], True, bool),
                                             (np.float64(-1.25), -1.25, float)])
def test_item(data, value, kind):
    v = gk.tensor(data).item()
    assert v == value and type(v) is kind


def test_item_on_a_non_scalar_names_the_shape():
    with pytest.raises(ValueError, match=r"item\(\): only a tensor with one element can be "
                                         r"converted to a Python scalar; this one has shape "
                                         r"\(2, 3\) \(6 elements\)"):
        gk.ones(2, 3).item()


def test_tolist():
    assert gk.tensor([[1.0, 2.0], [3.0, 4.0]]).tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert gk.tensor(2).tolist() == 2
    assert gk.tensor([True]).tolist() == [True]


def test_detach():
    x = gk.tensor([1.0, 2.0], requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    e = x.detach()
    assert e.array is x.array               # shares memory, as PyTorch


def test_numpy():
    x = gk.tensor([1.0, 2.0])
    assert x.numpy() is x.array
    w = gk.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"numpy\(\): can't call numpy\(\) on a tensor that "
                                           r"requires grad; use tensor.detach\(\).numpy\(\)"):
        w.numpy()
    np.testing.assert_array_equal(w.detach().numpy(), [1.0, 2.0])


@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")
def test_np_array_copies_and_np_asarray_shares_as_with_torch():
    for lib in (gk, torch):
        t = lib.tensor([1.0, 2.0])
        a = np.array(t)
        a[0] = 5.0                      # a copy: the tensor keeps its value
        b = np.asarray(t)
        b[1] = 7.0                      # a view: the tensor sees the write
        np.testing.assert_array_equal(np.asarray(t), [1.0, 7.0], err_msg=lib.__name__)
        np.testing.assert_array_equal(np.array(t, dtype=np.float64), [1.0, 7.0])
    with pytest.raises(ValueError, match="needs a copy"):
        np.asarray(gk.tensor([1.0]), dtype=np.float64, copy=False)


@pytest.mark.parametrize("make,expected", [
    (lambda: gk.tensor([1.0, 2.5]), "tensor([1. , 2.5], dtype=float32)"),
    (lambda: gk.tensor([1, 2]), "tensor([1, 2])"),
    (lambda: gk.tensor([1.5], dtype=gk.float64), "tensor([1.5], dtype=float64)"),
    (lambda: gk.tensor([True, False]), "tensor([ True, False])"),
    (lambda: gk.tensor([1.0], requires_grad=True), "tensor([1.], dtype=float32, requires_grad=True)"),
    (lambda: gk.tensor([1.0], requires_grad=True) * 2, ("tensor([2.], dtype=float32, "
                                                       "grad_fn=<MulBackward>)")),
    (lambda: gk.tensor([[1.0, 2.0], [3.0, 4.0]]), ("tensor([[1., 2.],\n        [3., 4.]], "
                                                  "dtype=float32)")),
])
def test_repr_shows_values_dtype_and_grad_fn(make, expected):
    assert repr(make()) == expected


# ============================================================ casts
@pytest.mark.parametrize("method,dtype", [("float", gk.float32), ("double", gk.float64),
                                          ("long", gk.int64), ("int", gk.int32),
                                          ("bool", gk.bool)])
def test_cast_methods(method, dtype):
    x = gk.tensor([1.5, -2.7, 0.0])
    t = getattr(x, method)()
    ref = getattr(torch.tensor([1.5, -2.7, 0.0]), method)()
    assert t.dtype == dtype and t.tolist() == ref.tolist()


def test_to_dtype_forms():
    x = gk.tensor([1.0])
    assert x.to(gk.float64).dtype == gk.float64
    assert x.to("float64").dtype == gk.float64
    assert x.to(dtype=gk.int64).dtype == gk.int64
    assert x.to(gk.tensor([1])).dtype == gk.int64
    assert x.to("cpu") is x and x.to(gk.float32) is x


@pytest.mark.parametrize("to", ["float", "to float32"])
def test_gradient_flows_through_float_casts(to):
    # float64 -> float32 -> float64: the gradient comes back in the input's dtype
    def f(x):
        y = x.float() if to == "float" else x.to(gk.float32 if isinstance(x, gk.Tensor) else torch.float32)
        return y.double() * x
    check(f, shapes=[(2, 3)], rtol=1e-6, atol=1e-6, gradcheck=False)
    x = gk.tensor([1.5, -2.0], requires_grad=True)          # float32 leaf
    (x.double() * gk.tensor([1.0, 3.0], dtype=gk.float64)).sum().backward()
    assert x.grad.dtype == gk.float32 and x.grad.tolist() == [1.0, 3.0]


def test_integer_cast_cuts_the_graph():
    x = gk.tensor([1.5, -2.0], requires_grad=True)
    y = x.long()
    assert y.dtype == gk.int64 and not y.requires_grad and y.grad_fn is None
