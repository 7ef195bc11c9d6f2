"""Penalty terms to add to the loss: L1 (``l1_penalty``) and L2 (``l2_penalty``).

L2 is usually applied through the optimizer's ``weight_decay`` instead, which adds ``λ w`` to
the gradient without building graph nodes: for SGD, ``weight_decay=λ`` gives exactly the update
of ``loss + l2_penalty(params, λ)`` (see docs/optim.md). L1 has no optimizer option; add it to
the loss::

    loss = F.cross_entropy(model(x), y) + gk.optim.l1_penalty(model.parameters(), 1e-4)
"""
from .. import ops
from ..tensor import Tensor

__all__ = ["l1_penalty", "l2_penalty"]


def _params(params, who):
    if isinstance(params, Tensor):
        params = [params]
    params = list(params)
    if not params:
        raise ValueError(f"{who}: got an empty parameter list; pass model.parameters() or a list "
                         "of tensors")
    return params


def l1_penalty(params, lam):
    r"""λ Σ_i |w_i| over every element of every tensor in ``params`` (a scalar Tensor).

    Its gradient is λ sign(w) (0 at w = 0): a constant pull towards zero that drives small
    weights to exactly zero (sparse models), unlike L2's pull λ w that fades as w shrinks.

    params: Tensors (e.g. ``model.parameters()``, or only the weights, not the biases).
    lam: the strength λ ≥ 0.
    """
    if lam < 0:
        raise ValueError(f"l1_penalty: lam must be >= 0, got {lam}")
    total = None
    for p in _params(params, "l1_penalty"):
        s = ops.abs(p).sum()
        total = s if total is None else total + s
    return total * lam


def l2_penalty(params, lam):
    r"""(λ/2) Σ_i w_i² over every element of every tensor in ``params`` (a scalar Tensor).

    Its gradient is λ w, the term that ``weight_decay=λ`` adds to the gradient: adding this
    penalty to the loss and using SGD without weight decay gives the same update as SGD with
    ``weight_decay=λ``. (For Adam that is L2 regularisation, not AdamW's decoupled decay.)
    """
    if lam < 0:
        raise ValueError(f"l2_penalty: lam must be >= 0, got {lam}")
    total = None
    for p in _params(params, "l2_penalty"):
        s = (p * p).sum()
        total = s if total is None else total + s
    return total * (lam / 2)
