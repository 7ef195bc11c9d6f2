"""Upsample: F.interpolate as a layer."""
from . import functional as F
from .module import Module


class Upsample(Module):
    """Resize (N, C, *spatial) by ``scale_factor`` or to ``size``; see F.interpolate for the
    modes. ``nn.Upsample(scale_factor=2, mode="nearest")``."""

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, input):
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             self.recompute_scale_factor)

    def extra_repr(self):
        what = f"scale_factor={self.scale_factor}" if self.size is None else f"size={self.size}"
        return f"{what}, mode={self.mode!r}"
