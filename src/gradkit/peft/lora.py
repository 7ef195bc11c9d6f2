"""LoraLinear: a frozen ``nn.Linear`` plus a trainable low-rank update (Hu et al., 2021).

    y = base(x) + dropout(x) Aᵀ Bᵀ · s          s = lora_alpha / r   (lora_alpha / √r: rsLoRA)

A: (r, in_features), B: (out_features, r), so the update ΔW = B A · s has rank ≤ r and costs
r (in + out) parameters instead of in · out. B starts at zero: a fresh adapter is the identity
(the model's outputs do not change), and training moves it away from there. ``merge()`` adds
ΔW into the base weight (inference then costs nothing extra), ``unmerge()`` subtracts it again.

The module tree is PEFT's (``base_layer``, ``lora_A.default``, ``lora_B.default``), so the
state_dict keys are PEFT's: ``q_proj.base_layer.weight``, ``q_proj.lora_A.default.weight``.
"""
import math
import warnings

import numpy as np

from .. import nn
from ..autograd import grad_mode
from ..nn import init

__all__ = ["LoraLinear", "BASE_TYPES"]

# the layers LoRA wraps: a float Linear, or one whose frozen weight stays quantized (QLoRA)
BASE_TYPES = (nn.Linear, nn.QuantizedLinear)


class LoraLinear(nn.Module):
    """``base_layer`` (an nn.Linear, frozen by get_peft_model, or an nn.QuantizedLinear) with a
    LoRA update.

    x: (..., in_features) -> (..., out_features), as the base layer. ``r``, ``lora_alpha`` and
    ``scaling`` are dicts keyed by adapter name, as in PEFT (one adapter, ``"default"``).

    >>> layer = LoraLinear(nn.Linear(64, 32), r=4, lora_alpha=8)   # same outputs as the Linear
    """

    def __init__(self, base_layer, adapter_name="default", r=8, lora_alpha=8, lora_dropout=0.0,
                 fan_in_fan_out=False, init_lora_weights=True, use_rslora=False):
        super().__init__()
        if not isinstance(base_layer, BASE_TYPES):
            raise TypeError(f"LoraLinear: the base layer must be an nn.Linear or "
                            f"nn.QuantizedLinear, got {type(base_layer).__name__}")
        if fan_in_fan_out:
            warnings.warn("LoraLinear: fan_in_fan_out=True is for weights stored (in, out); an "
                          "nn.Linear stores (out, in). Setting fan_in_fan_out to False.",
                          stacklevel=3)
        self.base_layer = base_layer
        self.in_features, self.out_features = base_layer.in_features, base_layer.out_features
        self.fan_in_fan_out = False
        self.active_adapter = adapter_name
        self.disable_adapters = False
        self.merged_adapters = []
        self.r = {adapter_name: r}
        self.lora_alpha = {adapter_name: lora_alpha}
        self.scaling = {adapter_name: lora_alpha / (math.sqrt(r) if use_rslora else r)}
        dtype = base_layer.weight.dtype
        self.lora_dropout = nn.ModuleDict(
            {adapter_name: nn.Dropout(lora_dropout) if lora_dropout > 0 else nn.Identity()})
        self.lora_A = nn.ModuleDict({adapter_name: nn.Linear(self.in_features, r, bias=False,
                                                             dtype=dtype)})
        self.lora_B = nn.ModuleDict({adapter_name: nn.Linear(r, self.out_features, bias=False,
                                                             dtype=dtype)})
        self.reset_lora_parameters(adapter_name, init_lora_weights)

    def reset_lora_parameters(self, adapter_name, init_lora_weights=True):
        """PEFT's initialisation: A kaiming-uniform (a=√5, as nn.Linear's default) or N(0, 1/r²)
        ("gaussian"), B zeros, so that B A = 0. ``False`` leaves both random (tests only)."""
        if init_lora_weights is False:
            return
        A, B = self.lora_A[adapter_name].weight, self.lora_B[adapter_name].weight
        if init_lora_weights == "gaussian":
            init.normal_(A, 0.0, 1.0 / self.r[adapter_name])
        else:
            init.kaiming_uniform_(A, a=math.sqrt(5))
        init.zeros_(B)

    # PEFT's layers expose the base layer's tensors (models read self.q_proj.weight)
    @property
    def weight(self):
        return self.base_layer.weight

    @property
    def bias(self):
        return self.base_layer.bias

    @property
    def merged(self):
        return bool(self.merged_adapters)

    # ---- forward
    def forward(self, x):
        if self.disable_adapters:
            if self.merged:
                self.unmerge()
            return self.base_layer(x)
        if self.merged:
            return self.base_layer(x)
        a = self.active_adapter
        result = self.base_layer(x)
        return result + self.lora_B[a](self.lora_A[a](self.lora_dropout[a](x))) * self.scaling[a]

    # ---- merging: W ← W ± B A · s, in place (a fused q/k/v buffer the weight is a view of
    # sees the change too)
    def get_delta_weight(self, adapter_name):
        """ΔW = B A · s, an (out_features, in_features) array."""
        A = self.lora_A[adapter_name].weight.array
        B = self.lora_B[adapter_name].weight.array
        return (B @ A) * self.scaling[adapter_name]

    def merge(self, safe_merge=False, adapter_names=None):
        """Add the update into the base weight; forward then runs the base layer alone.
        ``safe_merge`` checks the merged weight for NaN/inf before writing it."""
        for name in adapter_names or [self.active_adapter]:
            if name in self.merged_adapters:
                warnings.warn(f"LoraLinear: adapter {name!r} is already merged; nothing to do",
                              stacklevel=2)
                continue
            if isinstance(self.base_layer, nn.QuantizedLinear):
                raise ValueError("LoraLinear.merge: the base layer is quantized "
                                 f"({self.base_layer.weight.qtype}); adding ΔW to it would need "
                                 "re-quantizing, which loses the update's precision. Load the "
                                 "base in float32 (without keep_quantized) and load the adapter "
                                 "on it with PeftModel.from_pretrained to merge, or call "
                                 "model.dequantize() on the base first")
            delta = self.get_delta_weight(name)
            w = self.base_layer.weight
            if safe_merge:
                if not np.isfinite(w.array + delta).all():
                    raise ValueError(f"LoraLinear.merge: merging adapter {name!r} gives NaN or "
                                     "infinite weights; the adapter is broken (check its "
                                     "training loss), the base is left unchanged")
            with grad_mode.no_grad():
                w.add_(delta)
            self.merged_adapters.append(name)

    def unmerge(self):
        """Subtract every merged update from the base weight again."""
        if not self.merged:
            warnings.warn("LoraLinear.unmerge: the adapter is not merged; nothing to do",
                          stacklevel=2)
            return
        while self.merged_adapters:
            name = self.merged_adapters.pop()
            with grad_mode.no_grad():
                self.base_layer.weight.sub_(self.get_delta_weight(name))

    def extra_repr(self):
        a = self.active_adapter
        return (f"r={self.r[a]}, lora_alpha={self.lora_alpha[a]}, scaling={self.scaling[a]:g}"
                + (", merged" if self.merged else ""))
