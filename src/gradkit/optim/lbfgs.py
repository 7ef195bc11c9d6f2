"""L-BFGS: a quasi-Newton method that learns the curvature from its last steps (PyTorch's LBFGS).

Gradient descent steps along -g. Newton's method steps along -H⁻¹g, with H the Hessian, and
converges in a few steps near a minimum, but H has n² entries. L-BFGS keeps only the last m pairs

    s_k = w_{k+1} − w_k          (where the step went)
    y_k = g_{k+1} − g_k          (how the gradient changed along it)

and applies an approximation of H⁻¹ to g with the two-loop recursion (Nocedal & Wright,
*Numerical Optimization*, algorithm 7.4), in O(m n)::

    q ← −g
    for i = k−1 … k−m:   α_i ← ρ_i s_iᵀq;   q ← q − α_i y_i          ρ_i = 1 / y_iᵀs_i
    r ← γ q                                                          γ = y_{k−1}ᵀs_{k−1} / y_{k−1}ᵀy_{k−1}
    for i = k−m … k−1:   β ← ρ_i y_iᵀr;     r ← r + (α_i − β) s_i
    d ← r                                                            the search direction

A pair enters the history only when y_iᵀs_i > 1e-10 (the curvature condition, which keeps the
approximation positive definite). The step length is ``lr`` (the first step: ``lr ·
min(1, 1/‖g‖₁)``), or, with ``line_search_fn="strong_wolfe"``, the one a line search finds
satisfying the strong Wolfe conditions (sufficient decrease c1 = 1e-4, curvature c2 = 0.9;
cubic interpolation, as in minFunc).

Each ``step(closure)`` runs up to ``max_iter`` iterations and evaluates the closure (the loss and
its gradients) up to ``max_eval`` times, so the closure is required. It stops early when the
largest gradient entry is ≤ ``tolerance_grad``, or the step or the loss changes by less than
``tolerance_change``. The algorithm and its stopping rules are PyTorch's (torch/optim/lbfgs.py),
so the same problem gives the same iterates.

All parameters form one vector, so LBFGS takes one parameter group, as in PyTorch. Paper: Liu &
Nocedal 1989, "On the limited memory BFGS method for large scale optimization".

>>> opt = gk.optim.LBFGS(model.parameters(), lr=1, line_search_fn="strong_wolfe")
>>> def closure():
...     opt.zero_grad(); loss = loss_fn(model(x), y); loss.backward(); return loss
>>> opt.step(closure)
"""
import numpy as np

from .. import _internal
from ..autograd import grad_mode
from .optimizer import Optimizer

__all__ = ["LBFGS"]


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1, g2, clamped to
    ``bounds`` (default: between x1 and x2); their midpoint when the cubic has no minimum."""
    xmin_bound, xmax_bound = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square >= 0:
        d2 = np.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(obj_func, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """A step length t along d meeting the strong Wolfe conditions:
        f(w + t d) ≤ f(w) + c1 t gᵀd          (sufficient decrease)
        |∇f(w + t d)ᵀd| ≤ −c2 gᵀd             (curvature)
    First grow t until a bracket holds a minimum, then shrink the bracket (zoom) by cubic
    interpolation. Returns (f_new, g_new, t, evaluations)."""
    d_norm = np.abs(d).max()
    g = g.copy()
    f_new, g_new = obj_func(t, d)
    ls_func_evals = 1
    gtd_new = g_new.dot(d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    # ---- bracketing: find an interval that contains a point meeting the conditions
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        # extrapolate: a cubic step between 1.01 t and 10 t
        min_step, max_step = t + 0.01 * (t - t_prev), t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                               bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new.copy(), gtd_new
        f_new, g_new = obj_func(t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
    if ls_iter == max_ls:  # reached the evaluation budget
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    # ---- zoom: shrink the bracket until a point meets the conditions
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:  # the bracket is too small
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                               bracket[1], bracket_f[1], bracket_gtd[1])
        # keep t away from the bracket's ends: too close means too little progress
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                t = max(bracket) - eps if abs(t - max(bracket)) < abs(t - min(bracket)) \
                    else min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = obj_func(t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            # not enough decrease: t becomes the high end
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new.copy(), gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True                       # the Wolfe conditions hold at t
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                # the old high end is on the wrong side: the old low end replaces it
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos], bracket_gtd[high_pos] = bracket_g[low_pos], bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new.copy(), gtd_new
    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals


def _array(value):
    """A state entry as an array (state loaded from a file holds Tensors)."""
    return None if value is None else np.asarray(_internal.as_array(value))


class LBFGS(Optimizer):
    """L-BFGS with PyTorch's arguments and defaults: ``lr=1``, ``max_iter=20``,
    ``max_eval=max_iter * 5 // 4``, ``tolerance_grad=1e-7``, ``tolerance_change=1e-9``,
    ``history_size=100``, ``line_search_fn=None`` (or ``"strong_wolfe"``). See the module's
    docstring for the method. ``step(closure)`` needs the closure."""

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if line_search_fn not in (None, "strong_wolfe"):
            raise ValueError(f"LBFGS: line_search_fn must be None or 'strong_wolfe', got "
                             f"{line_search_fn!r}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")

    @property
    def _flat_params(self):
        return self.param_groups[0]["params"]

    # ---- all parameters as one vector
    def _gather_flat_grad(self):
        return np.concatenate([np.zeros(p.array.size, p.array.dtype) if p.grad is None
                               else p.grad.array.reshape(-1) for p in self._flat_params])

    def _add_grad(self, step_size, update):
        """w ← w + step_size · update, parameter by parameter."""
        offset = 0
        for p in self._flat_params:
            n = p.array.size
            p.array += (step_size * update[offset:offset + n]).reshape(p.array.shape) \
                .astype(p.array.dtype, copy=False)
            offset += n
        _internal.bump_version(*self._flat_params)

    def _set_params(self, arrays):
        for p, a in zip(self._flat_params, arrays):
            p.array[...] = a
        _internal.bump_version(*self._flat_params)

    def _evaluate(self, closure):
        with grad_mode.enable_grad():
            loss = closure()
        return float(_internal.as_array(loss)), self._gather_flat_grad()

    def step(self, closure=None, *, grad_scale=None):
        """Up to ``max_iter`` L-BFGS iterations; returns the loss of the first evaluation."""
        if closure is None:
            raise TypeError("LBFGS.step needs a closure that re-evaluates the model and returns "
                            "the loss: opt.step(closure), with def closure(): opt.zero_grad(); "
                            "loss = ...; loss.backward(); return loss")
        if grad_scale is not None:
            raise ValueError("LBFGS.step: grad_scale is not supported (the closure computes the "
                             "whole loss at every evaluation)")
        group = self.param_groups[0]
        lr, max_iter, max_eval = float(group["lr"]), group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        line_search_fn, history_size = group["line_search_fn"], group["history_size"]

        # the state lives under the first parameter, as in PyTorch
        state = self.state[self._flat_params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        with grad_mode.enable_grad():
            orig_loss = closure()
        loss = float(_internal.as_array(orig_loss))
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        if np.abs(flat_grad).max() <= tolerance_grad:  # already optimal
            return orig_loss

        d, t = _array(state.get("d")), state.get("t")
        old_dirs = [_array(v) for v in state.get("old_dirs", [])]
        old_stps = [_array(v) for v in state.get("old_stps", [])]
        ro = list(state.get("ro", []))
        h_diag = state.get("H_diag")
        prev_flat_grad, prev_loss = _array(state.get("prev_flat_grad")), state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            # ---- the direction
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro, h_diag = [], [], [], 1
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = y.dot(s)
                if ys > 1e-10:                            # the curvature condition
                    if len(old_dirs) == history_size:     # forget the oldest pair
                        old_dirs.pop(0), old_stps.pop(0), ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    h_diag = ys / y.dot(y)                # γ, the initial H⁻¹ ≈ γ I
                # the two-loop recursion
                al = [None] * len(old_dirs)
                q = -flat_grad
                for i in range(len(old_dirs) - 1, -1, -1):
                    al[i] = old_stps[i].dot(q) * ro[i]
                    q = q - al[i] * old_dirs[i]
                r = q * h_diag
                for i in range(len(old_dirs)):
                    be_i = old_dirs[i].dot(r) * ro[i]
                    r = r + (al[i] - be_i) * old_stps[i]
                d = r
            prev_flat_grad = flat_grad.copy()
            prev_loss = loss
            # ---- the step length
            t = min(1.0, 1.0 / np.abs(flat_grad).sum()) * lr if state["n_iter"] == 1 else lr
            gtd = flat_grad.dot(d)                       # the directional derivative
            if gtd > -tolerance_change:                  # not a descent direction any more
                break
            ls_func_evals = 0
            if line_search_fn is not None:
                x_init = [p.array.copy() for p in self._flat_params]

                def obj_func(t, d):
                    self._add_grad(t, d)
                    out = self._evaluate(closure)
                    self._set_params(x_init)
                    return out

                loss, flat_grad, t, ls_func_evals = _strong_wolfe(
                    obj_func, t, d, loss, flat_grad, gtd, max_ls=max_eval - current_evals)
                self._add_grad(t, d)
                opt_cond = np.abs(flat_grad).max() <= tolerance_grad
            else:
                self._add_grad(t, d)
                if n_iter != max_iter:   # re-evaluate, except when the loop ends anyway
                    loss, flat_grad = self._evaluate(closure)
                    opt_cond = np.abs(flat_grad).max() <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals
            # ---- the stopping rules
            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if np.abs(d * t).max() <= tolerance_change:
                break
            if abs(loss - prev_loss) < tolerance_change:
                break

        state.update(d=d, t=float(t), old_dirs=old_dirs, old_stps=old_stps,
                     ro=[float(v) for v in ro], H_diag=float(h_diag),
                     prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return orig_loss
