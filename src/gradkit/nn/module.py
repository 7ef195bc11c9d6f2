"""Module and Parameter: the building block of every network.

A Module owns Parameters (tensors that an optimizer updates), buffers (state that is saved but not
trained, like BatchNorm's running mean) and sub-modules, all registered by plain attribute
assignment::

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(784, 128)      # a sub-module: its parameters become fc1.weight, fc1.bias
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            return self.fc2(gk.relu(self.fc1(x)))

``state_dict()`` keys are PyTorch's (``fc1.weight``), so weights move between the two by name.
"""
import difflib
from collections import OrderedDict

import numpy as np

from .. import _internal, backend
from .. import devices as _device
from ..autograd import grad_mode
from ..tensor import Tensor


class Parameter(Tensor):
    """A tensor that is a module's trainable weight: ``requires_grad`` by default, and listed by
    ``Module.parameters()`` when assigned as a module attribute."""

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = np.empty(0, backend.get_default_dtype())
        super().__init__(data.array if isinstance(data, Tensor) else data)
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class Buffer(Tensor):
    """A tensor that is a module's state, not trained: ``self.running_mean = nn.Buffer(t)``
    registers it as ``register_buffer`` does (saved in ``state_dict`` unless
    ``persistent=False``). Shares ``data``'s memory."""

    __slots__ = ("persistent",)

    def __init__(self, data=None, *, persistent=True):
        if data is None:
            data = np.empty(0, backend.get_default_dtype())
        super().__init__(data.array if isinstance(data, Tensor) else data)
        if isinstance(data, Tensor) and data.requires_grad:
            self.requires_grad_(True)
        self.persistent = persistent


class Module:
    """Base class for all layers and models. Subclasses define ``forward``; call the module itself."""

    training = True
    _version_check = True

    def __init__(self, *args, **kwargs):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "training", True)

    # ------------------------------------------------------------------ registration
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            if isinstance(value, (Parameter, Module)):
                raise AttributeError(f"cannot assign {type(value).__name__} '{name}' before "
                                     "Module.__init__() is called: call super().__init__() first")
            object.__setattr__(self, name, value)
            return
        params, modules, buffers = self._parameters, self._modules, self._buffers
        if isinstance(value, Buffer):
            params.pop(name, None)
            modules.pop(name, None)
            self.register_buffer(name, value, value.persistent)
            return
        if isinstance(value, Parameter):
            modules.pop(name, None)
            buffers.pop(name, None)
            params[name] = value
        elif isinstance(value, Module):
            params.pop(name, None)
            buffers.pop(name, None)
            modules[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as parameter '{name}' "
                                "(a Parameter or None is required); wrap it: nn.Parameter(t)")
            params[name] = None
        elif name in modules:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as child module '{name}'")
            modules[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} as buffer '{name}' "
                                "(a Tensor or None is required)")
            buffers[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        for d in (self._parameters, self._buffers, self._modules):
            d.pop(name, None)
        object.__delattr__(self, name)

    def register_parameter(self, name, param):
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: '{name}' must be a Parameter or None, got "
                            f"{type(param).__name__}")
        self._parameters[name] = param
        object.__setattr__(self, name, param)

    def register_buffer(self, name, tensor, persistent=True):
        """State that is not trained but is saved in ``state_dict`` (unless ``persistent=False``)."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: '{name}' must be a Tensor or None")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)
        object.__setattr__(self, name, tensor)

    def add_module(self, name, module):
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {type(module).__name__} is not a Module")
        self._modules[name] = module
        object.__setattr__(self, name, module)

    register_module = add_module

    def get_submodule(self, target):
        mod = self
        for part in target.split(".") if target else []:
            if part not in mod._modules:
                raise AttributeError(f"{type(mod).__name__} has no submodule '{part}' (in '{target}')")
            mod = mod._modules[part]
        return mod

    def set_submodule(self, target, module):
        """Put ``module`` at the dotted path ``target`` ("layers.0.q_proj"), replacing what is
        there (PyTorch's name)."""
        parent, _, attr = target.rpartition(".")
        owner = self.get_submodule(parent)
        if attr not in owner._modules:
            raise AttributeError(f"{type(owner).__name__} has no submodule '{attr}' (in '{target}')")
        setattr(owner, attr, module)

    # ------------------------------------------------------------------ calling
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        for hook in self._forward_pre_hooks.values():
            r = hook(self, args)
            if r is not None:
                args = r if isinstance(r, tuple) else (r,)
        _call_depth[0] += 1
        try:
            out = self.forward(*args, **kwargs)
        except (ValueError, TypeError, IndexError, RuntimeError) as e:
            _name_failing_layer(self, e)
            raise
        finally:
            _call_depth[0] -= 1
        for hook in self._forward_hooks.values():
            r = hook(self, args, out)
            if r is not None:
                out = r
        return out

    def register_forward_hook(self, hook):
        """``hook(module, inputs, output) -> None or new output`` after every forward."""
        return _Handle(self._forward_hooks, hook)

    def register_forward_pre_hook(self, hook):
        """``hook(module, inputs) -> None or new inputs`` before every forward."""
        return _Handle(self._forward_pre_hooks, hook)

    # ------------------------------------------------------------------ traversal
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is None:
                continue
            yield from m.named_modules(memo, prefix + ("." if prefix else "") + name, remove_duplicate)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(name, Parameter) pairs; a Parameter shared by two modules is listed once."""
        seen = set()
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mp, m in mods:
            for name, p in m._parameters.items():
                if p is None or (remove_duplicate and id(p) in seen):
                    continue
                seen.add(id(p))
                yield mp + ("." if mp else "") + name, p

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_trainable_parameters(self, prefix="", recurse=True):
        """(name, Parameter) pairs of the parameters that require grad: what a fine-tuning
        optimizer gets (gradkit's; PyTorch has no such method and writes
        ``[p for p in model.parameters() if p.requires_grad]``)."""
        for name, p in self.named_parameters(prefix=prefix, recurse=recurse):
            if p.requires_grad:
                yield name, p

    def trainable_parameters(self, recurse=True):
        """The parameters that require grad, i.e. not frozen by ``requires_grad_(False)``
        (gradkit's; ``parameters()`` still lists all of them).

        >>> model.model.requires_grad_(False)            # freeze the backbone
        >>> opt = gk.optim.AdamW(model.trainable_parameters(), lr=1e-3)   # the head only
        """
        for _, p in self.named_trainable_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True):
        seen = set()
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mp, m in mods:
            for name, b in m._buffers.items():
                if b is None or id(b) in seen:
                    continue
                seen.add(id(b))
                yield mp + ("." if mp else "") + name, b

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ------------------------------------------------------------------ modes and bulk changes
    def train(self, mode=True):
        """Training mode (Dropout drops, BatchNorm uses batch statistics); returns self."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        """Freeze (False) or unfreeze every parameter of this module and its sub-modules;
        returns self. A frozen parameter is no graph leaf: the backward gives it no ``.grad``,
        computes no gradient for it (each op's backward reads ``ctx.needs_input_grad``), and an
        optimizer keeps no state for it. Buffers are not parameters: a BatchNorm in training mode
        still updates its running statistics, as in PyTorch; ``.eval()`` freezes those."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad = _internal.wrap(np.zeros_like(p.array))

    def apply(self, fn):
        """Call ``fn(m)`` on every sub-module, then on self (e.g. a custom initialisation)."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def to(self, *args, dtype=None, device=None, non_blocking=False, **kwargs):
        """``model.to(device)``, ``model.to(dtype)``, ``model.to(device, dtype)``: in place, like
        PyTorch. Floating-point parameters and buffers (and their gradients) take ``dtype``; a
        device this build cannot compute on raises (see gradkit.devices). Returns ``self``."""
        for a in args:
            if isinstance(a, Tensor):
                dtype, device = a.dtype, a.device
            elif _device.is_device_like(a) or isinstance(a, int) and not isinstance(a, bool):
                device = a
            elif a is not None:
                dtype = a
        if device is not None:
            _device.check_available(device, f"{type(self).__name__}.to")
        if dtype is None:
            return self
        dtype = backend.to_dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"{type(self).__name__}.to: only floating dtypes can be given to a "
                            f"module's parameters, got {dtype} (as in PyTorch)")
        with grad_mode.no_grad():
            for m in self.modules():
                for d in (m._parameters, m._buffers):
                    for t in d.values():
                        if t is not None and t.array.dtype.kind == "f":
                            t.array = t.array.astype(dtype)
                            if t.grad is not None:
                                t.grad = _internal.wrap(t.grad.array.astype(dtype))
        return self

    def cuda(self, device=None):
        """Raises without a GPU backend (as PyTorch's CPU build does), naming the fix."""
        _device.check_available("cuda" if device is None else device, f"{type(self).__name__}.cuda")
        return self

    def float(self):
        return self.to(backend.float32)

    def double(self):
        return self.to(backend.float64)

    def half(self):
        return self.to(backend.float16)

    def cpu(self):
        return self

    # ------------------------------------------------------------------ state
    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """Every parameter and persistent buffer by dotted name (PyTorch's names). The tensors are
        detached views of the live arrays, not copies: copy before mutating."""
        out = OrderedDict() if destination is None else destination
        for mp, m in self.named_modules(prefix=prefix.rstrip(".") if prefix else "",
                                        remove_duplicate=False):
            pre = mp + ("." if mp else "")
            for name, p in m._parameters.items():
                if p is not None:
                    out[pre + name] = p if keep_vars else p.detach()
            for name, b in m._buffers.items():
                if b is not None and name not in m._non_persistent:
                    out[pre + name] = b if keep_vars else b.detach()
            m._extra_state(pre, out)
        return out

    def _extra_state(self, prefix, out):
        """Hook for modules whose state is not a tensor (none so far)."""

    def load_state_dict(self, state_dict, strict=True):
        """Copy values into the parameters and buffers by name.

        With ``strict=True`` (the default) a missing or unexpected key raises one error listing
        all of them, and for each unexpected key the closest expected name; shape mismatches are
        always errors, by name. Returns (missing_keys, unexpected_keys).
        """
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        problems = []
        for k, v in state_dict.items():
            if k not in own:
                continue
            arr = _internal.as_array(v)
            if tuple(arr.shape) != own[k].shape:
                problems.append(f"size mismatch for {k}: copying a param with shape "
                                f"{tuple(arr.shape)} from checkpoint, the shape in current model "
                                f"is {own[k].shape}")
        if strict and (missing or unexpected):
            if missing:
                problems.append("Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing))
            for k in unexpected:
                close = difflib.get_close_matches(k, list(own), n=1, cutoff=0.5)
                hint = f' (did you mean "{close[0]}"?)' if close else ""
                problems.append(f'Unexpected key in state_dict: "{k}"{hint}')
        if problems:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(problems))
        with grad_mode.no_grad():
            for k, v in state_dict.items():
                if k in own:
                    arr = _internal.as_array(v)
                    t = own[k]
                    np.copyto(t.array, arr.astype(t.array.dtype, copy=False))
                    _internal.bump_version(t)
        return _IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ printing
    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = []
        for name, m in self._modules.items():
            sub = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {sub}")
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        head = f"{type(self).__name__}(" + (f"{extra}" if extra else "")
        return head + "\n  " + "\n  ".join(lines) + "\n)"

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._modules)
                      | set(self._buffers))

    def __getstate__(self):
        return self.__dict__

    def __setstate__(self, state):
        self.__dict__.update(state)


_call_depth = [0]


def _name_failing_layer(module, e):
    """Say which layer failed, by its name in the model, e.g. "in layer 'encoder.fc2' (Linear)".

    The innermost module that sees the exception marks it; the outermost one (depth 1) knows
    every name in the model and rewrites the message once."""
    _internal.set_error_layer(e, module)
    if _call_depth[0] != 1 or _internal.error_is_named(e) or not e.args \
            or not isinstance(e.args[0], str):
        return
    layer = _internal.error_layer(e)
    name = next((n for n, m in module.named_modules() if m is layer), None)
    # with no name the model itself failed: its own message says enough
    _internal.name_error(e, f"in layer '{name}' ({type(layer).__name__}): " if name else None)


class _IncompatibleKeys(tuple):
    def __new__(cls, missing, unexpected):
        return super().__new__(cls, (missing, unexpected))

    @property
    def missing_keys(self):
        return self[0]

    @property
    def unexpected_keys(self):
        return self[1]


class _Handle:
    _next = 0

    def __init__(self, hooks, hook):
        _Handle._next += 1
        self.id = _Handle._next
        self._hooks = hooks
        hooks[self.id] = hook

    def remove(self):
        self._hooks.pop(self.id, None)
