"""The functional form of every layer and loss: ``import gradkit.nn.functional as F``."""
from ...ops import (dropout, elu, gelu, leaky_relu, log_softmax, one_hot, pad, relu, sigmoid, silu,
                    softmax, softplus, tanh)
from .linear import bilinear, linear
from .loss import (binary_cross_entropy, binary_cross_entropy_with_logits, cosine_embedding_loss,
                   cross_entropy, huber_loss, kl_div, l1_loss, mse_loss, nll_loss, smooth_l1_loss)


def relu6(x):
    from ...ops import clamp
    return clamp(x, 0.0, 6.0)


def hardtanh(x, min_val=-1.0, max_val=1.0):
    from ...ops import clamp
    return clamp(x, min_val, max_val)


def logsigmoid(x):
    """ln σ(x) = -softplus(-x), stable for large |x|."""
    return -softplus(-x)


def softsign(x):
    from ...ops import abs as _abs
    return x / (_abs(x) + 1)


def glu(input, dim=-1):
    """Gated linear unit: a · σ(b), where a and b are the two halves of input along dim."""
    from ...ops import chunk
    if input.shape[dim] % 2:
        raise ValueError(f"glu: dim {dim} must have an even size to halve, got shape {input.shape}")
    a, b = chunk(input, 2, dim)
    return a * sigmoid(b)


def prelu(input, weight):
    """x if x > 0 else weight · x. A 1-D ``weight`` holds one slope per channel (dim 1, or the
    only dim), PyTorch's rule; any other shape broadcasts against the input as it is (Keras'
    alpha (H, W, C) for an input (N, H, W, C)). The slope at 0 is the weight, as in PyTorch."""
    from ...ops import where
    if weight.ndim == 1 and input.ndim >= 2 and weight.shape[0] > 1:
        weight = weight.reshape((weight.shape[0],) + (1,) * (input.ndim - 2))
    return where(input > 0, input, weight * input)


def _channel_dropout(x, p, training, spatial, op):
    """Zero whole channels: one draw per (sample, channel), shared by the ``spatial`` trailing
    dims, the kept ones scaled by 1/(1 - p) (dropout's mask, broadcast)."""
    from ...ops import ones
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: probability p must be between 0 and 1, got {p}")
    if x.ndim not in (spatial + 1, spatial + 2):
        raise ValueError(f"{op}: expected a {spatial + 2}-D input (N, C, ...) or a "
                         f"{spatial + 1}-D unbatched one (C, ...); got shape {tuple(x.shape)}")
    if not training or p == 0.0:
        return x
    mask_shape = tuple(x.shape[:x.ndim - spatial]) + (1,) * spatial
    return x * dropout(ones(*mask_shape, dtype=x.dtype), p, True)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, L) with probability ``p`` (Tompson et al., 2015)."""
    return _channel_dropout(input, p, training, 1, "dropout1d")


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels (feature maps) of (N, C, H, W) with probability ``p``."""
    return _channel_dropout(input, p, training, 2, "dropout2d")


def normalize(x, p=2.0, dim=1, eps=1e-12):
    """x / max(‖x‖_p, eps) along dim."""
    from ...ops import clamp, norm
    return x / clamp(norm(x, p, dim, keepdim=True), min=eps)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    from ...ops import clamp, sqrt
    num = (x1 * x2).sum(dim)
    den = sqrt(clamp((x1 * x1).sum(dim) * (x2 * x2).sum(dim), min=eps * eps))
    return num / den
from .attention import multi_head_attention_forward, scaled_dot_product_attention  # noqa: E402
from .normalization import batch_norm, group_norm, instance_norm, layer_norm, rms_norm  # noqa: E402
from .embedding import embedding  # noqa: E402
from .conv import conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d  # noqa: E402
from .pooling import (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_max_pool1d,  # noqa: E402
                      adaptive_max_pool2d, avg_pool1d, avg_pool2d, max_pool1d, max_pool2d)
from .rotary import apply_rotary_pos_emb  # noqa: E402
from .sampling import grid_sample, interpolate, upsample  # noqa: E402
from ... import _unsupported  # noqa: E402

# anything else: "gradkit does not support torch.nn.functional.X yet", and what to use instead
__getattr__ = _unsupported.module_getattr(__name__, "torch.nn.functional")
