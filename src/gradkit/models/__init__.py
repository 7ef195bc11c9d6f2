"""gradkit.models: pretrained architectures as ordinary nn.Modules, and how to load them.

Parameter names follow Hugging Face's, so state_dicts, safetensors files and adapter files are
interchangeable with the Python ecosystem's. ``from_pretrained(path)`` reads a GGUF file
(llama.cpp, Ollama) or a Hugging Face folder; ``save_pretrained(folder)`` writes the folder.
"""
from . import pretrained
from .generation import GenerationMixin, TextStreamer
from .llama import KVCache, LlamaConfig, LlamaForCausalLM, LlamaModel
from .tokenizer import AutoTokenizer, Tokenizer
from .auto import AutoModel, AutoModelForCausalLM, AutoModelForSequenceClassification

__all__ = ["pretrained", "GenerationMixin", "TextStreamer", "KVCache", "LlamaConfig",
           "LlamaForCausalLM", "LlamaModel", "Tokenizer", "AutoTokenizer", "AutoModel",
           "AutoModelForCausalLM", "AutoModelForSequenceClassification"]
from .bert import (BertConfig, BertForSequenceClassification, BertModel,  # noqa: E402
                   SentenceEncoder)
__all__ += ["BertConfig", "BertModel", "BertForSequenceClassification", "SentenceEncoder"]
