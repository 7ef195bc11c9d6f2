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

Subclasses write ``step()`` on the raw arrays (``p.data``, ``p.grad.data``) in place; this file
gives them ``_params(group)`` (the parameters to update) and ``_work(w, n)`` (scratch arrays
reused across steps, so that a step allocates nothing the size of a parameter).
"""
import copy
from collections import defaultdict

import numpy as np

from ..autograd import grad_mode
from ..tensor import Tensor

__all__ = ["Optimizer", "required"]


class _Required:
    """Marks a default that every param group must give (PyTorch's ``required``)."""

    def __repr__(self):
        return "<required parameter>"


required = _Required()


class Optimizer:
    """Base class: holds ``param_groups``, ``defaults`` and ``state``; subclasses define ``step``.

    params: an iterable of Parameters, of ``(name, Parameter)`` pairs (``named_parameters()``),
    or of dicts ``{"params": [...], <option>: value}`` (one param group each).
    """

    def __init__(self, params, defaults):
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {type(params).__name__}: pass "
                            "model.parameters() or [tensor]")
        self.defaults = defaults
        self.state = defaultdict(dict)
        self.param_groups = []
        self._scratch = {}  # dtype -> flat work buffer (not state: never saved)
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
                    p.grad = Tensor._make(np.zeros_like(p.data))

    def step(self, closure=None):
        """Update every parameter that has a gradient. ``closure`` (optional) re-evaluates the
        model and returns the loss; it runs with gradient recording on."""
        raise NotImplementedError(f"{type(self).__name__} must define step()")

    @staticmethod
    def _closure(closure):
        if closure is None:
            return None
        with grad_mode.enable_grad():
            return closure()

    # ------------------------------------------------------------------ helpers for step()
    @staticmethod
    def _params(group):
        """The parameters of ``group`` to update: those with a gradient that still require it
        (a frozen sub-module — ``requires_grad_(False)`` — gets no update and no weight decay)."""
        return [p for p in group["params"] if p.grad is not None and p.requires_grad]

    def _work(self, w, n=1):
        """``n`` scratch arrays shaped and typed like ``w``, views into one flat buffer per dtype
        kept across steps: the temporaries of an update cost no allocation."""
        size = w.size
        buf = self._scratch.get(w.dtype)
        if buf is None or buf.size < n * size:
            buf = self._scratch[w.dtype] = np.empty(n * size, w.dtype)
        return [buf[i * size:(i + 1) * size].reshape(w.shape) for i in range(n)]

    @staticmethod
    def _grad(p, weight_decay, maximize, out):
        """The gradient the rule sees: ``g = ∇f(w)`` (``-∇f`` when maximizing), plus the L2 term
        ``λ w`` when ``weight_decay = λ > 0``. Written into ``out`` when it differs from the
        stored gradient; ``p.grad`` itself is never modified."""
        g = p.grad.data
        if weight_decay != 0:
            np.multiply(p.data, weight_decay, out=out)
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
            state[key] = {k: Tensor._make(v.data) if isinstance(v, Tensor) else v
                          for k, v in s.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore the state and the group options from ``state_dict()``'s output (this
        optimizer's, or PyTorch's for the same parameter list). Arrays are copied and cast to
        each parameter's dtype, so the loaded optimizer continues bit-identically."""
        groups = self.param_groups
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError(f"loaded state dict has a different number of parameter groups "
                             f"({len(saved_groups)}) than this optimizer ({len(groups)})")
        for i, (g, s) in enumerate(zip(groups, saved_groups)):
            if len(g["params"]) != len(s["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't match "
                                 f"the size of optimizer's group: group {i} has "
                                 f"{len(s['params'])} parameters in the state dict and "
                                 f"{len(g['params'])} in the optimizer")
        id_map = {}
        for g, s in zip(groups, saved_groups):
            for saved_index, p in zip(s["params"], g["params"]):
                id_map[saved_index] = p
        state = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if isinstance(k, str) and k.isdigit():  # written through JSON metadata: "0" -> 0
                k = int(k)
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
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._scratch = {}


def _cast_state(p, value):
    """One saved state entry, copied: arrays and tensors become Tensors of the parameter's dtype
    (the step counter and other 0-d values become Python numbers)."""
    if isinstance(value, Tensor):
        value = value.data
    elif hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch.Tensor
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            v = value.item()
            return int(v) if isinstance(v, float) and v.is_integer() else v
        dtype = p.data.dtype if value.dtype.kind == "f" else value.dtype
        return Tensor._make(np.array(value, dtype=dtype, copy=True, order="C"))
    return copy.deepcopy(value)
