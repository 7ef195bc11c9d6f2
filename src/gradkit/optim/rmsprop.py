"""RMSprop: divide the step by a running root-mean-square of recent gradients."""
import numpy as np

from .. import _internal
from .optimizer import Optimizer

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop: like Adagrad, but the squared gradients are averaged with exponential
    forgetting (α), so the step size does not decay to zero.

    At step t, with g_t the gradient (negated if ``maximize``)::

        g_t ← g_t + λ w_{t−1}                   weight_decay λ
        v_t = α v_{t−1} + (1 − α) g_t²          running mean square
        centered:  ḡ_t = α ḡ_{t−1} + (1 − α) g_t,   ṽ_t = v_t − ḡ_t²   (a variance estimate)
        otherwise: ṽ_t = v_t
        momentum μ > 0:  b_t = μ b_{t−1} + g_t / (√ṽ_t + ε),   w_t = w_{t−1} − lr b_t
        otherwise:       w_t = w_{t−1} − lr g_t / (√ṽ_t + ε)

    Paper: Hinton, Srivastava & Swersky, "Neural Networks for Machine Learning", lecture 6e
    (Coursera, 2012); the centered form from Graves, "Generating Sequences With Recurrent
    Neural Networks", 2013 (arXiv:1308.0850).

    Defaults: ``lr=1e-2``, ``alpha=0.99``, ``eps=1e-8``, ``weight_decay=0``, ``momentum=0``,
    ``centered=False``, ``maximize=False``. State per parameter: ``step``, ``square_avg`` (v),
    ``momentum_buffer`` (b, when momentum > 0), ``grad_avg`` (ḡ, when centered).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False, **options):
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults, **options)

    def _init_state(self, w, state, group):
        state["step"] = 0
        state["square_avg"] = _internal.wrap(np.zeros_like(w))
        if group["momentum"] > 0:
            state["momentum_buffer"] = _internal.wrap(np.zeros_like(w))
        if group["centered"]:
            state["grad_avg"] = _internal.wrap(np.zeros_like(w))

    def _update(self, w, g, state, group, work):
        lr, alpha, eps, mu = group["lr"], group["alpha"], group["eps"], group["momentum"]
        (tmp,) = work
        state["step"] += 1
        v = state["square_avg"].array
        v *= alpha                                                        # v = α v + (1 − α) g²
        v += np.multiply(np.multiply(g, 1 - alpha, out=tmp), g, out=tmp)
        if group["centered"]:
            g_avg = state["grad_avg"].array                                # ḡ = α ḡ + (1 − α) g
            g_avg += np.multiply(np.subtract(g, g_avg, out=tmp), 1 - alpha, out=tmp)
            np.subtract(v, np.multiply(g_avg, g_avg, out=tmp), out=tmp)  # v − ḡ²
            denom = np.sqrt(tmp, out=tmp)
        else:
            denom = np.sqrt(v, out=tmp)
        denom += eps                                                      # √ṽ + ε
        if mu > 0:
            b = state["momentum_buffer"].array                             # b = μ b + g/(√ṽ+ε)
            b *= mu
            b += np.divide(g, denom, out=tmp)
            w -= np.multiply(b, lr, out=tmp)                              # w = w − lr b
        else:
            w -= np.multiply(np.divide(g, denom, out=tmp), lr, out=tmp)
