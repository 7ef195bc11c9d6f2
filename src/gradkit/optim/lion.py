"""Lion: the sign of an interpolated momentum, found by program search."""
import numpy as np

from .. import _internal
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

    decoupled_weight_decay = True   # the paper's w ← w − lr λ w, applied by the base

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, *, maximize=False,
                 **options):
        defaults = dict(lr=lr, betas=tuple(betas), weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults, **options)

    def _init_state(self, w, state, group):
        state["exp_avg"] = _internal.wrap(np.zeros_like(w))

    def _update(self, w, g, state, group, work):
        lr, (beta1, beta2) = group["lr"], group["betas"]
        (c,) = work
        m = state["exp_avg"].array
        # c = β1 m + (1 − β1) g, written m + (1 − β1)(g − m)
        np.add(m, np.multiply(np.subtract(g, m, out=c), 1 - beta1, out=c), out=c)
        w -= np.multiply(np.sign(c, out=c), lr, out=c)                   # w −= lr sign(c)
        # m = β2 m + (1 − β2) g, written m += (1 − β2)(g − m)
        m += np.multiply(np.subtract(g, m, out=c), 1 - beta2, out=c)
