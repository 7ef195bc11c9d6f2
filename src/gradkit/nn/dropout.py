"""Dropout: during training, zero each element with probability p and scale the rest by 1/(1-p)."""
from .. import ops
from . import functional as F
from .module import Module


class Dropout(Module):
    """Regularisation by random zeroing (Srivastava et al., 2014). The identity in ``eval()``."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: probability p must be between 0 and 1, got {p}")
        self.p = p

    def forward(self, x):
        return ops.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"


class Dropout1d(Dropout):
    """Zero whole channels of (N, C, L) in training, scaling the rest by 1/(1-p)."""

    def forward(self, x):
        return F.dropout1d(x, self.p, self.training)


class Dropout2d(Dropout):
    """Zero whole channels (feature maps) of (N, C, H, W) in training, scaling the rest by
    1/(1-p): neighbouring pixels are correlated, so dropping single pixels barely regularises."""

    def forward(self, x):
        return F.dropout2d(x, self.p, self.training)
