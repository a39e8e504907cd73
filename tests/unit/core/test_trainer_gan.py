"""Several networks and optimisers in one run: a GAN-like alternating update in a custom step."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch
from support.toy_trainers import GanTrainer, Interrupted, assert_identical, gaussian_cloud

from myoflow.core.train.optim import OptimizerSpec, SchedulerSpec
from myoflow.core.train.spec import TrainConfig

CPU = torch.device("cpu")
SIGNATURE = {"net": "toy-gan", "noise": 2}
#: Adam with beta1 0.5 as GANs use it, the rate halved every epoch for both optimisers.
CONFIG = TrainConfig(
    epochs=3,
    batch_size=16,
    optimizer=OptimizerSpec("adam", 0.01, betas=(0.5, 0.999)),
    scheduler=SchedulerSpec("step", gamma=0.5),
    seed=2,
)
BATCHES = 4  # 64 real samples in batches of 16


def run(out: Path, kill_at: int | None = None) -> None:
    GanTrainer(
        CONFIG, SIGNATURE, gaussian_cloud(64, 1), gaussian_cloud(32, 2), out, CPU, kill_at=kill_at
    ).fit()


def history(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "history.tsv", sep="\t").drop(columns="seconds")


def test_two_networks_two_optimisers_resume_exactly(tmp_path: Path) -> None:
    """Killed in epoch 2: the resumed run's history (both losses, both rates) and both
    networks' weights, optimiser and scheduler states are the uninterrupted run's, bit for bit,
    though every step draws the generator's noise from torch's global generator."""
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    run(whole)
    with pytest.raises(Interrupted):
        run(killed, kill_at=BATCHES + 2)
    assert torch.load(killed / "last.pt", weights_only=True)["epoch"] == 1
    run(killed)
    expected = history(whole)
    assert list(expected.columns) == [
        "epoch",
        *("train_loss", "val_loss", "train_d_loss", "val_d_loss"),
        *("lr_generator", "lr_discriminator"),
    ]
    assert (
        list(expected["lr_generator"])
        == list(expected["lr_discriminator"])
        == [0.01, 0.005, 0.0025]
    )
    pd.testing.assert_frame_equal(history(killed), expected, check_exact=True)
    best_a = torch.load(killed / "best.pt", weights_only=True)
    best_b = torch.load(whole / "best.pt", weights_only=True)
    assert list(best_b) == ["signature", "state_dicts", "epoch", "val_loss"]
    assert list(best_b["state_dicts"]) == ["generator", "discriminator"]
    assert_identical(best_a, best_b)
    last_a = torch.load(killed / "last.pt", weights_only=True)
    last_b = torch.load(whole / "last.pt", weights_only=True)
    for key in ("models", "optimizers", "schedulers", "best_val", "epoch"):
        assert_identical(last_a[key], last_b[key], key)


def test_the_two_optimisers_update_their_own_network(tmp_path: Path) -> None:
    """Each optimiser holds exactly its network's parameters, and both networks moved."""
    trainer = GanTrainer(
        CONFIG, SIGNATURE, gaussian_cloud(64, 1), gaussian_cloud(32, 2), tmp_path, CPU
    )
    trainer.fit()
    for name, model in trainer.models.items():
        held = {id(p) for group in trainer.optimizers[name].param_groups for p in group["params"]}
        assert held == {id(p) for p in model.parameters()}
    torch.manual_seed(CONFIG.seed)  # the trainer's seed before it builds the networks
    fresh = trainer.build_models()
    for name, model in trainer.models.items():
        assert not torch.equal(model.weight, fresh[name].weight), f"{name} never moved"
