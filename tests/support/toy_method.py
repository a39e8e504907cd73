"""A toy method unit, defined entirely in the test folder: one 3x3x3 convolution from cine to
displacement, a mean-squared-error loss, one metric (end-point error).

It proves the shape of the house: a config names it as ``method: toy_method:METHOD`` (with
``tests/support`` on ``PYTHONPATH``), and the real workflow's generic rules train, predict and
evaluate it on the phantom without a line of the package or the workflow changing. It reads the
``fov`` preprocessing profile, so the cohort must write that profile because a method asked.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from myoflow.core.train.checkpoint import load_checkpoint
from myoflow.core.train.device import pick_device
from myoflow.core.train.optim import OptimizerSpec
from myoflow.core.train.spec import TrainConfig
from myoflow.core.train.trainer import Trainer, Value
from myoflow.io.shards import read_displacements, read_record, read_shard, write_shard
from myoflow.methods.base import Method, TrainingData
from myoflow.metrics.displacement import displacement_metrics
from myoflow.samples import SampleRef, ed_mask, read_splits, select, split_of
from myoflow.settings import bounded

Path = str | os.PathLike[str]
#: Displacements are learnt in units of this many mm (the rat phantom moves about 1-2 mm).
SCALE_MM = 3.0


@dataclass(frozen=True)
class ToySettings:
    epochs: int = bounded(2, minimum=1)
    lr: float = bounded(1e-2, exclusive_minimum=0)
    seed: int = 0


class ToyData:
    """``(cine [1, T, H, W], displacement / SCALE_MM [2, T, H, W])`` per selected slice."""

    def __init__(self, refs: Sequence[SampleRef]) -> None:
        self.refs = list(refs)

    def __len__(self) -> int:
        return len(self.refs)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        rec = read_record(self.refs[index].shard, self.refs[index].key)
        x = torch.from_numpy(np.ascontiguousarray(rec.cine[None], dtype=np.float32))
        u = np.moveaxis(rec.displacement, 1, 0) / SCALE_MM
        return x, torch.from_numpy(np.ascontiguousarray(u, dtype=np.float32))


class ToyTrainer(Trainer):
    metrics = ("loss", "epe")

    def build_models(self) -> dict[str, nn.Module]:
        return {"net": nn.Conv3d(1, 2, 3, padding=1)}

    def loss(
        self, outputs: torch.Tensor, targets: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, Value]]:
        epe = (outputs.detach() - targets).norm(dim=1).mean() * SCALE_MM
        return nn.functional.mse_loss(outputs, targets), {"epe": epe}


def _signature(experiment: Mapping[str, Any]) -> dict[str, Any]:
    return {"net": "toy", "scale_mm": SCALE_MM}


class Toy(Method):
    settings_class = ToySettings
    profile = "fov"
    eval_tables = ("toy_metrics",)

    def models(self, experiment: Mapping[str, Any]) -> list[str]:
        return ["tiny"]

    def train(
        self,
        experiment: Mapping[str, Any],
        model: str,
        data: TrainingData,
        out_dir: Path,
        device: str | None = None,
    ) -> None:
        s = experiment["settings"]
        table = read_splits(data.splits)
        config = TrainConfig(
            epochs=s["epochs"], batch_size=2, optimizer=OptimizerSpec("adam", s["lr"])
        )
        ToyTrainer(
            config,
            _signature(experiment),
            ToyData(select(data.shards, table, ["train"])),
            ToyData(select(data.shards, table, ["val"])),
            out_dir,
            pick_device(device),
        ).fit()

    def predict(
        self,
        experiment: Mapping[str, Any],
        model: str,
        weights: Path,
        shard: Path,
        splits: Path,
        out: Path,
        device: str | None = None,
        needs: Mapping[str, Path] | None = None,
    ) -> None:
        net = nn.Conv3d(1, 2, 3, padding=1)
        net.load_state_dict(load_checkpoint(weights, _signature(experiment))["state_dict"])
        lookup = split_of(read_splits([splits]))
        records = []
        for rec in read_shard(shard):
            if lookup.get((rec.cohort, rec.subject)) != "test":
                continue
            with torch.inference_mode():
                v = net(torch.from_numpy(rec.cine[None, None].astype(np.float32)))[0].numpy()
            u = np.moveaxis(v, 0, 1) * SCALE_MM
            records.append(rec.replace(cine=None, tagged=None, landmarks=None, displacement=u))
        write_shard(out, records)

    def evaluate(
        self,
        experiment: Mapping[str, Any],
        shard: Path,
        splits: Path,
        predictions: Mapping[str, Path],
        tracked: Sequence[Path] = (),
    ) -> dict[str, pd.DataFrame]:
        predicted = {m: read_displacements(p) for m, p in predictions.items()}
        lookup = split_of(read_splits([splits]))
        rows = []
        for rec in read_shard(shard):
            if lookup.get((rec.cohort, rec.subject)) != "test":
                continue
            fields = {**{m: p[rec.key] for m, p in predicted.items()}, "zero": None}
            for method, field in fields.items():
                guess = np.zeros_like(rec.displacement) if field is None else field
                metrics = displacement_metrics(guess, rec.displacement, ed_mask(rec), SCALE_MM)
                rows.append(
                    {
                        "experiment": experiment["name"],
                        "cohort": rec.cohort,
                        "subject": rec.subject,
                        "slice_id": rec.slice_id,
                        "method": method,
                        "epe_mm": metrics["epe_mm"],
                    }
                )
        return {"toy_metrics": pd.DataFrame(rows)}


METHOD = Toy()
