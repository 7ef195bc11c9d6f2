"""FusedLinears: several Linear layers that read the same input, run as one matrix product.

Used by the attention projections (q, k, v) and Llama's gate/up pair at inference.
"""
import numpy as np

from .. import nn, ops
from ..autograd import grad_mode
from ..nn import functional as F


class FusedLinears:
    """Several Linear layers that read the same input, computed as one GEMM at inference.

    ``fuse()`` moves the layers' weights into one buffer (out₁ + out₂ + ..., in) and leaves each
    weight a view of its rows: no extra memory, and the Parameters stay what the state_dict,
    optimizers and adapters see. One matrix-vector product over the whole buffer reads the
    weights as fast as the memory allows; three small ones lose ~20% of that (measured: 26.5
    -> 22 ms of GEMVs per SmolLM2 token). ``__call__`` returns None, and the caller uses the
    layers one by one, whenever the fused form would not give the same result and gradients:
    not fused yet, a weight replaced or retyped since, a layer wrapped (e.g. by LoRA), or
    gradients wanted for the weights. Not a Module: it owns no parameters. It names the layers
    by their attributes on ``owner`` and looks them up at each call, so a layer replaced in the
    model (an adapter wrapping it) is seen at once.

    >>> self.qkv = FusedLinears(self, "q_proj", "k_proj", "v_proj")
    """

    def __init__(self, owner, *names):
        self.owner, self.names = owner, names
        self.weight = self.bias = None

    @property
    def linears(self):
        return [getattr(self.owner, name) for name in self.names]

    def fuse(self):
        ls = self.linears
        if not all(type(l) is nn.Linear for l in ls):
            return
        self.weight = np.concatenate([l.weight.array for l in ls])
        self.bias = (np.concatenate([l.bias.array for l in ls])
                     if ls[0].bias is not None else None)
        start = 0
        for l in ls:
            n = l.weight.shape[0]
            l.weight.array = self.weight[start:start + n]
            if self.bias is not None:
                l.bias.array = self.bias[start:start + n]
            start += n

    def __call__(self, x):
        w = self.weight
        if w is None:
            return None
        for l in self.linears:
            if type(l) is not nn.Linear or l.weight.array.base is not w:
                return None
            if l.weight.requires_grad and grad_mode.is_grad_enabled():
                return None
        return F.linear(x, ops.from_numpy(w),
                        None if self.bias is None else ops.from_numpy(self.bias))
