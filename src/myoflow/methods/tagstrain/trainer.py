"""Paper 003's two trainings as hooks of the one trainer (``myoflow.core.train``).

What is paper 003's here: the optimiser and schedule of each network (Adam; the localisation
network from 1e-3, divided by sqrt(2) every 5th epoch after the 10th; the tracker from 1e-4,
divided by sqrt(2) every 10th epoch), the losses (MSE on the box corners; the composite landmark
loss of ``losses``), the history's metrics, and what selects ``best.pt``: the validation IoU for
the localisation network (the paper's accuracy measure) and the validation loss for the tracker.
Resume, checkpoints, the history and the non-finite guard are the core's.

Units. The box corners are regressed as fractions of the field of view. The landmarks are
regressed as fractions of the crop side, and the loss measures them on the paper's 128-pixel
crop whatever the crop size here (``PAPER_CROP``): the position MSE then has the magnitude the
paper's strain weight w = 5 was tuned against, so w keeps its meaning at a demo's smaller crop.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import torch
from torch import nn

from myoflow.core.nets import count_parameters
from myoflow.core.train.device import device_name
from myoflow.core.train.optim import OptimizerSpec, SchedulerSpec
from myoflow.core.train.spec import Selection, TrainConfig
from myoflow.core.train.trainer import Trainer, Value
from myoflow.methods.tagstrain.data import RoiDataset, TrackerDataset
from myoflow.methods.tagstrain.losses import CompositeLandmarkLoss
from myoflow.methods.tagstrain.settings import SQRT_HALF

#: The crop side (pixels) paper 003's loss measured positions on.
PAPER_CROP = 128


def roi_config(roi: dict[str, Any], seed: int) -> TrainConfig:
    """The localisation network's training in the core's terms."""
    return TrainConfig(
        epochs=roi["epochs"],
        batch_size=roi["batch_size"],
        optimizer=OptimizerSpec("adam", roi["lr"]),
        scheduler=SchedulerSpec(
            "step", gamma=SQRT_HALF, every=roi["decay_every"], start=roi["decay_start"]
        ),
        seed=seed,
    )


def tracker_config(tracker: dict[str, Any], seed: int) -> TrainConfig:
    """The tracker's training in the core's terms."""
    return TrainConfig(
        epochs=tracker["epochs"],
        batch_size=tracker["batch_size"],
        optimizer=OptimizerSpec("adam", tracker["lr"]),
        scheduler=SchedulerSpec("step", gamma=SQRT_HALF, every=tracker["decay_every"]),
        seed=seed,
    )


def box_iou(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean IoU of boxes ``[B, 4]`` (x1, y1, x2, y2); a predicted box with its corners swapped
    has no area and scores 0."""
    width = torch.minimum(pred[:, 2], target[:, 2]) - torch.maximum(pred[:, 0], target[:, 0])
    height = torch.minimum(pred[:, 3], target[:, 3]) - torch.maximum(pred[:, 1], target[:, 1])
    inter = width.clamp_min(0) * height.clamp_min(0)
    area_p = (pred[:, 2] - pred[:, 0]).clamp_min(0) * (pred[:, 3] - pred[:, 1]).clamp_min(0)
    area_t = (target[:, 2] - target[:, 0]) * (target[:, 3] - target[:, 1])
    return (inter / (area_p + area_t - inter).clamp_min(1e-12)).mean()


def _samples_key(*datasets: RoiDataset | TrackerDataset) -> str:
    """A digest of which slices train and validate: another selection is another run."""
    names = [f"{r.cohort}/{r.key}" for data in datasets for r in data.refs]
    return hashlib.sha256("\n".join(names).encode()).hexdigest()


class _OneNetwork(Trainer):
    """What both of paper 003's trainings share: one network, the ``model.tsv`` columns."""

    model: nn.Module

    def build_models(self) -> dict[str, nn.Module]:
        return {"net": self.model}

    def model_info(self) -> dict[str, Any]:
        return {
            "net": self.signature["net"],
            "parameters": count_parameters(self.model),
            "device": device_name(self.device),
            "threads": torch.get_num_threads(),
            "train_slices": len(self.train_data),
            "val_slices": len(self.val_data),
        }


class RoiTrainer(_OneNetwork):
    """Trains the localisation CNN on ``(ED frame, corners)`` batches of ``RoiDataset``."""

    metrics = ("loss", "iou")
    selection = Selection("iou", "max")

    def __init__(
        self,
        model: nn.Module,
        signature: dict[str, Any],
        train_data: RoiDataset,
        val_data: RoiDataset,
        config: TrainConfig,
        out_dir: str | os.PathLike[str],
        device: torch.device,
    ) -> None:
        super().__init__(config, signature, train_data, val_data, out_dir, device)
        self.model = model
        self.datasets = (train_data, val_data)

    def loss(
        self, outputs: torch.Tensor, targets: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, Value]]:
        """MSE on the corners (paper 003) and the batch's IoU."""
        return nn.functional.mse_loss(outputs, targets), {"iou": box_iou(outputs.detach(), targets)}

    def run_settings(self) -> dict[str, Any]:
        train = self.datasets[0]
        return {
            "enlargement": train.enlargement,
            "augment_shift": train.augment_shift,
            "augment_dihedral": train.augment_dihedral,
            "motion_channel": train.motion_channel,
            "samples": _samples_key(*self.datasets),
        }


class TrackerTrainer(_OneNetwork):
    """Trains the RNN-CNN on ``(crop, landmarks, acquired)`` batches of ``TrackerDataset``."""

    metrics = ("loss", "position", "radial", "circumferential", "rmse_px")

    def __init__(
        self,
        model: nn.Module,
        signature: dict[str, Any],
        train_data: TrackerDataset,
        val_data: TrackerDataset,
        config: TrainConfig,
        strain_weight: float,
        out_dir: str | os.PathLike[str],
        device: torch.device,
    ) -> None:
        super().__init__(config, signature, train_data, val_data, out_dir, device)
        self.model = model
        self.loss_fn = CompositeLandmarkLoss(strain_weight)
        self.datasets = (train_data, val_data)

    def batch(self, batch: Any) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        crops, marks, acquired = batch
        return crops.to(self.device), (marks.to(self.device), acquired.to(self.device))

    def loss(
        self, outputs: torch.Tensor, targets: tuple[torch.Tensor, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, Value]]:
        """Paper 003's composite loss on the 128-pixel scale, its three terms, and the RMSE of
        the landmark positions in those pixels."""
        marks, acquired = targets
        parts = self.loss_fn(outputs * PAPER_CROP, marks * PAPER_CROP, acquired)
        return parts.total, {
            "position": parts.position.detach(),
            "radial": parts.radial.detach(),
            "circumferential": parts.circumferential.detach(),
            "rmse_px": parts.position.detach().sqrt(),
        }

    def run_settings(self) -> dict[str, Any]:
        train = self.datasets[0]
        return {
            "strain_weight": self.loss_fn.strain_weight,
            "enlargement": train.enlargement,
            "box_jitter": train.box_jitter,
            "samples": _samples_key(*self.datasets),
        }
