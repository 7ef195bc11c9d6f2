"""Convolution layers: Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d (PyTorch's names,
arguments, state_dict keys ``weight``/``bias`` and default initialisation).

Weights: Conv (out_channels, in_channels/groups, *kernel_size); ConvTranspose (in_channels,
out_channels/groups, *kernel_size). Both start from kaiming_uniform_(a=√5), i.e.
U(-1/√fan_in, 1/√fan_in) with fan_in = weight.shape[1]·prod(kernel_size), and so does the bias.
"""
import math

from .. import ops
from . import functional as F
from . import init
from .module import Module, Parameter

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ntuple(v, n):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


class _ConvNd(Module):
    _dims = 2

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 transposed, output_padding, groups, bias, padding_mode, device=None,
                 dtype=None):
        super().__init__()
        name, n = type(self).__name__, self._dims
        if groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups}")
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) must be divisible by groups "
                             f"({groups})")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels ({out_channels}) must be divisible by groups "
                             f"({groups})")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: invalid padding string {padding!r}, should be one of "
                                 "{'valid', 'same'}")
            if padding == "same" and any(s != 1 for s in _ntuple(stride, n)):
                raise ValueError(f"{name}: padding='same' is not supported for strided "
                                 "convolutions")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {_PADDING_MODES}, got "
                             f"{padding_mode!r}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _ntuple(kernel_size, n)
        self.stride = _ntuple(stride, n)
        self.padding = padding if isinstance(padding, str) else _ntuple(padding, n)
        self.dilation = _ntuple(dilation, n)
        self.transposed = transposed
        self.output_padding = _ntuple(output_padding, n)
        self.groups = groups
        self.padding_mode = padding_mode
        if transposed:
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:
            shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(ops.empty(*shape, dtype=dtype))
        if bias:
            self.bias = Parameter(ops.empty(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        # U(-1/√fan_in, 1/√fan_in) for weight and bias, fan_in = weight.shape[1]·prod(kernel)
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    # ---- input checking: the layer's settings, the expected and the actual shape
    def _desc(self):
        s = (f"{type(self).__name__}(in_channels={self.in_channels}, out_channels="
             f"{self.out_channels}, kernel_size={self.kernel_size}")
        if self.stride != (1,) * self._dims:
            s += f", stride={self.stride}"
        if self.padding != (0,) * self._dims:
            s += f", padding={self.padding!r}" if isinstance(self.padding, str) else \
                f", padding={self.padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        return s + ")"

    def _check_input(self, x):
        n, C = self._dims, self.in_channels
        sp = {1: "L", 2: "H, W", 3: "D, H, W"}[n]
        want = f"(N, {C}, {sp}) or unbatched ({C}, {sp})"
        bad = None
        if x.ndim not in (n + 1, n + 2):
            bad = f"{x.ndim}-D"
        elif x.shape[-n - 1] != C:
            k = x.shape[-n - 1]
            bad = f"{k} channel{'s' if k != 1 else ''} at dim {x.ndim - n - 1}"
        if bad is None:
            if x.dtype != self.weight.dtype:
                raise TypeError(f"{self._desc()}: expected input of dtype {self.weight.dtype}, "
                                f"got {x.dtype}; convert the input (x.to({self.weight.dtype})) "
                                f"or the model (model.to({x.dtype}))")
            return
        hint = ""
        if x.ndim == n + 1 and C == 1:
            hint = "; for a batch of one-channel inputs add the channel dimension: x.unsqueeze(1)"
        elif x.ndim == n + 2 and n == 2 and x.shape[-1] == C:
            hint = "; channels-last input? convert to (N, C, H, W) with x.permute(0, 3, 1, 2)"
        elif x.ndim == n + 2 and n == 1 and x.shape[-1] == C:
            hint = "; (N, L, C) input? convert to (N, C, L) with x.transpose(1, 2)"
        raise ValueError(f"{self._desc()}: expected input of shape {want}, got "
                         f"{tuple(x.shape)} ({bad}){hint}")

    def _padded(self, x):
        """Non-zero padding modes: pad with F.pad first and convolve without padding."""
        if self.padding_mode == "zeros":
            return x, self.padding
        rev = []
        for i in reversed(range(self._dims)):
            if self.padding == "same":
                total = self.dilation[i] * (self.kernel_size[i] - 1)
                rev += [total // 2, total - total // 2]
            elif self.padding == "valid":
                rev += [0, 0]
            else:
                rev += [self.padding[i]] * 2
        return F.pad(x, rev, mode=self.padding_mode), 0

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * self._dims:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._dims:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._dims:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    """1-D convolution over (N, C_in, L) -> (N, C_out, L_out); see Conv2d."""

    _dims = 1

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         False, 0, groups, bias, padding_mode, device, dtype)

    def forward(self, input):
        self._check_input(input)
        x, padding = self._padded(input)
        return F.conv1d(x, self.weight, self.bias, self.stride, padding, self.dilation,
                        self.groups)


class Conv2d(_ConvNd):
    """2-D convolution (cross-correlation): y = b + Σ_c w ⋆ x over each group's channels.

    input: (N, C_in, H, W) or (C_in, H, W) -> (N, C_out, H_out, W_out),
    H_out = ⌊(H + 2·padding - dilation·(kh-1) - 1) / stride⌋ + 1. padding: int, pair, 'valid' or
    'same' (stride 1). weight: (C_out, C_in/groups, kh, kw), bias: (C_out,).

    >>> conv = nn.Conv2d(1, 32, 3, padding=1); conv(gk.randn(64, 1, 28, 28)).shape
    (64, 32, 28, 28)
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         False, 0, groups, bias, padding_mode, device, dtype)

    def forward(self, input):
        self._check_input(input)
        x, padding = self._padded(input)
        return F.conv2d(x, self.weight, self.bias, self.stride, padding, self.dilation,
                        self.groups)


class Conv3d(_ConvNd):
    """3-D convolution over volumes: (N, C_in, D, H, W) -> (N, C_out, D_out, H_out, W_out);
    weight (C_out, C_in/groups, kd, kh, kw). See Conv2d."""

    _dims = 3

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         False, 0, groups, bias, padding_mode, device, dtype)

    def forward(self, input):
        self._check_input(input)
        x, padding = self._padded(input)
        return F.conv3d(x, self.weight, self.bias, self.stride, padding, self.dilation,
                        self.groups)


class _ConvTransposeNd(_ConvNd):
    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, output_padding,
                 groups, bias, dilation, padding_mode, device, dtype):
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        if isinstance(padding, str):  # PyTorch accepts it here and fails in forward
            raise TypeError(f"{type(self).__name__}: padding must be an int or a tuple "
                            f"('same'/'valid' exist for Conv only), got {padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         True, output_padding, groups, bias, padding_mode, device, dtype)

    def _output_padding(self, input, output_size):
        """output_padding from a requested output size (PyTorch's forward(x, output_size))."""
        if output_size is None:
            return self.output_padding
        n = self._dims
        output_size = tuple(int(s) for s in output_size)[-n:]
        if len(output_size) != n:
            raise ValueError(f"{self._desc()}: output_size must have {n} or {n + 2} elements, "
                             f"got {output_size}")
        ret = []
        for i in range(n):
            size = input.shape[input.ndim - n + i]
            lo = ((size - 1) * self.stride[i] - 2 * self.padding[i]
                  + self.dilation[i] * (self.kernel_size[i] - 1) + 1)
            hi = lo + self.stride[i] - 1
            if not lo <= output_size[i] <= hi:
                raise ValueError(f"{self._desc()}: requested an output size of {output_size}, "
                                 f"but valid sizes for dim {i} range from {lo} to {hi} (for an "
                                 f"input of {tuple(input.shape)})")
            ret.append(output_size[i] - lo)
        return tuple(ret)


class ConvTranspose1d(_ConvTransposeNd):
    """Transposed 1-D convolution: (N, C_in, L) -> (N, C_out, L_out); see ConvTranspose2d."""

    _dims = 1

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, output_padding,
                         groups, bias, dilation, padding_mode, device, dtype)

    def forward(self, input, output_size=None):
        self._check_input(input)
        return F.conv_transpose1d(input, self.weight, self.bias, self.stride, self.padding,
                                  self._output_padding(input, output_size), self.groups,
                                  self.dilation)


class ConvTranspose2d(_ConvTransposeNd):
    """Transposed 2-D convolution (the gradient of Conv2d w.r.t. its input; upsampling).

    input: (N, C_in, H, W) or (C_in, H, W) -> (N, C_out, H_out, W_out), H_out = (H-1)·stride -
    2·padding + dilation·(kh-1) + output_padding + 1. weight: (C_in, C_out/groups, kh, kw).
    forward(input, output_size=None): output_size picks output_padding, as in PyTorch.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, output_padding,
                         groups, bias, dilation, padding_mode, device, dtype)

    def forward(self, input, output_size=None):
        self._check_input(input)
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                  self._output_padding(input, output_size), self.groups,
                                  self.dilation)


__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d"]
