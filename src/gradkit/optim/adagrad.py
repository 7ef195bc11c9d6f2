"""Adagrad: per-coordinate learning rates that shrink with the sum of squared gradients."""
import numpy as np

from .. import _internal
from .optimizer import Optimizer

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad: divide each coordinate's step by the root of its accumulated squared gradients,
    so rarely-updated (sparse) features keep large steps.

    At step t, with g_t the gradient (negated if ``maximize``)::

        g_t ← g_t + λ w_{t−1}                   weight_decay λ
        η_t = lr / (1 + (t − 1) · lr_decay)
        G_t = G_{t−1} + g_t²                    G_0 = initial_accumulator_value
        w_t = w_{t−1} − η_t g_t / (√G_t + ε)

    Paper: Duchi, Hazan & Singer, "Adaptive Subgradient Methods for Online Learning and
    Stochastic Optimization", JMLR 12, 2011.

    Defaults: ``lr=1e-2``, ``lr_decay=0``, ``weight_decay=0``, ``initial_accumulator_value=0``,
    ``eps=1e-10``, ``maximize=False``. State per parameter: ``step`` (t), ``sum`` (G).
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None,
                 **options):
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, maximize=maximize)
        super().__init__(params, defaults, **options)

    def _init_state(self, w, state, group):
        state["step"] = 0
        state["sum"] = _internal.wrap(np.full_like(w, group["initial_accumulator_value"]))

    def _update(self, w, g, state, group, work):
        (tmp,) = work
        state["step"] = t = state["step"] + 1
        G = state["sum"].array
        eta = group["lr"] / (1 + (t - 1) * group["lr_decay"])  # η = lr / (1 + (t−1) decay)
        G += np.multiply(g, g, out=tmp)                          # G = G + g²
        denom = np.add(np.sqrt(G, out=tmp), group["eps"], out=tmp)   # √G + ε
        w -= np.multiply(np.divide(g, denom, out=tmp), eta, out=tmp)  # w −= η g/(√G + ε)
