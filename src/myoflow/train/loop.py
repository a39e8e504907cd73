"""One training loop for every network of the project: checkpoints, resume, history, timing.

Why one loop: each method only differs in its network, loss and data; selection on the best
validation loss, checkpoints every epoch, resume after a kill and the per-epoch history are the
same everywhere and are tested once.

Files in ``out_dir``:

* ``last.pt``: everything needed to resume (model and optimiser state, history, best validation
  loss, the network signature), written atomically at the end of every epoch.
* ``best.pt``: ``{"signature", "state_dict", "epoch", "val_loss"}`` of the epoch with the lowest
  validation loss (training loss when there is no validation set), loadable with
  ``torch.load(..., weights_only=True)``. It is kept as ``selected.pt`` while training and copied
  to ``best.pt`` at the end: Snakemake deletes a killed job's declared outputs, and the
  selection must survive that as ``last.pt`` does.
* ``history.tsv``: one row per epoch (``myoflow.tables.HISTORY``), written with ``best.pt`` when
  training ends, so a killed job leaves no final output behind (the log has a line per epoch).

Resume is exact on the CPU: every epoch draws its sample order, augmentation and torch RNG
state from ``(seed, epoch)`` alone, so the epochs after a resume are the epochs an uninterrupted
run would have had. A checkpoint whose signature (network, width, levels, displacement scale)
differs from the configured one is refused with both named, never silently reused.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from myoflow.experiment import MYONET_DEFAULTS
from myoflow.io.atomic import atomic_path, write_tsv
from myoflow.tables import HISTORY
from myoflow.train.data import DisplacementDataset
from myoflow.train.device import prepare_model, to_input
from myoflow.train.losses import DisplacementLoss, normalised_mse_accuracy

log = logging.getLogger("myoflow.train")

OPTIMIZERS: dict[str, Callable[..., torch.optim.Optimizer]] = {
    "rmsprop": torch.optim.RMSprop,
    "adam": torch.optim.Adam,
}


class TrainingError(RuntimeError):
    """Training cannot go on (non-finite loss, mismatching checkpoint, no training data)."""


@dataclass(frozen=True)
class TrainSettings:
    """The training options of an experiment; defaults are the experiment defaults."""

    epochs: int = MYONET_DEFAULTS["epochs"]
    batch_size: int = MYONET_DEFAULTS["batch_size"]
    lr: float = MYONET_DEFAULTS["lr"]
    optimizer: str = MYONET_DEFAULTS["optimizer"]
    loss: dict[str, float] = field(default_factory=lambda: dict(MYONET_DEFAULTS["loss"]))
    seed: int = MYONET_DEFAULTS["seed"]
    compile: str | bool = MYONET_DEFAULTS["compile"]
    channels_last: str | bool = MYONET_DEFAULTS["channels_last"]

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> TrainSettings:
        """The training subset of an experiment's resolved settings."""
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in settings.items() if k in names})


def save_atomic(obj: Any, path: str | os.PathLike[str]) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def load_checkpoint(path: str | os.PathLike[str], signature: dict[str, Any]) -> dict[str, Any]:
    """Load ``best.pt``/``last.pt`` and check that it was trained for ``signature``."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a truncated or foreign file: say which and why
        raise TrainingError(f"{path}: cannot read checkpoint ({error})") from error
    if not isinstance(state, dict) or "signature" not in state:
        raise TrainingError(f"{path}: not a myoflow checkpoint (no network signature)")
    if state["signature"] != signature:
        diff = {
            k: (state["signature"].get(k), signature.get(k))
            for k in sorted(set(state["signature"]) | set(signature))
            if state["signature"].get(k) != signature.get(k)
        }
        raise TrainingError(
            f"{path}: checkpoint does not match the configured network; differing "
            f"(checkpoint, config): {diff}. Restore the settings or delete the model folder."
        )
    return state


def _batches(dataset: DisplacementDataset, order: np.ndarray, batch_size: int) -> DataLoader:
    return DataLoader(dataset, batch_size=batch_size, sampler=order.tolist(), num_workers=0)


def _epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    return np.random.default_rng([seed, epoch, 1]).permutation(n)


def _run_epoch(
    model: torch.nn.Module,
    loader: DataLoader,
    loss_fn: DisplacementLoss,
    device: torch.device,
    channels_last: bool,
    optimizer: torch.optim.Optimizer | None,
    epoch: int,
    desc: str,
) -> tuple[float, float]:
    """Mean loss and accuracy over one pass; trains when an optimiser is given."""
    training = optimizer is not None
    model.train(training)
    total_loss, total_acc, count = 0.0, 0.0, 0
    bar = tqdm(loader, desc=desc, file=sys.stderr, disable=not sys.stderr.isatty(), leave=False)
    with torch.set_grad_enabled(training):
        for batch, (x, y, m) in enumerate(bar, start=1):
            x = to_input(x.to(device), channels_last)
            y, m = y.to(device), m.to(device)
            pred = model(x)
            loss = loss_fn(pred, y, m)
            if not torch.isfinite(loss):
                raise TrainingError(
                    f"non-finite {'training' if training else 'validation'} loss ({loss.item()}) "
                    f"at epoch {epoch}, batch {batch}; the last good checkpoint is kept"
                )
            if optimizer is not None:
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            n = x.shape[0]
            total_loss += loss.item() * n
            total_acc += normalised_mse_accuracy(pred.detach(), y) * n
            count += n
    return total_loss / count, total_acc / count


def train(
    model: torch.nn.Module,
    signature: dict[str, Any],
    train_data: DisplacementDataset,
    val_data: DisplacementDataset,
    settings: TrainSettings,
    out_dir: str | os.PathLike[str],
    device: torch.device,
) -> pd.DataFrame:
    """Train ``model`` (freshly initialised) to ``settings.epochs``; resume from ``last.pt``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if len(train_data) == 0:
        raise TrainingError("no training samples: the training split is empty")
    if settings.optimizer not in OPTIMIZERS:
        raise TrainingError(f"unknown optimizer {settings.optimizer!r}; use {list(OPTIMIZERS)}")
    model.to(device)
    optimizer = OPTIMIZERS[settings.optimizer](model.parameters(), lr=settings.lr)
    history: list[dict[str, float]] = []
    best_val = math.inf
    start = 1
    last_path = out / "last.pt"
    if last_path.exists():
        state = load_checkpoint(last_path, signature)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        history = [dict(row) for row in state["history"]]
        best_val = float(state["best_val"])
        start = int(state["epoch"]) + 1
        log.info("resuming %s from epoch %d of %d", out, start, settings.epochs)
    steps = settings.epochs * math.ceil(len(train_data) / settings.batch_size)
    runner, channels_last = prepare_model(
        model, device, settings.compile, settings.channels_last, steps=steps
    )
    loss_fn = DisplacementLoss(**settings.loss)
    if len(val_data) == 0:
        log.warning("no validation samples: the best model is selected on the training loss")
    for epoch in range(start, settings.epochs + 1):
        tic = time.perf_counter()
        torch.manual_seed(settings.seed * 100_003 + epoch)
        train_data.set_epoch(epoch)
        loader = _batches(
            train_data, _epoch_order(len(train_data), settings.seed, epoch), settings.batch_size
        )
        train_loss, train_acc = _run_epoch(
            runner, loader, loss_fn, device, channels_last, optimizer, epoch, f"epoch {epoch}"
        )
        if len(val_data):
            val_loader = _batches(val_data, np.arange(len(val_data)), settings.batch_size)
            val_loss, val_acc = _run_epoch(
                runner, val_loader, loss_fn, device, channels_last, None, epoch, "validation"
            )
        else:
            val_loss, val_acc = math.nan, math.nan
        row = {
            "epoch": epoch,
            "train_loss": train_loss,
            "val_loss": val_loss,
            "train_accuracy": train_acc,
            "val_accuracy": val_acc,
            "lr": optimizer.param_groups[0]["lr"],
            "seconds": time.perf_counter() - tic,
        }
        history.append(row)
        selection = val_loss if len(val_data) else train_loss
        if selection < best_val:
            best_val = selection
            save_atomic(
                {
                    "signature": signature,
                    "state_dict": model.state_dict(),
                    "epoch": epoch,
                    "val_loss": selection,
                },
                out / "selected.pt",
            )
        save_atomic(
            {
                "signature": signature,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "history": history,
                "best_val": best_val,
                "epoch": epoch,
            },
            last_path,
        )
        log.info(
            "epoch %d/%d: train loss %.5f acc %.4f, val loss %.5f acc %.4f, %.1f s",
            epoch,
            settings.epochs,
            train_loss,
            train_acc,
            val_loss,
            val_acc,
            row["seconds"],
        )
    selected = out / "selected.pt"
    if not selected.exists():
        raise TrainingError(f"{out}: training finished without a selected checkpoint")
    save_atomic(load_checkpoint(selected, signature), out / "best.pt")
    write_tsv(pd.DataFrame(history, columns=HISTORY), out / "history.tsv")
    return pd.DataFrame(history, columns=HISTORY)
