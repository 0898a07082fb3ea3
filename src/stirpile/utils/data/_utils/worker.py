"""``torch.utils.data._utils.worker``: the objects of :mod:`stirpile.data.worker`."""

from ....data.worker import WorkerInfo, get_worker_info

__all__ = ["WorkerInfo", "get_worker_info"]
