"""Adamax: Adam with the infinity norm in place of the root mean square."""
import numpy as np

from .. import _internal
from .optimizer import Optimizer

__all__ = ["Adamax"]


class Adamax(Optimizer):
    r"""Adamax: Adam's second moment replaced by an exponentially weighted infinity norm, which
    needs no bias correction.

    At step t, with g_t the gradient (negated if ``maximize``)::

        g_t ← g_t + λ w_{t−1}                   weight_decay λ
        m_t = β1 m_{t−1} + (1 − β1) g_t
        u_t = max(β2 u_{t−1}, |g_t| + ε)
        w_t = w_{t−1} − lr / (1 − β1ᵗ) · m_t / u_t

    Paper: Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015, section 7.1
    (arXiv:1412.6980). (ε inside the max, as PyTorch does, keeps u_t > 0.)

    Defaults: ``lr=2e-3``, ``betas=(0.9, 0.999)``, ``eps=1e-8``, ``weight_decay=0``,
    ``maximize=False``. State per parameter: ``step`` (t), ``exp_avg`` (m), ``exp_inf`` (u).
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False,
                 **options):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        maximize=maximize)
        super().__init__(params, defaults, **options)

    def _init_state(self, w, state, group):
        state["step"] = 0
        state["exp_avg"] = _internal.wrap(np.zeros_like(w))
        state["exp_inf"] = _internal.wrap(np.zeros_like(w))

    def _update(self, w, g, state, group, work):
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        (tmp,) = work
        state["step"] = t = state["step"] + 1
        m, u = state["exp_avg"].array, state["exp_inf"].array
        # m = β1 m + (1 − β1) g, written m += (1 − β1)(g − m)
        m += np.multiply(np.subtract(g, m, out=tmp), 1 - beta1, out=tmp)
        u *= beta2                                                        # u = max(β2 u, |g| + ε)
        np.maximum(u, np.add(np.abs(g, out=tmp), eps, out=tmp), out=u)
        step_size = lr / (1 - beta1 ** t)                                 # lr / (1 − β1ᵗ)
        w -= np.multiply(np.divide(m, u, out=tmp), step_size, out=tmp)
