"""Optimisers and learning-rate schedules chosen by name, as the papers state them.

The papers name an optimiser (Adam, AdamW, RMSprop, SGD) and, some of them, a schedule: "reduce
on plateau" with a patience and a factor, or a step decay such as "divided by sqrt(2) every 5
epochs after epoch 10". Each is one frozen spec here, checked when it is built so that a typo in
a config fails before any data is read.

Schedules advance once per epoch, after validation; the history's ``lr`` column is the rate the
epoch trained with. Both kinds keep their state in a ``state_dict`` of plain numbers, so a resumed
run continues the schedule where the killed one stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR, LRScheduler, ReduceLROnPlateau

OPTIMIZERS: dict[str, Callable[..., Optimizer]] = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "rmsprop": torch.optim.RMSprop,
    "sgd": torch.optim.SGD,
}
#: The optimisers that take ``betas`` (the others take ``momentum``).
_ADAPTIVE_MOMENTS = frozenset({"adam", "adamw"})
SCHEDULERS = ("none", "plateau", "step")


@dataclass(frozen=True)
class OptimizerSpec:
    """An optimiser by name. ``None`` leaves an option at torch's default for that optimiser
    (AdamW's weight decay is 0.01, the others' 0), so a spec that names only ``lr`` builds
    exactly ``OPTIMIZERS[name](params, lr=lr)``."""

    name: str = "adam"
    lr: float = 1e-3
    weight_decay: float | None = None
    momentum: float | None = None
    betas: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if self.name not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.name!r}; use {list(OPTIMIZERS)}")
        if not self.lr >= 0:
            raise ValueError(f"optimizer lr must be >= 0, got {self.lr}")
        if self.momentum is not None and self.name in _ADAPTIVE_MOMENTS:
            raise ValueError(f"{self.name} takes betas, not momentum")
        if self.betas is not None and self.name not in _ADAPTIVE_MOMENTS:
            raise ValueError(f"{self.name} takes momentum, not betas")


@dataclass(frozen=True)
class SchedulerSpec:
    """A learning-rate schedule by name; each option applies to one kind and is ignored by the
    others.

    * ``none``: the rate stays.
    * ``plateau``: torch's ``ReduceLROnPlateau`` on the selection metric, in its direction: an
      epoch improves when it beats the best so far by more than ``min_delta`` (absolute);
      after ``patience`` epochs in a row without improvement, the next one multiplies the rate
      by ``factor``.
    * ``step``: epoch ``e`` (from 1) trains at ``lr * gamma ** (max(0, e - 1 - start) // every)``:
      torch's ``StepLR(step_size=every)`` from epoch ``start + 1`` on, so the first decay comes
      ``every`` epochs after ``start`` (start 10, every 5: epochs 1-15 at ``lr``, 16-20 at
      ``lr * gamma``).
    """

    name: str = "none"
    factor: float = 0.1
    patience: int = 10
    min_delta: float = 0.0
    gamma: float = 0.5
    every: int = 1
    start: int = 0

    def __post_init__(self) -> None:
        if self.name not in SCHEDULERS:
            raise ValueError(f"unknown scheduler {self.name!r}; use {list(SCHEDULERS)}")
        checks = {
            "factor": 0 < self.factor < 1,
            "patience": self.patience >= 0,
            "min_delta": self.min_delta >= 0,
            "gamma": 0 < self.gamma <= 1,
            "every": self.every >= 1,
            "start": self.start >= 0,
        }
        wrong = [name for name, ok in checks.items() if not ok]
        if wrong:
            bounds = "0 < factor < 1, 0 < gamma <= 1, every >= 1, patience, min_delta, start >= 0"
            raise ValueError(f"scheduler {self}: out of range: {wrong} ({bounds})")


def build_optimizer(spec: OptimizerSpec, params: Iterable[torch.nn.Parameter]) -> Optimizer:
    """The optimiser ``spec`` names over ``params``, with only the options it sets passed."""
    options: dict[str, Any] = {"lr": spec.lr}
    for key in ("weight_decay", "momentum", "betas"):
        value = getattr(spec, key)
        if value is not None:
            options[key] = value
    return OPTIMIZERS[spec.name](params, **options)


def build_scheduler(
    spec: SchedulerSpec, optimizer: Optimizer, mode: Literal["min", "max"]
) -> LRScheduler | None:
    """The schedule ``spec`` names for ``optimizer``; ``mode`` ("min"/"max") is the direction
    of the metric a plateau watches. ``None`` for ``none``."""
    if spec.name == "plateau":
        return ReduceLROnPlateau(
            optimizer,
            mode=mode,
            factor=spec.factor,
            patience=spec.patience,
            threshold=spec.min_delta,
            threshold_mode="abs",
        )
    if spec.name == "step":
        start, every, gamma = spec.start, spec.every, spec.gamma

        def decay(completed: int) -> float:
            # LambdaLR multiplies the initial rate by this after ``completed`` epochs; computed
            # from the initial rate every time, so no rounding accumulates over a long run.
            return gamma ** (max(0, completed - start) // every)

        return LambdaLR(optimizer, decay)
    return None


def advance(scheduler: LRScheduler, value: float) -> None:
    """Step ``scheduler`` at the end of an epoch whose selection metric was ``value``."""
    if isinstance(scheduler, ReduceLROnPlateau):
        scheduler.step(value)
    else:
        scheduler.step()


def learning_rates(optimizers: Mapping[str, Optimizer]) -> dict[str, float]:
    """``lr`` of the one optimiser, or ``lr_<name>`` of each (first parameter group): the
    history's learning-rate columns."""
    rates = {name: o.param_groups[0]["lr"] for name, o in optimizers.items()}
    if len(rates) == 1:
        return {"lr": next(iter(rates.values()))}
    return {f"lr_{name}": rate for name, rate in rates.items()}
