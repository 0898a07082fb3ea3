"""Data: datasets, loaders, samplers, transforms (``stirpile.data`` ≈ ``torch.utils.data``
plus the few ``torchvision`` pieces an MLP course needs)."""

from __future__ import annotations

from . import datasets, transforms
from .dataloader import DataLoader, default_collate
from .dataset import ConcatDataset, Dataset, Subset, TensorDataset, random_split
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler

__all__ = [
    "BatchSampler",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "datasets",
    "default_collate",
    "random_split",
    "transforms",
]
