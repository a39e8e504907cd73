"""The shared trainer's defaults: what mutation testing (``make mutants``) found untested.

On a CPU-only machine a batch that was never moved to the trainer's device looks the same as one
that was, so mutants of ``Trainer.batch`` and ``MyoNetTrainer.batch`` that moved nothing survived
every training test. Here the device is PyTorch's ``meta`` device, where a tensor that was moved
says so. A method that defines neither ``loss`` nor both steps is told so by name.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from myoflow.core.train.spec import TrainConfig
from myoflow.core.train.trainer import Trainer
from myoflow.methods.myonet.data import DisplacementDataset
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


def test_myonet_batches_reach_the_device(tmp_path: Path) -> None:
    data = DisplacementDataset([], 1.5)
    trainer = MyoNetTrainer(
        nn.Conv3d(1, 2, 3), {"net": "myonet"}, data, data, TrainSettings(), tmp_path, META
    )
    x, (y, m) = trainer.batch(
        (torch.zeros(1, 1, 2, 4, 4), torch.zeros(1, 2, 2, 4, 4), torch.ones(1))
    )
    assert (x.device, y.device, m.device) == (META, META, META)


def test_a_method_without_a_loss_is_told_what_to_define(tmp_path: Path) -> None:
    with pytest.raises(NotImplementedError, match="^_Bare: define loss or override both steps"):
        _bare(tmp_path, torch.device("cpu")).loss(torch.zeros(1), torch.zeros(1))
