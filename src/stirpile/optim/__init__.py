"""Optimizers and learning-rate schedulers, under PyTorch's names and semantics.

Each optimizer's docstring writes its update rule out twice: as the course
writes it, and as PyTorch computes it (which is what the code does, so
trajectories match ``torch.optim`` step for step).

>>> import stirpile
>>> from stirpile import optim
>>> w = stirpile.zeros(3, requires_grad=True)
>>> opt = optim.Adam([w], lr=1e-2)
>>> sched = optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
"""

from __future__ import annotations

from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam
from .adamax import Adamax
from .adamw import AdamW
from .asgd import ASGD
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .rprop import Rprop
from .sgd import SGD

__all__ = [
    "ASGD",
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "NAdam",
    "Optimizer",
    "RAdam",
    "RMSprop",
    "Rprop",
    "lr_scheduler",
]
