"""Pretrain, then fine-tune: starting from another run's ``best.pt``, with its provenance."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch
from support.toy_trainers import Interrupted, LinearTrainer, Regression, assert_identical

from myoflow.core.train.checkpoint import TrainingError
from myoflow.core.train.optim import OptimizerSpec
from myoflow.core.train.spec import TrainConfig

CPU = torch.device("cpu")
SIGNATURE = {"net": "toy-linear", "inputs": 4}
BATCHES = 4  # 64 training samples in batches of 16


def run(
    out: Path, config: TrainConfig, signature: dict[str, Any] = SIGNATURE, **hooks: Any
) -> None:
    LinearTrainer(config, signature, Regression(64, 1), Regression(32, 2), out, CPU, **hooks).fit()


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``best.pt`` of a three-epoch run."""
    out = tmp_path_factory.mktemp("pretrained")
    run(out, TrainConfig(3, 16, OptimizerSpec("adam", 0.05), seed=4))
    return out / "best.pt"


def frozen(init_from: Path | None, epochs: int = 1, lr: float = 0.0) -> TrainConfig:
    """A fine-tuning run; at the default rate 0 it cannot move its weights (SGD: ``p - 0 * g``
    is ``p``), so its ``best.pt`` shows what it started from."""
    start = str(init_from) if init_from else None
    return TrainConfig(epochs, 16, OptimizerSpec("sgd", lr), seed=9, init_from=start)


def test_init_from_loads_the_weights_and_records_provenance(
    pretrained: Path, tmp_path: Path
) -> None:
    run(tmp_path, frozen(pretrained))
    source = torch.load(pretrained, weights_only=True)
    tuned = torch.load(tmp_path / "best.pt", weights_only=True)
    assert_identical(tuned["state_dict"], source["state_dict"])
    model = pd.read_csv(tmp_path / "model.tsv", sep="\t").to_dict("records")[0]
    assert model["init_from"] == str(pretrained)
    assert model["init_from_epoch"] == source["epoch"]
    assert model["init_from_sha256"] == hashlib.sha256(pretrained.read_bytes()).hexdigest()


def test_without_init_from_the_weights_are_fresh_and_no_provenance_column(
    pretrained: Path, tmp_path: Path
) -> None:
    run(tmp_path, frozen(None))
    tuned = torch.load(tmp_path / "best.pt", weights_only=True)["state_dict"]
    source = torch.load(pretrained, weights_only=True)["state_dict"]
    assert not torch.equal(tuned["1.weight"], source["1.weight"])
    columns = pd.read_csv(tmp_path / "model.tsv", sep="\t").columns
    assert not [c for c in columns if c.startswith("init_from")]


def test_a_resumed_fine_tuning_keeps_its_provenance(
    pretrained: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Killed in epoch 2, the run resumes from its own ``last.pt``, not from the pretrained
    weights again (its history is the uninterrupted run's), and still names where it started;
    with ``init_from`` changed in between, the killed run is not resumed but trained afresh."""
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    run(whole, frozen(pretrained, epochs=3, lr=0.05))
    with pytest.raises(Interrupted):
        run(killed, frozen(pretrained, epochs=3, lr=0.05), kill_at=2 * BATCHES + 1)
    run(killed, frozen(pretrained, epochs=3, lr=0.05))
    pd.testing.assert_frame_equal(
        pd.read_csv(killed / "history.tsv", sep="\t").drop(columns="seconds"),
        pd.read_csv(whole / "history.tsv", sep="\t").drop(columns="seconds"),
        check_exact=True,
    )
    model = pd.read_csv(killed / "model.tsv", sep="\t").to_dict("records")[0]
    assert model["init_from"] == str(pretrained)
    with caplog.at_level(logging.WARNING, logger="myoflow.train"):
        run(killed, frozen(None, epochs=3, lr=0.05))
    assert "not resumed" in caplog.text and "core.init_from" in caplog.text
    columns = pd.read_csv(killed / "model.tsv", sep="\t").columns
    assert not [c for c in columns if c.startswith("init_from")]


def test_a_checkpoint_of_another_network_is_refused(pretrained: Path, tmp_path: Path) -> None:
    other = {**SIGNATURE, "inputs": 8}
    with pytest.raises(TrainingError, match=r"does not match.*'inputs': \(4, 8\)"):
        run(tmp_path, frozen(pretrained), signature=other)
