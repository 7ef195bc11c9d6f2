"""MLP: the multilayer perceptron, Linear layers with a nonlinearity (and dropout) between them.

    sizes = (784, 256, 128, 10):

    x ─ Linear(784, 256) ─ act ─ dropout ─ Linear(256, 128) ─ act ─ dropout
      ─ Linear(128, 10) ─ logits

The last layer has no activation: it gives logits, which ``F.cross_entropy`` turns into a loss.
An image (N, C, H, W) is flattened to (N, C·H·W) first, so ``MLP((784, 128, 10))`` takes MNIST
batches as they come.

=== ACTIVATIONS (the names an MLP understands)  MLP
"""
from .. import nn

__all__ = ["MLP", "ACTIVATIONS"]

# === ACTIVATIONS
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU,
               "silu": nn.SiLU, "elu": nn.ELU, "leaky_relu": nn.LeakyReLU}


def make_activation(activation, who):
    """A fresh activation module from a name in ACTIVATIONS or a Module class."""
    if isinstance(activation, str):
        if activation not in ACTIVATIONS:
            raise ValueError(f"{who}: activation must be one of {sorted(ACTIVATIONS)} or an "
                             f"nn.Module class such as nn.ReLU, got {activation!r}")
        return ACTIVATIONS[activation]()
    if isinstance(activation, type) and issubclass(activation, nn.Module):
        return activation()
    raise TypeError(f"{who}: activation must be a name ({', '.join(sorted(ACTIVATIONS))}) or an "
                    f"nn.Module class, got {activation!r}")


# === MLP
class MLP(nn.Module):
    """Fully connected layers of the given ``sizes``: (N, *) -> (N, sizes[-1]) logits.

    sizes: the width of every layer, input first, e.g. ``(784, 128, 10)`` (one hidden layer).
    activation: a name in ``ACTIVATIONS`` ('relu', 'tanh', 'gelu', ...) or a Module class.
    Defaults to ``'relu'``. dropout: the probability of zeroing a hidden unit. Defaults to ``0``.

    Parameters are ``layers.{i}.weight``/``bias``: the same ``nn.Sequential`` in PyTorch has the
    same keys (every hidden layer is Linear, activation, Dropout: three entries, dropout or not).

    >>> model = MLP((784, 128, 10), dropout=0.2)
    >>> model(gk.randn(32, 1, 28, 28)).shape
    (32, 10)
    """

    def __init__(self, sizes=(784, 128, 10), activation="relu", dropout=0.0):
        super().__init__()
        sizes = tuple(sizes)
        if len(sizes) < 2 or any(not isinstance(s, int) or s <= 0 for s in sizes):
            raise ValueError(f"MLP: sizes must be two or more positive ints (input, hidden..., "
                             f"output), e.g. (784, 128, 10); got {sizes}")
        if not 0 <= dropout < 1:
            raise ValueError(f"MLP: dropout must be in [0, 1), got {dropout}")
        self.sizes, self.dropout = sizes, dropout
        layers = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(n_in, n_out))
            if i < len(sizes) - 2:  # hidden layers only: the last one gives logits
                layers += [make_activation(activation, "MLP"), nn.Dropout(dropout)]
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        if x.ndim > 2:
            x = x.flatten(1)  # (N, C, H, W) -> (N, C·H·W)
        return self.layers(x)

    def extra_repr(self):
        return f"sizes={self.sizes}, dropout={self.dropout}"
