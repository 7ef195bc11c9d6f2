"""Warm-up schedules for fine-tuning, with the names and formulas of Hugging Face transformers
(``transformers.optimization``): each returns a ``LambdaLR``, stepped once per optimizer step.

    get_linear_schedule_with_warmup    0 -> base_lr linearly, then linearly down to 0
    get_cosine_schedule_with_warmup    0 -> base_lr linearly, then a half cosine down to 0

PyTorch has no single class for either (``SequentialLR(LinearLR, CosineAnnealingLR)`` comes
close but starts the warm-up at a non-zero factor); transformers' functions are what fine-tuning
scripts call, so the same call gives the same learning rates here.

>>> sched = get_cosine_schedule_with_warmup(opt, num_warmup_steps=10, num_training_steps=100)
>>> for batch in loader:
...     loss.backward(); opt.step(); sched.step(); opt.zero_grad()

``num_training_steps`` counts optimizer steps: with gradient accumulation over k micro-batches
it is the number of micro-batches divided by k.
"""
import math

from .decay import LambdaLR

__all__ = ["get_linear_schedule_with_warmup", "get_cosine_schedule_with_warmup"]


def _check_steps(who, num_warmup_steps, num_training_steps):
    for name, value in (("num_warmup_steps", num_warmup_steps),
                        ("num_training_steps", num_training_steps)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{who}: {name} must be a non-negative int (a count of optimizer "
                             f"steps); got {value!r}")


# Callable objects rather than closures: LambdaLR.state_dict() saves a callable object's
# attributes (a closure is saved as None), so a resumed schedule keeps its settings.
class _LinearWarmup:
    # t < W:  t / W;   t ≥ W:  max(0, (T − t) / (T − W))
    def __init__(self, num_warmup_steps, num_training_steps):
        self.num_warmup_steps, self.num_training_steps = num_warmup_steps, num_training_steps

    def __call__(self, t):
        W, T = self.num_warmup_steps, self.num_training_steps
        if t < W:
            return float(t) / float(max(1, W))
        return max(0.0, float(T - t) / float(max(1, T - W)))


class _CosineWarmup:
    # t < W:  t / W;   t ≥ W:  max(0, ½ (1 + cos(2π · cycles · p))),  p = (t − W) / (T − W)
    def __init__(self, num_warmup_steps, num_training_steps, num_cycles):
        self.num_warmup_steps, self.num_training_steps = num_warmup_steps, num_training_steps
        self.num_cycles = num_cycles

    def __call__(self, t):
        W, T = self.num_warmup_steps, self.num_training_steps
        if t < W:
            return float(t) / float(max(1, W))
        progress = float(t - W) / float(max(1, T - W))
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * float(self.num_cycles) * 2.0 * progress)))


def get_linear_schedule_with_warmup(optimizer, num_warmup_steps, num_training_steps, last_epoch=-1):
    """lr_t = base_lr · t/W for t < W, then base_lr · max(0, (T − t)/(T − W)): a linear ramp
    from 0 over ``num_warmup_steps`` (W), then a linear decay to 0 at ``num_training_steps`` (T).

    Returns a ``LambdaLR``; formula and arguments are transformers'.
    """
    _check_steps("get_linear_schedule_with_warmup", num_warmup_steps, num_training_steps)
    return LambdaLR(optimizer, _LinearWarmup(num_warmup_steps, num_training_steps), last_epoch)


def get_cosine_schedule_with_warmup(optimizer, num_warmup_steps, num_training_steps,
                                    num_cycles=0.5, last_epoch=-1):
    """lr_t = base_lr · t/W for t < W, then base_lr · max(0, ½(1 + cos(2π · num_cycles · p)))
    with p = (t − W)/(T − W): a linear ramp from 0 over ``num_warmup_steps`` (W), then cosine
    decay reaching 0 at ``num_training_steps`` (T).

    num_cycles: cosine waves over the decay; the default ``0.5`` is one half-wave, base_lr -> 0.
    Returns a ``LambdaLR``; formula and arguments are transformers'.
    """
    _check_steps("get_cosine_schedule_with_warmup", num_warmup_steps, num_training_steps)
    return LambdaLR(optimizer, _CosineWarmup(num_warmup_steps, num_training_steps, num_cycles),
                    last_epoch)
