"""The Tensor: an ndarray, whether it requires grad, its ``.grad``, and the node that made it.

Every method here is a short call into ``gradkit.ops`` (where forward and backward are written
side by side); this file is the map of what a tensor can do. ``.array`` is the NumPy array itself
(no copy); ``.data`` is a Tensor sharing it, cut from the graph (PyTorch's); ``.grad`` is a Tensor or None; ``grad_fn`` is the recorded op (None for leaves).
"""
import sys
import weakref

import numpy as np

from . import _unsupported, backend
from . import devices as _device
from . import random as _random

_new = object.__new__


class Tensor:
    """A multi-dimensional array that can record the operations applied to it.

    >>> x = gk.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = (x * x).sum(); y.backward(); x.grad
    tensor([2., 4., 6.], dtype=float32)
    """

    __slots__ = ("array", "grad", "requires_grad", "_node", "_vc", "_hooks", "__weakref__")
    __array_priority__ = 1000  # ndarray <op> Tensor defers to Tensor's reflected operator
    _tf_value = False          # True on tf.Variable: numpy() works on it and what it computes

    def __init__(self, data, requires_grad=False, dtype=None):
        if isinstance(data, Tensor):
            data = data.array
        self.array = _to_array(data, dtype)
        self.grad = None
        self._node = None
        self._vc = [0]
        self._hooks = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @staticmethod
    def _make(data, node=None):
        """Fast internal constructor: ``data`` is already an ndarray of the right dtype."""
        t = _new(Tensor)
        t.array = data
        t.grad = None
        t._node = node
        t.requires_grad = node is not None
        t._vc = [0]
        t._hooks = None
        return t

    # ------------------------------------------------------------------ attributes
    @property
    def data(self):
        """The values as a Tensor cut from the graph, sharing this tensor's memory, as PyTorch's
        ``.data``: ``p.data.add_(u)``, ``p.data.normal_(0, 0.02)``, ``p.data.copy_(w)`` write into
        ``p``. Unlike ``detach()``, writes through it are hidden from autograd (it has its own
        version counter), so prefer ``with gk.no_grad():`` and ``detach()`` in new code.
        ``p.data = t`` replaces ``p``'s values (shape and dtype included). ``.array`` is the NumPy
        array itself."""
        return Tensor._make(self.array)

    @data.setter
    def data(self, value):
        self.array = value.array if isinstance(value, Tensor) else np.asarray(value)

    @property
    def shape(self):
        return self.array.shape

    @property
    def dtype(self):
        return self.array.dtype

    @property
    def ndim(self):
        return self.array.ndim

    @property
    def grad_fn(self):
        return self._node

    @property
    def is_leaf(self):
        return self._node is None

    @property
    def device(self):
        """Where the numbers live: ``device(type='cpu')`` (NumPy arrays)."""
        return _device.CPU

    @property
    def is_cuda(self):
        return False

    is_sparse = is_meta = is_quantized = False

    @property
    def itemsize(self):
        return self.array.itemsize

    @property
    def nbytes(self):
        return self.array.nbytes

    @property
    def _version(self):
        return self._vc[0]

    @property
    def T(self):
        return self.permute(*range(self.ndim - 1, -1, -1))

    @property
    def mT(self):
        return self.transpose(-2, -1)

    def size(self, dim=None):
        """The shape (``x.size()``) or one dimension (``x.size(0)``), as in PyTorch."""
        return self.array.shape if dim is None else self.array.shape[dim]

    def numel(self):
        return self.array.size

    def dim(self):
        return self.array.ndim

    def element_size(self):
        return self.array.itemsize

    def is_floating_point(self):
        return self.array.dtype.kind == "f"

    # ------------------------------------------------------------------ conversion
    def numpy(self):
        """The underlying array (shared, not copied). Refuses tensors that require grad, as PyTorch
        does, except TensorFlow-dialect values: a tensor computed from a Keras layer's output or
        from a ``tf.Variable`` converts as TensorFlow's eager tensors do (see ``_tf_values``)."""
        if self.requires_grad and _grad.enabled and not _from_tf_values(self):
            raise RuntimeError("numpy(): can't call numpy() on a tensor that requires grad; use "
                               "tensor.detach().numpy()")
        return self.array

    def item(self):
        if self.array.size != 1:
            raise ValueError(f"item(): only a tensor with one element can be converted to a Python "
                             f"scalar; this one has shape {self.shape} ({self.array.size} elements). "
                             "Reduce it first (e.g. .sum() or .mean()) or index one element.")
        return self.array.reshape(()).item()

    def tolist(self):
        return self.array.tolist()

    def __array__(self, dtype=None, copy=None):
        # NumPy's protocol: np.array(t) asks for a copy (copy=True), np.asarray(t) shares the
        # memory when it can (copy=None), as with a PyTorch tensor
        a = self.array if dtype is None else self.array.astype(dtype, copy=False)
        if copy is False and a is not self.array:
            raise ValueError(f"np.asarray(copy=False): converting a {self.array.dtype} tensor to "
                             f"{np.dtype(dtype)} needs a copy")
        return a.copy() if copy and a is self.array else a

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.array.dtype.kind not in "iub" or self.array.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self.item())

    def __bool__(self):
        if self.array.size != 1:
            raise RuntimeError(f"bool(): the truth value of a tensor with {self.array.size} elements "
                               "is ambiguous; use .any() or .all()")
        return bool(self.array.reshape(()))

    def __len__(self):
        if self.array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.array.shape[0]

    def __iter__(self):
        if self.array.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.array.shape[0]))

    __hash__ = object.__hash__

    def __format__(self, spec):
        """``f"{loss:.4f}"``: a one-element tensor formats as its number; without a spec, any
        tensor formats as ``str(t)``."""
        if self.array.size == 1:
            return format(self.array.reshape(()).item(), spec)
        if not spec:
            return str(self)
        raise TypeError(f"unsupported format string {spec!r} for a tensor of shape "
                        f"{tuple(self.shape)}: a format spec applies to one-element tensors; "
                        "format each value, e.g. [f'{v:.4f}' for v in t.tolist()]")

    def __repr__(self):
        body = np.array2string(self.array, separator=", ", precision=4, prefix="tensor(")
        extra = []
        if self.array.dtype not in (backend.float32, backend.int64, backend.bool_) or self.array.size == 0:
            extra.append(f"dtype={self.array.dtype}")
        elif self.array.dtype == backend.float32:
            extra.append("dtype=float32")
        if self._node is not None:
            extra.append(f"grad_fn=<{self._node.name()}>")
        elif self.requires_grad:
            extra.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extra) + ")"

    __str__ = __repr__

    # ------------------------------------------------------------------ autograd
    def requires_grad_(self, requires_grad=True):
        if requires_grad and self.array.dtype.kind != "f":
            raise RuntimeError(f"requires_grad: only floating point tensors can require gradients; "
                               f"this one is {self.array.dtype}. Convert it first, e.g. x.float()")
        if not requires_grad and self._node is not None:
            raise RuntimeError("requires_grad_(False) on a non-leaf tensor; use .detach() instead")
        self.requires_grad = bool(requires_grad)
        return self

    def detach(self):
        """A new leaf sharing the same array (and version counter), cut from the graph."""
        t = Tensor._make(self.array)
        t._vc = self._vc
        return t

    def detach_(self):
        self._node = None
        self.requires_grad = False
        return self

    def clone(self):
        return _ops.clone(self)

    # new tensors of this one's dtype unless given (PyTorch's Tensor.new_*): constants, no graph
    def new_zeros(self, *size, dtype=None, requires_grad=False, device=None):
        return _ops.zeros(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, requires_grad=False, device=None):
        return _ops.ones(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, requires_grad=False, device=None):
        return _ops.empty(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, requires_grad=False, device=None):
        return _ops.full(size, fill_value, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_tensor(self, data, dtype=None, requires_grad=False, device=None):
        return _ops.tensor(data, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def backward(self, gradient=None, retain_graph=None, create_graph=False):
        """Backpropagate from this tensor: accumulate d(self)/d(leaf) into every leaf's ``.grad``.

        ``gradient`` is needed (same shape) unless self is a scalar. The graph's saved values are
        freed afterwards unless ``retain_graph=True`` (default: ``create_graph``).
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad and has no grad_fn: none of the "
                "tensors it was computed from has requires_grad=True, or it was computed under "
                "no_grad(). Create the parameters with requires_grad=True; a model with no "
                "layers (an empty network) has no weights to differentiate.")
        g = _implicit_grad(self, gradient, "backward")
        if retain_graph is None:
            retain_graph = create_graph
        _engine.run_backward([self], [g], retain_graph=retain_graph, create_graph=create_graph)

    def register_hook(self, hook):
        """``hook(grad) -> grad or None`` runs when the gradient w.r.t. this tensor is computed;
        a returned tensor replaces the gradient. Returns a handle with ``remove()``."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that doesn't "
                               "require gradient")
        owner = self._node if self._node is not None else self
        if owner._hooks is None:
            owner._hooks = []
        owner._hooks.append(hook)
        return _HookHandle(owner._hooks, hook)

    def retain_grad(self):
        """Keep ``.grad`` for a non-leaf tensor too (leaves always keep theirs)."""
        if self._node is not None:
            self._node._retained = weakref.ref(self)

    # ------------------------------------------------------------------ dtype
    def to(self, *args, dtype=None, device=None, non_blocking=False, copy=False,
           memory_format=None):
        """``x.to(gk.float64)``, ``x.to("cpu")``, ``x.to(device, dtype)``, ``x.to(other)``: the
        tensor with that dtype, on that device (a device this build cannot compute on raises,
        see gradkit.devices). Returns ``self`` when nothing changes, unless ``copy=True``."""
        for a in args:
            if isinstance(a, Tensor):
                dtype, device = a.dtype, a.device
            elif _device.is_device_like(a) or isinstance(a, int) and not isinstance(a, bool):
                device = a
            elif a is not None:
                try:
                    dtype = backend.to_dtype(a)
                except TypeError:
                    raise TypeError(f"to(): expected a dtype (gk.float32), a device ('cpu') or a "
                                    f"tensor, got {a!r}") from None
        if device is not None:
            _device.check_available(device, "Tensor.to")
        dtype = backend.to_dtype(dtype)
        if dtype is None or dtype == self.array.dtype:
            return self.clone() if copy else self
        return _ops.cast(self, dtype)

    def cuda(self, device=None, non_blocking=False):
        """Raises without a GPU backend (as PyTorch's CPU build does), naming the fix."""
        _device.check_available("cuda" if device is None else device, "Tensor.cuda")
        return self

    def type(self, dtype=None):
        return str(self.dtype) if dtype is None else self.to(dtype)

    def type_as(self, other):
        return self.to(other.dtype)

    def float(self):
        return self.to(backend.float32)

    def double(self):
        return self.to(backend.float64)

    def half(self):
        return self.to(backend.float16)

    def long(self):
        return self.to(backend.int64)

    def int(self):
        return self.to(backend.int32)

    def bool(self):
        return self.to(backend.bool_)

    def cpu(self):
        return self

    def contiguous(self):
        return self

    # ------------------------------------------------------------------ arithmetic operators
    def __add__(self, other):
        return _ops.add(self, other)

    def __radd__(self, other):
        return _ops.add(other, self)

    def __sub__(self, other):
        return _ops.sub(self, other)

    def __rsub__(self, other):
        return _ops.sub(other, self)

    def __mul__(self, other):
        return _ops.mul(self, other)

    def __rmul__(self, other):
        return _ops.mul(other, self)

    def __truediv__(self, other):
        return _ops.div(self, other)

    def __rtruediv__(self, other):
        return _ops.div(other, self)

    def __pow__(self, other):
        return _ops.pow(self, other)

    def __rpow__(self, other):
        return _ops.pow(other, self)

    def __neg__(self):
        return _ops.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ops.abs(self)

    def __matmul__(self, other):
        return _ops.matmul(self, other)

    def __rmatmul__(self, other):
        return _ops.matmul(other, self)

    def __floordiv__(self, other):
        return _ops.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return _ops.floor_divide(other, self)

    def __mod__(self, other):
        return _ops.remainder(self, other)

    # comparisons and logic: no gradient, bool results
    def __eq__(self, other):
        return _ops.eq(self, other)

    def __ne__(self, other):
        return _ops.ne(self, other)

    def __lt__(self, other):
        return _ops.lt(self, other)

    def __le__(self, other):
        return _ops.le(self, other)

    def __gt__(self, other):
        return _ops.gt(self, other)

    def __ge__(self, other):
        return _ops.ge(self, other)

    def __invert__(self):
        return _ops.logical_not(self)

    def __and__(self, other):
        return _ops.logical_and(self, other)

    def __or__(self, other):
        return _ops.logical_or(self, other)

    def __xor__(self, other):
        return _ops.logical_xor(self, other)

    # ------------------------------------------------------------------ in place
    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)

    def add_(self, other, alpha=1):
        return _ops.inplace(self, _ops.add, other if alpha == 1 else other * alpha, np.add)

    def sub_(self, other, alpha=1):
        return _ops.inplace(self, _ops.sub, other if alpha == 1 else other * alpha, np.subtract)

    def mul_(self, other):
        return _ops.inplace(self, _ops.mul, other, np.multiply)

    def div_(self, other):
        return _ops.inplace(self, _ops.div, other, np.divide)

    def pow_(self, other):
        return _ops.inplace(self, _ops.pow, other, np.power)

    def clamp_(self, min=None, max=None):
        return _ops.inplace(self, lambda x, _: _ops.clamp(x, min, max), None)

    def masked_fill_(self, mask, value):
        return _ops.inplace(self, lambda x, _: _ops.masked_fill(x, mask, value), None)

    def copy_(self, src):
        return _ops.inplace(self, lambda x, s: _ops.broadcast_to(
            s if isinstance(s, Tensor) else Tensor(s, dtype=x.dtype), x.shape), src)

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        return _ops.inplace(self, lambda x, _: _ops.full_like(x, value), None)

    def clamp_min_(self, min):
        return self.clamp_(min=min)

    def clamp_max_(self, max):
        return self.clamp_(max=max)

    clip_ = clamp_

    def log_(self):
        return _ops.inplace(self, lambda x, _: _ops.log(x), None)

    def masked_scatter_(self, mask, source):
        return _ops.inplace(self, lambda x, s: _ops.masked_scatter(x, mask, s), source)

    def index_add_(self, dim, index, source, alpha=1):
        return _ops.inplace(self, lambda x, s: _ops.index_add(x, dim, index, s, alpha), source)

    def scatter_(self, dim, index, src=None, value=None, reduce=None):
        src = value if src is None else src
        return _ops.inplace(self, lambda x, s: _ops.scatter(x, dim, index, s, reduce=reduce), src)

    def scatter_add_(self, dim, index, src):
        return _ops.inplace(self, lambda x, s: _ops.scatter_add(x, dim, index, s), src)

    # in-place random fills, as PyTorch's (``p.data.normal_(0, 0.02)``); they draw from gradkit's
    # global generator (``gk.manual_seed``), or from ``generator`` (a NumPy Generator)
    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        return self._draw_(lambda rng: rng.normal(mean, std, self.shape), generator)

    def uniform_(self, from_=0.0, to=1.0, *, generator=None):
        return self._draw_(lambda rng: rng.uniform(from_, to, self.shape), generator)

    def bernoulli_(self, p=0.5, *, generator=None):
        p = p.array if isinstance(p, Tensor) else p
        return self._draw_(lambda rng: rng.random(self.shape) < p, generator)

    def exponential_(self, lambd=1.0, *, generator=None):
        return self._draw_(lambda rng: rng.exponential(1.0 / lambd, self.shape), generator)

    def _draw_(self, draw, generator):
        values = draw(generator if generator is not None else _random.get_generator())
        return _ops.inplace(self, lambda x, _: Tensor._make(np.asarray(values, x.dtype)), None,
                            name=sys._getframe(1).f_code.co_name)

    def __setitem__(self, index, value):
        _ops.setitem(self, index, value)

    # ------------------------------------------------------------------ elementwise math
    def exp(self):
        return _ops.exp(self)

    def log(self):
        return _ops.log(self)

    def log1p(self):
        return _ops.log1p(self)

    def expm1(self):
        return _ops.expm1(self)

    def sqrt(self):
        return _ops.sqrt(self)

    def rsqrt(self):
        return _ops.rsqrt(self)

    def square(self):
        return _ops.mul(self, self)

    def abs(self):
        return _ops.abs(self)

    def sign(self):
        return _ops.sign(self)

    def sin(self):
        return _ops.sin(self)

    def cos(self):
        return _ops.cos(self)

    def tanh(self):
        return _ops.tanh(self)

    def sigmoid(self):
        return _ops.sigmoid(self)

    def relu(self):
        return _ops.relu(self)

    def erf(self):
        return _ops.erf(self)

    def neg(self):
        return _ops.neg(self)

    def reciprocal(self):
        return _ops.div(1.0, self)

    def pow(self, exponent):
        return _ops.pow(self, exponent)

    def add(self, other, alpha=1):
        return _ops.add(self, other if alpha == 1 else other * alpha)

    def sub(self, other, alpha=1):
        return _ops.sub(self, other if alpha == 1 else other * alpha)

    def mul(self, other):
        return _ops.mul(self, other)

    def div(self, other):
        return _ops.div(self, other)

    def clamp(self, min=None, max=None):
        return _ops.clamp(self, min, max)

    clip = clamp

    def maximum(self, other):
        return _ops.maximum(self, other)

    def minimum(self, other):
        return _ops.minimum(self, other)

    def floor(self):
        return _ops.floor(self)

    def ceil(self):
        return _ops.ceil(self)

    def round(self):
        return _ops.round(self)

    def eq(self, other):
        return _ops.eq(self, other)

    def ne(self, other):
        return _ops.ne(self, other)

    def lt(self, other):
        return _ops.lt(self, other)

    def le(self, other):
        return _ops.le(self, other)

    def gt(self, other):
        return _ops.gt(self, other)

    def ge(self, other):
        return _ops.ge(self, other)

    def isnan(self):
        return _ops.isnan(self)

    def isfinite(self):
        return _ops.isfinite(self)

    def isinf(self):
        return _ops.isinf(self)

    def nan_to_num(self, nan=0.0, posinf=None, neginf=None):
        return _ops.nan_to_num(self, nan, posinf, neginf)

    def clamp_min(self, min):
        return _ops.clamp(self, min=min)

    def clamp_max(self, max):
        return _ops.clamp(self, max=max)

    def logical_not(self):
        return _ops.logical_not(self)

    # ------------------------------------------------------------------ reductions
    def sum(self, dim=None, keepdim=False, **kw):
        return _ops.sum(self, dim, keepdim, **kw)

    def mean(self, dim=None, keepdim=False, **kw):
        return _ops.mean(self, dim, keepdim, **kw)

    def var(self, dim=None, unbiased=None, keepdim=False, **kw):
        return _ops.var(self, dim, unbiased, keepdim, **kw)

    def std(self, dim=None, unbiased=None, keepdim=False, **kw):
        return _ops.std(self, dim, unbiased, keepdim, **kw)

    def max(self, dim=None, keepdim=False, **kw):
        return _ops.max(self, dim, keepdim, **kw)

    def min(self, dim=None, keepdim=False, **kw):
        return _ops.min(self, dim, keepdim, **kw)

    def amax(self, dim=None, keepdim=False, **kw):
        return _ops.amax(self, dim, keepdim, **kw)

    def amin(self, dim=None, keepdim=False, **kw):
        return _ops.amin(self, dim, keepdim, **kw)

    def argmax(self, dim=None, keepdim=False, **kw):
        return _ops.argmax(self, dim, keepdim, **kw)

    def argmin(self, dim=None, keepdim=False, **kw):
        return _ops.argmin(self, dim, keepdim, **kw)

    def logsumexp(self, dim=None, keepdim=False, **kw):
        return _ops.logsumexp(self, dim, keepdim, **kw)

    def prod(self, dim=None, keepdim=False, **kw):
        return _ops.prod(self, dim, keepdim, **kw)

    def cumsum(self, dim=None, **kw):
        return _ops.cumsum(self, dim, **kw)

    def softmax(self, dim=-1, **kw):
        return _ops.softmax(self, dim, **kw)

    def log_softmax(self, dim=-1, **kw):
        return _ops.log_softmax(self, dim, **kw)

    def norm(self, p=2, dim=None, keepdim=False):
        return _ops.norm(self, p, dim, keepdim)

    def all(self, dim=None, keepdim=False, **kw):
        return _ops.all(self, dim, keepdim, **kw)

    def any(self, dim=None, keepdim=False, **kw):
        return _ops.any(self, dim, keepdim, **kw)

    # ------------------------------------------------------------------ shape
    def reshape(self, *shape):
        return _ops.reshape(self, *shape)

    def view(self, *shape):
        return _ops.reshape(self, *shape)

    def view_as(self, other):
        return _ops.reshape(self, other.shape)

    def reshape_as(self, other):
        return _ops.reshape(self, other.shape)

    def flatten(self, start_dim=0, end_dim=-1):
        return _ops.flatten(self, start_dim, end_dim)

    def transpose(self, dim0, dim1):
        return _ops.transpose(self, dim0, dim1)

    def t(self):
        return _ops.transpose(self, 0, 1) if self.ndim == 2 else self

    def permute(self, *dims):
        return _ops.permute(self, *dims)

    def squeeze(self, dim=None):
        return _ops.squeeze(self, dim)

    def unsqueeze(self, dim):
        return _ops.unsqueeze(self, dim)

    def expand(self, *sizes):
        return _ops.expand(self, *sizes)

    def expand_as(self, other):
        return _ops.expand(self, other.shape)

    def broadcast_to(self, shape):
        return _ops.broadcast_to(self, shape)

    def repeat(self, *sizes):
        return _ops.repeat(self, *sizes)

    def tile(self, *dims):
        return _ops.tile(self, *dims)

    def flip(self, *dims):
        return _ops.flip(self, *dims)

    def split(self, split_size_or_sections, dim=0):
        return _ops.split(self, split_size_or_sections, dim)

    def chunk(self, chunks, dim=0):
        return _ops.chunk(self, chunks, dim)

    def unbind(self, dim=0):
        return _ops.unbind(self, dim)

    def narrow(self, dim, start, length):
        return _ops.narrow(self, dim, start, length)

    def roll(self, shifts, dims=None):
        return _ops.roll(self, shifts, dims)

    def repeat_interleave(self, repeats, dim=None, *, output_size=None):
        return _ops.repeat_interleave(self, repeats, dim)

    def unfold(self, dimension, size, step):
        """Sliding windows along one dim (a new last dim of length ``size``)."""
        return _ops.unfold(self, dimension, size, step)

    def unflatten(self, dim, sizes):
        d = dim % self.ndim
        return _ops.reshape(self, self.shape[:d] + tuple(sizes) + self.shape[d + 1:])

    def is_contiguous(self, memory_format=None):
        return True

    # ------------------------------------------------------------------ indexing
    def __getitem__(self, index):
        return _ops.getitem(self, index)

    def gather(self, dim, index):
        return _ops.gather(self, dim, index)

    def scatter_add(self, dim, index, src):
        return _ops.scatter_add(self, dim, index, src)

    def index_select(self, dim, index):
        return _ops.index_select(self, dim, index)

    def scatter(self, dim, index, src=None, value=None, reduce=None):
        return _ops.scatter(self, dim, index, src, value, reduce)

    def index_add(self, dim, index, source, alpha=1):
        return _ops.index_add(self, dim, index, source, alpha)

    def masked_scatter(self, mask, source):
        return _ops.masked_scatter(self, mask, source)

    def nonzero(self, as_tuple=False):
        return _ops.nonzero(self, as_tuple)

    def masked_fill(self, mask, value):
        return _ops.masked_fill(self, mask, value)

    def sort(self, dim=-1, descending=False, stable=False):
        return _ops.sort(self, dim, descending, stable)

    def argsort(self, dim=-1, descending=False, stable=False):
        return _ops.argsort(self, dim, descending, stable)

    def topk(self, k, dim=-1, largest=True, sorted=True):
        return _ops.topk(self, k, dim, largest, sorted)

    def tril(self, diagonal=0):
        return _ops.tril(self, diagonal)

    def triu(self, diagonal=0):
        return _ops.triu(self, diagonal)

    # ------------------------------------------------------------------ linear algebra
    def matmul(self, other):
        return _ops.matmul(self, other)

    def mm(self, other):
        return _ops.matmul(self, other)

    def bmm(self, other):
        return _ops.matmul(self, other)

    def outer(self, other):
        return _ops.outer(self, other)

    def svd(self, some=True, compute_uv=True):
        return _ops.svd(self, some, compute_uv)


# PyTorch Tensor methods gradkit lacks say so, and what to use instead, when looked up. Not a
# Tensor.__getattr__: defining one makes every attribute read on every tensor 2-3x slower
# (CPython stops specialising t.grad, t.shape; measured 10 -> 30 ns), so the names that programs
# use (benchmarks/api_coverage.py) are listed, each a descriptor that raises UnsupportedError.
for _name in _unsupported.TENSOR_NAMES:
    if _name not in Tensor.__dict__:
        setattr(Tensor, _name, _unsupported.Refused(f"Tensor.{_name}"))


class _SizeType(type):
    def __instancecheck__(cls, obj):  # x.shape is a plain tuple (fast); it counts as a Size
        return isinstance(obj, tuple)


class Size(tuple, metaclass=_SizeType):
    """A shape, as ``torch.Size``: a tuple of ints (``x.shape`` is a plain tuple and
    ``isinstance(x.shape, gk.Size)`` is True)."""

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n


class _HookHandle:
    __slots__ = ("_hooks", "_hook")

    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def _to_array(data, dtype=None):
    """Array for ``gk.tensor(data)``: Python floats become the default float dtype (float32),
    Python ints int64, bools bool; NumPy arrays keep their dtype unless ``dtype`` is given."""
    dtype = backend.to_dtype(dtype)
    if isinstance(data, np.ndarray):
        return data if dtype is None or data.dtype == dtype else data.astype(dtype)
    if isinstance(data, (list, tuple)) and any(isinstance(d, Tensor) for d in _flat(data)):
        data = _nested_tensors_to_list(data)
    arr = np.asarray(data)
    if dtype is not None:
        return arr.astype(dtype, copy=False)
    if arr.dtype == np.float64 and not isinstance(data, np.generic) and not _has_np_float64(data):
        return arr.astype(backend.get_default_dtype())
    if arr.dtype.kind == "i":
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"tensor(): can't convert data of type {type(data).__name__} "
                        f"(NumPy dtype {arr.dtype}) to a tensor; give numbers, lists of numbers "
                        "or a numeric ndarray")
    return arr


def _flat(data):
    for d in data:
        if isinstance(d, (list, tuple)):
            yield from _flat(d)
        else:
            yield d


def _nested_tensors_to_list(data):
    if isinstance(data, Tensor):
        return data.array
    if isinstance(data, (list, tuple)):
        return [_nested_tensors_to_list(d) for d in data]
    return data


def _has_np_float64(data):
    """PyTorch keeps float64 for NumPy float64 scalars, bare or inside lists."""
    if isinstance(data, (list, tuple)):
        return any(isinstance(d, np.float64) for d in _flat(data))
    return isinstance(data, np.float64)


def _from_tf_values(t):
    """True when ``t``'s graph reaches a TensorFlow-dialect value: a node marked by
    ``_internal.mark_tf_values`` (a Keras layer's output) or a leaf whose class says
    ``_tf_value = True`` (``tf.Variable``). Walked only when numpy() would refuse."""
    stack, seen = [t], set()
    while stack:
        x = stack.pop()
        if id(x) in seen:
            continue
        seen.add(id(x))
        if isinstance(x, Tensor):
            if x._tf_value:
                return True
            x = x._node
            if x is None:
                continue
        if getattr(x, "_tf_value", False):
            return True
        stack.extend(p for p in getattr(x, "parents", ()) if p is not None)
    return False


def _implicit_grad(out, gradient, op):
    if gradient is None:
        if out.array.size != 1:
            raise RuntimeError(
                f"{op}: grad can be implicitly created only for scalar outputs; this output has "
                f"shape {out.shape}. Pass gradient= a tensor of that shape, or reduce the output "
                "first (e.g. loss.sum() or loss.mean()).")
        return Tensor._make(np.ones_like(out.array))
    if not isinstance(gradient, Tensor):
        gradient = Tensor._make(np.asarray(gradient, dtype=out.array.dtype))
    if gradient.shape != out.shape:
        raise RuntimeError(f"{op}: gradient has shape {gradient.shape} but the output has shape "
                           f"{out.shape}; they must match")
    return gradient


# === the one import that closes a cycle =========================================================
# Tensor is the bottom of the core: the ops, the autograd engine and the grad mode all build on it,
# and its methods call them. They are bound here, once the class exists, and gradkit/__init__.py
# imports this module first. This block is the only import in gradkit that points back up
# (tests/test_import_graph.py allows it and fails on any other cycle).
from . import ops as _ops  # noqa: E402
from .autograd import engine as _engine  # noqa: E402
from .autograd import grad_mode as _grad_mode  # noqa: E402

_grad = _grad_mode.state
