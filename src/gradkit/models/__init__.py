"""gradkit.models: architectures as ordinary nn.Modules: the zoo of standard ones to train from
scratch (MLP, LeNet5, ConvNet, ResNet, CharRNN, GPT, TransformerClassifier, autoencoders, VAE,
DCGAN; docs/models.md), and the pretrained families with how to load them.

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

# The zoo: the standard architectures as plain nn.Modules, trained from scratch (docs/models.md).
from .mlp import MLP  # noqa: E402
from .lenet import LeNet5  # noqa: E402
from .convnet import ConvNet  # noqa: E402
from .resnet import BasicBlock, ResNet, resnet8, resnet20  # noqa: E402
from .charrnn import CharRNN  # noqa: E402
from .gpt import GPT  # noqa: E402
from .transformer_classifier import TransformerClassifier  # noqa: E402
from .autoencoder import Autoencoder, ConvAutoencoder  # noqa: E402
from .vae import VAE, vae_loss  # noqa: E402
from .dcgan import DCGAN, Discriminator, Generator  # noqa: E402
from .zoo import MODELS, create_model  # noqa: E402
__all__ += ["MLP", "LeNet5", "ConvNet", "BasicBlock", "ResNet", "resnet8", "resnet20", "CharRNN",
            "GPT", "TransformerClassifier", "Autoencoder", "ConvAutoencoder", "VAE", "vae_loss",
            "DCGAN", "Generator", "Discriminator", "MODELS", "create_model"]
