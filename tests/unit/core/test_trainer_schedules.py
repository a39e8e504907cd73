"""Optimisers and learning-rate schedules by name: the rates a run trains with, epoch by epoch."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch
from support.toy_trainers import LinearTrainer, Regression, ScriptedTrainer

from myoflow.core.train.optim import OPTIMIZERS, OptimizerSpec, SchedulerSpec, build_optimizer
from myoflow.core.train.spec import TrainConfig

CPU = torch.device("cpu")
SIGNATURE = {"net": "toy-linear", "inputs": 4}


def rates(out: Path, trainer: type[LinearTrainer], epochs: int, **options: Any) -> list[float]:
    """The ``lr`` column of a run with ``options`` (scheduler, script, mode)."""
    schedule = options.pop("scheduler")
    config = TrainConfig(epochs, 16, OptimizerSpec("sgd", 0.1), schedule, seed=1)
    trainer(config, SIGNATURE, Regression(32, 1), Regression(16, 2), out, CPU, **options).fit()
    return list(pd.read_csv(out / "history.tsv", sep="\t")["lr"])


def test_plateau_halves_the_rate_after_patience_epochs_without_a_min_delta_gain(
    tmp_path: Path,
) -> None:
    """Scripted validation scores 1, 0.9375, 0.921875, 0.5, 0.4375, 0.4375, 0.375 with patience
    1, factor 0.5, min_delta 0.1: epochs 2 and 3 gain less than 0.1 on epoch 1's 1.0, so the rate
    halves after epoch 3; epoch 4 (0.5) improves, 5 and 6 do not gain 0.1 on it, so it halves
    again after epoch 6. Without min_delta epochs 2 and 3 would count as improvements."""
    script = dict(enumerate([1.0, 0.9375, 0.921875, 0.5, 0.4375, 0.4375, 0.375], start=1))
    plateau = SchedulerSpec("plateau", factor=0.5, patience=1, min_delta=0.1)
    lr = rates(tmp_path, ScriptedTrainer, 7, scheduler=plateau, script=script, mode="min")
    assert lr == [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025]


def test_plateau_follows_the_selection_direction(tmp_path: Path) -> None:
    """In max mode a falling score is no improvement: 0.5, 0.25, 0.125 with patience 1 halve
    the rate after epoch 3; a rising one never does."""
    plateau = SchedulerSpec("plateau", factor=0.5, patience=1)
    falling = {1: 0.5, 2: 0.25, 3: 0.125, 4: 0.0625}
    rising = {1: 0.125, 2: 0.25, 3: 0.5, 4: 0.75}
    assert rates(
        tmp_path / "falling", ScriptedTrainer, 4, scheduler=plateau, script=falling, mode="max"
    ) == [0.1, 0.1, 0.1, 0.05]
    assert (
        rates(tmp_path / "rising", ScriptedTrainer, 4, scheduler=plateau, script=rising, mode="max")
        == [0.1] * 4
    )


def test_step_decay_by_sqrt_two_every_two_epochs_after_epoch_three(tmp_path: Path) -> None:
    """``start`` 3, ``every`` 2: epochs 1-5 at 0.1, 6-7 at 0.1 / sqrt(2), 8-9 at 0.05."""
    step = SchedulerSpec("step", gamma=1 / math.sqrt(2), every=2, start=3)
    lr = rates(tmp_path, LinearTrainer, 9, scheduler=step)
    expected = [0.1] * 5 + [0.1 / math.sqrt(2)] * 2 + [0.05] * 2
    # (1 / sqrt(2)) ** 2 is 0.5 only up to rounding: equal to a few ulp.
    assert lr == pytest.approx(expected, rel=1e-15)


def test_no_scheduler_keeps_the_rate_and_stores_no_scheduler_state(tmp_path: Path) -> None:
    assert rates(tmp_path, LinearTrainer, 3, scheduler=SchedulerSpec()) == [0.1] * 3
    assert "scheduler" not in torch.load(tmp_path / "last.pt", weights_only=True)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizers_by_name_keep_torch_defaults_unless_set(name: str) -> None:
    """A spec naming only the rate builds ``OPTIMIZERS[name](params, lr=lr)`` exactly (the same
    hyper-parameters as torch's own defaults, AdamW's weight decay 0.01 included); a set option
    reaches the optimiser."""
    params = [torch.nn.Parameter(torch.zeros(2))]
    built = build_optimizer(OptimizerSpec(name, 0.01), params)
    reference = OPTIMIZERS[name](params, lr=0.01)
    assert type(built) is type(reference)
    assert built.param_groups[0] == reference.param_groups[0]
    decayed = build_optimizer(OptimizerSpec(name, 0.01, weight_decay=0.5), params)
    assert decayed.param_groups[0]["weight_decay"] == 0.5


def test_adam_takes_betas_and_sgd_momentum() -> None:
    params = [torch.nn.Parameter(torch.zeros(2))]
    adam = build_optimizer(OptimizerSpec("adam", 0.01, betas=(0.5, 0.999)), params)
    assert adam.param_groups[0]["betas"] == (0.5, 0.999)
    sgd = build_optimizer(OptimizerSpec("sgd", 0.01, momentum=0.9), params)
    assert sgd.param_groups[0]["momentum"] == 0.9


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"name": "lamb"}, r"unknown optimizer 'lamb'; use \['adam', 'adamw', 'rmsprop', 'sgd'\]"),
        ({"name": "adam", "momentum": 0.9}, "adam takes betas, not momentum"),
        ({"name": "sgd", "betas": (0.9, 0.99)}, "sgd takes momentum, not betas"),
        ({"lr": -1.0}, "lr must be >= 0"),
    ],
)
def test_bad_optimizer_specs_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        OptimizerSpec(**options)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"name": "cosine"}, r"unknown scheduler 'cosine'; use \['none', 'plateau', 'step'\]"),
        ({"name": "plateau", "factor": 1.0}, r"out of range: \['factor'\]"),
        ({"name": "step", "every": 0, "gamma": 0.0}, r"out of range: \['gamma', 'every'\]"),
    ],
)
def test_bad_scheduler_specs_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SchedulerSpec(**options)


def test_a_run_with_a_scheduler_it_did_not_have_is_trained_afresh(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The rates of the epochs already run would not be the configured schedule's: the old run
    is not resumed, and the history is the new schedule's from epoch 1."""
    rates(tmp_path, LinearTrainer, 2, scheduler=SchedulerSpec())
    with caplog.at_level(logging.WARNING, logger="myoflow.train"):
        again = rates(tmp_path, LinearTrainer, 3, scheduler=SchedulerSpec("step"))
    assert "not resumed" in caplog.text and "core.scheduler." in caplog.text
    assert again == rates(tmp_path / "fresh", LinearTrainer, 3, scheduler=SchedulerSpec("step"))
