"""Lion: the sign of an interpolated momentum, found by program search."""
import numpy as np

from ..autograd import grad_mode
from ..tensor import Tensor
from .optimizer import Optimizer

__all__ = ["Lion"]


class Lion(Optimizer):
    r"""Lion (EvoLved Sign Momentum): every coordinate moves by exactly ±lr (plus decay), in the
    direction of the sign of an interpolation between the momentum and the gradient.

    At each step, with g the gradient (negated if ``maximize``)::

        c = β1 m + (1 − β1) g
        w ← w − lr (sign(c) + λ w)          decoupled weight decay λ
        m ← β2 m + (1 − β2) g

    Because the update has unit size per coordinate, Lion wants a learning rate 3–10× smaller
    than AdamW's and a weight decay 3–10× larger. Memory: one state array (m), Adam's two.

    Paper: Chen et al., "Symbolic Discovery of Optimization Algorithms", NeurIPS 2023
    (arXiv:2302.06675), Algorithm 2. PyTorch has no Lion; this follows the paper.

    Defaults: ``lr=1e-4``, ``betas=(0.9, 0.99)``, ``weight_decay=0``, ``maximize=False``.
    State per parameter: ``exp_avg`` (m).
    """

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, *, maximize=False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, betas=tuple(betas), weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    @grad_mode.no_grad()
    def step(self, closure=None):
        loss = self._closure(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), lam = group["lr"], group["betas"], group["weight_decay"]
            for p in self._params(group):
                w = p.data
                d, c = self._work(w, 2)
                state = self.state[p]
                if not state:
                    state["exp_avg"] = Tensor._make(np.zeros_like(w))
                m = state["exp_avg"].data
                g = self._grad(p, 0, group["maximize"], out=d)
                # c = β1 m + (1 − β1) g, written m + (1 − β1)(g − m)
                np.add(m, np.multiply(np.subtract(g, m, out=c), 1 - beta1, out=c), out=c)
                if lam != 0:
                    w *= 1 - lr * lam                                     # w −= lr λ w
                w -= np.multiply(np.sign(c, out=c), lr, out=c)           # w −= lr sign(c)
                # m = β2 m + (1 − β2) g, written m += (1 − β2)(g − m)
                m += np.multiply(np.subtract(g, m, out=c), 1 - beta2, out=c)
                p._vc[0] += 1
        return loss
