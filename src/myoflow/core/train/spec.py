"""What a run trains for: the core's training options and the rule that selects ``best.pt``.

A method maps its own settings (paper defaults, config keys) onto ``TrainConfig``; the core never
reads a method's settings, so adding a method adds no option here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from myoflow.core.train.optim import OptimizerSpec, SchedulerSpec


@dataclass(frozen=True)
class Selection:
    """Which epoch becomes ``best.pt``: the best ``val_<metric>`` in direction ``mode`` ("min"
    or "max"), or ``train_<metric>`` when there is no validation data. Strictly better only: a
    tie keeps the earlier epoch, and NaN never wins."""

    metric: str = "loss"
    mode: Literal["min", "max"] = "min"

    def __post_init__(self) -> None:
        if self.mode not in ("min", "max"):
            raise ValueError(f"selection mode must be 'min' or 'max', got {self.mode!r}")

    @property
    def worst(self) -> float:
        """The value every finite one beats, where the selection starts."""
        return math.inf if self.mode == "min" else -math.inf

    def better(self, value: float, best: float) -> bool:
        return value < best if self.mode == "min" else value > best


@dataclass(frozen=True)
class TrainConfig:
    """The training options of a run in the core's terms.

    ``compile`` and ``channels_last`` take True, False or "auto" (``device.prepare_model``);
    ``amp`` turns on float16 mixed precision on CUDA (ignored, with a warning, elsewhere);
    ``init_from`` starts from another run's ``best.pt`` instead of fresh weights.
    """

    epochs: int
    batch_size: int
    optimizer: OptimizerSpec = field(default_factory=OptimizerSpec)
    scheduler: SchedulerSpec = field(default_factory=SchedulerSpec)
    seed: int = 0
    compile: str | bool = False
    channels_last: str | bool = False
    amp: bool = False
    init_from: str | None = None

    def __post_init__(self) -> None:
        if self.epochs < 0 or self.batch_size < 1:
            raise ValueError(f"need epochs >= 0 and batch_size >= 1, got {self}")
