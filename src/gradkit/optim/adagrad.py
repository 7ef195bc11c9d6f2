"""Adagrad: per-coordinate learning rates that shrink with the sum of squared gradients."""
import numpy as np

from ..autograd import grad_mode
from ..tensor import Tensor
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
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(f"Invalid initial_accumulator_value value: "
                             f"{initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, maximize=maximize)
        super().__init__(params, defaults)

    @grad_mode.no_grad()
    def step(self, closure=None):
        loss = self._closure(closure)
        for group in self.param_groups:
            lr, eps = group["lr"], group["eps"]
            for p in self._params(group):
                w = p.data
                d, tmp = self._work(w, 2)
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["sum"] = Tensor._make(np.full_like(w, group["initial_accumulator_value"]))
                state["step"] = t = state["step"] + 1
                G = state["sum"].data
                g = self._grad(p, group["weight_decay"], group["maximize"], out=d)
                eta = lr / (1 + (t - 1) * group["lr_decay"])         # η = lr / (1 + (t−1) decay)
                G += np.multiply(g, g, out=tmp)                      # G = G + g²
                denom = np.add(np.sqrt(G, out=tmp), eps, out=tmp)    # √G + ε
                w -= np.multiply(np.divide(g, denom, out=tmp), eta, out=tmp)  # w −= η g/(√G+ε)
                p._vc[0] += 1
        return loss
