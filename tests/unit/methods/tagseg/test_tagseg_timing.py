"""Paper 001's speed helpers: structure only (finite, positive, side effects), never timed values,
which depend on the machine and its load."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from myoflow.methods.tagseg.losses import SegmentationLoss
from myoflow.methods.tagseg.nets import dynunet, segresnetvae
from myoflow.methods.tagseg.timing import epoch_seconds, inference_ms, train_step_seconds

SIZE = 32


def _tiny(name: str) -> nn.Module:
    torch.manual_seed(0)
    if name == "dynunet":
        return dynunet(width=0.125, image_size=SIZE)
    return segresnetvae(width=0.25, image_size=SIZE)


def _state(net: nn.Module) -> dict[str, torch.Tensor]:
    return {key: value.detach().clone() for key, value in net.state_dict().items()}


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[key], b[key]) for key in a)


@pytest.mark.parametrize("name", ["dynunet", "segresnetvae"])
@pytest.mark.parametrize("training", [True, False])
def test_inference_ms_is_finite_and_positive_and_leaves_the_net_as_found(
    name: str, training: bool
) -> None:
    net = _tiny(name).train(training)
    before = _state(net)
    mean, sd = inference_ms(net, SIZE, runs=3, warmup=1)
    assert math.isfinite(mean) and mean > 0
    assert math.isfinite(sd) and sd >= 0
    assert _same(before, _state(net))
    assert all(module.training is training for module in net.modules())


def test_inference_ms_restores_mixed_modes_and_refuses_a_single_run() -> None:
    net = _tiny("segresnetvae").train()
    net.convInit.eval()
    inference_ms(net, SIZE, runs=2, warmup=0)
    assert net.training and not net.convInit.training
    with pytest.raises(ValueError, match="runs >= 2"):
        inference_ms(net, SIZE, runs=1)


@pytest.mark.parametrize("name", ["dynunet", "segresnetvae"])
def test_train_step_seconds_takes_a_real_step_and_is_positive(name: str) -> None:
    net = _tiny(name).eval()
    before = _state(net)
    seconds = train_step_seconds(net, SegmentationLoss(), SIZE, batch_size=2, steps=1)
    assert math.isfinite(seconds) and seconds > 0
    after = _state(net)
    assert any(not torch.equal(before[key], after[key]) for key in before)
    assert all(math.isfinite(value.float().sum().item()) for value in after.values())
    assert not any(module.training for module in net.modules())


def test_epoch_seconds_counts_the_last_partial_batch() -> None:
    assert epoch_seconds(2.0, images=1000, batch_size=128) == 2.0 * 8
    assert epoch_seconds(2.0, images=1024, batch_size=128) == 2.0 * 8
