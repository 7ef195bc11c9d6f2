"""Auto classes: pick the architecture from the file, as transformers' Auto* do.

A GGUF file names its architecture in ``general.architecture``; a Hugging Face folder in
config.json's ``model_type``. Each maps to the gradkit class that reads it.

=== AutoModelForCausalLM  AutoModelForSequenceClassification  AutoModel  AutoTokenizer
"""
from . import pretrained
from .tokenizer import AutoTokenizer

__all__ = ["AutoModelForCausalLM", "AutoModelForSequenceClassification", "AutoModel",
           "AutoTokenizer"]


def _architecture(path, who):
    kind, path = pretrained.resolve(path, who)
    if kind == "gguf":
        from . import gguf_file
        arch = gguf_file.open_gguf(path, who).fields["general.architecture"].contents()
        return arch, path
    return pretrained.read_config(path, who).get("model_type"), path


class AutoModelForCausalLM:
    """``AutoModelForCausalLM.from_pretrained(path)``: a language model with its head, from a
    GGUF file or a Hugging Face folder."""

    @staticmethod
    def _classes():
        from .llama import LlamaForCausalLM
        return {"llama": LlamaForCausalLM, "mistral": LlamaForCausalLM}

    @classmethod
    def from_pretrained(cls, path, **kwargs):
        who = "AutoModelForCausalLM.from_pretrained"
        arch, path = _architecture(path, who)
        classes = cls._classes()
        if arch not in classes:
            raise ValueError(f"{who}: {path} holds a {arch!r} model; gradkit runs causal LMs of "
                             f"the architectures {', '.join(sorted(classes))}")
        return classes[arch].from_pretrained(path, **kwargs)


class AutoModelForSequenceClassification:
    """``AutoModelForSequenceClassification.from_pretrained(folder, num_labels=3)``: a model
    with a classification head on the pooled sequence, from a Hugging Face folder."""

    @classmethod
    def from_pretrained(cls, path, **kwargs):
        who = "AutoModelForSequenceClassification.from_pretrained"
        arch, path = _architecture(path, who)
        if arch != "bert":
            raise ValueError(f"{who}: {path} holds a {arch!r} model; gradkit classifies "
                             "sequences with 'bert' models")
        from .bert import BertForSequenceClassification
        return BertForSequenceClassification.from_pretrained(path, **kwargs)


class AutoModel:
    """``AutoModel.from_pretrained(path)``: the bare model (no task head): BertModel for BERT
    folders, LlamaModel (the decoder without its LM head) for Llama."""

    @classmethod
    def from_pretrained(cls, path, **kwargs):
        who = "AutoModel.from_pretrained"
        arch, path = _architecture(path, who)
        if arch == "bert":
            from .bert import BertModel
            return BertModel.from_pretrained(path, **kwargs)
        if arch in ("llama", "mistral"):
            return AutoModelForCausalLM.from_pretrained(path, **kwargs).model
        raise ValueError(f"{who}: {path} holds a {arch!r} model; gradkit's AutoModel reads "
                         "'bert', 'llama' and 'mistral'")
