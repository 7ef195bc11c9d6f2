"""ReduceLROnPlateau: cut the lr when a monitored metric stops improving; Plateau, its rule
without an optimizer (what Keras' ReduceLROnPlateau callback runs)."""
import copy
import math
import warnings

from .scheduler import _EPOCH_WARNING, LRScheduler, _check_optimizer, _lrs

__all__ = ["Plateau", "ReduceLROnPlateau"]


# ====================================================================== the rule
class Plateau:
    """When has a metric stopped improving, and what is the cut lr: ReduceLROnPlateau's rule
    with no optimizer attached, for a caller that owns the learning rate itself.

    Improvement: in mode 'min' a value a is better than the best one when
    a < best·(1 − threshold) (threshold_mode 'rel') or a < best − threshold ('abs'); mode 'max'
    mirrors it. ``observe(metric)``, once per epoch, returns True when more than ``patience``
    epochs in a row have not improved (epochs within ``cooldown`` of the last cut do not count);
    then ``reduced_lr(lr, min_lr)`` is the new rate, max(lr·factor, min_lr), or None when that
    would cut by no more than ``eps``; after a cut, ``start_cooldown()``.

    >>> plateau = Plateau(mode="min", patience=2)
    >>> if plateau.observe(val_loss) and (new := plateau.reduced_lr(lr)) is not None:
    ...     lr = new; plateau.start_cooldown()

    Defaults (PyTorch's): ``mode='min'``, ``factor=0.1``, ``patience=10``, ``threshold=1e-4``,
    ``threshold_mode='rel'``, ``cooldown=0``, ``eps=1e-8``.
    """

    def __init__(self, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                 cooldown=0, eps=1e-8):
        if factor >= 1.0:
            raise ValueError(f"Factor should be < 1.0, got factor={factor}")
        self.factor = factor
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self._init_is_better(mode, threshold, threshold_mode)
        self._reset()

    def _reset(self):
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def observe(self, metric):
        """Record one epoch's metric; True when the lr should be cut now."""
        current = float(metric)
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in cooldown do not count
        return self.num_bad_epochs > self.patience

    def reduced_lr(self, lr, min_lr=0.0):
        """max(lr · factor, min_lr), or None when that is not more than ``eps`` below ``lr``."""
        new_lr = max(lr * self.factor, min_lr)
        return new_lr if lr - new_lr > self.eps else None

    def start_cooldown(self):
        """After a cut: wait ``cooldown`` epochs, and count bad epochs from zero."""
        self.cooldown_counter = self.cooldown
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self):
        return self.cooldown_counter > 0

    def _is_better(self, a, best):
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min" and self.threshold_mode == "abs":
            return a < best - self.threshold
        if self.mode == "max" and self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def _init_is_better(self, mode, threshold, threshold_mode):
        if mode not in ("min", "max"):
            raise ValueError(f"mode {mode} is unknown! Use 'min' or 'max'")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold mode {threshold_mode} is unknown! Use 'rel' or 'abs'")
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode


# ====================================================================== ReduceLROnPlateau
class ReduceLROnPlateau(LRScheduler, Plateau):
    """Multiply the lr by ``factor`` when a metric has stopped improving for ``patience``
    epochs. ``step(metric)`` takes the metric (e.g. the validation loss).

    The rule is ``Plateau``'s: improvement by more than ``threshold`` (relative or absolute),
    ``cooldown`` epochs after a cut before bad epochs count again; the lr never goes below
    ``min_lr`` (one value, or one per param group), and a cut smaller than ``eps`` is skipped.

    Defaults: ``mode='min'``, ``factor=0.1``, ``patience=10``, ``threshold=1e-4``,
    ``threshold_mode='rel'``, ``cooldown=0``, ``min_lr=0``, ``eps=1e-8``.
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0, eps=1e-8):
        Plateau.__init__(self, mode, factor, patience, threshold, threshold_mode, cooldown, eps)
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != len(optimizer.param_groups):
                raise ValueError(f"expected {len(optimizer.param_groups)} min_lrs, got "
                                 f"{len(min_lr)}")
            self.default_min_lr = None
            self.min_lrs = list(min_lr)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * len(optimizer.param_groups)
        self.last_epoch = 0
        self._last_lr = _lrs(optimizer)

    def step(self, metrics, epoch=None):
        if epoch is None:
            epoch = self.last_epoch + 1
        else:
            warnings.warn(_EPOCH_WARNING, UserWarning, stacklevel=2)
        self.last_epoch = epoch
        if self.observe(metrics):
            self._reduce_lr()
            self.start_cooldown()
        self._last_lr = _lrs(self.optimizer)

    def _reduce_lr(self):
        if len(self.optimizer.param_groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(f"The number of param groups in the `optimizer` "
                                   f"({len(self.optimizer.param_groups)}) differs from when "
                                   f"`ReduceLROnPlateau` was initialized ({len(self.min_lrs)}), "
                                   "usually due to a new param group being added to the "
                                   "optimizer. Set the `min_lrs` field to match.")
            self.min_lrs = [self.default_min_lr] * len(self.optimizer.param_groups)
        for i, group in enumerate(self.optimizer.param_groups):
            new_lr = self.reduced_lr(float(group["lr"]), self.min_lrs[i])
            if new_lr is not None:
                group["lr"] = new_lr

    def load_state_dict(self, state_dict):
        self.__dict__.update(copy.deepcopy(state_dict))
        self._init_is_better(self.mode, self.threshold, self.threshold_mode)
