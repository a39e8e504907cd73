"""The shared trainer: what mutation testing (``make mutants``) found untested.

The core's training tests check learning, selection and an exact resume; mutants survived them
that: recorded no training-set size in the run's key (a run on another training set would have
been resumed), took one validation sample for none, timed an epoch wrongly, logged other
scores, could not create a model folder's parents, or dropped the messages that tell a method
of several networks what to define. On a CPU-only machine a batch that was never moved to the trainer's device looks the same as one
that was, so mutants of ``Trainer.batch`` and ``MyoNetTrainer.batch`` that moved nothing survived
every training test. Here the device is PyTorch's ``meta`` device, where a tensor that was moved
says so. A method that defines neither ``loss`` nor both steps is told so by name.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from support.toy_trainers import LinearTrainer, Regression
from torch import nn

from myoflow.core.train.checkpoint import TrainingError
from myoflow.core.train.optim import OptimizerSpec
from myoflow.core.train.spec import Selection, TrainConfig
from myoflow.core.train.trainer import Trainer
from myoflow.methods.myonet.data import DisplacementDataset
from myoflow.methods.myonet.losses import DisplacementLoss
from myoflow.methods.myonet.trainer import MyoNetTrainer, TrainSettings

META = torch.device("meta")


class _Bare(Trainer):
    """A method with a network and nothing else: the core's defaults at work."""

    def build_models(self) -> dict[str, nn.Module]:
        return {"net": nn.Linear(2, 1)}


def _bare(tmp_path: Path, device: torch.device = META) -> _Bare:
    return _Bare(TrainConfig(epochs=1, batch_size=1), {"net": "bare"}, [], [], tmp_path, device)


def test_the_default_batch_moves_inputs_and_nested_targets_to_the_device(tmp_path: Path) -> None:
    inputs, targets = _bare(tmp_path).batch(
        (torch.zeros(1, 2), {"u": torch.ones(1, 1), "m": [torch.ones(1)]})
    )
    assert inputs.device == META
    assert targets["u"].device == META and targets["m"][0].device == META


def _myonet(out: Path, device: torch.device, settings: TrainSettings) -> MyoNetTrainer:
    """A MyoNet trainer without data: its batch and loss hooks need none."""
    data = DisplacementDataset([], 1.5)
    return MyoNetTrainer(nn.Conv3d(1, 2, 3), {"net": "myonet"}, data, data, settings, out, device)


def test_myonet_batches_reach_the_device(tmp_path: Path) -> None:
    trainer = _myonet(tmp_path, META, TrainSettings())
    x, (y, m) = trainer.batch(
        (torch.zeros(1, 1, 2, 4, 4), torch.zeros(1, 2, 2, 4, 4), torch.ones(1))
    )
    assert (x.device, y.device, m.device) == (META, META, META)


def test_a_method_without_a_loss_is_told_what_to_define(tmp_path: Path) -> None:
    with pytest.raises(NotImplementedError, match="^_Bare: define loss or override both steps"):
        _bare(tmp_path, torch.device("cpu")).loss(torch.zeros(1), torch.zeros(1))


def test_myonet_scores_a_batch_with_its_loss_and_the_papers_accuracy(tmp_path: Path) -> None:
    """The loss is the configured ``DisplacementLoss`` on (prediction, target, mask); the
    reported accuracy is 1 - MSE / Var(target) of the same batch."""
    weights = {"mse": 1.0, "smooth_l1": 0.0, "myocardium": 2.0}
    trainer = _myonet(tmp_path, torch.device("cpu"), TrainSettings(loss=weights))
    generator = torch.Generator().manual_seed(0)
    pred, target = torch.rand(2, 2, 3, 4, 4, generator=generator), torch.zeros(2, 2, 3, 4, 4)
    target[:, :, :, 1:3, 1:3] = 1.0
    mask = torch.zeros(2, 1, 1, 4, 4)
    mask[..., 1:3, 1:3] = 1.0
    loss, extra = trainer.loss(pred, (target, mask))
    assert loss.item() == pytest.approx(DisplacementLoss(**weights)(pred, target, mask).item())
    mse = float(((pred - target) ** 2).mean())
    assert extra["accuracy"] == pytest.approx(1.0 - mse / float(target.var(unbiased=False)))


# -- the loop, on the toy linear method of tests/support ----------------------------------------


def _fit(out: Path, train: int = 64, val: int = 32, epochs: int = 2) -> pd.DataFrame:
    config = TrainConfig(epochs=epochs, batch_size=16, optimizer=OptimizerSpec("adam", 0.05))
    signature = {"net": "toy-linear", "inputs": 4}
    cpu = torch.device("cpu")
    return LinearTrainer(
        config, signature, Regression(train, 1), Regression(val, 2), out, cpu
    ).fit()


def test_another_training_set_size_is_another_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _fit(tmp_path)
    with caplog.at_level(logging.WARNING, logger="myoflow.train"):
        _fit(tmp_path, train=48)
    assert "train_samples: 64 -> 48" in caplog.text


def test_one_validation_sample_is_enough_to_select_on(tmp_path: Path) -> None:
    history = _fit(tmp_path, val=1, epochs=3)
    assert history["val_loss"].notna().all()
    best = torch.load(tmp_path / "best.pt", weights_only=True)
    assert best["val_loss"] == history["val_loss"].min()


def test_epochs_are_timed_and_logged_with_every_score(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The output folder may not exist yet, parents included; each epoch's seconds lie between
    0 and the whole fit's; its log line names every split and metric."""
    tic = time.perf_counter()
    with caplog.at_level(logging.INFO, logger="myoflow.train"):
        history = _fit(tmp_path / "models" / "toy" / "linear")
    elapsed = time.perf_counter() - tic
    assert history["seconds"].between(0.0, elapsed).all()
    assert history["seconds"].sum() <= elapsed
    line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("epoch 1/2"))
    row = history.iloc[0]
    assert f"train loss {row['train_loss']:.5g} mae {row['train_mae']:.5g}, val loss" in line


class _Two(_Bare):
    def build_models(self) -> dict[str, nn.Module]:
        return {"generator": nn.Linear(2, 2), "critic": nn.Linear(2, 1)}


def test_what_a_method_of_several_networks_must_define_is_named(tmp_path: Path) -> None:
    trainer = _Two(TrainConfig(epochs=1, batch_size=1), {"net": "two"}, [], [], tmp_path, META)
    models = trainer.build_models()
    with pytest.raises(TrainingError, match="^_Two: 2 networks; override forward$"):
        trainer.forward(models, torch.zeros(1, 2))
    with pytest.raises(TrainingError, match="^_Two: no tensor in the inputs; override samples$"):
        trainer.samples({"ids": ["a", "b"]})
    trainer.optimizers = {name: torch.optim.SGD(m.parameters(), 0.1) for name, m in models.items()}
    with pytest.raises(TrainingError, match=r"one of \['generator', 'critic'\]$"):
        trainer.optimize(torch.zeros(()))


class _Unscored(_Bare):
    selection = Selection("dice")


def test_a_run_without_data_or_with_an_unknown_metric_is_refused_by_name(tmp_path: Path) -> None:
    config = TrainConfig(epochs=1, batch_size=1)
    empty = _Bare(config, {"net": "bare"}, [], [], tmp_path, torch.device("cpu"))
    with pytest.raises(TrainingError, match="^no training samples: the training split is empty$"):
        empty.fit()
    unknown = _Unscored(config, {"net": "bare"}, [0], [], tmp_path, torch.device("cpu"))
    with pytest.raises(ValueError, match=r"^_Unscored: \['dice'\] not in \('loss',\)$"):
        unknown.fit()
