"""Normalization layers: BatchNorm1d/2d/3d, LayerNorm, RMSNorm, GroupNorm, InstanceNorm1d/2d.

Each is a thin Module over ``nn.functional`` (where the formulas are); the parameters are
``weight`` (γ, ones) and ``bias`` (β, zeros), and BatchNorm's buffers ``running_mean``,
``running_var`` and ``num_batches_tracked``: PyTorch's names, so state_dicts move between the two.
"""
import numpy as np

from .. import _internal, ops
from . import functional as F
from . import init
from .functional.normalization import _normalized_shape
from .module import Module, Parameter


# === the affine part shared by every norm: γ (weight, ones) and β (bias, zeros) ==========
def _affine_parameters(module, shape, affine, bias, dtype):
    """Register ``weight`` and ``bias`` of ``shape`` (or None where not wanted), PyTorch's way."""
    if affine:
        module.weight = Parameter(ops.empty(shape, dtype=dtype))
        if bias:
            module.bias = Parameter(ops.empty(shape, dtype=dtype))
        else:
            module.register_parameter("bias", None)
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)


def _reset_affine(module):
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)


# === BatchNorm ===============================================================
class _BatchNorm(Module):
    """Shared by BatchNorm1d/2d/3d, which differ only in the input ranks they accept."""

    _ranks = ()
    _shapes = ""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        _affine_parameters(self, num_features, affine, bias, dtype)
        if track_running_stats:
            self.register_buffer("running_mean", ops.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", ops.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", _internal.wrap(np.array(0, np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean.array[...] = 0
            self.running_var.array[...] = 1
            self.num_batches_tracked.array[...] = 0
            for b in (self.running_mean, self.running_var, self.num_batches_tracked):
                _internal.bump_version(b)

    def reset_parameters(self):
        self.reset_running_stats()
        _reset_affine(self)

    def _check_input(self, x):
        if x.ndim not in self._ranks:
            raise ValueError(f"{type(self).__name__}({self.num_features}): expected "
                             f"{self._shapes} input, got {x.ndim}-D input of shape {x.shape}")
        if x.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}({self.num_features}): input has "
                             f"{x.shape[1]} channels (shape {x.shape}); dimension 1 must be "
                             f"num_features={self.num_features}")

    def forward(self, x):
        self._check_input(x)
        # PyTorch's rule: momentum=None means a cumulative moving average, factor 1/batches seen
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.array += 1
            _internal.bump_version(self.num_batches_tracked)
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked.array)
        # batch statistics in training, and in eval when there are no running statistics
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        track = not self.training or self.track_running_stats
        return F.batch_norm(x, self.running_mean if track else None,
                            self.running_var if track else None, self.weight, self.bias,
                            use_batch, factor, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization over (N, C) or (N, C, L) inputs: per channel, over N (and L).

    Training mode normalizes with the batch's statistics and updates ``running_mean`` and
    ``running_var``; eval mode uses those. momentum: weight of the new batch in the running
    average (default 0.1; None = cumulative average). A training batch needs more than one
    value per channel (use ``drop_last=True`` in the DataLoader).
    """

    _ranks = (2, 3)
    _shapes = "2-D (N, C) or 3-D (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalization over (N, C, H, W) inputs: per channel, over N, H and W.
    See BatchNorm1d for the modes and the running statistics."""

    _ranks = (4,)
    _shapes = "4-D (N, C, H, W)"


class BatchNorm3d(_BatchNorm):
    """Batch normalization over (N, C, D, H, W) inputs. See BatchNorm1d."""

    _ranks = (5,)
    _shapes = "5-D (N, C, D, H, W)"


# === LayerNorm, RMSNorm ======================================================
class LayerNorm(Module):
    """Normalize over the last dims given by ``normalized_shape`` (an int or a tuple).

    x: (*, normalized_shape) -> same shape. weight (ones) and bias (zeros) of shape
    normalized_shape when ``elementwise_affine`` (bias only if ``bias=True``).

    >>> ln = nn.LayerNorm(512); y = ln(gk.randn(8, 20, 512))
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        super().__init__()
        self.normalized_shape = _normalized_shape(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        _affine_parameters(self, self.normalized_shape, elementwise_affine, bias, dtype)
        self.reset_parameters()

    def reset_parameters(self):
        _reset_affine(self)

    def forward(self, x):
        _check_trailing(self, x, self.normalized_shape)
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class RMSNorm(Module):
    """y = x / √(mean(x²) + ε) · weight over the last dims given by ``normalized_shape``.

    ``eps=None`` (default) uses the machine epsilon of the input's dtype, as PyTorch.
    """

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None,
                 dtype=None):
        super().__init__()
        self.normalized_shape = _normalized_shape(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(ops.empty(self.normalized_shape, dtype=dtype))
        else:
            self.register_parameter("weight", None)
        self.reset_parameters()

    def reset_parameters(self):
        if self.elementwise_affine:
            init.ones_(self.weight)

    def forward(self, x):
        _check_trailing(self, x, self.normalized_shape)
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


def _check_trailing(layer, x, shape):
    k = len(shape)
    if x.ndim < k or tuple(x.shape[-k:]) != shape:
        raise ValueError(f"{type(layer).__name__}({shape}): expected an input whose last "
                         f"{k} dimension(s) are {shape}, got shape {x.shape}")


# === GroupNorm, InstanceNorm =================================================
class GroupNorm(Module):
    """Split the C channels into ``num_groups`` groups and normalize each group of each sample.

    x: (N, C, *) -> same shape. weight (ones), bias (zeros): (C,) when ``affine``.
    """

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None,
                 *, bias=True):
        super().__init__()
        if num_groups <= 0 or num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                             f"num_groups ({num_groups})")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        _affine_parameters(self, num_channels, affine, bias, dtype)
        self.reset_parameters()

    def reset_parameters(self):
        _reset_affine(self)

    def forward(self, x):
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(f"GroupNorm({self.num_groups}, {self.num_channels}): expected an "
                             f"input of shape (N, {self.num_channels}, *), got {x.shape}")
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class _InstanceNorm(_BatchNorm):
    """Per-sample, per-channel normalization over the spatial axes. PyTorch's defaults differ
    from BatchNorm's: ``affine=False``, ``track_running_stats=False``."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False,
                 track_running_stats=False, device=None, dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype,
                         bias=bias)

    def forward(self, x):
        batched = x.ndim == self._ranks[-1]
        if x.ndim not in self._ranks:
            raise ValueError(f"{type(self).__name__}({self.num_features}): expected "
                             f"{self._shapes} input, got {x.ndim}-D input of shape {x.shape}")
        if not batched:
            x = ops.unsqueeze(x, 0)
        if x.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}({self.num_features}): input has "
                             f"{x.shape[1]} channels (shape {x.shape}); dimension 1 must be "
                             f"num_features={self.num_features}")
        factor = 0.0 if self.momentum is None else self.momentum  # as PyTorch's InstanceNorm
        use_input_stats = self.training or not self.track_running_stats
        y = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            use_input_stats, factor, self.eps)
        return y if batched else ops.squeeze(y, 0)


class InstanceNorm1d(_InstanceNorm):
    """Instance normalization over (N, C, L) or unbatched (C, L) inputs."""

    _ranks = (2, 3)
    _shapes = "2-D (C, L) or 3-D (N, C, L)"


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization over (N, C, H, W) or unbatched (C, H, W) inputs."""

    _ranks = (3, 4)
    _shapes = "3-D (C, H, W) or 4-D (N, C, H, W)"

