"""Which modules get an adapter: PEFT's matching rules for ``target_modules`` and
``modules_to_save``, its per-model defaults, and the errors that say what the model does have.

=== default targets  matching  finding the targets
"""
import re

from .. import nn
from .lora import BASE_TYPES, LoraLinear
from .modules_to_save import ModulesToSaveWrapper

__all__ = ["DEFAULT_TARGET_MODULES", "find_targets", "find_modules_to_save", "linear_names"]

# === default targets: PEFT's TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING, for the model
# types gradkit implements
DEFAULT_TARGET_MODULES = {
    "llama": ["q_proj", "v_proj"],
    "mistral": ["q_proj", "v_proj"],
    "bert": ["query", "value"],
}

SEQ_CLS_HEAD_NAMES = ("classifier", "score")  # PEFT trains these with task_type SEQ_CLS
SUPPORTED_TYPES = "nn.Linear and nn.QuantizedLinear"


def model_type(model):
    """``config.model_type`` of the model or of its first sub-module that has a config."""
    for _, m in model.named_modules():
        t = getattr(getattr(m, "config", None), "model_type", None)
        if t:
            return t
    return None


def linear_names(model):
    """The distinct last parts of the names of the model's Linear layers, in model order
    (``q_proj, k_proj, ..., lm_head``): what a ``target_modules`` list can name."""
    names = [name.rsplit(".", 1)[-1] for name, m in model.named_modules()
             if isinstance(m, BASE_TYPES) and name]
    return list(dict.fromkeys(names))


def _output_layer(model):
    """The full name of the language-model / classifier head that "all-linear" leaves out."""
    for attr in ("lm_head",) + SEQ_CLS_HEAD_NAMES:
        head = getattr(model, attr, None)
        if isinstance(head, BASE_TYPES):
            return attr
    return None


# === matching (PEFT's check_target_module_exists)
def _layer_index(key, layers_pattern):
    """The layer number in a module name: the first ``.<name>.<digits>.`` (``model.layers.3.``),
    or the digits after one of ``layers_pattern``."""
    if not layers_pattern:
        m = re.match(r".*?\.[^.]*\.(?P<idx>\d+)\.", key)
    else:
        patterns = [layers_pattern] if isinstance(layers_pattern, str) else layers_pattern
        m = None
        for pattern in patterns:
            m = re.match(rf"(?:^|.*?\.){pattern}\.(?P<idx>\d+)\.", key)
            if m:
                break
    return int(m.group("idx")) if m else None


def name_matches(target_modules, key):
    """Does module name ``key`` match ``target_modules`` (a list of names or a regex)?"""
    if isinstance(target_modules, str):
        return re.fullmatch(target_modules, key) is not None
    return key in target_modules or any(key.endswith("." + t) for t in target_modules)


def _in_layers(config, key):
    wanted = config.layers_to_transform
    if wanted is None or isinstance(config.target_modules, str):
        return True
    idx = _layer_index(key, config.layers_pattern)
    if idx is None:
        return False
    return idx == wanted if isinstance(wanted, int) else idx in wanted


def _under(key, names):
    """Is ``key`` one of the modules in ``modules_to_save`` or inside one (PEFT's rule)?"""
    return any(re.match(rf"(^|.*\.){re.escape(m)}($|\..*)", key) for m in names or ())


# === finding the targets
def resolve_target_modules(model, config, who):
    """Fill in ``config.target_modules`` where PEFT would: the model type's default when None,
    the full names of every Linear but the output layer for "all-linear"."""
    if config.target_modules is None:
        mt = model_type(model)
        if mt not in DEFAULT_TARGET_MODULES:
            raise ValueError(
                f"{who}: target_modules is None and there is no default for model type {mt!r} "
                f"(defaults exist for {', '.join(DEFAULT_TARGET_MODULES)}); give "
                f"target_modules=[...], e.g. from this model's Linear layers: "
                f"{', '.join(linear_names(model))}")
        config.target_modules = list(DEFAULT_TARGET_MODULES[mt])
    elif isinstance(config.target_modules, str) and config.target_modules.lower() == "all-linear":
        head = _output_layer(model)
        config.target_modules = [name for name, m in model.named_modules()
                                 if isinstance(m, BASE_TYPES) and name and name != head
                                 and not _inside_adapter(model, name)]
    return config


def _inside_adapter(model, name):
    parts = name.split(".")
    m = model
    for p in parts[:-1]:
        m = m._modules.get(p)
        if isinstance(m, (LoraLinear, ModulesToSaveWrapper)):
            return True
    return False


def find_targets(model, config, who="get_peft_model"):
    """The full names of the modules to wrap with LoRA, checked: every name in a
    target_modules list matches some module, every match is an nn.Linear not yet adapted."""
    resolve_target_modules(model, config, who)
    targets = config.target_modules
    keys = [k for k, _ in model.named_modules() if k]
    candidates = [k for k in keys if not _under(k, config.modules_to_save)]
    hint = (f"the Linear layers of {type(model).__name__} are named "
            f"{', '.join(linear_names(model)) or '(none)'}; give some of these names, a regular "
            "expression over full names (r'.*\\.(q_proj|v_proj)'), or 'all-linear'")
    if isinstance(targets, str):
        found = [k for k in candidates if name_matches(targets, k)]
        if not found:
            example = next((k for k, m in model.named_modules() if isinstance(m, BASE_TYPES)),
                           keys[-1] if keys else "")
            raise ValueError(f"{who}: target_modules={targets!r} (a regular expression, matched "
                             f"against full module names such as {example!r}) matches no "
                             f"module; {hint}")
    else:
        unmatched = [t for t in targets if not any(name_matches([t], k) for k in candidates)]
        if unmatched:
            raise ValueError(f"{who}: target_modules {unmatched} match no module of the model; "
                             f"{hint}")
        found = [k for k in candidates if name_matches(targets, k)]
    excluded = config.exclude_modules
    found = [k for k in found if _in_layers(config, k)
             and not (excluded and name_matches(excluded, k))]
    if not found:
        raise ValueError(f"{who}: target_modules {targets} match modules, but none is left in "
                         f"layers_to_transform={config.layers_to_transform} and outside "
                         f"exclude_modules={excluded}; the layer index is the first number in a "
                         "module's name (model.layers.3.self_attn -> 3)")
    modules = dict(model.named_modules())
    for k in found:
        m = modules[k]
        if isinstance(m, LoraLinear) or _inside_adapter(model, k):
            raise ValueError(f"{who}: {k!r} already has a LoRA adapter; gradkit.peft holds one "
                             "adapter per model: call merge_and_unload() or unload() first, or "
                             "start from the base model")
        if not isinstance(m, BASE_TYPES):
            inner = linear_names(m)
            raise TypeError(
                f"{who}: target {k!r} is a {type(m).__name__}; LoRA in gradkit wraps "
                f"{SUPPORTED_TYPES} layers only"
                + (f". Target the Linear layers inside it instead: {', '.join(inner)}"
                   if inner else f"; {hint}"))
    return found


def find_modules_to_save(model, names):
    """Full names of the modules matched by ``modules_to_save`` (PEFT: the name ends with one
    of them), outermost only."""
    found = []
    for key, m in model.named_modules():
        if key and any(key.endswith(n) for n in names or ()) and not any(
                key.startswith(f + ".") for f in found):
            found.append(key)
    return found
