"""MyoNet / ResMyoNet training (paper 000) as hooks of the one trainer (``myoflow.core.train``).

What is MyoNet's here: the training subset of its settings (``myoflow.methods.myonet.settings``),
batches of ``(cine, scaled displacement, ED myocardium mask)`` from ``DisplacementDataset``,
paper 000's loss and its "accuracy" as the second history metric, what a resumed run must share
(``run_settings``), and the ``model.tsv`` columns of the paper's timing table. Everything else (selection on the validation loss, checkpoints, exact resume, the
non-finite-loss guard, the history) is the core's; its files are described in
``myoflow.core.train.checkpoint``.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import nn

from myoflow.core.nets import count_parameters
from myoflow.core.train.device import device_name, to_input
from myoflow.core.train.optim import OptimizerSpec, SchedulerSpec
from myoflow.core.train.spec import TrainConfig
from myoflow.core.train.trainer import Trainer, Value
from myoflow.methods.myonet.data import DisplacementDataset
from myoflow.methods.myonet.losses import DisplacementLoss, normalised_mse_accuracy
from myoflow.methods.myonet.settings import MyoNetSettings
from myoflow.settings import plain

log = logging.getLogger(__name__)

#: Clipped fraction of the training targets above which training warns: ``D`` at the 99.9th
#: percentile (``preprocess.scaling.suggest_max_displacement``) clips at most this much.
CLIP_WARNING = 1e-3

_DEFAULTS = MyoNetSettings()


@dataclass(frozen=True)
class TrainSettings:
    """The training options of an experiment; defaults are the experiment defaults."""

    epochs: int = _DEFAULTS.epochs
    batch_size: int = _DEFAULTS.batch_size
    lr: float = _DEFAULTS.lr
    optimizer: str = _DEFAULTS.optimizer
    decay_start: int | str | None = _DEFAULTS.decay_start
    decay_every: int = _DEFAULTS.decay_every
    decay_gamma: float = _DEFAULTS.decay_gamma
    loss: dict[str, float] = field(default_factory=lambda: plain(_DEFAULTS.loss))
    seed: int = _DEFAULTS.seed
    compile: str | bool = _DEFAULTS.compile
    channels_last: str | bool = _DEFAULTS.channels_last

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> TrainSettings:
        """The training subset of an experiment's resolved settings."""
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in settings.items() if k in names})

    def config(self) -> TrainConfig:
        """These settings in the core's terms: a step decay of the rate after ``decay_start``
        (``auto``: half the epochs), the paper's constant rate when it is None; no mixed
        precision (the paper trains in float32)."""
        scheduler = SchedulerSpec()
        if self.decay_start is not None:
            start = self.epochs // 2 if self.decay_start == "auto" else int(self.decay_start)
            scheduler = SchedulerSpec(
                "step", gamma=self.decay_gamma, every=self.decay_every, start=start
            )
        return TrainConfig(
            epochs=self.epochs,
            batch_size=self.batch_size,
            optimizer=OptimizerSpec(self.optimizer, self.lr),
            scheduler=scheduler,
            seed=self.seed,
            compile=self.compile,
            channels_last=self.channels_last,
        )


class MyoNetTrainer(Trainer):
    """Trains one MyoNet or ResMyoNet on ``(x, y, m)`` batches of ``DisplacementDataset``."""

    metrics = ("loss", "accuracy")

    def __init__(
        self,
        model: nn.Module,
        signature: dict[str, Any],
        train_data: DisplacementDataset,
        val_data: DisplacementDataset,
        settings: TrainSettings,
        out_dir: str | os.PathLike[str],
        device: torch.device,
        clipped_fraction: float | None = None,
    ) -> None:
        super().__init__(settings.config(), signature, train_data, val_data, out_dir, device)
        self.model = model
        self.loss_fn = DisplacementLoss(**settings.loss)
        self.settings = settings
        self.datasets = (train_data, val_data)
        #: the training targets' clipped fraction, where the stage measured it (``clipping``)
        self.clipped = clipped_fraction

    def build_models(self) -> dict[str, nn.Module]:
        """The network the stage built (seeded there, so its weights follow the config)."""
        return {"net": self.model}

    def batch(self, batch: Any) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Cine ``x`` in the layout the network was prepared for; targets: the scaled
        displacement ``y`` and the ED myocardium mask ``m`` of the masked loss term."""
        x, y, m = batch
        x = to_input(x.to(self.device), self.channels_last)
        return x, (y.to(self.device), m.to(self.device))

    def loss(
        self, outputs: torch.Tensor, targets: tuple[torch.Tensor, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, Value]]:
        y, m = targets
        return self.loss_fn(outputs, y, m), {
            "accuracy": normalised_mse_accuracy(outputs.detach(), y)
        }

    def run_settings(self) -> dict[str, Any]:
        """The loss weights, the target's construction and which slices (with their target's
        file, for a tracker reference): a rerun after any of them changed starts afresh.

        A target file is named by its tracker folder and file (``sinmod/shard-000.h5``): the
        results folder may move between runs, but another tracker is another target."""
        samples = [
            f"{r.cohort}/{r.key}/{'/'.join(Path(r.target).parts[-2:]) if r.target else ''}"
            for data in self.datasets
            for r in data.refs
        ]
        return {
            "loss": dict(self.settings.loss),
            "augment": self.datasets[0].augment,
            "margin_px": self.datasets[0].margin_px,
            "shift_px": self.datasets[0].shift_px,
            "samples": hashlib.sha256("\n".join(samples).encode()).hexdigest(),
        }

    def model_info(self) -> dict[str, Any]:
        """The columns paper 000's timing table reads (``paper000.timing_table``)."""
        return {
            "net": self.signature["net"],
            "parameters": count_parameters(self.model),
            "device": device_name(self.device),
            "threads": torch.get_num_threads(),
            "train_slices": len(self.train_data),
            "val_slices": len(self.val_data),
            **({} if self.clipped is None else {"clipped_fraction": self.clipped}),
        }


def clipping(train_data: DisplacementDataset, net: str) -> float:
    """The fraction of the training targets that ``max_displacement_mm`` clips
    (``DisplacementDataset.clipped_fraction``), with a warning above ``CLIP_WARNING``: a ``D``
    chosen for one cohort silently flattens the larger motion of another."""
    clipped = train_data.clipped_fraction()
    if clipped > CLIP_WARNING:
        log.warning(
            "%s: %.3g %% of the training targets' myocardial displacement components lie "
            "beyond max_displacement_mm = %g and are clipped; the network will under-read "
            "the motion (raise max_displacement_mm)",
            net,
            100 * clipped,
            train_data.max_displacement_mm,
        )
    return clipped


def train(
    model: nn.Module,
    signature: dict[str, Any],
    train_data: DisplacementDataset,
    val_data: DisplacementDataset,
    settings: TrainSettings,
    out_dir: str | os.PathLike[str],
    device: torch.device,
    clipped_fraction: float | None = None,
) -> pd.DataFrame:
    """Train ``model`` (freshly initialised) to ``settings.epochs``, resuming from ``last.pt``;
    writes ``best.pt``, ``history.tsv`` and ``model.tsv`` (with ``clipped_fraction`` when
    given, see ``clipping``) and returns the history."""
    return MyoNetTrainer(
        model, signature, train_data, val_data, settings, out_dir, device, clipped_fraction
    ).fit()
