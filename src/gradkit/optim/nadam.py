"""NAdam: Adam with Nesterov momentum."""
import numpy as np

from .. import _internal
from .optimizer import Optimizer

__all__ = ["NAdam"]


class NAdam(Optimizer):
    r"""NAdam: Adam whose momentum looks one step ahead (Nesterov), with a momentum schedule.

    At step t, with g_t the gradient (negated if ``maximize``) and ψ = ``momentum_decay``::

        g_t ← g_t + λ w_{t−1}   (or w_{t−1} ← w_{t−1}(1 − lr λ) if decoupled_weight_decay)
        μ_t = β1 (1 − ½ · 0.96^{t ψ}),   μ_{t+1} = β1 (1 − ½ · 0.96^{(t+1) ψ})
        Π_t = Π_{t−1} μ_t                                   (Π_0 = 1)
        m_t = β1 m_{t−1} + (1 − β1) g_t
        v_t = β2 v_{t−1} + (1 − β2) g_t²,     v̂_t = v_t / (1 − β2ᵗ)
        w_t = w_{t−1} − lr [ (1 − μ_t)/(1 − Π_t) · g_t + μ_{t+1}/(1 − Π_t μ_{t+1}) · m_t ]
                           / (√v̂_t + ε)

    Paper: Dozat, "Incorporating Nesterov Momentum into Adam", ICLR 2016 workshop.

    Defaults: ``lr=2e-3``, ``betas=(0.9, 0.999)``, ``eps=1e-8``, ``weight_decay=0``,
    ``momentum_decay=4e-3``, ``decoupled_weight_decay=False``, ``maximize=False``. State per
    parameter: ``step`` (t), ``mu_product`` (Π_t, a float), ``exp_avg`` (m), ``exp_avg_sq`` (v).
    """

    n_work = 2

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False, **options):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        super().__init__(params, defaults, **options)

    def _init_state(self, w, state, group):
        state["step"] = 0
        state["mu_product"] = 1.0
        state["exp_avg"] = _internal.wrap(np.zeros_like(w))
        state["exp_avg_sq"] = _internal.wrap(np.zeros_like(w))

    def _update(self, w, g, state, group, work):
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        psi = group["momentum_decay"]
        tmp, step = work
        state["step"] = t = state["step"] + 1
        m, v = state["exp_avg"].array, state["exp_avg_sq"].array
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))                      # μ_t
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))           # μ_{t+1}
        state["mu_product"] = mu_product = state["mu_product"] * mu       # Π_t
        # m = β1 m + (1 − β1) g, written m += (1 − β1)(g − m)
        m += np.multiply(np.subtract(g, m, out=tmp), 1 - beta1, out=tmp)
        v *= beta2                                                        # v = β2 v + (1 − β2) g²
        v += np.multiply(np.multiply(g, 1 - beta2, out=tmp), g, out=tmp)
        v_hat = np.divide(v, 1 - beta2 ** t, out=tmp)                     # v̂ = v / (1 − β2ᵗ)
        denom = np.add(np.sqrt(v_hat, out=tmp), eps, out=tmp)             # √v̂ + ε
        # the current gradient's share, then the momentum's (looking one step ahead)
        c_g = lr * (1.0 - mu) / (1.0 - mu_product)
        c_m = lr * mu_next / (1.0 - mu_product * mu_next)
        w -= np.multiply(np.divide(g, denom, out=step), c_g, out=step)
        w -= np.multiply(np.divide(m, denom, out=step), c_m, out=step)
