"""Layers whose weight stays quantized in memory: llama.cpp's block formats, dequantized block by
block inside the matrix product.

A weight matrix (out, in) is stored row by row in blocks of 32 weights; each block keeps a
float16 scale d (and, in Q4_1, a float16 minimum m) and one small integer q per weight:

    Q8_0   34 bytes / 32 weights   w = d · q          q ∈ [-127, 127]  (int8)
    Q4_0   18 bytes / 32 weights   w = d · (q - 8)    q ∈ [0, 15]      (two per byte)
    Q4_1   20 bytes / 32 weights   w = d · q + m      q ∈ [0, 15]      (two per byte)

(in a 4-bit block, byte j holds weight j in its low nibble and weight j + 16 in its high one).
Q4_1 takes 0.16 of float32's memory, Q8_0 0.27. This is QLoRA's idea (Dettmers et al., 2023): a
frozen base kept in 4 bits, the trainable LoRA matrices in float32 beside it. The product never
builds the whole float weight: ``x Wᵀ`` dequantizes a few hundred rows at a time (a few MB) and
multiplies them, so the float copy of a layer never exists at once. The base is frozen, so the
only gradient is the input's, dx = g W, computed the same way.

=== BlockQuantized (the formats)  QuantizedMatmul (the op)  QuantizedLinear  QuantizedEmbedding
    quantize_linears
"""
import numpy as np

from .. import _internal, ops
from ..autograd.function import Function
from .embedding import Embedding
from .linear import Linear
from .module import Module
from .utils import skip_init

__all__ = ["BlockQuantized", "QuantizedLinear", "QuantizedEmbedding", "FORMATS",
           "quantize_linears", "weight_bytes", "weight_count"]

BLOCK = 32  # weights per block, in every format here
FORMATS = {"Q8_0": 34, "Q4_0": 18, "Q4_1": 20}  # bytes per block
CHUNK_ELEMENTS = 1 << 18  # rows dequantized at once: ~1 MB of float32 (stays in cache)


# === BlockQuantized: the formats
class BlockQuantized:
    """A frozen float matrix of ``shape`` (rows, cols) kept as ``blocks``: uint8 (rows,
    cols / 32 · bytes per block), in llama.cpp's layout (so a GGUF tensor's data is used as is).

    >>> w = BlockQuantized.quantize(np.random.randn(64, 128), "Q4_1"); w.dequantize().shape
    (64, 128)
    """

    def __init__(self, blocks, qtype, shape):
        if qtype not in FORMATS:
            raise ValueError(f"BlockQuantized: unknown format {qtype!r}; supported: "
                             f"{', '.join(FORMATS)}")
        rows, cols = (int(s) for s in shape)
        if cols % BLOCK:
            raise ValueError(f"BlockQuantized: {cols} columns is not a multiple of the block size "
                             f"{BLOCK}")
        blocks = np.ascontiguousarray(blocks, dtype=np.uint8)
        if blocks.shape != (rows, cols // BLOCK * FORMATS[qtype]):
            raise ValueError(f"BlockQuantized: {qtype} blocks of shape {blocks.shape} do not hold "
                             f"a ({rows}, {cols}) matrix; expected "
                             f"{(rows, cols // BLOCK * FORMATS[qtype])}")
        self.blocks, self.qtype, self.shape = blocks, qtype, (rows, cols)

    dtype = np.dtype(np.float32)  # what dequantize gives by default
    ndim = 2

    @property
    def nbytes(self):
        return self.blocks.nbytes

    def numel(self):
        return self.shape[0] * self.shape[1]

    def __repr__(self):
        return f"BlockQuantized({self.qtype}, shape={self.shape}, {self.nbytes / 2**20:.1f} MiB)"

    # ---- decoding
    def dequantize(self, rows=slice(None), dtype=np.float32):
        """The float weights of ``rows`` (a slice or an index array): (n, cols) of ``dtype``."""
        b = self.blocks[rows]
        n = b.shape[0]
        b = b.reshape(n, -1, FORMATS[self.qtype])
        d = np.ascontiguousarray(b[..., 0:2]).view(np.float16).astype(dtype)  # (n, blocks, 1)
        if self.qtype == "Q8_0":
            w = b[..., 2:].view(np.int8).astype(dtype)
            w *= d
        else:
            qs = b[..., -16:]
            w = np.concatenate([qs & 0x0F, qs >> 4], axis=-1).astype(dtype)  # weights 0-15, 16-31
            if self.qtype == "Q4_0":
                w -= 8
                w *= d
            else:
                w *= d
                w += np.ascontiguousarray(b[..., 2:4]).view(np.float16).astype(dtype)  # m
        return w.reshape(n, self.shape[1])

    def chunks(self):
        """Row slices that dequantize to about CHUNK_ELEMENTS weights each."""
        step = max(1, CHUNK_ELEMENTS // self.shape[1])
        return [slice(r, min(r + step, self.shape[0])) for r in range(0, self.shape[0], step)]

    def matmul_t(self, x):
        """x Wᵀ: x (..., cols) -> (..., rows), dequantizing a chunk of rows at a time."""
        x2 = x.reshape(-1, self.shape[1])
        y = np.empty((x2.shape[0], self.shape[0]), dtype=x.dtype)
        for rows in self.chunks():
            y[:, rows] = x2 @ self.dequantize(rows, x.dtype).T
        return y.reshape(*x.shape[:-1], self.shape[0])

    def matmul(self, g):
        """g W: g (..., rows) -> (..., cols), the same way."""
        g2 = g.reshape(-1, self.shape[0])
        out = np.zeros((g2.shape[0], self.shape[1]), dtype=g.dtype)
        for rows in self.chunks():
            out += g2[:, rows] @ self.dequantize(rows, g.dtype)
        return out.reshape(*g.shape[:-1], self.shape[1])

    # ---- encoding (llama.cpp's reference quantizers)
    @classmethod
    def quantize(cls, w, qtype):
        """Quantize a float matrix (rows, cols), cols a multiple of 32, as llama.cpp's
        ``quantize_row_*_ref`` does."""
        w = np.asarray(w, dtype=np.float32)
        if w.ndim != 2:
            raise ValueError(f"BlockQuantized.quantize: expected a matrix, got shape {w.shape}")
        if qtype not in FORMATS:
            raise ValueError(f"BlockQuantized.quantize: unknown format {qtype!r}; supported: "
                             f"{', '.join(FORMATS)}")
        rows, cols = w.shape
        if cols % BLOCK:
            raise ValueError(f"BlockQuantized.quantize: {cols} columns is not a multiple of the "
                             f"block size {BLOCK}")
        x = w.reshape(rows, cols // BLOCK, BLOCK)
        if qtype == "Q8_0":
            d = np.abs(x).max(-1, keepdims=True) / 127
            q = np.round(x / np.where(d == 0, 1, d)).astype(np.int8).view(np.uint8)
            head = [d.astype(np.float16).view(np.uint8)]
        elif qtype == "Q4_0":
            # the value of largest magnitude maps to -8: d = max / -8
            i = np.abs(x).argmax(-1)[..., None]
            d = np.take_along_axis(x, i, -1) / -8
            inv = np.where(d == 0, 0, 1 / np.where(d == 0, 1, d))
            q = np.minimum(15, (x * inv + 8.5).astype(np.int8)).astype(np.uint8)
            head = [d.astype(np.float16).view(np.uint8)]
        else:  # Q4_1
            lo, hi = x.min(-1, keepdims=True), x.max(-1, keepdims=True)
            d = (hi - lo) / 15
            inv = np.where(d == 0, 0, 1 / np.where(d == 0, 1, d))
            q = np.minimum(15, ((x - lo) * inv + 0.5).astype(np.int8)).astype(np.uint8)
            head = [d.astype(np.float16).view(np.uint8), lo.astype(np.float16).view(np.uint8)]
        if qtype != "Q8_0":
            q = q[..., :16] | (q[..., 16:] << 4)
        blocks = np.concatenate(head + [q], axis=-1)
        return cls(blocks.reshape(rows, -1), qtype, (rows, cols))


# === QuantizedMatmul: the op. W is a constant (frozen), so x is the only input.
class QuantizedMatmul(Function):
    # y = x Wᵀ;  dy/dx: dx = g W  (the transposed product, itself differentiable)
    def forward(ctx, x, weight):
        ctx.weight = weight
        return weight.matmul_t(x)

    def backward(ctx, grad):
        return QuantizedMatmulT.apply(grad, weight=ctx.weight)


class QuantizedMatmulT(Function):
    # y = g W;  dy/dg: dg = y' Wᵀ
    def forward(ctx, g, weight):
        ctx.weight = weight
        return weight.matmul(g)

    def backward(ctx, grad):
        return QuantizedMatmul.apply(grad, weight=ctx.weight)


# === QuantizedLinear
class QuantizedLinear(Module):
    """y = x Wᵀ + b with W frozen in a block format (see the module docstring).

    x: (..., in_features) -> (..., out_features), computed in x's dtype. ``weight`` is the
    BlockQuantized matrix; it is not a Parameter (it is never trained), so ``parameters()`` and
    the state_dict hold only the bias, if any. LoRA wraps it like an nn.Linear.

    >>> layer = QuantizedLinear.from_linear(nn.Linear(128, 64), "Q4_1")
    """

    def __init__(self, weight, bias=None):
        super().__init__()
        if not isinstance(weight, BlockQuantized):
            raise TypeError(f"QuantizedLinear: weight must be a BlockQuantized, got "
                            f"{type(weight).__name__}; build one with "
                            "QuantizedLinear.from_linear(linear, 'Q4_1')")
        self.out_features, self.in_features = weight.shape
        self.weight = weight
        self.bias = bias

    @classmethod
    def from_linear(cls, linear, qtype="Q4_1"):
        """A quantized copy of an nn.Linear (its bias kept in float, and trainable as before)."""
        return cls(BlockQuantized.quantize(linear.weight.array, qtype), linear.bias)

    def dequantize(self):
        """An nn.Linear with the dequantized weight (float32) and the same bias."""
        layer = skip_init(Linear, self.in_features, self.out_features, bias=self.bias is not None)
        layer.weight.array = self.weight.dequantize()
        if self.bias is not None:
            layer.bias = self.bias
        return layer

    def forward(self, x):
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(f"QuantizedLinear(in_features={self.in_features}): input has "
                             f"{x.shape[-1] if x.ndim else 0} features (shape {x.shape}); the last "
                             f"dimension must be {self.in_features}")
        y = QuantizedMatmul.apply(x, weight=self.weight)
        return y if self.bias is None else y + self.bias

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"format={self.weight.qtype}, bias={self.bias is not None}")


# === QuantizedEmbedding
class QuantizedEmbedding(Module):
    """A frozen lookup table in a block format: ids (...) -> (..., embedding_dim) float32; only
    the rows looked up are dequantized. It carries no gradient (the table is frozen)."""

    def __init__(self, weight, padding_idx=None):
        super().__init__()
        if not isinstance(weight, BlockQuantized):
            raise TypeError(f"QuantizedEmbedding: weight must be a BlockQuantized, got "
                            f"{type(weight).__name__}")
        self.num_embeddings, self.embedding_dim = weight.shape
        self.weight = weight
        self.padding_idx = padding_idx

    def dequantize(self):
        """An nn.Embedding with the dequantized table."""
        layer = skip_init(Embedding, self.num_embeddings, self.embedding_dim,
                          padding_idx=self.padding_idx)
        layer.weight.array = self.weight.dequantize()
        return layer

    def forward(self, input):
        ids = _internal.as_array(input)
        if ids.dtype.kind not in "iu":
            raise TypeError(f"QuantizedEmbedding: expected integer ids, got {ids.dtype}")
        if ids.size and (ids.min() < 0 or ids.max() >= self.num_embeddings):
            bad = int(ids.min() if ids.min() < 0 else ids.max())
            raise IndexError(f"QuantizedEmbedding: index {bad} out of range for "
                             f"{self.num_embeddings} embeddings")
        rows = self.weight.dequantize(ids.reshape(-1))
        return ops.from_numpy(rows.reshape(*ids.shape, self.embedding_dim))

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}, format={self.weight.qtype}"


# === quantize_linears
def quantize_linears(model, qtype="Q4_1", skip=("lm_head",)):
    """Replace, in place, every nn.Linear of ``model`` whose in_features is a multiple of 32 by a
    QuantizedLinear in ``qtype``, except those whose name ends with one of ``skip``: a float
    model (a Hugging Face folder) made a quantized base for LoRA. Returns the model."""
    for name, m in list(model.named_modules()):
        if type(m) is Linear and m.in_features % BLOCK == 0 and not name.endswith(tuple(skip)):
            model.set_submodule(name, QuantizedLinear.from_linear(m, qtype))
    return model


# === what a model's weights occupy
def _quantized_weights(model):
    """Each BlockQuantized weight of ``model`` once (a tied embedding and head share theirs)."""
    return {id(w): w for w in (getattr(m, "weight", None) for m in model.modules())
            if isinstance(w, BlockQuantized)}.values()


def weight_count(model):
    """How many weights ``model`` has: its parameters plus the quantized weights' elements."""
    return (sum(p.numel() for p in model.parameters())
            + sum(w.numel() for w in _quantized_weights(model)))


def weight_bytes(model):
    """Bytes ``model``'s weights occupy in memory: its parameters (float or not) plus each
    quantized weight's blocks (scales included), each counted once."""
    return (sum(p.array.nbytes for p in model.parameters())
            + sum(w.nbytes for w in _quantized_weights(model)))
