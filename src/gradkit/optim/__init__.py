"""gradkit.optim: optimizers, learning-rate schedules and regularisation helpers, as in PyTorch.

    opt = gk.optim.Adam(model.parameters(), lr=1e-3)
    sched = gk.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=100)
    for x, y in loader:
        opt.zero_grad(); F.cross_entropy(model(x), y).backward(); opt.step()
    sched.step()

Every ``step()`` updates the parameters' arrays in place; see docs/optim.md for the rules.
"""
from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .lbfgs import LBFGS
from .lion import Lion
from .nadam import NAdam
from .optimizer import Optimizer
from .regularization import l1_penalty, l2_penalty
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "Adamax",
           "NAdam", "Lion", "LBFGS", "lr_scheduler", "l1_penalty", "l2_penalty"]
