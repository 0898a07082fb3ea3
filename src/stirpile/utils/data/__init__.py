"""``stirpile.utils.data``: ``torch.utils.data``'s names and module layout. Every object
here is the one in :mod:`stirpile.data` (re-exported, not copied), so
``from torch.utils.data import DataLoader`` code runs with ``stirpile`` for ``torch``.

>>> import stirpile, stirpile.data, stirpile.utils.data
>>> stirpile.utils.data.DataLoader is stirpile.data.DataLoader
True
"""

from . import _utils, dataloader, dataset, distributed, sampler  # noqa: F401  (torch's modules)
from .dataloader import *  # noqa: F403
from .dataset import *  # noqa: F403
from .distributed import *  # noqa: F403
from .sampler import *  # noqa: F403

# the names of those modules, as torch.utils.data gathers them
__all__ = sorted({*dataloader.__all__, *dataset.__all__, *distributed.__all__, *sampler.__all__})
