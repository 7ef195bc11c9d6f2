"""PeftModel: a model with a LoRA adapter, and its folder in PEFT's format.

``get_peft_model(model, config)`` wraps the model's targeted Linear layers (in place) and
returns a PeftModel whose forward and generate are the model's; only the adapter trains.
``save_pretrained(folder)`` writes the two files PEFT writes, and PEFT reads them::

    adapter_config.json          LoraConfig's fields (peft_type "LORA", r, lora_alpha, ...)
    adapter_model.safetensors    base_model.model.<module>.lora_A.weight, ...lora_B.weight

``PeftModel.from_pretrained(base, folder)`` reads a folder written by gradkit or by PEFT.

=== get_peft_model  PeftModel
"""
import contextlib
import dataclasses
import os

from .. import nn
from ..models import pretrained
from .config import CONFIG_NAME, WEIGHTS_NAME, LoraConfig
from .lora_model import LoraModel
from .save_and_load import get_peft_model_state_dict, set_peft_model_state_dict

__all__ = ["PeftModel", "get_peft_model"]


# === get_peft_model
def get_peft_model(model, peft_config, adapter_name="default"):
    """Add the adapter that ``peft_config`` describes to ``model`` (in place: its targeted
    Linear layers become LoraLinear layers) and return the PeftModel around it; every other
    parameter is frozen.

    >>> model = get_peft_model(LlamaForCausalLM.from_pretrained(path), LoraConfig(r=8))
    >>> model.print_trainable_parameters()
    trainable params: 460,800 || all params: 134,975,808 || trainable%: 0.3414
    """
    if not isinstance(peft_config, LoraConfig):
        raise TypeError(f"get_peft_model: expected a LoraConfig, got "
                        f"{type(peft_config).__name__}; gradkit.peft implements LoRA")
    if isinstance(model, PeftModel):
        raise ValueError("get_peft_model: the model already is a PeftModel; gradkit.peft holds "
                         "one adapter per model: merge_and_unload() it first to stack another")
    config = dataclasses.replace(peft_config)  # the caller's config is not changed
    if config.base_model_name_or_path is None:
        config.base_model_name_or_path = base_model_name(model)
    return PeftModel(model, config, adapter_name)


def base_model_name(model):
    """Where the model came from (transformers' ``name_or_path``), or None."""
    for obj in (model, getattr(model, "config", None)):
        for attr in ("name_or_path", "_name_or_path"):
            value = getattr(obj, attr, None)
            if value:
                return str(value)
    return None


def describe_model(model):
    """The model's name, or its class and size, for error messages."""
    name = base_model_name(model)
    if name:
        return repr(name)
    cfg = getattr(model, "config", None)
    sizes = [f"{k}={getattr(cfg, k)}" for k in ("hidden_size", "num_hidden_layers", "vocab_size")
             if hasattr(cfg, k)]
    return f"a {type(model).__name__}" + (f" ({', '.join(sizes)})" if sizes else "") + \
        " whose name_or_path is unknown"


# === PeftModel
class PeftModel(nn.Module):
    """A model with a LoRA adapter: ``base_model`` is the LoraModel, ``get_base_model()`` the
    user's model (``base_model.model``), ``peft_config`` ``{adapter name: LoraConfig}``.
    Attributes the PeftModel lacks are read from the model (``peft_model.config``)."""

    def __init__(self, model, peft_config, adapter_name="default", who="get_peft_model"):
        super().__init__()
        self.active_adapter = adapter_name
        self.base_model = LoraModel(model, peft_config, adapter_name, who)

    @property
    def peft_config(self):
        return self.base_model.peft_config

    @property
    def active_peft_config(self):
        return self.peft_config[self.active_adapter]

    def get_base_model(self):
        return self.base_model.model

    def __getattr__(self, name):
        base = self.__dict__.get("_modules", {}).get("base_model")
        if base is None or name.startswith("__"):
            raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")
        return getattr(base, name)

    # ---- running
    def forward(self, *args, **kwargs):
        """The model's forward, adapters included (``out.logits``, ``out.loss``)."""
        return self.base_model(*args, **kwargs)

    def generate(self, *args, **kwargs):
        """The model's ``generate``, adapters included."""
        return self.get_base_model().generate(*args, **kwargs)

    @contextlib.contextmanager
    def disable_adapter(self):
        """Within this block the model runs without the adapter (the base model's outputs);
        a merged adapter is unmerged first, as in PEFT.

        >>> with peft_model.disable_adapter():
        ...     base_logits = peft_model(ids).logits
        """
        layers = self.base_model.adapter_wrappers()
        before = [m.disable_adapters for m in layers]
        for m in layers:
            m.disable_adapters = True
        try:
            yield
        finally:
            for m, b in zip(layers, before):
                m.disable_adapters = b

    # ---- counting
    def get_nb_trainable_parameters(self):
        """(trainable parameters, all parameters), each shared parameter counted once; the
        weights a quantized layer keeps in blocks count as parameters (frozen ones)."""
        trainable = total = 0
        for p in self.parameters():
            total += p.numel()
            if p.requires_grad:
                trainable += p.numel()
        quantized = {id(m.weight): m.weight for m in self.modules()
                     if isinstance(m, (nn.QuantizedLinear, nn.QuantizedEmbedding))}
        total += sum(w.numel() for w in quantized.values())
        return trainable, total

    def print_trainable_parameters(self):
        """Print PEFT's line:
        ``trainable params: 1,234 || all params: 5,678 || trainable%: 21.7329``."""
        trainable, total = self.get_nb_trainable_parameters()
        print(f"trainable params: {trainable:,d} || all params: {total:,d} || "
              f"trainable%: {100 * trainable / total:.4f}")

    # ---- merging
    def merge_adapter(self, safe_merge=False):
        """Fold every update into its base weight (W ← W + B A · s); forward then costs what
        the base model's does. ``unmerge_adapter()`` undoes it."""
        for layer in self.base_model.lora_layers():
            if not layer.merged:
                layer.merge(safe_merge=safe_merge)

    def unmerge_adapter(self):
        for layer in self.base_model.lora_layers():
            if layer.merged:
                layer.unmerge()

    def merge_and_unload(self, progressbar=False, safe_merge=False, adapter_names=None):
        """The base model with the updates merged into plain Linear layers (see LoraModel)."""
        return self.base_model.merge_and_unload(progressbar, safe_merge, adapter_names)

    def unload(self):
        """The base model as it was, the adapter taken out unmerged."""
        return self.base_model.unload()

    # ---- saving and loading
    def save_pretrained(self, save_directory, safe_serialization=True, **kwargs):
        """Write ``adapter_model.safetensors`` and ``adapter_config.json`` into the folder
        (created if needed; each file written atomically). Other keyword arguments of PEFT's
        are accepted and ignored."""
        if not safe_serialization:
            raise ValueError("save_pretrained: gradkit writes safetensors only "
                             "(safe_serialization=True); pickle files can run code when read")
        os.makedirs(save_directory, exist_ok=True)
        tensors = get_peft_model_state_dict(self, self.active_adapter)
        pretrained.save_safetensors(os.path.join(save_directory, WEIGHTS_NAME), tensors,
                                    metadata={"format": "pt"})
        config = dataclasses.replace(self.active_peft_config, inference_mode=True)
        config.save_pretrained(save_directory)

    @classmethod
    def from_pretrained(cls, model, model_id, adapter_name="default", is_trainable=False,
                        config=None, **kwargs):
        """Add the adapter saved in folder ``model_id`` (by gradkit or PEFT) to ``model``.

        ``is_trainable=False`` (the default, as in PEFT) freezes the adapter too and puts the
        model in eval mode. If the adapter does not fit the model, the model is left as it was
        and the error names the base model the adapter was made for. Other keyword arguments
        of PEFT's (``torch_device``, ...) are accepted and ignored.
        """
        who = "PeftModel.from_pretrained"
        folder = os.fspath(model_id)
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"{who}: no such folder: {folder!r}; give the folder that "
                                    "save_pretrained wrote (gradkit reads adapters from disk, "
                                    "it does not download them)")
        config = dataclasses.replace(config or LoraConfig.from_pretrained(folder, who),
                                     inference_mode=not is_trainable)
        weights = os.path.join(folder, WEIGHTS_NAME)
        if not os.path.exists(weights):
            other = "adapter_model.bin" if os.path.exists(
                os.path.join(folder, "adapter_model.bin")) else None
            raise FileNotFoundError(
                f"{who}: {folder!r} has no {WEIGHTS_NAME}"
                + (f" but an {other} (a pickle file); gradkit reads safetensors only: convert it "
                   "with PEFT (load it, then save_pretrained(folder, safe_serialization=True))"
                   if other else f"; an adapter folder holds {CONFIG_NAME} and {WEIGHTS_NAME}"))
        tensors = _read_safetensors(weights, who)
        context = (f"The adapter in {folder!r} was made for base_model_name_or_path="
                   f"{config.base_model_name_or_path!r}; this model is {describe_model(model)}. "
                   "Load the adapter onto the base model it was trained on")
        flags = [(p, p.requires_grad) for p in model.parameters()]
        try:
            peft_model = cls(model, config, adapter_name, who)
        except (ValueError, TypeError) as e:
            raise type(e)(f"{e}. {context}") from None
        try:
            set_peft_model_state_dict(peft_model, tensors, adapter_name, who, context)
        except Exception:
            peft_model.unload()  # leave the caller's model as it was
            for p, flag in flags:
                p.requires_grad_(flag)
            raise
        if not is_trainable:
            peft_model.eval()
        return peft_model


def _read_safetensors(path, who):
    from safetensors import safe_open

    try:
        with safe_open(path, framework="numpy") as f:
            return {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises its own error types for bad files
        raise ValueError(f"{who}: {path} is not a valid safetensors file: it is truncated or "
                         f"corrupted ({type(e).__name__}: {e}); save the adapter again") from None
