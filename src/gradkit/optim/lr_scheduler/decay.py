"""Schedules that shrink (or ramp) the lr by rule: LambdaLR, MultiplicativeLR, StepLR,
MultiStepLR, ConstantLR, LinearLR, ExponentialLR, PolynomialLR; and the closed forms
step_decay, exponential_decay, piecewise_constant (the lr as a pure function of the step)."""
from bisect import bisect_right
from collections import Counter

from .scheduler import LRScheduler, _lambda_state, _lambdas, _load_lambda_state, _lrs

__all__ = ["LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR",
           "ExponentialLR", "PolynomialLR", "step_decay", "exponential_decay", "piecewise_constant"]


# ====================================================================== closed forms
# The lr at step t as a pure function: what a scheduler's closed form (resuming, step(epoch))
# computes and what keras.optimizers.schedules call, so each formula is written once.
def step_decay(base_lr, t, step_size, gamma):
    """base_lr · γ^⌊t / step_size⌋ (StepLR; Keras' ExponentialDecay with ``staircase=True``)."""
    return base_lr * gamma ** (t // step_size)


def exponential_decay(base_lr, t, gamma):
    """base_lr · γᵗ, t possibly fractional (ExponentialLR; Keras' ExponentialDecay at
    t = step / decay_steps)."""
    return base_lr * gamma ** t


def piecewise_constant(t, boundaries, values):
    """values[i] for the first boundaries[i] ≥ t; values[-1] after the last boundary
    (Keras' PiecewiseConstantDecay; ``values`` has one entry more than ``boundaries``)."""
    for boundary, value in zip(boundaries, values):
        if t <= boundary:
            return value
    return values[-1]


# ====================================================================== LambdaLR / MultiplicativeLR
class LambdaLR(LRScheduler):
    """lr_t = base_lr · lr_lambda(t): any schedule written as a function of the epoch.

    lr_lambda: a function of the epoch, or a list with one per param group.

    >>> sched = LambdaLR(opt, lambda t: min(1.0, (t + 1) / 10))   # linear warmup over 10 epochs
    """

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        self.optimizer = optimizer
        self.lr_lambdas = _lambdas(optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [b * fn(self.last_epoch) for fn, b in zip(self.lr_lambdas, self.base_lrs)]

    def state_dict(self):
        return _lambda_state(self, "lr_lambdas")

    def load_state_dict(self, state_dict):
        _load_lambda_state(self, state_dict, "lr_lambdas")


class MultiplicativeLR(LRScheduler):
    """lr_t = lr_{t−1} · lr_lambda(t) (from the second step on)."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        self.optimizer = optimizer
        self.lr_lambdas = _lambdas(optimizer, lr_lambda)
        for fn in self.lr_lambdas:
            if not callable(fn):
                raise TypeError(f"lr_lambda should be a function, but got {type(fn).__name__}")
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return _lrs(self.optimizer)
        return [g["lr"] * fn(self.last_epoch)
                for fn, g in zip(self.lr_lambdas, self.optimizer.param_groups)]

    def state_dict(self):
        return _lambda_state(self, "lr_lambdas")

    def load_state_dict(self, state_dict):
        _load_lambda_state(self, state_dict, "lr_lambdas")


# ====================================================================== step decays
class StepLR(LRScheduler):
    """lr_t = base_lr · γ^⌊t / step_size⌋: multiply by γ every ``step_size`` epochs.

    Defaults: ``gamma=0.1``.
    """

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return _lrs(self.optimizer)
        return [g["lr"] * self.gamma for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [step_decay(b, self.last_epoch, self.step_size, self.gamma) for b in self.base_lrs]


class MultiStepLR(LRScheduler):
    """lr_t = base_lr · γ^(number of milestones ≤ t): multiply by γ at each milestone epoch.

    Defaults: ``gamma=0.1``. >>> MultiStepLR(opt, milestones=[30, 80])
    """

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch not in self.milestones:
            return _lrs(self.optimizer)
        return [g["lr"] * self.gamma ** self.milestones[self.last_epoch]
                for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        milestones = sorted(self.milestones.elements())
        return [b * self.gamma ** bisect_right(milestones, self.last_epoch) for b in self.base_lrs]

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        # a checkpoint written as JSON turns the Counter's int keys into strings
        self.milestones = Counter({int(k): v for k, v in dict(self.milestones).items()})


class ConstantLR(LRScheduler):
    """lr_t = base_lr · factor for t < total_iters, then base_lr. Defaults: ``factor=1/3``,
    ``total_iters=5``."""

    def __init__(self, optimizer, factor=1.0 / 3, total_iters=5, last_epoch=-1):
        if factor > 1.0 or factor < 0:
            raise ValueError("Constant multiplicative factor expected to be between 0 and 1.")
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [g["lr"] * self.factor for g in self.optimizer.param_groups]
        if self.last_epoch != self.total_iters:
            return _lrs(self.optimizer)
        return [g["lr"] * (1.0 / self.factor) for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [b * (self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor))
                for b in self.base_lrs]


class LinearLR(LRScheduler):
    """lr_t = base_lr · (s + (e − s) · min(t, T) / T) with s = start_factor, e = end_factor,
    T = total_iters: a linear ramp (a warmup when s < e), then constant.

    Defaults: ``start_factor=1/3``, ``end_factor=1.0``, ``total_iters=5``.
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5,
                 last_epoch=-1):
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError("Starting multiplicative factor expected to be greater than 0 and "
                             f"less or equal to 1, got start_factor={start_factor}")
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError("Ending multiplicative factor expected to be between 0 and 1, got "
                             f"end_factor={end_factor}")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [g["lr"] * self.start_factor for g in self.optimizer.param_groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return _lrs(self.optimizer)
        s, e, T = self.start_factor, self.end_factor, self.total_iters
        ratio = 1.0 + (e - s) / (T * s + (self.last_epoch - 1) * (e - s))
        return [g["lr"] * ratio for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        s, e, T = self.start_factor, self.end_factor, self.total_iters
        return [b * (s + (e - s) * min(T, self.last_epoch) / T) for b in self.base_lrs]


class ExponentialLR(LRScheduler):
    """lr_t = base_lr · γᵗ."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return _lrs(self.optimizer)
        return [g["lr"] * self.gamma for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [exponential_decay(b, self.last_epoch, self.gamma) for b in self.base_lrs]


class PolynomialLR(LRScheduler):
    """lr_t = base_lr · (1 − min(t, T)/T)^power. Defaults: ``total_iters=5``, ``power=1.0``."""

    def __init__(self, optimizer, total_iters=5, power=1.0, last_epoch=-1):
        self.total_iters = total_iters
        self.power = power
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial or self.last_epoch > self.total_iters:
            return _lrs(self.optimizer)
        T = self.total_iters
        factor = ((1.0 - self.last_epoch / T) / (1.0 - (self.last_epoch - 1) / T)) ** self.power
        return [g["lr"] * factor for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        T = self.total_iters
        return [b * (1.0 - min(T, self.last_epoch) / T) ** self.power for b in self.base_lrs]
