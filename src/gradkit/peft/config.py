"""LoraConfig: the settings of a LoRA adapter, with Hugging Face PEFT's names, defaults and
``adapter_config.json`` fields, so that a config moves between gradkit and PEFT unchanged.

=== TaskType  LoraConfig
"""
import dataclasses
import os
from dataclasses import dataclass, field

from ..models import pretrained

__all__ = ["TaskType", "LoraConfig"]


# === TaskType
class TaskType:
    """PEFT's task types (strings in adapter_config.json). ``SEQ_CLS`` also trains (and saves)
    the classification head: the modules named ``classifier`` or ``score``."""

    SEQ_CLS = "SEQ_CLS"
    SEQ_2_SEQ_LM = "SEQ_2_SEQ_LM"
    CAUSAL_LM = "CAUSAL_LM"
    TOKEN_CLS = "TOKEN_CLS"
    QUESTION_ANS = "QUESTION_ANS"
    FEATURE_EXTRACTION = "FEATURE_EXTRACTION"

    ALL = (SEQ_CLS, SEQ_2_SEQ_LM, CAUSAL_LM, TOKEN_CLS, QUESTION_ANS, FEATURE_EXTRACTION)


BIAS_CHOICES = ("none", "all", "lora_only")
INIT_CHOICES = (True, False, "gaussian")

# Fields of PEFT's adapter_config.json that select behaviour gradkit does not implement: a file
# that sets one to anything but its default is refused, never silently half-read.
_UNSUPPORTED = {"use_dora": False, "rank_pattern": {}, "alpha_pattern": {},
                "layer_replication": None, "loftq_config": {}, "lora_bias": False,
                "target_parameters": None, "trainable_token_indices": None,
                "use_qalora": False, "alora_invocation_tokens": None, "use_bdlora": None}


# === LoraConfig
@dataclass
class LoraConfig:
    """What to adapt and how: ΔW = B A · lora_alpha / r on each targeted ``nn.Linear``.

    - ``r``: the rank of the update (A: (r, in_features), B: (out_features, r)). Defaults to 8.
    - ``lora_alpha``: the update is scaled by ``lora_alpha / r`` (``/ √r`` with ``use_rslora``),
      so changing r keeps the update's size. Defaults to 8.
    - ``lora_dropout``: dropout on the adapter's input, in training only. Defaults to 0.0.
    - ``target_modules``: which Linear layers get an adapter: a list of names, each matching a
      module whose full name equals it or ends with ``"." + name`` (``["q_proj", "v_proj"]``);
      a string, a regular expression that must match the full name
      (``r".*\\.(q_proj|v_proj)"``); or ``"all-linear"`` (every Linear but the output layer).
      None: PEFT's default for the model type (llama: q_proj, v_proj; bert: query, value).
    - ``bias``: ``"none"`` (frozen), ``"all"`` (every bias trains), ``"lora_only"`` (the biases
      of the adapted layers train). Trained biases are saved with the adapter.
    - ``modules_to_save``: modules trained fully and saved with the adapter (a classifier head),
      matched by the end of their names.
    - ``exclude_modules``: modules never adapted, named as in ``target_modules`` (a list or
      a regex).
    - ``layers_to_transform``: layer indices (an int or a list) to adapt; the index is the first
      number in the module's name (``model.layers.3.self_attn.q_proj`` -> 3), or the number after
      ``layers_pattern`` when given.
    - ``init_lora_weights``: True (A: kaiming-uniform, B: zeros, so the adapter starts as the
      identity), ``"gaussian"`` (A ~ N(0, 1/r²), B zeros), False (A and B random: for tests).
    - ``fan_in_fan_out``: for weights stored (in, out) (GPT-2's Conv1D); gradkit's Linear stores
      (out, in), so it is set back to False with a warning, as PEFT does.

    >>> config = LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"])
    """

    r: int = 8
    lora_alpha: float = 8
    lora_dropout: float = 0.0
    target_modules: object = None
    bias: str = "none"
    modules_to_save: object = None
    task_type: object = None
    fan_in_fan_out: bool = False
    init_lora_weights: object = True
    layers_to_transform: object = None
    layers_pattern: object = None
    exclude_modules: object = None
    use_rslora: bool = False
    base_model_name_or_path: object = None
    revision: object = None
    inference_mode: bool = False
    peft_type: str = field(default="LORA", init=False)

    def __post_init__(self):
        who = "LoraConfig"
        if isinstance(self.r, bool) or not isinstance(self.r, int) or self.r <= 0:
            raise ValueError(f"{who}: r must be a positive integer (the rank of the update "
                             f"ΔW = B A), got {self.r!r}; typical values are 4 to 64")
        if not 0.0 <= self.lora_dropout < 1.0:
            raise ValueError(f"{who}: lora_dropout must be in [0, 1), got {self.lora_dropout!r}")
        if self.bias not in BIAS_CHOICES:
            raise ValueError(f"{who}: bias={self.bias!r} is not one of {', '.join(BIAS_CHOICES)}")
        if not any(self.init_lora_weights is c or self.init_lora_weights == c == "gaussian"
                   for c in INIT_CHOICES):
            raise ValueError(f"{who}: init_lora_weights={self.init_lora_weights!r} is not "
                             "supported; use True (A kaiming-uniform, B zeros), 'gaussian' or "
                             "False")
        if self.task_type is not None:
            self.task_type = str(self.task_type)
            if self.task_type not in TaskType.ALL:
                raise ValueError(f"{who}: task_type={self.task_type!r} is not one of "
                                 f"{', '.join(TaskType.ALL)} (or None)")
        self.target_modules = _names(self.target_modules, "target_modules")
        self.modules_to_save = _names(self.modules_to_save, "modules_to_save", allow_str=False)
        self.exclude_modules = _names(self.exclude_modules, "exclude_modules")
        if isinstance(self.layers_to_transform, (list, tuple)):
            self.layers_to_transform = [int(i) for i in self.layers_to_transform]
        if self.layers_pattern is not None and self.layers_to_transform is None:
            raise ValueError(f"{who}: layers_pattern={self.layers_pattern!r} is given without "
                             "layers_to_transform; give the layer indices to adapt as well")
        if isinstance(self.target_modules, str) and self.layers_to_transform is not None:
            raise ValueError(f"{who}: layers_to_transform cannot be used when target_modules is "
                             "a regular expression; put the layer indices in the expression")

    # ---- adapter_config.json
    def to_dict(self):
        """adapter_config.json as PEFT writes it (PEFT's field names; fields for features gradkit
        does not implement carry PEFT's defaults)."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d.update(_UNSUPPORTED)
        d.update(auto_mapping=None, megatron_config=None, megatron_core="megatron.core")
        for key in ("target_modules", "modules_to_save", "layers_to_transform", "layers_pattern",
                    "exclude_modules"):
            if isinstance(d[key], (list, tuple, set)):
                d[key] = list(d[key])
        return dict(sorted(d.items()))

    @classmethod
    def from_dict(cls, d, who="LoraConfig.from_dict"):
        """A config from adapter_config.json's fields. A LoRA variant gradkit does not implement
        (DoRA, rank_pattern, ...) is refused by name; fields that only PEFT uses are ignored."""
        peft_type = d.get("peft_type", "LORA")
        if peft_type != "LORA":
            raise ValueError(f"{who}: the adapter is of type {peft_type!r}; gradkit.peft reads "
                             "LoRA adapters (peft_type 'LORA') only")
        for key, default in _UNSUPPORTED.items():
            if d.get(key, default) not in (default, None, {}, False):
                raise ValueError(f"{who}: the adapter sets {key}={d[key]!r}, a LoRA variant that "
                                 "gradkit.peft does not implement; train it without that option")
        names = {f.name for f in dataclasses.fields(cls) if f.init}
        return cls(**{k: v for k, v in d.items() if k in names})

    def save_pretrained(self, folder):
        """Write ``folder/adapter_config.json`` (atomically)."""
        os.makedirs(folder, exist_ok=True)
        pretrained.write_json(os.path.join(folder, CONFIG_NAME), self.to_dict())

    @classmethod
    def from_pretrained(cls, folder, who="LoraConfig.from_pretrained"):
        """Read ``folder/adapter_config.json``."""
        path = os.path.join(os.fspath(folder), CONFIG_NAME)
        if not os.path.exists(path):
            raise FileNotFoundError(f"{who}: {folder!r} has no {CONFIG_NAME}; an adapter folder "
                                    f"holds {CONFIG_NAME} and {WEIGHTS_NAME} (written by "
                                    "save_pretrained, in gradkit or PEFT)")
        return cls.from_dict(pretrained.read_json(path, who), who)


CONFIG_NAME = "adapter_config.json"
WEIGHTS_NAME = "adapter_model.safetensors"


def _names(value, what, allow_str=True):
    """A list of module names (order kept, duplicates dropped), a regex string, or None."""
    if value is None or (allow_str and isinstance(value, str)):
        return value
    if isinstance(value, str):
        return [value]
    names = list(dict.fromkeys(str(v) for v in value))
    if not names:
        raise ValueError(f"LoraConfig: {what} is empty; give module names or None")
    return names
