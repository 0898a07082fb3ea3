"""``torch.utils.data._utils``: the modules older code imports ``default_collate`` from."""

from . import collate, worker

__all__ = ["collate", "worker"]
