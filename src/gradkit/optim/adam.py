"""Adam and AdamW: adaptive moment estimation, with L2 or decoupled weight decay, and AMSGrad."""
import math

import numpy as np

from .. import _internal
from .optimizer import Optimizer

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""Adam: a per-coordinate step from running averages of the gradient and its square.

    At step t, with g_t the gradient (negated if ``maximize``)::

        g_t ← g_t + λ w_{t−1}               weight_decay λ (L2; see AdamW for decoupled decay)
        m_t = β1 m_{t−1} + (1 − β1) g_t     first moment (mean)
        v_t = β2 v_{t−1} + (1 − β2) g_t²    second moment (uncentred variance)
        m̂_t = m_t / (1 − β1ᵗ)               bias corrections (m_0 = v_0 = 0)
        v̂_t = v_t / (1 − β2ᵗ)
        w_t = w_{t−1} − lr m̂_t / (√v̂_t + ε)

    With ``amsgrad``, v̂_t uses v_t^max = max(v_{t−1}^max, v_t) in place of v_t, so the
    denominator never shrinks.

    Paper: Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015
    (arXiv:1412.6980); AMSGrad: Reddi, Kale & Kumar, "On the Convergence of Adam and Beyond",
    ICLR 2018.

    Defaults: ``lr=1e-3``, ``betas=(0.9, 0.999)``, ``eps=1e-8``, ``weight_decay=0``,
    ``amsgrad=False``, ``maximize=False``, ``decoupled_weight_decay=False`` (True makes it
    AdamW; the decay itself is applied by the ``Optimizer`` base). State per parameter:
    ``step`` (t), ``exp_avg`` (m), ``exp_avg_sq`` (v), ``max_exp_avg_sq`` (amsgrad). ``foreach``/``fused``/``capturable``/``differentiable``
    are accepted for PyTorch compatibility and ignored.

    >>> opt = gk.optim.Adam(model.parameters(), lr=1e-3)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False, **options):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults, **options)

    def _init_state(self, w, state, group):
        state["step"] = 0
        state["exp_avg"] = _internal.wrap(np.zeros_like(w))
        state["exp_avg_sq"] = _internal.wrap(np.zeros_like(w))
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = _internal.wrap(np.zeros_like(w))

    def _update(self, w, g, state, group, work):
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        (tmp,) = work
        state["step"] = t = state["step"] + 1
        m, v = state["exp_avg"].array, state["exp_avg_sq"].array
        # m = β1 m + (1 − β1) g, written m += (1 − β1)(g − m): one temporary
        m += np.multiply(np.subtract(g, m, out=tmp), 1 - beta1, out=tmp)
        # v = β2 v + (1 − β2) g²
        v *= beta2
        v += np.multiply(np.multiply(g, 1 - beta2, out=tmp), g, out=tmp)
        if group["amsgrad"]:
            v_max = state["max_exp_avg_sq"].array
            v = np.maximum(v_max, v, out=v_max)                 # v = max(v_max, v)
        # w −= lr m̂/(√v̂ + ε) with m̂ = m/(1 − β1ᵗ), v̂ = v/(1 − β2ᵗ). With c = √(1 − β2ᵗ),
        # lr m̂/(√v/c + ε) = [lr c/(1 − β1ᵗ)] m/(√v + ε c): both corrections are folded
        # into two scalars, which saves three passes over memory
        c = math.sqrt(1 - beta2 ** t)
        denom = np.sqrt(v, out=tmp)
        denom += eps * c                                         # (√v̂ + ε) c
        step = np.divide(m, denom, out=tmp)
        step *= lr * c / (1 - beta1 ** t)                        # lr m̂/(√v̂ + ε)
        w -= step


class AdamW(Adam):
    r"""AdamW: Adam with weight decay decoupled from the gradient.

    Adam's L2 term ``g + λw`` passes through the adaptive scaling, so weights with large
    gradient variance are barely decayed. AdamW shrinks the weights directly instead::

        w_{t−1} ← w_{t−1} (1 − lr λ)        decoupled weight decay, before the Adam step
        m_t, v_t, m̂_t, v̂_t as in Adam (on the plain gradient)
        w_t = w_{t−1} − lr m̂_t / (√v̂_t + ε)

    Paper: Loshchilov & Hutter, "Decoupled Weight Decay Regularization", ICLR 2019
    (arXiv:1711.05101).

    Defaults: ``lr=1e-3``, ``betas=(0.9, 0.999)``, ``eps=1e-8``, ``weight_decay=1e-2``,
    ``amsgrad=False``, ``maximize=False``.
    """

    decoupled_weight_decay = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None, **options):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize, decoupled_weight_decay=True,
                         **options)

