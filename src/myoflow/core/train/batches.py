"""Serving the data: datasets the trainer accepts, the epoch's order and seeds, batch helpers.

Resume is exact without saving any random state: every epoch draws its sample order from
``(seed, epoch)``, reseeds torch, NumPy and Python's ``random`` from them (``seed_epoch``), and
tells an epoch-aware dataset (``set_epoch``) which epoch it serves. The epochs after a resume are
therefore the epochs an uninterrupted run would have had, whatever a method draws its randomness
from, and nothing about them depends on how many epochs ran in this process.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

from myoflow.core.train.checkpoint import TrainingError


class Samples(Protocol):
    """A dataset the trainer can serve: sized and indexable."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Any: ...


@runtime_checkable
class EpochAware(Protocol):
    """A dataset whose samples depend on the epoch (augmentation drawn from ``(seed, epoch)``)."""

    def set_epoch(self, epoch: int) -> None: ...


def seed_epoch(seed: int, epoch: int) -> None:
    """Seed every global generator a method may draw from for ``epoch``: torch (CPU and every
    GPU), NumPy's legacy global state (which takes 32 bits) and Python's ``random``."""
    value = seed * 100_003 + epoch
    torch.manual_seed(value)
    np.random.seed(value % 2**32)
    random.seed(value)


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The order in which epoch ``epoch`` visits ``n`` training samples."""
    return np.random.default_rng([seed, epoch, 1]).permutation(n)


def to_device(obj: Any, device: torch.device) -> Any:
    """``obj`` with every tensor in it (nested in tuples, lists, dicts) moved to ``device``."""
    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if isinstance(obj, (tuple, list)):
        return type(obj)(to_device(item, device) for item in obj)
    if isinstance(obj, Mapping):
        return {key: to_device(item, device) for key, item in obj.items()}
    return obj


def first_tensor(obj: Any) -> torch.Tensor | None:
    """The first tensor in ``obj`` (depth first through tuples, lists, dicts), else None."""
    if isinstance(obj, torch.Tensor):
        return obj
    if isinstance(obj, Mapping):
        obj = list(obj.values())
    if isinstance(obj, (tuple, list)):
        for item in obj:
            found = first_tensor(item)
            if found is not None:
                return found
    return None


def check_values(
    values: Mapping[str, Any],
    metrics: Sequence[str],
    finite: Sequence[str],
    training: bool,
    where: tuple[int, int],
) -> None:
    """Stop on a missing metric or a non-finite guarded one (``where``: epoch and batch), before
    the epoch's checkpoint, so ``last.pt`` stays the last good epoch."""
    kind = "training" if training else "validation"
    missing = [m for m in metrics if m not in values]
    if missing:
        raise TrainingError(f"a {kind} step did not return {missing}")
    for name in finite:
        value = float(values[name])
        if not math.isfinite(value):
            raise TrainingError(
                f"non-finite {kind} {name} ({value}) at epoch {where[0]}, batch {where[1]}; "
                "the last good checkpoint is kept"
            )
