"""LRScheduler, the base of every schedule: the constructor's first step, ``step()``,
``get_last_lr()``, ``state_dict()``; and the small helpers the schedules share."""
import copy
import types
import warnings

from ..optimizer import Optimizer

__all__ = ["LRScheduler", "_LRScheduler"]

_EPOCH_WARNING = ("The epoch parameter in `scheduler.step()` is deprecated (as in PyTorch): "
                  "call `scheduler.step()` without arguments. With an epoch, the closed form is "
                  "used where there is one.")


def _lrs(optimizer):
    return [group["lr"] for group in optimizer.param_groups]


def _per_group(name, optimizer, value):
    """A value per param group: a list/tuple of the right length, or one value for all."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{name} must have the same length as optimizer.param_groups. "
                             f"{name} has {len(value)} values, param_groups has {n}.")
        return list(value)
    return [value] * n


def _check_optimizer(optimizer):
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer (a gradkit.optim "
                        "optimizer is expected)")


# ====================================================================== the base class
class LRScheduler:
    """Base class: subclasses define ``get_lr()``, the groups' next learning rates, computed
    after ``last_epoch`` has been incremented."""

    _is_initial = False

    def __init__(self, optimizer, last_epoch=-1):
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}] "
                                   "when resuming a scheduler with last_epoch >= 0: load the "
                                   "optimizer's state_dict first, or leave last_epoch=-1")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self):
        """Reset the step count and take the constructor's step (last_epoch -1 -> 0)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self):
        raise NotImplementedError(f"{type(self).__name__} must define get_lr()")

    def get_last_lr(self):
        """The learning rate of each param group after the last ``step()``."""
        return self._last_lr

    def step(self, epoch=None):
        """Advance one epoch (or batch) and write the new learning rates into the optimizer."""
        self._step_count += 1
        if epoch is not None:
            warnings.warn(_EPOCH_WARNING, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _update_lr(self, epoch=None):
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            closed = getattr(self, "_get_closed_form_lr", None)
            values = closed() if closed is not None else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = _lrs(self.optimizer)

    def state_dict(self):
        """Every attribute except the optimizer (``last_epoch``, ``base_lrs``, ...)."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict):
        self.__dict__.update(copy.deepcopy(state_dict))

    def __repr__(self):
        return (f"{type(self).__name__}(last_epoch={getattr(self, 'last_epoch', None)}, "
                f"lr={self.get_last_lr()})")


def _lambda_state(self, skip):
    """state_dict of a scheduler holding functions: a lambda or a plain function cannot be
    saved (it is stored as None); a callable object's attributes are."""
    out = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", skip)}
    out[skip] = [None if isinstance(fn, types.FunctionType) else dict(fn.__dict__)
                 for fn in getattr(self, skip)]
    return out


def _load_lambda_state(self, state_dict, skip):
    state_dict = dict(state_dict)
    fns = state_dict.pop(skip)
    self.__dict__.update(copy.deepcopy(state_dict))
    for fn, saved in zip(getattr(self, skip), fns):
        if saved is not None:
            fn.__dict__.update(saved)


def _lambdas(optimizer, lr_lambda):
    if isinstance(lr_lambda, (list, tuple)):
        if len(lr_lambda) != len(optimizer.param_groups):
            raise ValueError(f"Expected {len(optimizer.param_groups)} lr_lambdas, but got "
                             f"{len(lr_lambda)}")
        return list(lr_lambda)
    return [lr_lambda] * len(optimizer.param_groups)


_LRScheduler = LRScheduler  # the old public name, still used by subclasses in the wild
