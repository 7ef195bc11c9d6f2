"""Learning-rate schedules: change each param group's ``lr`` as training goes on.

Semantics are PyTorch's, so that a schedule gives the same sequence of learning rates:

- the constructor performs the first step (``last_epoch`` goes from -1 to 0) and stores each
  group's starting lr as ``group["initial_lr"]`` (``base_lrs``);
- call ``scheduler.step()`` after ``optimizer.step()`` — once per epoch, or once per batch for
  per-iteration schedules such as OneCycleLR;
- ``get_last_lr()`` is the list of the groups' current learning rates;
- ``state_dict()`` is every attribute except the optimizer; ``load_state_dict`` restores it.

Most rules are written in PyTorch's "chainable" form, ``lr_t = f(lr_{t−1})``, so two schedulers
on one optimizer compose (ChainedScheduler); each class's docstring gives the closed form.

    sched = CosineAnnealingLR(opt, T_max=50)
    for epoch in range(50):
        train_one_epoch(model, opt)
        sched.step()

Each formula with a closed form is also a pure function of the step, ``lr = f(base_lr, t, ...)``
(``step_decay``, ``exponential_decay``, ``piecewise_constant``, ``cosine_annealing``): the
schedulers' closed forms and Keras' schedules (``keras.optimizers.schedules``) call them. The
plateau rule without an optimizer is ``Plateau`` (what ReduceLROnPlateau and Keras' callback of
that name run).

Files: scheduler.py (the base class), decay.py (step, exponential, linear, lambda, ...),
cyclic.py (cosine, warm restarts, one-cycle), plateau.py (ReduceLROnPlateau), combine.py
(SequentialLR, ChainedScheduler), warmup.py (transformers' fine-tuning schedules:
get_linear_schedule_with_warmup, get_cosine_schedule_with_warmup, each a LambdaLR).
"""
from .combine import ChainedScheduler, SequentialLR
from .cyclic import CosineAnnealingLR, CosineAnnealingWarmRestarts, OneCycleLR, cosine_annealing
from .decay import (ConstantLR, ExponentialLR, LambdaLR, LinearLR, MultiplicativeLR, MultiStepLR,
                    PolynomialLR, StepLR, exponential_decay, piecewise_constant, step_decay)
from .plateau import Plateau, ReduceLROnPlateau
from .scheduler import LRScheduler, _LRScheduler  # noqa: F401  (_LRScheduler: the old name)
from .warmup import get_cosine_schedule_with_warmup, get_linear_schedule_with_warmup

__all__ = ["LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR",
           "LinearLR", "ExponentialLR", "SequentialLR", "PolynomialLR", "CosineAnnealingLR",
           "ChainedScheduler", "ReduceLROnPlateau", "CosineAnnealingWarmRestarts", "OneCycleLR",
           "get_linear_schedule_with_warmup", "get_cosine_schedule_with_warmup",
           "step_decay", "exponential_decay", "piecewise_constant", "cosine_annealing", "Plateau"]
