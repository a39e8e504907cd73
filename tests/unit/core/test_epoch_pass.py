"""One epoch of the core trainer: every sample once, in the seeded order, and metrics averaged
over samples (not over batches, which would overweight a short last batch)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from support.toy_trainers import LinearTrainer, Regression

from myoflow.core.train.batches import epoch_order
from myoflow.core.train.optim import OptimizerSpec
from myoflow.core.train.spec import TrainConfig
from myoflow.core.train.trainer import Trainer

CPU = torch.device("cpu")
SIGNATURE = {"net": "toy-linear", "inputs": 4}


class Indexed(Regression):
    """``Regression`` whose samples also carry their index."""

    def __getitem__(self, index: int) -> tuple[tuple[torch.Tensor, int], torch.Tensor]:
        x, y = super().__getitem__(index)
        return (x, index), y


class Recording(LinearTrainer):
    """Records which training samples each epoch visits; its metric ``target`` is the batch's
    mean target, whose sample-weighted epoch mean is the mean over the dataset."""

    metrics = ("loss", "target")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.visited: dict[int, list[int]] = {}

    def batch(self, batch: Any) -> tuple[Any, Any]:
        return Trainer.batch(self, batch)  # no jitter: the inputs carry indices

    def forward(self, models: dict[str, torch.nn.Module], inputs: Any) -> Any:
        x, index = inputs
        if models["net"].training:
            self.visited.setdefault(self.epoch, []).extend(int(i) for i in index)
        return models["net"](x)

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, dict]:
        return F.mse_loss(outputs, targets), {"target": targets.mean()}


def _run(out: Path, n_train: int, n_val: int, epochs: int = 3) -> tuple[Recording, pd.DataFrame]:
    config = TrainConfig(epochs, 4, OptimizerSpec("sgd", 0.0), seed=7)
    trainer = Recording(config, SIGNATURE, Indexed(n_train, 1), Indexed(n_val, 2), out, CPU)
    return trainer, trainer.fit()


def test_each_epoch_visits_every_sample_once_in_its_seeded_order(tmp_path: Path) -> None:
    trainer, _ = _run(tmp_path, n_train=10, n_val=6)
    orders = [trainer.visited[epoch] for epoch in (1, 2, 3)]
    for epoch, order in enumerate(orders, start=1):
        assert sorted(order) == list(range(10))
        assert order == epoch_order(10, 7, epoch).tolist()
    assert orders[0] != orders[1] != orders[2], "each epoch reshuffles"


def test_epoch_metrics_are_sample_weighted_means(tmp_path: Path) -> None:
    """10 samples in batches of 4, 4 and 2: the epoch's ``target`` is the dataset's mean target
    (a mean of the three batch means would weigh the last two samples double)."""
    _, history = _run(tmp_path, n_train=10, n_val=6)
    train_y = Regression(10, 1).y.double()
    val_y = Regression(6, 2).y.double()
    for epoch in (1, 2, 3):
        row = history[history["epoch"] == epoch].iloc[0]
        np.testing.assert_allclose(row["train_target"], float(train_y.mean()), rtol=1e-6)
        np.testing.assert_allclose(row["val_target"], float(val_y.mean()), rtol=1e-6)
