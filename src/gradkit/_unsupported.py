"""The one error for a PyTorch name gradkit does not have: it says so, and what to use instead.

``gradkit``, ``gradkit.nn``, ``gradkit.nn.functional``, ``gradkit.jit`` and ``Tensor`` raise it
from ``__getattr__`` (which Python calls only after normal lookup fails, so it costs nothing on
the names that exist). It is an AttributeError, so ``hasattr`` and ``getattr(x, name, default)``
keep working; it carries no ``name``/``obj``, so Python does not append its own spelling guess
("Did you mean: 'divide'?"), which for a missing PyTorch name is nearly always wrong.

What is covered, and how often programs use what is not, is measured by
``python -m benchmarks.api_coverage`` and listed in docs/compat.md ("Coverage").
"""

# what to use instead, by the name as a PyTorch program writes it
ALTERNATIVES = {
    # compiling and tracing: gradkit runs eagerly, there is nothing to compile
    "torch.compile": "call the model directly (remove torch.compile: gradkit runs eagerly)",
    "torch.jit.script": "call the module or function directly (gradkit runs eagerly)",
    "torch.jit.trace": "call the module or function directly (gradkit runs eagerly)",
    "torch.fx": "call the module directly; graph capture is not available",
    "torch.vmap": "a Python loop, or write the computation batched",
    "torch.func": "torch.autograd.grad (gradkit.grad) for gradients",
    # mixed precision and devices: NumPy computes in the tensors' own dtype, on the CPU
    "torch.autocast": "drop the autocast block; cast explicitly with x.to(torch.float16)",
    "torch.amp": "drop the autocast/GradScaler code: gradkit computes in the tensors' own dtype",
    "torch.set_autocast_enabled": "nothing: gradkit never autocasts",
    "torch.get_autocast_gpu_dtype": "x.dtype: gradkit never autocasts",
    "torch.channels_last": "the default (contiguous) layout: NumPy arrays have no memory format",
    "torch.memory_format": "the default layout: NumPy arrays have no memory format",
    # complex and sparse numbers
    "torch.complex64": "real tensors (gradkit has float16/32/64, int and bool dtypes)",
    "torch.complex128": "real tensors (gradkit has float16/32/64, int and bool dtypes)",
    "torch.view_as_complex": "keep real and imaginary parts as two real tensors",
    "torch.view_as_real": "keep real and imaginary parts as two real tensors",
    "torch.polar": "keep real and imaginary parts as two real tensors (r*cos(t), r*sin(t))",
    "torch.sparse_coo_tensor": "a dense tensor (torch.zeros + index_put / scatter)",
    "torch.stft": "numpy's np.fft on x.numpy() (no gradient)",
    "torch.fft": "numpy's np.fft on x.numpy() (no gradient)",
    # layers with a close equivalent
    "torch.nn.LazyLinear": "nn.Linear(in_features, out_features) with in_features given",
    "torch.nn.SyncBatchNorm": "nn.BatchNorm1d/2d (one process: the statistics are already global)",
    "torch.nn.functional.unfold": "Tensor.unfold(dim, size, step) for sliding windows",
    "torch.nn.functional.fold": "index_add / scatter_add into a zeros tensor",
    # Keras layers with a close equivalent
    "keras.layers.ConvLSTM2D": "layers.TimeDistributed(layers.Conv2D(...)) then an LSTM",
    "keras.layers.Conv1DTranspose": "layers.UpSampling1D then layers.Conv1D",
    "keras.layers.LSTMCell": "layers.LSTM(units, return_sequences=True, return_state=True)",
    "keras.layers.GRUCell": "layers.GRU(units, return_sequences=True, return_state=True)",
    "keras.layers.SimpleRNNCell": "layers.SimpleRNN(units, return_sequences=True, return_state=True)",
    "keras.layers.RNN": "layers.SimpleRNN, layers.LSTM or layers.GRU",
    "keras.layers.Resizing": "gradkit.vision.transforms.Resize on the images before fit",
    "keras.layers.TextVectorization": "gradkit.models.Tokenizer or a vocabulary dict, then keras.utils.pad_sequences",
    # Tensor internals that NumPy expresses differently
    "Tensor.data_ptr": "x.array.ctypes.data (the NumPy array's address)",
    "Tensor.storage": "x.array, the NumPy array itself",
    "Tensor.untyped_storage": "x.array, the NumPy array itself",
    "Tensor.stride": "x.array.strides (NumPy's, in bytes)",
    "Tensor.pin_memory": "nothing: there is no device to copy to (remove the call)",
    "Tensor.to_sparse": "the dense tensor itself",
    "Tensor.as_strided": "x.unfold(dim, size, step) or reshape/expand",
    "Tensor.share_memory_": "nothing: one process holds the array (remove the call)",
}


class UnsupportedError(AttributeError):
    """A PyTorch name that gradkit does not provide (yet). An AttributeError: ``hasattr`` is
    False."""


class UnsupportedCall(NotImplementedError):
    """A PyTorch function gradkit has but cannot run here (``torch.jit.script``)."""


def message(qualname):
    alt = ALTERNATIVES.get(qualname)
    if alt is None:  # a submodule's name ("torch.fx.symbolic_trace") takes the submodule's advice
        head = qualname.rsplit(".", 1)[0]
        while alt is None and "." in head:
            alt = ALTERNATIVES.get(head)
            head = head.rsplit(".", 1)[0]
    instead = f"; instead: {alt}" if alt else ""
    return (f"gradkit does not support {qualname} yet{instead}. docs/compat.md ('Coverage') lists "
            "what gradkit covers of the PyTorch and Keras APIs.")


def unsupported(qualname, kind="AttributeError"):
    """The exception to raise for ``qualname`` (as a PyTorch program spells it)."""
    cls = UnsupportedCall if kind == "NotImplementedError" else UnsupportedError
    return cls(message(qualname))


def module_getattr(module, torch_name, fallback=None):
    """A module-level ``__getattr__`` for gradkit ``module`` (PyTorch's ``torch_name``): after
    ``fallback(name)`` (lazy submodules), a missing name raises UnsupportedError. Private and
    dunder probes (pickle, doctest, pytest) get the plain error."""

    def __getattr__(name):
        if fallback is not None:
            found = fallback(name)
            if found is not None:
                return found
        if name.startswith("_"):
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        raise unsupported(f"{torch_name}.{name}")

    return __getattr__


class Refused:
    """A class attribute that raises UnsupportedError when read (``Tensor.pin_memory``): the
    message without a ``__getattr__`` on a hot class. ``hasattr`` is False."""

    def __init__(self, qualname):
        self.qualname = qualname

    def __get__(self, obj, owner=None):
        raise unsupported(self.qualname)


# PyTorch Tensor names that the corpus of benchmarks/api_coverage.py uses and gradkit lacks,
# plus the ones with an alternative above
TENSOR_NAMES = tuple(sorted({n.split(".", 1)[1] for n in ALTERNATIVES if n.startswith("Tensor.")} | set("""
    unique index_copy_ put solve qr indices dequantize coalesce to_sparse scatter_reduce real
    layout is_complex diff diagonal triu_ trace to_dense select new nelement masked_select logit
    index_put index_copy fill_diagonal_ atanh to_sparse_csr scatter_reduce_ resize_ resize
    random_ ndimension mH get_device diag crow_indices cross cholesky byte bfloat16 baddbmm addmm_
    addcmul_ addcdiv_ imag is_pinned is_shared record_stream""".split())))
