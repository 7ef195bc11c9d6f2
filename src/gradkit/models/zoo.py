"""The model zoo's index: every standard architecture by name, for programs (and the command
line) that pick a model from a string.

    model = models.create_model("resnet20", in_channels=1)      # = models.resnet20(in_channels=1)
    model = models.create_model("gpt", vocab_size=65)

Each entry is a class or factory of gradkit.models; keyword arguments go to it unchanged, and
its defaults are the sensible ones for the data it is named for (see docs/models.md).
"""
from .autoencoder import Autoencoder, ConvAutoencoder
from .charrnn import CharRNN
from .convnet import ConvNet
from .dcgan import DCGAN
from .gpt import GPT
from .lenet import LeNet5
from .mlp import MLP
from .resnet import ResNet, resnet8, resnet20
from .transformer_classifier import TransformerClassifier
from .vae import VAE

__all__ = ["MODELS", "create_model"]

MODELS = {
    "mlp": MLP,
    "lenet5": LeNet5,
    "convnet": ConvNet,
    "resnet": ResNet,
    "resnet8": resnet8,
    "resnet20": resnet20,
    "char_rnn": CharRNN,
    "gpt": GPT,
    "transformer_classifier": TransformerClassifier,
    "autoencoder": Autoencoder,
    "conv_autoencoder": ConvAutoencoder,
    "vae": VAE,
    "dcgan": DCGAN,
}


def create_model(name, **kwargs):
    """A new model of the architecture ``name`` (a key of MODELS), built with ``kwargs``."""
    if name not in MODELS:
        raise ValueError(f"create_model: no model named {name!r}; the zoo has "
                         f"{', '.join(sorted(MODELS))}")
    model = MODELS[name](**kwargs)
    # what rebuilds it: a Keras TorchModuleWrapper saves this instead of pickling the module
    object.__setattr__(model, "zoo_spec", {"name": name, "kwargs": dict(kwargs)})
    return model
