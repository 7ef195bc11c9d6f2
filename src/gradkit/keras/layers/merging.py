"""Merging layers: one output from a list of inputs of the same shape. Add, Subtract,
Multiply, Average, Maximum, Minimum (element-wise), Concatenate (along an axis), Dot (a batch of
dot products).

The element-wise ones give a mask where every masked input's mask is True (Keras' merge rule);
Concatenate joins the masks; Dot's output has none.
"""
import numpy as np

from ... import ops
from ...nn import functional as F
from ...tensor import Tensor
from .base import Layer
from .masks import mask_array

__all__ = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot"]


class _Merge(Layer):
    """A list of inputs -> one, by ``_merge(inputs)``; the masks are AND-ed."""

    def _check_inputs(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError(f"A merge layer ({type(self).__name__}) should be called on a list "
                             f"of at least 2 inputs; got {type(inputs).__name__}"
                             f"{'' if not isinstance(inputs, (list, tuple)) else f' of {len(inputs)}'}")

    def call(self, inputs):
        return self._merge(list(inputs))

    def compute_mask(self, inputs, mask=None):
        masks = [mask_array(m) for m in (mask or []) if m is not None]
        if not masks:
            return None
        return Tensor(np.logical_and.reduce(np.broadcast_arrays(*masks)))


class Add(_Merge):
    """The element-wise sum of a list of inputs of the same shape (residual connections). Its
    mask: a step counts where it counts in every masked input (Keras' merge rule)."""

    def _merge(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out


class Subtract(_Merge):
    """inputs[0] - inputs[1], for exactly two inputs."""

    def _check_inputs(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError("A `Subtract` layer should be called on exactly 2 inputs; got "
                             f"{len(inputs) if isinstance(inputs, (list, tuple)) else 1}")

    def _merge(self, inputs):
        return inputs[0] - inputs[1]


class Multiply(_Merge):
    """The element-wise product of a list of inputs (gating)."""

    def _merge(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out * x
        return out


class Average(Add):
    """The element-wise mean of a list of inputs (ensembles)."""

    def _merge(self, inputs):
        return super()._merge(inputs) / len(inputs)


class Maximum(_Merge):
    """The element-wise maximum of a list of inputs."""

    def _merge(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = ops.maximum(out, x)
        return out


class Minimum(_Merge):
    """The element-wise minimum of a list of inputs."""

    def _merge(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = ops.minimum(out, x)
        return out


class Concatenate(Layer):
    """Joins a list of inputs along ``axis`` (default -1, the features)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs):
        return ops.cat(list(inputs), dim=self.axis)

    def compute_mask(self, inputs, mask=None):
        """Keras' rule: the masks (all-True for an unmasked input, a time-step mask widened to
        its input's shape) joined along ``axis``, then a position counts if any of its last
        axis does."""
        if mask is None or all(m is None for m in mask):
            return None
        parts = []
        for x, m in zip(inputs, mask):
            shape = tuple(x.shape)
            m = np.ones(shape, bool) if m is None else mask_array(m)
            parts.append(np.broadcast_to(m[..., None], shape) if m.ndim < len(shape) else m)
        return Tensor(np.concatenate(parts, axis=self.axis).any(axis=-1))

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


class Dot(Layer):
    """The dot products of two batches along ``axes`` (an int for both, or one per input; the
    batch axis is never one), Keras' ``batch_dot``: (N, d) · (N, d) -> (N, 1),
    (N, T, d) · (N, S, d) with ``axes=2`` -> (N, T, S). ``normalize=True`` L2-normalises both
    along their axes first, giving cosine similarities. Defaults: ``normalize=False``.

    >>> Dot(axes=1)([a, b])          # (N, d), (N, d) -> (N, 1)
    """

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axes, (int, np.integer)) and not (
                isinstance(axes, (list, tuple)) and len(axes) == 2):
            raise ValueError(f"Dot: axes must be an int or a list of 2 ints, got {axes!r}")
        self.axes = int(axes) if isinstance(axes, (int, np.integer)) else [int(a) for a in axes]
        self.normalize = bool(normalize)

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError("A `Dot` layer should be called on a list of 2 inputs")
        x, y = inputs
        ax, ay = (self.axes, self.axes) if isinstance(self.axes, int) else self.axes
        ax, ay = ax % x.ndim, ay % y.ndim
        if ax == 0 or ay == 0:
            raise ValueError(f"Dot: the batch axis cannot be reduced; got axes={self.axes}")
        if x.shape[ax] != y.shape[ay]:
            raise ValueError(f"Dot: incompatible input shapes {tuple(x.shape)} and "
                             f"{tuple(y.shape)} along axes ({ax}, {ay})")
        if self.normalize:   # x / sqrt(max(Σx², 1e-12)), Keras' l2_normalize
            x, y = F.normalize(x, 2.0, ax, eps=1e-6), F.normalize(y, 2.0, ay, eps=1e-6)
        xs = ["a"] + [chr(ord("b") + i) for i in range(x.ndim - 1)]
        ys = ["a"] + [chr(ord("n") + i) for i in range(y.ndim - 1)]
        ys[ay] = xs[ax]
        out = [s for i, s in enumerate(xs) if i != ax] + \
              [s for i, s in enumerate(ys) if i not in (0, ay)]
        z = ops.einsum(f"{''.join(xs)},{''.join(ys)}->{''.join(out)}", x, y)
        return z.reshape(-1, 1) if z.ndim == 1 else z

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        config = super().get_config()
        config.update(axes=self.axes, normalize=self.normalize)
        return config
