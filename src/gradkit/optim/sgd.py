"""SGD: stochastic gradient descent, with momentum, dampening, Nesterov momentum, weight decay."""
import numpy as np

from .. import _internal
from .optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Gradient descent: step each parameter against its gradient.

    One rule covers the three textbook variants; they differ only in the batch the gradient is
    computed on, which is what the training loop feeds the model, not an option here::

        w ← w − lr · ∇_w (1/|B|) Σ_{i∈B} ℓ(f(x_i; w), y_i)

    - full-batch gradient descent: B is the whole training set (one step per epoch);
    - mini-batch SGD: B is a random batch of, say, 32–512 samples (a DataLoader with
      ``batch_size=b, shuffle=True``) — the usual choice;
    - pure stochastic GD: |B| = 1, one sample per step (``batch_size=1``).

    With the options, as in PyTorch (g_t the gradient, b_t the momentum buffer)::

        g_t ← −g_t                          if maximize
        g_t ← g_t + λ w_{t−1}               weight_decay λ (L2 regularisation)
        b_t ← g_t                           first step with momentum μ ≠ 0
        b_t ← μ b_{t−1} + (1 − τ) g_t       later steps (dampening τ)
        g_t ← g_t + μ b_t   if nesterov,  else  g_t ← b_t
        w_t ← w_{t−1} − lr g_t

    Paper: Robbins & Monro 1951 (SGD); Polyak 1964 (momentum); Sutskever et al. 2013, "On the
    importance of initialization and momentum in deep learning" (Nesterov momentum in this form).

    Defaults: ``lr=1e-3``, ``momentum=0``, ``dampening=0``, ``weight_decay=0``,
    ``nesterov=False``, ``maximize=False``. State per parameter: ``momentum_buffer`` (b).
    ``foreach``/``fused``/``differentiable`` are accepted for PyTorch compatibility and ignored:
    gradkit has one code path.

    >>> opt = gk.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 *, maximize=False, foreach=None, differentiable=False, fused=None, **options):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults, **options)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening "
                             f"(got momentum={momentum}, dampening={dampening})")

    def _update(self, w, g, state, group, work):
        lr, mu, tau = group["lr"], group["momentum"], group["dampening"]
        (upd,) = work
        if mu != 0:
            b = state.get("momentum_buffer")
            if b is None:
                state["momentum_buffer"] = _internal.wrap(g.copy())        # b = g
                b = state["momentum_buffer"].array
            else:
                b = b.array
                b *= mu                                                   # b = μ b + (1 − τ) g
                b += g if tau == 0 else np.multiply(g, 1 - tau, out=upd)
            if group["nesterov"]:
                g = np.add(g, np.multiply(b, mu, out=upd), out=upd)      # g = g + μ b
            else:
                g = b                                                     # g = b
        w -= np.multiply(g, lr, out=upd)                                  # w = w − lr g
