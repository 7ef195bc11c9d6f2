"""Factories: tensors from data, constants and the global random generator.

Floats default to float32 (``gk.get_default_dtype()``); integer factories to int64. Shapes may be
given as ``zeros(2, 3)`` or ``zeros((2, 3))``.
"""
import numpy as np

from .. import backend
from .. import devices as _device
from .. import random as _random
from ..tensor import Tensor
from .shape import _shape_args


def _float(dtype):
    return backend.to_dtype(dtype) or backend.get_default_dtype()


def _random_float(dtype, op):
    dtype = _float(dtype)
    if dtype.kind != "f":
        raise TypeError(f"{op}: samples floating point numbers; dtype {dtype} is not a floating "
                        "dtype (use randint for integers)")
    return dtype


def _on(device, where):
    """Refuse a device this build cannot compute on (``device="cuda"`` without a GPU backend)."""
    if device is not None:
        _device.check_available(device, where)


def _finish(arr, requires_grad):
    t = Tensor._make(arr)
    return t.requires_grad_(True) if requires_grad else t


def tensor(data, dtype=None, requires_grad=False, device=None):
    """A new tensor holding a copy of ``data`` (numbers, nested lists, an ndarray or a tensor).

    >>> gk.tensor([[1.0, 2.0]])          # float32
    >>> gk.tensor([1, 2])                # int64
    """
    _on(device, "tensor")
    if isinstance(data, Tensor):
        data = data.array
    try:
        arr = Tensor(data, dtype=dtype).array
    except ValueError as e:  # ragged nested lists
        raise ValueError(f"tensor(): the nested lists must form a rectangular array (every row "
                         f"of the same length); NumPy says: {e}") from None
    if isinstance(data, np.ndarray) and arr is data:
        arr = arr.copy()
    return _finish(arr, requires_grad)


def as_tensor(data, dtype=None, device=None):
    """Like ``tensor`` but shares memory with an ndarray when the dtype allows."""
    _on(device, "as_tensor")
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    return Tensor(data, dtype=dtype)


def from_numpy(array):
    return Tensor._make(np.asarray(array))


def zeros(*shape, dtype=None, requires_grad=False, device=None):
    _on(device, "zeros")
    return _finish(np.zeros(_shape_args(shape), _float(dtype)), requires_grad)


def ones(*shape, dtype=None, requires_grad=False, device=None):
    _on(device, "ones")
    return _finish(np.ones(_shape_args(shape), _float(dtype)), requires_grad)


def empty(*shape, dtype=None, requires_grad=False, device=None):
    _on(device, "empty")
    return _finish(np.empty(_shape_args(shape), _float(dtype)), requires_grad)


def full(shape, fill_value, dtype=None, requires_grad=False, device=None):
    _on(device, "full")
    if dtype is None:
        dtype = (backend.bool_ if isinstance(fill_value, bool) else backend.int64
                 if isinstance(fill_value, int) else backend.get_default_dtype())
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return _finish(np.full(shape, fill_value, backend.to_dtype(dtype)), requires_grad)


def zeros_like(x, dtype=None, requires_grad=False, device=None):
    _on(device, "zeros_like")
    return _finish(np.zeros_like(x.array, dtype=backend.to_dtype(dtype)), requires_grad)


def ones_like(x, dtype=None, requires_grad=False, device=None):
    _on(device, "ones_like")
    return _finish(np.ones_like(x.array, dtype=backend.to_dtype(dtype)), requires_grad)


def full_like(x, fill_value, dtype=None, requires_grad=False, device=None):
    _on(device, "full_like")
    return _finish(np.full_like(x.array, fill_value, dtype=backend.to_dtype(dtype)), requires_grad)


def empty_like(x, dtype=None, requires_grad=False, device=None):
    _on(device, "empty_like")
    return _finish(np.empty_like(x.array, dtype=backend.to_dtype(dtype)), requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad=False, device=None):
    """[start, end) in steps; int64 if all arguments are ints, else float32."""
    _on(device, "arange")
    if end is None:
        start, end = 0, start
    if dtype is None:
        dtype = backend.int64 if all(isinstance(v, (int, np.integer)) for v in (start, end, step)) \
            else backend.get_default_dtype()
    return _finish(np.arange(start, end, step).astype(backend.to_dtype(dtype)), requires_grad)


def linspace(start, end, steps, dtype=None, requires_grad=False, device=None):
    _on(device, "linspace")
    return _finish(np.linspace(start, end, steps).astype(_float(dtype)), requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False, device=None):
    _on(device, "eye")
    return _finish(np.eye(n, m, dtype=_float(dtype)), requires_grad)


def rand(*shape, dtype=None, requires_grad=False, generator=None, device=None):
    """Uniform on [0, 1), from the global generator (``gk.manual_seed``)."""
    _on(device, "rand")
    g = generator or _random.get_generator()
    return _finish(g.random(_shape_args(shape)).astype(_random_float(dtype, "rand")), requires_grad)


def randn(*shape, dtype=None, requires_grad=False, generator=None, device=None):
    """Standard normal, from the global generator."""
    _on(device, "randn")
    g = generator or _random.get_generator()
    return _finish(g.standard_normal(_shape_args(shape)).astype(_random_float(dtype, "randn")),
                   requires_grad)


def randint(low, high=None, size=None, dtype=None, generator=None, device=None):
    """Integers in [low, high) (``randint(high, size)`` also works, as in PyTorch)."""
    _on(device, "randint")
    if size is None:
        if high is None or not isinstance(high, (tuple, list)):
            raise TypeError("randint: size is required, e.g. randint(0, 10, (3,))")
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if low >= high:
        raise ValueError(f"randint: expected low < high, got low={low}, high={high}")
    g = generator or _random.get_generator()
    dt = backend.to_dtype(dtype) or backend.int64
    size = (size,) if isinstance(size, int) else tuple(size)
    return Tensor._make(g.integers(low, high, size=size).astype(dt))


def rand_like(x, dtype=None, requires_grad=False, device=None):
    _on(device, "rand_like")
    return rand(x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad)


def randn_like(x, dtype=None, requires_grad=False, device=None):
    _on(device, "randn_like")
    return randn(x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad)


def randperm(n, dtype=None, generator=None, device=None):
    _on(device, "randperm")
    g = generator or _random.get_generator()
    return Tensor._make(g.permutation(n).astype(backend.to_dtype(dtype) or backend.int64))


def multinomial(input, num_samples, replacement=False, generator=None):
    """Category indices (int64) drawn from each row of non-negative weights (1-D: one
    distribution, 2-D: one per row; the weights need not sum to 1), from the global generator.
    Without replacement (the default) a row's samples are distinct: each draw picks among the
    categories not drawn yet, in proportion to their weights; as in PyTorch 2.x, categories of
    weight 0 are drawn only once the positive ones are used up, in index order."""
    w = np.asarray(input.array if isinstance(input, Tensor) else input)
    if w.dtype.kind != "f":
        raise TypeError(f"multinomial: weights must be a floating point tensor, got {w.dtype}; "
                        "convert them with .float()")
    if w.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: weights must be 1-D or 2-D (one distribution per row), "
                           f"got shape {w.shape}")
    if not isinstance(num_samples, (int, np.integer)) or num_samples <= 0:
        raise RuntimeError(f"multinomial: num_samples must be a positive int, got {num_samples!r}")
    rows = w.reshape(-1, w.shape[-1]).astype(np.float64)
    if w.shape[-1] == 0 or not np.isfinite(rows).all() or (rows < 0).any():
        raise RuntimeError("multinomial: the weights contain inf, nan or a negative number (or no "
                           "category at all); give finite non-negative weights")
    total = rows.sum(-1, keepdims=True)
    if (total <= 0).any():
        raise RuntimeError("multinomial: a row of weights sums to 0; give every row at least one "
                           "positive weight")
    if not replacement and num_samples > rows.shape[-1]:
        raise RuntimeError(f"multinomial: cannot draw {num_samples} samples without replacement "
                           f"from {rows.shape[-1]} categories; draw at most {rows.shape[-1]} or "
                           "pass replacement=True")
    g = generator or _random.get_generator()
    if replacement:  # inverse CDF: u * total falls in category i with probability w[i] / total
        cdf = np.cumsum(rows, -1)
        u = g.random((rows.shape[0], num_samples)) * total
        last = rows.shape[-1] - 1 - np.argmax(rows[:, ::-1] > 0, -1)  # against rounding up
        out = np.stack([np.minimum(np.searchsorted(c, v, side="right"), m)
                        for c, v, m in zip(cdf, u, last)])
    else:  # Efraimidis-Spirakis: the num_samples largest u ** (1 / w) are sequential draws
        with np.errstate(divide="ignore"):
            keys = np.log(g.random(rows.shape)) / rows  # weight 0: -inf, chosen last
        out = np.argsort(-keys, -1, kind="stable")[:, :num_samples]
    return Tensor._make(out.astype(np.int64).reshape(w.shape[:-1] + (num_samples,)))


# === legacy typed constructors (torch.LongTensor, ...) =========================
class _TypedTensor(type):
    """``gk.LongTensor([1, 2])`` makes an int64 tensor, ``gk.FloatTensor(2, 3)`` an uninitialised
    float32 one of that shape; ``isinstance(x, gk.LongTensor)`` asks for x's dtype. Kept for
    programs (and type annotations) written against PyTorch's old typed tensor classes."""

    def __call__(cls, *args, device=None):
        _on(device, cls.__name__)
        if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
            return tensor(args[0], dtype=cls.dtype)
        return empty(*args, dtype=cls.dtype)

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.array.dtype == cls.dtype


def _typed(name, dtype):
    return _TypedTensor(name, (), {"dtype": np.dtype(dtype), "__module__": __name__})


FloatTensor = _typed("FloatTensor", np.float32)
DoubleTensor = _typed("DoubleTensor", np.float64)
HalfTensor = _typed("HalfTensor", np.float16)
LongTensor = _typed("LongTensor", np.int64)
IntTensor = _typed("IntTensor", np.int32)
ShortTensor = _typed("ShortTensor", np.int16)
CharTensor = _typed("CharTensor", np.int8)
ByteTensor = _typed("ByteTensor", np.uint8)
BoolTensor = _typed("BoolTensor", np.bool_)
