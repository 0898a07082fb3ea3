"""``torch.utils.data._utils.collate``: the objects of :mod:`stirpile.data.collate`."""

from ....data.collate import default_collate, default_convert

__all__ = ["default_collate", "default_convert"]
