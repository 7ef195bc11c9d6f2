"""gradkit.peft: LoRA adapters with Hugging Face PEFT's names, behaviour and file format.

    from gradkit.peft import LoraConfig, get_peft_model, PeftModel

    config = LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"])
    model = get_peft_model(base, config)
    model.print_trainable_parameters()
    ...                                   # train: only the adapters have requires_grad
    model.save_pretrained("runs/adapter")  # adapter_config.json + adapter_model.safetensors
    model = PeftModel.from_pretrained(base, "runs/adapter")   # also reads PEFT's folders

Files: config.py (LoraConfig), lora.py (the LoRA layer), modules_to_save.py (fully trained
modules), targets.py (which modules are adapted), lora_model.py (inject, freeze, unload),
save_and_load.py (PEFT's key names), peft_model.py (PeftModel, get_peft_model).
"""
from .config import LoraConfig, TaskType
from .lora import LoraLinear
from .lora_model import LoraModel
from .modules_to_save import ModulesToSaveWrapper
from .peft_model import PeftModel, get_peft_model
from .save_and_load import get_peft_model_state_dict, set_peft_model_state_dict

__all__ = ["LoraConfig", "TaskType", "LoraLinear", "LoraModel", "ModulesToSaveWrapper",
           "PeftModel", "get_peft_model", "get_peft_model_state_dict",
           "set_peft_model_state_dict"]
