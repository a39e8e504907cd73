"""The one trainer: a base class whose hooks a method overrides, around one tested epoch loop.

Why one trainer: the methods differ in their networks, losses and batches; selection on a named
validation metric, checkpoints every epoch, exact resume after a kill, the non-finite-loss guard
and the per-epoch history are the same everywhere and are tested once (tests/unit/core).

A method subclasses ``Trainer`` and overrides (see each hook's docstring):

* ``build_models`` (required): its networks by name;
* ``loss`` (required unless both steps are overridden): loss and named metrics of a forward;
* ``batch``, ``forward``: how a loader's batch becomes inputs and targets, and how the networks
  turn inputs into outputs (a list of outputs for deep supervision, ``core.train.supervision``);
* ``metrics``, ``finite``, ``selection``: the history's columns, the values that must stay
  finite, the validation metric that selects ``best.pt`` and its direction;
* ``build_optimizers``, ``build_schedulers``, ``train_step``, ``validation_step``: for several
  networks and optimisers (a GAN), with ``optimize`` and ``autocast`` as the building blocks;
* ``model_info``: the columns of ``model.tsv``.

The files a run leaves are described in ``checkpoint``; resume is exact because every epoch is
seeded from ``(seed, epoch)`` alone (``batches``).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler
from torch.utils.data import DataLoader
from tqdm import tqdm

from myoflow.core.train.batches import (
    EpochAware,
    Samples,
    check_values,
    epoch_order,
    first_tensor,
    seed_epoch,
    to_device,
)
from myoflow.core.train.checkpoint import (
    Stateful,
    TrainingError,
    initialise_from,
    load_checkpoint,
    restore,
    run_key,
    run_state,
    save_atomic,
    selected_state,
    stale_reason,
)
from myoflow.core.train.device import device_name, prepare_model
from myoflow.core.train.optim import advance, build_optimizer, build_scheduler, learning_rates
from myoflow.core.train.spec import Selection, TrainConfig
from myoflow.io.atomic import write_tsv

log = logging.getLogger("myoflow.train")

#: One value a step reports: a 0-d tensor or a number.
Value = torch.Tensor | float


class Trainer(ABC):
    """Trains a method's networks on ``train_data``, selecting on ``val_data``, into ``out_dir``.

    ``signature`` names what the checkpoints are trained for (architecture, output scale); a
    ``last.pt`` or ``init_from`` file with another signature is refused. ``fit`` runs to
    ``config.epochs``, resuming from ``last.pt`` when there is one.
    """

    #: The values every step returns, by name; ``loss`` is the default step's own.
    metrics: tuple[str, ...] = ("loss",)
    #: The metrics that must stay finite; the first that does not stops the run.
    finite: tuple[str, ...] = ("loss",)
    selection: Selection = Selection()

    def __init__(
        self,
        config: TrainConfig,
        signature: dict[str, Any],
        train_data: Samples,
        val_data: Samples,
        out_dir: str | os.PathLike[str],
        device: torch.device,
    ) -> None:
        self.config = config
        self.signature = signature
        self.train_data = train_data
        self.val_data = val_data
        self.out = Path(out_dir)
        self.device = device
        #: Filled by ``fit``: the networks (whose state is saved), the modules to call (compiled
        #: or re-laid out versions of them, see ``device.prepare_model``), and their optimisers.
        self.models: dict[str, nn.Module] = {}
        self.runners: dict[str, nn.Module] = {}
        self.optimizers: dict[str, Optimizer] = {}
        self.schedulers: dict[str, LRScheduler] = {}
        self.scalers: dict[str, torch.amp.GradScaler] = {}
        #: Whether inputs must be channels_last_3d (``device.to_input``), decided by ``fit``.
        self.channels_last = False
        self.amp = False
        self.epoch = 0
        self.provenance: dict[str, Any] = {}
        #: What the run trains with besides the architecture (``checkpoint.run_key``), by ``fit``.
        self.run: dict[str, Any] = {}

    # -- hooks ---------------------------------------------------------------------------------

    @abstractmethod
    def build_models(self) -> dict[str, nn.Module]:
        """The method's networks by name. torch is seeded with ``config.seed`` just before, so
        fresh weights follow from the config."""

    def build_optimizers(self, models: dict[str, nn.Module]) -> dict[str, Optimizer]:
        """One optimiser (``config.optimizer``) over every network's parameters; a GAN returns
        one per network it steps separately."""
        params = [p for model in models.values() for p in model.parameters()]
        return {"all": build_optimizer(self.config.optimizer, params)}

    def build_schedulers(self, optimizers: dict[str, Optimizer]) -> dict[str, LRScheduler]:
        """``config.scheduler`` for every optimiser (a plateau watches the selection metric)."""
        built = {
            name: build_scheduler(self.config.scheduler, optimizer, self.selection.mode)
            for name, optimizer in optimizers.items()
        }
        return {name: scheduler for name, scheduler in built.items() if scheduler is not None}

    def loader(self, dataset: Samples, order: np.ndarray) -> DataLoader[Any]:
        """Batches of ``dataset`` in ``order``, loaded in this process (no workers, whose start
        costs more than the tiny CPU batches here gain)."""
        return DataLoader(
            dataset,  # type: ignore[arg-type]  # any sized, indexable dataset will do
            batch_size=self.config.batch_size,
            sampler=order.tolist(),
            num_workers=0,
        )

    def batch(self, batch: Any) -> tuple[Any, Any]:
        """``(inputs, targets)`` on the device from a loader's batch, by default a pair."""
        inputs, targets = batch
        return to_device(inputs, self.device), to_device(targets, self.device)

    def forward(self, models: dict[str, nn.Module], inputs: Any) -> Any:
        """The outputs of the networks (``self.runners``) for ``inputs``: by default the one
        network called on them."""
        if len(models) != 1:
            raise TrainingError(f"{type(self).__name__}: {len(models)} networks; override forward")
        return next(iter(models.values()))(inputs)

    def loss(self, outputs: Any, targets: Any) -> tuple[torch.Tensor, dict[str, Value]]:
        """The loss to minimise and the other ``metrics`` of one batch."""
        raise NotImplementedError(f"{type(self).__name__}: define loss or override both steps")

    def train_step(self, inputs: Any, targets: Any) -> dict[str, Value]:
        """One training batch: forward, loss, one optimiser step; returns every metric.

        Override for several optimisers (a GAN: a discriminator step, then a generator step),
        calling ``optimize`` once per optimiser and forwarding under ``autocast``.
        """
        with self.autocast():
            loss, metrics = self.loss(self.forward(self.runners, inputs), targets)
        self.optimize(loss)
        return {"loss": loss.detach(), **metrics}

    def validation_step(self, inputs: Any, targets: Any) -> dict[str, Value]:
        """One validation batch (gradients off, networks in eval mode); returns every metric."""
        with self.autocast():
            loss, metrics = self.loss(self.forward(self.runners, inputs), targets)
        return {"loss": loss, **metrics}

    def samples(self, inputs: Any) -> int:
        """The batch's sample count, its weight in the epoch mean: the leading size of the first
        tensor in ``inputs``."""
        tensor = first_tensor(inputs)
        if tensor is None:
            raise TrainingError(f"{type(self).__name__}: no tensor in the inputs; override samples")
        return int(tensor.shape[0])

    def run_settings(self) -> dict[str, Any]:
        """What else the result depends on, as JSON values (loss weights, which samples): a
        ``last.pt`` saved with others is not resumed (``checkpoint.run_key``)."""
        return {}

    def model_info(self) -> dict[str, Any]:
        """The row of ``model.tsv``: size, where it trained, on how much data."""
        return {
            "parameters": sum(
                p.numel() for m in self.models.values() for p in m.parameters() if p.requires_grad
            ),
            "device": device_name(self.device),
            "threads": torch.get_num_threads(),
            "train_samples": len(self.train_data),
            "val_samples": len(self.val_data),
        }

    # -- building blocks for steps ---------------------------------------------------------------

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """float16 autocast when mixed precision is on, else nothing."""
        if not self.amp:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.float16)

    def optimize(self, loss: torch.Tensor, name: str | None = None) -> None:
        """Zero the gradients of optimiser ``name`` (the only one when None), backpropagate
        ``loss`` and step, through that optimiser's gradient scaler (a pass-through without
        mixed precision; one scaler per optimiser, so each is updated once per step)."""
        if name is None:
            if len(self.optimizers) != 1:
                raise TrainingError(f"name the optimizer to step: one of {list(self.optimizers)}")
            name = next(iter(self.optimizers))
        optimizer, scaler = self.optimizers[name], self.scalers[name]
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    # -- the loop --------------------------------------------------------------------------------

    def fit(self) -> pd.DataFrame:
        """Train to ``config.epochs`` (resuming from ``last.pt``); returns the history."""
        self.out.mkdir(parents=True, exist_ok=True)
        if len(self.train_data) == 0:
            raise TrainingError("no training samples: the training split is empty")
        unknown = {self.selection.metric, *self.finite} - set(self.metrics)
        if unknown:
            raise ValueError(f"{type(self).__name__}: {sorted(unknown)} not in {self.metrics}")
        self._build()
        self.run = run_key(
            self.config, len(self.train_data), len(self.val_data), self.run_settings()
        )
        history, best, start = self._restore()
        validated = len(self.val_data) > 0
        if not validated:
            log.warning(
                "no validation samples: the best model is selected on the training %s",
                self.selection.metric,
            )
        steps = self.config.epochs * math.ceil(len(self.train_data) / self.config.batch_size)
        for name, model in self.models.items():
            self.runners[name], self.channels_last = prepare_model(
                model, self.device, self.config.compile, self.config.channels_last, steps=steps
            )
        for epoch in range(start, self.config.epochs + 1):
            best = self._epoch(epoch, history, best, validated)
        selected = self.out / "selected.pt"
        if not selected.exists():
            raise TrainingError(f"{self.out}: training finished without a selected checkpoint")
        save_atomic(load_checkpoint(selected, self.signature), self.out / "best.pt")
        frame = pd.DataFrame(history, columns=self.columns())
        write_tsv(frame, self.out / "history.tsv")
        write_tsv(pd.DataFrame([{**self.model_info(), **self.provenance}]), self.out / "model.tsv")
        return frame

    def columns(self) -> list[str]:
        """The columns of ``history.tsv``."""
        pairs = [f"{split}_{m}" for m in self.metrics for split in ("train", "val")]
        return ["epoch", *pairs, *learning_rates(self.optimizers), "seconds"]

    def _build(self) -> None:
        torch.manual_seed(self.config.seed)
        self.models = self.build_models()
        for model in self.models.values():
            model.to(self.device)
        self.optimizers = self.build_optimizers(self.models)
        self.schedulers = self.build_schedulers(self.optimizers)
        self.amp = self.config.amp and self.device.type == "cuda"
        if self.config.amp and not self.amp:
            log.warning("mixed precision needs CUDA: training on %s in float32", self.device)
        self.scalers = {
            name: torch.amp.GradScaler(self.device.type, enabled=self.amp)
            for name in self.optimizers
        }

    def _stateful(self) -> Stateful:
        """Everything besides the weights whose state ``last.pt`` keeps."""
        groups: dict[tuple[str, str], Any] = {
            ("optimizer", "optimizers"): self.optimizers,
            ("scheduler", "schedulers"): self.schedulers,
        }
        if self.amp:
            groups["scaler", "scalers"] = self.scalers
        return groups

    def _restore(self) -> tuple[list[dict[str, Any]], float, int]:
        """History, best selection value and first epoch to run: from ``last.pt`` when there is
        one of this run (a resume), else empty, after loading ``config.init_from`` when set."""
        last = self.out / "last.pt"
        configured = str(Path(self.config.init_from)) if self.config.init_from else None
        state = load_checkpoint(last, self.signature) if last.exists() else None
        if state is not None:
            stale = stale_reason(state, self.run, self.config.epochs)
            if stale is not None:
                log.warning("%s: not resumed, %s; training afresh", last, stale)
                state = None
        if state is None:
            if configured is not None:
                self.provenance = initialise_from(configured, self.signature, self.models)
                log.info(
                    "initialised from %s (epoch %d)", configured, self.provenance["init_from_epoch"]
                )
            return [], self.selection.worst, 1
        restore(state, last, self.models, self._stateful())
        self.provenance = dict(state.get("init_from", {}))
        start = int(state["epoch"]) + 1
        log.info("resuming %s from epoch %d of %d", self.out, start, self.config.epochs)
        return [dict(row) for row in state["history"]], float(state["best_val"]), start

    def _epoch(
        self, epoch: int, history: list[dict[str, Any]], best: float, validated: bool
    ) -> float:
        """Train and validate one epoch, checkpoint it; returns the best selection value."""
        tic = time.perf_counter()
        self.epoch = epoch
        seed_epoch(self.config.seed, epoch)
        if isinstance(self.train_data, EpochAware):
            self.train_data.set_epoch(epoch)
        order = epoch_order(len(self.train_data), self.config.seed, epoch)
        train = self._pass(self.loader(self.train_data, order), True, f"epoch {epoch}")
        if validated:
            val_order = np.arange(len(self.val_data))
            val = self._pass(self.loader(self.val_data, val_order), False, "validation")
        else:
            val = dict.fromkeys(self.metrics, math.nan)
        row: dict[str, Any] = {"epoch": epoch}
        for m in self.metrics:
            row[f"train_{m}"], row[f"val_{m}"] = train[m], val[m]
        row.update(learning_rates(self.optimizers))
        row["seconds"] = time.perf_counter() - tic
        history.append(row)
        value = row[f"{'val' if validated else 'train'}_{self.selection.metric}"]
        if self.selection.better(value, best):
            best = value
            key = f"val_{self.selection.metric}"  # also when selecting on training data
            chosen = selected_state(self.signature, self.models, epoch, key, value)
            save_atomic(chosen, self.out / "selected.pt")
        for scheduler in self.schedulers.values():
            advance(scheduler, value)
        state = run_state(
            self.signature,
            self.run,
            self.models,
            self._stateful(),
            history,
            best,
            epoch,
            self.provenance,
        )
        save_atomic(state, self.out / "last.pt")
        self._log(row)
        return best

    def _pass(self, loader: DataLoader[Any], training: bool, desc: str) -> dict[str, float]:
        """Sample-weighted mean of every metric over one pass; trains when ``training``."""
        for runner in self.runners.values():
            runner.train(training)
        totals = dict.fromkeys(self.metrics, 0.0)
        count = 0
        step = self.train_step if training else self.validation_step
        bar = tqdm(loader, desc=desc, file=sys.stderr, disable=not sys.stderr.isatty(), leave=False)
        with torch.set_grad_enabled(training):
            for index, raw in enumerate(bar, start=1):
                inputs, targets = self.batch(raw)
                values = step(inputs, targets)
                check_values(values, self.metrics, self.finite, training, (self.epoch, index))
                n = self.samples(inputs)
                for m in self.metrics:
                    totals[m] += float(values[m]) * n
                count += n
        return {m: total / count for m, total in totals.items()}

    def _log(self, row: dict[str, Any]) -> None:
        scores = ", ".join(
            f"{split} " + " ".join(f"{m} {row[f'{split}_{m}']:.5g}" for m in self.metrics)
            for split in ("train", "val")
        )
        log.info(
            "epoch %d/%d: %s, %.1f s", row["epoch"], self.config.epochs, scores, row["seconds"]
        )
