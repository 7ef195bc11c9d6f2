"""Pooling layers: MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool1d/2d, AdaptiveMaxPool1d/2d.

No parameters (empty state_dict, as in PyTorch); each forward is one call into
``nn.functional``. Arguments, defaults and ``repr`` are PyTorch's.
"""
from . import functional as F
from .module import Module

__all__ = ["MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d",
           "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d"]


class _Pool(Module):
    _dims = 2

    def _check_input(self, x):
        n = self._dims
        if x.ndim in (n + 1, n + 2):
            return
        sp = "L" if n == 1 else "H, W"
        hint = ""
        if x.ndim == n:
            hint = "; add the channel dimension: x.unsqueeze(0)"
        raise ValueError(f"{type(self).__name__}({self.extra_repr()}): expected input of shape "
                         f"(N, C, {sp}) or unbatched (C, {sp}), got {tuple(x.shape)} "
                         f"({x.ndim}-D){hint}")


class _MaxPoolNd(_Pool):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """The maximum of each window: (N, C, L) or (C, L) -> (N, C, L_out). stride defaults to
    kernel_size; padding is -inf. See F.max_pool1d."""

    _dims = 1

    def forward(self, input):
        self._check_input(input)
        return F.max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class MaxPool2d(_MaxPoolNd):
    """The maximum of each (kh, kw) window: (N, C, H, W) or (C, H, W) -> (N, C, H_out, W_out),
    H_out = ⌊(H + 2·padding - dilation·(kh-1) - 1) / stride⌋ + 1 (⌈⌉ with ceil_mode). stride
    defaults to kernel_size. The gradient flows to each window's (first) maximum only.

    >>> nn.MaxPool2d(2)(gk.randn(64, 32, 28, 28)).shape
    (64, 32, 14, 14)
    """

    def forward(self, input):
        self._check_input(input)
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class _AvgPoolNd(_Pool):
    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    """The mean of each window: (N, C, L) or (C, L) -> (N, C, L_out). See F.avg_pool1d."""

    _dims = 1

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__()
        self.kernel_size = _one(kernel_size)
        self.stride = _one(stride if stride is not None else kernel_size)
        self.padding = _one(padding)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input):
        self._check_input(input)
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)


class AvgPool2d(_AvgPoolNd):
    """The mean of each window: (N, C, H, W) or (C, H, W) -> (N, C, H_out, W_out). stride
    defaults to kernel_size; the divisor counts the zero padding (count_include_pad=True) or
    not, or is divisor_override. See F.avg_pool2d."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input):
        self._check_input(input)
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)


def _one(v):
    """AvgPool1d stores its settings as 1-tuples, as PyTorch does."""
    return tuple(v) if isinstance(v, (tuple, list)) else (v,)


class _AdaptivePool(_Pool):
    def __init__(self, output_size, return_indices=False):
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptivePool):
    """(N, C, L) or (C, L) -> (N, C, output_size), windows chosen to tile L. See
    F.adaptive_avg_pool2d."""

    _dims = 1

    def __init__(self, output_size):
        super().__init__(output_size)

    def forward(self, input):
        self._check_input(input)
        return F.adaptive_avg_pool1d(input, self.output_size)


class AdaptiveAvgPool2d(_AdaptivePool):
    """(N, C, H, W) or (C, H, W) -> (N, C, *output_size): the mean over window i of
    [⌊i·H/out⌋, ⌈(i+1)·H/out⌉) per axis. AdaptiveAvgPool2d(1) is global average pooling;
    None in output_size keeps that input size."""

    def __init__(self, output_size):
        super().__init__(output_size)

    def forward(self, input):
        self._check_input(input)
        return F.adaptive_avg_pool2d(input, self.output_size)


class AdaptiveMaxPool1d(_AdaptivePool):
    """(N, C, L) or (C, L) -> (N, C, output_size): the maximum over adaptive windows."""

    _dims = 1

    def forward(self, input):
        self._check_input(input)
        return F.adaptive_max_pool1d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool2d(_AdaptivePool):
    """(N, C, H, W) or (C, H, W) -> (N, C, *output_size): the maximum over adaptive windows."""

    def forward(self, input):
        self._check_input(input)
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)
