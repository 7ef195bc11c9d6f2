"""The adapter's tensors under PEFT's key names, out of a model and back into one.

In memory a key holds the adapter's name (``...q_proj.lora_A.default.weight``, the copy of a
module to save under ``...score.modules_to_save.default.weight``); in ``adapter_model.safetensors``
it does not (``...q_proj.lora_A.weight``, ``...score.weight``): the name is chosen at load time.
Keys start with ``base_model.model.``, the path of the user's model inside a PeftModel.
"""
import numpy as np

from ..autograd import grad_mode
from .lora import LoraLinear
from .modules_to_save import ModulesToSaveWrapper

__all__ = ["get_peft_model_state_dict", "set_peft_model_state_dict"]


def _key_map(model, adapter_name):
    """{key in the file: key in model.state_dict()} for every adapter tensor (A, B, saved
    modules); trained biases keep their names in both."""
    config = model.peft_config[adapter_name]
    out = {}
    for mod, m in model.named_modules():
        pre = mod + "." if mod else ""
        if isinstance(m, LoraLinear):
            for part in ("lora_A", "lora_B"):
                out[f"{pre}{part}.weight"] = f"{pre}{part}.{adapter_name}.weight"
            if config.bias == "lora_only" and m.bias is not None:
                out[f"{pre}base_layer.bias"] = f"{pre}base_layer.bias"
        elif isinstance(m, ModulesToSaveWrapper):
            for k in m.modules_to_save[adapter_name].state_dict():
                out[pre + k] = f"{pre}modules_to_save.{adapter_name}.{k}"
    if config.bias == "all":
        for k in model.state_dict():
            if (k == "bias" or k.endswith(".bias")) and ".modules_to_save." not in k \
                    and ".original_module." not in k:
                out[k] = k
    return out


def get_peft_model_state_dict(model, adapter_name="default"):
    """The adapter's tensors of a PeftModel, ``{key in the file: Tensor}`` (PEFT's keys)."""
    state = model.state_dict()
    return {saved: state[own] for saved, own in _key_map(model, adapter_name).items()}


def set_peft_model_state_dict(model, tensors, adapter_name="default",
                              who="set_peft_model_state_dict", context=""):
    """Copy ``{key in the file: array}`` into the adapter of a PeftModel.

    Every adapter tensor must be there with the model's shape, and every tensor in the file
    must belong to the adapter; otherwise a ValueError lists the keys (and ``context``, e.g.
    which base model the adapter was made for)."""
    key_map = _key_map(model, adapter_name)
    own = model.state_dict(keep_vars=True)
    mismatched, unexpected = [], []
    for saved, arr in tensors.items():
        target = own.get(key_map.get(saved, saved))
        if target is None:
            unexpected.append(saved)
        elif tuple(arr.shape) != tuple(target.shape):
            mismatched.append(f"{saved}: adapter {tuple(arr.shape)}, model {tuple(target.shape)}")
    missing = [k for k in key_map if k not in tensors]
    if mismatched or unexpected or missing:
        problems = []
        if mismatched:
            problems.append(f"shapes differ for {len(mismatched)} tensors: " + _some(mismatched))
        if missing:
            problems.append(f"{len(missing)} adapter tensors are missing from the file: "
                            + _some(missing))
        if unexpected:
            problems.append(f"{len(unexpected)} tensors in the file fit no module of the model: "
                            + _some(unexpected))
        raise ValueError(f"{who}: the adapter does not fit this model: " + "; ".join(problems)
                         + (f". {context}" if context else ""))
    with grad_mode.no_grad():
        for saved, arr in tensors.items():
            target = own[key_map.get(saved, saved)]
            target.copy_(np.asarray(arr, dtype=target.array.dtype))


def _some(items, n=4):
    return "; ".join(items[:n]) + (f" (and {len(items) - n} more)" if len(items) > n else "")
