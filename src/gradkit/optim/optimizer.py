"""Optimizer: the base class of every update rule — param groups, per-parameter state, state_dict.

An optimizer holds ``param_groups``: a list of dicts, each with its ``params`` (a list of
Parameters) and its own options (``lr``, ``weight_decay``, ...), missing options taken from
``defaults``. Per-parameter state lives in ``self.state[p]``, keyed by the Parameter itself
(never by ``id(p)``, which Python reuses once an object dies)::

    opt = gk.optim.SGD([{"params": model.fc1.parameters()},
                        {"params": model.fc2.parameters(), "lr": 1e-3}], lr=1e-2, momentum=0.9)
    opt.zero_grad(); loss.backward(); opt.step()

``state_dict()`` has PyTorch's structure: ``{"state": {index: {...}}, "param_groups": [{...,
"params": [indices]}]}``, indices counting the parameters across all groups in order, so a
checkpoint holds no Parameter objects and loads into a freshly built optimizer.

The base owns the update loop; a subclass writes only its paper's rule::

    step(closure)                             the loop, written once, here
        loss = closure()                      with gradient recording on
        for each group, each parameter with a gradient that still requires one:
            _init_state(w, state, group)      the rule's state, at its first step
            g = the gradient, in a scratch array, never writing .grad:
                × grad_scale                  (a sum over micro-batches → their mean)
                clipped: by value, by each parameter's norm, by the joint norm
                negated if maximize; + λ w if weight_decay λ is L2 (coupled)
            w ← w (1 − lr λ)                  if the decay is decoupled (AdamW, Lion, Keras)
            _update(w, g, state, group, work) the rule: a few in-place NumPy passes
            bump the parameter's version      (the in-place check sees the change)

``work`` holds ``n_work`` scratch arrays shaped like ``w``: views into one flat buffer per dtype
kept across steps, so a step allocates nothing the size of a parameter. The options' checks
are one table (``_CHECKS``), run by every constructor.
"""
import copy
import math
from collections import defaultdict

import numpy as np

from .. import _internal
from ..autograd import grad_mode
from ..tensor import Tensor

__all__ = ["Optimizer", "required"]


class _Required:
    """Marks a default that every param group must give (PyTorch's ``required``)."""

    def __repr__(self):
        return "<required parameter>"


required = _Required()


# === option checks: written once, run by every constructor ====================================
def _nonnegative(v):
    return 0.0 <= v


def _positive_or_none(v):
    return v is None or v > 0


# option -> (test, what PyTorch's message calls it); betas are checked per index below
_CHECKS = {
    "lr": (_nonnegative, "learning rate"),
    "eps": (_nonnegative, "epsilon value"),
    "momentum": (_nonnegative, "momentum value"),
    "weight_decay": (_nonnegative, "weight_decay value"),
    "lr_decay": (_nonnegative, "lr_decay value"),
    "initial_accumulator_value": (_nonnegative, "initial_accumulator_value value"),
    "alpha": (_nonnegative, "alpha value"),
    "rho": (lambda v: 0.0 <= v <= 1.0, "rho value"),
    "momentum_decay": (_nonnegative, "momentum_decay value"),
    "clip_grad_norm": (_positive_or_none, "clip_grad_norm value"),
    "clip_grad_norm_per_param": (_positive_or_none, "clip_grad_norm_per_param value"),
    "clip_grad_value": (_positive_or_none, "clip_grad_value value"),
}


class Optimizer:
    """Base class: holds ``param_groups``, ``defaults`` and ``state`` and runs the update loop;
    a subclass defines ``_init_state`` and ``_update`` (its paper's rule).

    params: an iterable of Parameters, of ``(name, Parameter)`` pairs (``named_parameters()``),
    or of dicts ``{"params": [...], <option>: value}`` (one param group each).

    Options every optimizer takes (keyword-only; none is in PyTorch's optimizers, which leave
    clipping to ``nn.utils``):

    - ``clip_grad_value=c``: each gradient element clipped into [−c, c]
      (``nn.utils.clip_grad_value_``; Keras' ``clipvalue``).
    - ``clip_grad_norm_per_param=c``: each parameter's gradient scaled to norm ≤ c
      (Keras' ``clipnorm``).
    - ``clip_grad_norm=c``: all gradients scaled together to joint norm ≤ c
      (``nn.utils.clip_grad_norm_(params, c)``; Keras' ``global_clipnorm``).
    - ``decoupled_weight_decay=True``: ``weight_decay`` λ shrinks the weights,
      ``w ← w (1 − lr λ)``, instead of adding λ w to the gradient (AdamW's rule; Keras'
      ``weight_decay`` for every optimizer). A group option, stored only when set.

    Clipping runs in that order (value, per parameter, joint), on the gradient scaled by
    ``step(grad_scale=...)``, before ``maximize`` and weight decay; ``.grad`` is never written.
    """

    n_work = 1                      # scratch arrays the rule's _update needs
    decoupled_weight_decay = False  # the rule's own default (AdamW, Lion: True)

    def __init__(self, params, defaults, *, clip_grad_norm=None, clip_grad_norm_per_param=None,
                 clip_grad_value=None, decoupled_weight_decay=None):
        self.check_options(dict(defaults, clip_grad_norm=clip_grad_norm,
                                clip_grad_norm_per_param=clip_grad_norm_per_param,
                                clip_grad_value=clip_grad_value))
        if decoupled_weight_decay and "decoupled_weight_decay" not in defaults:
            defaults = dict(defaults, decoupled_weight_decay=True)
        self.clip_grad_norm = clip_grad_norm
        self.clip_grad_norm_per_param = clip_grad_norm_per_param
        self.clip_grad_value = clip_grad_value
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {type(params).__name__}: pass "
                            "model.parameters() or [tensor]")
        self.defaults = defaults
        self.state = defaultdict(dict)
        self.param_groups = []
        self._scratch = {}  # dtype -> flat work buffer (not state: never saved)
        self._views = {}    # (dtype, shape, n) -> (buffer, its n views): made once
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ param groups
    def add_param_group(self, param_group):
        """Add a group of parameters with its own options (e.g. unfreeze a layer mid-training
        with a smaller lr). Options it leaves out come from ``defaults``."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        if names:
            if len(names) != len(params):
                raise ValueError("all optimizer params should be with/without names. Some param "
                                 "names are missing")
            param_group["param_names"] = names
        param_group["params"] = params
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                f"{type(p).__module__}.{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor (one computed from others); "
                                 "optimize the leaf it came from, or .detach().requires_grad_()")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)
        if len({id(p) for p in params}) != len(params):
            raise ValueError("optimizer contains a parameter group with duplicate parameters; "
                             "list each parameter once")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        for g in self.param_groups:
            if ("param_names" in g) != ("param_names" in param_group):
                raise ValueError("all optimizer param groups should be with/without names. "
                                 "cannot add param group "
                                 f"{'with' if names else 'without'} names to the optimizer")
        self.param_groups.append(param_group)

    # ------------------------------------------------------------------ the training-loop calls
    def zero_grad(self, set_to_none=True):
        """Clear every parameter's ``.grad``: to None (default; the next backward stores a fresh
        gradient) or to a zero array (``set_to_none=False``)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    # A fresh array, not fill(0): the engine may hand the same gradient array
                    # to two leaves, or a caller's own array (backward(gradient=g)).
                    p.grad = _internal.wrap(np.zeros_like(p.array))

    @grad_mode.no_grad()
    def step(self, closure=None, *, grad_scale=None):
        """Update every parameter that has a gradient and still requires one; returns the
        closure's loss (or None).

        closure: optional; re-evaluates the model and returns the loss (it runs with gradient
            recording on, before the update).
        grad_scale: optional; every gradient is multiplied by it before clipping and the rule
            (``.grad`` is left as it is). E.g. ``k / n`` when ``n`` micro-batches of a group of
            ``k`` were accumulated with their losses divided by ``k``.
        """
        loss = None
        if closure is not None:
            with grad_mode.enable_grad():
                loss = closure()
        scale = 1.0 if grad_scale is None else float(grad_scale)
        rescale = scale != 1.0 or self.clip_grad_value is not None \
            or self.clip_grad_norm_per_param is not None
        joint = self._joint_clip_coef(scale) if self.clip_grad_norm is not None else 1.0
        for group in self.param_groups:
            lam, maximize = group.get("weight_decay", 0), group.get("maximize", False)
            decoupled = lam != 0 and group.get("decoupled_weight_decay",
                                               self.decoupled_weight_decay)
            l2, shrink = (0, 1 - group["lr"] * lam) if decoupled else (lam, 1)
            updated = []
            try:
                for p in self._params(group):
                    w = p.array
                    state = self.state[p]
                    if not state:
                        self._init_state(w, state, group)
                    d, *work = self._work(w, self.n_work + 1)
                    g = p.grad.array
                    if rescale:
                        g = self._clip(g, scale, d)
                    if joint != 1.0:
                        g = np.multiply(g, g.dtype.type(joint), out=d)
                    g = self._signed_decayed(g, w, l2, maximize, d, work[0])
                    if decoupled:
                        w *= shrink                               # w ← w (1 − lr λ)
                    self._update(w, g, state, group, work)
                    updated.append(p)
            finally:
                # one call per group (a call per parameter cost 4% of an SGD step over 40 small
                # ones), made even when a later update fails: these parameters were written
                _internal.bump_version(*updated)
        return loss

    # ------------------------------------------------------------------ what a rule defines
    def _init_state(self, w, state, group):
        """Fill ``state`` (an empty dict) for parameter array ``w`` before its first update."""

    def _update(self, w, g, state, group, work):
        """The rule: update ``w`` in place from the gradient ``g`` (read only: it may be
        ``.grad``'s own array), ``state`` and ``group``'s options, using the ``n_work`` scratch
        arrays in ``work``."""
        raise NotImplementedError(f"{type(self).__name__} must define _update()")

    @classmethod
    def check_options(cls, options):
        """Raise ``ValueError`` (PyTorch's wording) for an invalid option in ``options``
        (a dict of constructor options); what every constructor runs."""
        for name, value in options.items():
            if value is required:
                continue
            if name == "betas":
                for i, beta in enumerate(value):
                    if not 0.0 <= beta < 1.0:
                        raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
            elif name in _CHECKS and not _CHECKS[name][0](value):
                raise ValueError(f"Invalid {_CHECKS[name][1]}: {value}")

    # ------------------------------------------------------------------ the loop's helpers
    @staticmethod
    def _params(group):
        """The parameters of ``group`` to update: those with a gradient that still require it
        (a frozen sub-module — ``requires_grad_(False)`` — gets no update and no weight decay)."""
        return [p for p in group["params"] if p.grad is not None and p.requires_grad]

    def _work(self, w, n=1):
        """``n`` scratch arrays shaped and typed like ``w``, views into one flat buffer per dtype
        kept across steps: the temporaries of an update cost no allocation."""
        key = (w.dtype, w.shape, n)
        buf = self._scratch.get(w.dtype)
        hit = self._views.get(key)
        if hit is not None and hit[0] is buf:  # the views of the last step, still valid
            return hit[1]
        size = w.size
        if buf is None or buf.size < n * size:
            buf = self._scratch[w.dtype] = np.empty(n * size, w.dtype)
            self._views = {k: v for k, v in self._views.items() if k[0] != w.dtype}
        views = [buf[i * size:(i + 1) * size].reshape(w.shape) for i in range(n)]
        self._views[key] = (buf, views)
        return views

    def _clip(self, g, scale, out):
        """``g`` times ``scale``, clipped by value, then to norm ≤ clip_grad_norm_per_param;
        written into ``out`` when anything changes it."""
        if scale != 1.0:
            g = np.multiply(g, scale, out=out)
        c = self.clip_grad_value
        if c is not None:
            g = np.clip(g, -c, c, out=out)
        c = self.clip_grad_norm_per_param
        if c is not None:
            coef = c / (math.sqrt(float(np.vdot(g, g))) + 1e-6)   # nn.utils.clip_grad_norm_'s
            if coef < 1:
                g = np.multiply(g, g.dtype.type(coef), out=out)
        return g

    def _joint_clip_coef(self, scale):
        """min(1, clip_grad_norm / (‖(g_1, ..., g_n)‖ + 1e-6)) over every gradient to apply."""
        total = 0.0
        for group in self.param_groups:
            for p in self._params(group):
                (d,) = self._work(p.array, 1)
                g = self._clip(p.grad.array, scale, d)
                total += float(np.vdot(g, g))
        coef = self.clip_grad_norm / (math.sqrt(total) + 1e-6)
        return coef if coef < 1 else 1.0

    @staticmethod
    def _signed_decayed(g, w, weight_decay, maximize, out, spare):
        """The gradient the rule sees: ``g`` (``-g`` when maximizing), plus the L2 term ``λ w``
        when ``weight_decay = λ ≠ 0``. Written into ``out`` when it differs from ``g``."""
        if weight_decay != 0:
            if g is out:  # already a private copy (clipped): add λ w through the spare array
                np.multiply(w, weight_decay, out=spare)
                if maximize:
                    return np.subtract(spare, out, out=out)  # -g + λw
                out += spare
                return out
            np.multiply(w, weight_decay, out=out)
            if maximize:
                np.subtract(out, g, out=out)  # -g + λw
            else:
                np.add(g, out, out=out)  # g + λw
            return out
        if maximize:
            return np.negative(g, out=out)
        return g

    # ------------------------------------------------------------------ saving and loading
    def state_dict(self):
        """``{"state": {index: {name: value}}, "param_groups": [{option: value, "params":
        [index, ...]}]}``, with PyTorch's structure and state names (``exp_avg``, ...).

        The state tensors share memory with the optimizer's live state (as in PyTorch): save
        them, or ``copy.deepcopy`` the dict before stepping again.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(p, len(index)) for p in group["params"]]
            groups.append(packed)
        state = {}
        for p, s in self.state.items():
            key = index[p] if isinstance(p, Tensor) else p
            state[key] = {k: _internal.wrap(v.array) if isinstance(v, Tensor) else v
                          for k, v in s.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore the state and the group options from ``state_dict()``'s output (this
        optimizer's, or PyTorch's for the same parameter list). Arrays are copied and cast to
        each parameter's dtype, so the loaded optimizer continues bit-identically.

        The groups' sizes and, for the rules run by the base loop, each state tensor's shape
        (``exp_avg``, ...: the shape of its parameter) are checked first: the state of another
        model's optimizer is refused here, naming the parameter, not at the first step."""
        groups = self.param_groups
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        hint = ("; is this the state of another model's optimizer? Build the optimizer over the "
                "parameters of the model the state was saved with, in the same order")
        if len(groups) != len(saved_groups):
            raise ValueError(f"loaded state dict has a different number of parameter groups "
                             f"({len(saved_groups)}) than this optimizer ({len(groups)}){hint}")
        for i, (g, s) in enumerate(zip(groups, saved_groups)):
            if len(g["params"]) != len(s["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't match "
                                 f"the size of optimizer's group: group {i} has "
                                 f"{len(s['params'])} parameters in the state dict and "
                                 f"{len(g['params'])} in the optimizer{hint}")
        id_map = {}
        for g, s in zip(groups, saved_groups):
            for saved_index, p in zip(s["params"], g["params"]):
                id_map[saved_index] = p
        # the rules run by the base loop keep each state tensor shaped like its parameter; an
        # optimizer with its own step() (LBFGS: flat vectors) keeps what it likes
        shaped_like_params = type(self).step is Optimizer.step
        saved = {}
        for k, v in state_dict["state"].items():
            if isinstance(k, str) and k.isdigit():  # written through JSON metadata: "0" -> 0
                k = int(k)
            saved[k] = v
            if k in id_map and shaped_like_params:
                _check_state_shapes(k, id_map[k], v, hint)
        state = defaultdict(dict)
        for k, v in saved.items():
            if k in id_map:
                p = id_map[k]
                state[p] = {name: _cast_state(p, value) for name, value in v.items()}
            else:
                state[k] = copy.deepcopy(v)
        self.state = state
        new_groups = []
        for g, s in zip(groups, saved_groups):
            s["params"] = g["params"]
            if "param_names" in g and "param_names" not in s:
                s["param_names"] = g["param_names"]
            new_groups.append(s)
        self.param_groups = new_groups

    # ------------------------------------------------------------------ printing
    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key not in ("params", "param_names"):
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups,
                "clip_grad_norm": self.clip_grad_norm,
                "clip_grad_norm_per_param": self.clip_grad_norm_per_param,
                "clip_grad_value": self.clip_grad_value}

    def __setstate__(self, state):
        state = {"clip_grad_norm": None, "clip_grad_norm_per_param": None,
                 "clip_grad_value": None, **state}
        self.__dict__.update(state)
        self._scratch, self._views = {}, {}


def _check_state_shapes(index, p, entries, hint):
    """Each non-scalar state tensor of parameter ``index`` must have the parameter's shape."""
    for name, value in entries.items():
        shape = getattr(value, "shape", None)
        if shape is not None and len(shape) > 0 and tuple(shape) != tuple(p.shape):
            raise ValueError(f"loaded state dict does not fit parameter {index}: its {name} has "
                             f"shape {tuple(shape)}, the parameter {tuple(p.shape)}{hint}")


def _cast_state(p, value):
    """One saved state entry, copied: arrays and tensors become Tensors of the parameter's dtype
    (the step counter and other 0-d values become Python numbers)."""
    if isinstance(value, Tensor):
        value = value.array
    elif hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch.Tensor
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            v = value.item()
            return int(v) if isinstance(v, float) and v.is_integer() else v
        dtype = p.array.dtype if value.dtype.kind == "f" else value.dtype
        return _internal.wrap(np.array(value, dtype=dtype, copy=True, order="C"))
    return copy.deepcopy(value)
