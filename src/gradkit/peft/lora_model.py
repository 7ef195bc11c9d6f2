"""LoraModel: puts LoRA layers into a model, freezes the rest, and takes them out again.

``inject_adapter`` replaces each targeted ``nn.Linear`` by a ``LoraLinear`` wrapping it and each
module of ``modules_to_save`` by a ``ModulesToSaveWrapper``, in place, then marks only the
adapters (and the biases that ``bias`` names) as trainable. ``merge_and_unload`` folds the
updates into the base weights and puts plain Linears back. Models that look layers up by
attribute at each call (``FusedLinears``) see the wrappers at once; after ``merge_and_unload``
the merged weights are still views of a fused buffer, so the fused inference path stays valid.
"""
from .. import nn
from .config import TaskType
from .lora import LoraLinear
from .modules_to_save import ModulesToSaveWrapper
from .targets import SEQ_CLS_HEAD_NAMES, find_modules_to_save, find_targets

__all__ = ["LoraModel"]


class LoraModel(nn.Module):
    """The tuner between PeftModel and the user's model (``.model``), as in PEFT; attributes it
    does not have are read from the model (``lora_model.config``)."""

    prefix = "lora_"

    def __init__(self, model, config, adapter_name="default", who="get_peft_model"):
        super().__init__()
        self.model = model
        self.peft_config = {adapter_name: config}
        self.active_adapter = adapter_name
        self.targeted_module_names = []
        self.inject_adapter(model, adapter_name, who)

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def __getattr__(self, name):
        model = self.__dict__.get("_modules", {}).get("model")
        if model is None or name.startswith("__"):
            raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")
        return getattr(model, name)

    # ---- injecting
    def inject_adapter(self, model, adapter_name, who="get_peft_model"):
        config = self.peft_config[adapter_name]
        save = list(config.modules_to_save or [])
        missing = [n for n in save if not find_modules_to_save(model, [n])]
        if missing:
            raise ValueError(f"{who}: modules_to_save {missing} match no module of "
                             f"{type(model).__name__}; its direct children are "
                             f"{', '.join(n for n, _ in model.named_children())}")
        if config.task_type == TaskType.SEQ_CLS:  # PEFT trains the classification head too
            heads = [n for n in SEQ_CLS_HEAD_NAMES if find_modules_to_save(model, [n])]
            save = list(dict.fromkeys(save + heads))
            config.modules_to_save = save or None
        targets = find_targets(model, config, who)  # checks everything before changing anything
        for name in targets:
            base = model.get_submodule(name)
            model.set_submodule(name, LoraLinear(
                base, adapter_name, r=config.r, lora_alpha=config.lora_alpha,
                lora_dropout=config.lora_dropout, fan_in_fan_out=config.fan_in_fan_out,
                init_lora_weights=config.init_lora_weights, use_rslora=config.use_rslora))
        for name in find_modules_to_save(model, save):
            model.set_submodule(name, ModulesToSaveWrapper(model.get_submodule(name), adapter_name))
        self.targeted_module_names = targets
        self._mark_only_adapters_as_trainable(config)

    def _mark_only_adapters_as_trainable(self, config):
        """Freeze the model; unfreeze A and B, the copies of modules_to_save and the biases that
        ``bias`` selects. In inference mode (an adapter loaded with is_trainable=False) nothing
        trains."""
        self.model.requires_grad_(False)
        if config.inference_mode:
            return
        for m in self.model.modules():
            if isinstance(m, LoraLinear):
                m.lora_A.requires_grad_(True)
                m.lora_B.requires_grad_(True)
                if config.bias == "lora_only" and m.bias is not None:
                    m.bias.requires_grad_(True)
            elif isinstance(m, ModulesToSaveWrapper):
                m.modules_to_save.requires_grad_(True)
        if config.bias == "all":
            for name, p in self.model.named_parameters():
                if name == "bias" or name.endswith(".bias"):
                    p.requires_grad_(True)

    # ---- layers
    def lora_layers(self):
        return [m for m in self.model.modules() if isinstance(m, LoraLinear)]

    def adapter_wrappers(self):
        """Every LoraLinear and ModulesToSaveWrapper: what disable_adapter switches off."""
        return [m for m in self.model.modules()
                if isinstance(m, (LoraLinear, ModulesToSaveWrapper))]

    # ---- taking the adapters out
    def merge_and_unload(self, progressbar=False, safe_merge=False, adapter_names=None):
        """Merge every update into its base weight (W ← W + B A · s) and put the plain modules
        back: the result is the base model, adapted, with no LoRA code in it."""
        return self._unload(merge=True, safe_merge=safe_merge, adapter_names=adapter_names)

    def unload(self):
        """Put the original modules back without the updates (unmerging merged ones): the base
        model as it was before get_peft_model."""
        return self._unload(merge=False)

    def _unload(self, merge, safe_merge=False, adapter_names=None):
        for name, m in list(self.model.named_modules()):
            if isinstance(m, LoraLinear):
                if merge and not m.merged:
                    m.merge(safe_merge=safe_merge, adapter_names=adapter_names)
                elif not merge and m.merged:
                    m.unmerge()
                self.model.set_submodule(name, m.base_layer)
            elif isinstance(m, ModulesToSaveWrapper):
                self.model.set_submodule(name, m.modules_to_save[m.active_adapter] if merge
                                       else m.original_module)
        return self.model
