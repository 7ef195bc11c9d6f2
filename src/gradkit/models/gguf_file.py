"""Reading a GGUF file (llama.cpp's format) with the ``gguf`` package, llama.cpp's own reader.

A GGUF file is a header of typed key/value metadata (architecture, sizes, the tokenizer's
vocabulary and merges, the chat template) followed by tensors, each stored whole or quantized in
blocks (Q4_1: 32 weights share a float16 scale d and minimum m, each weight is 4 bits q, w = d·q +
m). ``gguf.GGUFReader`` memory-maps the file, so a tensor is read only when it is dequantized:
loading tensor by tensor keeps peak memory near the float32 model's size.

=== open_gguf  read_metadata  iter_tensors  dequantize
"""
import os

import numpy as np

from .._install import pip_install

# Types that gguf.quants.dequantize turns into float32 on NumPy.
SUPPORTED_TYPES = ("F32", "F16", "BF16", "F64", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K",
                   "Q3_K", "Q4_K", "Q5_K", "Q6_K")


def _require_gguf(who):
    try:
        import gguf
    except ImportError:
        raise ImportError(f"{who}: reading GGUF files needs the gguf package (llama.cpp's reader): "
                          f"{pip_install('llm')}") from None
    return gguf


# === open_gguf
def open_gguf(path, who="from_pretrained"):
    """A ``gguf.GGUFReader`` over ``path`` (memory-mapped), with errors that name the file."""
    gguf = _require_gguf(who)
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{who}: no such GGUF file: {path!r}")
    try:
        return gguf.GGUFReader(path, "r")
    except Exception as e:  # the reader raises ValueError/IndexError/struct.error on a cut file
        raise ValueError(f"{who}: {path!r} cannot be read as GGUF: it is truncated or corrupted "
                         f"({type(e).__name__}: {e}); re-download it") from None


# === read_metadata
def read_metadata(reader):
    """Every metadata field as a plain Python value (str, int, float, bool, or list of them)."""
    out = {}
    for key, field in reader.fields.items():
        if key.startswith("GGUF."):
            continue
        out[key] = field.contents()
    return out


# === iter_tensors / dequantize
def dequantize(tensor, who="from_pretrained", path=""):
    """The tensor as a float32 array in PyTorch's (row-major) shape: GGUF lists dims fastest first,
    so a weight stored as [in, out] reads as (out, in)."""
    gguf = _require_gguf(who)
    qtype = tensor.tensor_type
    if qtype.name not in SUPPORTED_TYPES:
        raise ValueError(f"{who}: {path}: tensor {tensor.name!r} is stored as {qtype.name}, which "
                         f"gradkit cannot dequantize; supported: {', '.join(SUPPORTED_TYPES)}. "
                         "Use a GGUF file quantized to one of these (e.g. Q4_K_M, Q8_0 or F16)")
    try:
        arr = gguf.quants.dequantize(tensor.data, qtype)
    except Exception as e:
        raise ValueError(f"{who}: {path}: tensor {tensor.name!r} ({qtype.name}) cannot be read: "
                         f"the file is truncated or corrupted ({type(e).__name__}: {e})") from None
    shape = tuple(int(d) for d in reversed(tensor.shape))
    arr = arr.reshape(shape)
    if not arr.flags.writeable or arr.dtype != np.float32:
        # an F32 tensor comes back as a read-only view of the memory-mapped file: a model's
        # weights must be its own (an optimizer updates them in place)
        return np.array(arr, dtype=np.float32, order="C")
    return np.ascontiguousarray(arr)


def iter_tensors(reader, who="from_pretrained", path=""):
    """Yield ``(gguf_name, float32 array)`` one tensor at a time."""
    for tensor in reader.tensors:
        yield tensor.name, dequantize(tensor, who, path)
