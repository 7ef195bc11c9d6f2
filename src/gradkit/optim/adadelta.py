"""Adadelta: steps whose units match the parameters', from running averages of g² and Δw²."""
import numpy as np

from .. import _internal
from .optimizer import Optimizer

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Adadelta: scale the gradient by RMS[Δw]/RMS[g], so no global learning rate is needed
    (``lr`` only rescales the result; 1.0 is the paper's rule).

    At step t, with g_t the gradient (negated if ``maximize``)::

        g_t ← g_t + λ w_{t−1}                   weight_decay λ
        v_t = ρ v_{t−1} + (1 − ρ) g_t²          E[g²]
        Δw_t = √(u_{t−1} + ε) / √(v_t + ε) · g_t
        u_t = ρ u_{t−1} + (1 − ρ) Δw_t²         E[Δw²]
        w_t = w_{t−1} − lr Δw_t

    Paper: Zeiler, "ADADELTA: An Adaptive Learning Rate Method", 2012 (arXiv:1212.5701).

    Defaults: ``lr=1.0``, ``rho=0.9``, ``eps=1e-6``, ``weight_decay=0``, ``maximize=False``.
    State per parameter: ``step``, ``square_avg`` (v), ``acc_delta`` (u).
    """

    n_work = 2

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False, **options):
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults, **options)

    def _init_state(self, w, state, group):
        state["step"] = 0
        state["square_avg"] = _internal.wrap(np.zeros_like(w))
        state["acc_delta"] = _internal.wrap(np.zeros_like(w))

    def _update(self, w, g, state, group, work):
        lr, rho, eps = group["lr"], group["rho"], group["eps"]
        tmp, delta = work
        state["step"] += 1
        v, u = state["square_avg"].array, state["acc_delta"].array
        v *= rho                                                          # v = ρ v + (1 − ρ) g²
        v += np.multiply(np.multiply(g, 1 - rho, out=tmp), g, out=tmp)
        std = np.sqrt(np.add(v, eps, out=tmp), out=tmp)                   # √(v + ε)
        np.sqrt(np.add(u, eps, out=delta), out=delta)                     # √(u + ε)
        delta /= std
        delta *= g                                                        # Δw = √(u+ε)/√(v+ε) g
        u *= rho                                                          # u = ρ u + (1 − ρ) Δw²
        u += np.multiply(np.multiply(delta, 1 - rho, out=tmp), delta, out=tmp)
        w -= np.multiply(delta, lr, out=tmp)                              # w = w − lr Δw
