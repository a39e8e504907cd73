"""The core trainer with a toy method: it learns, exact resume, selection, the non-finite guard."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch
from support.toy_trainers import (
    OTHER_WEIGHTS,
    Interrupted,
    LinearTrainer,
    Regression,
    ScriptedTrainer,
    assert_identical,
)

from myoflow.core.train.checkpoint import TrainingError
from myoflow.core.train.optim import OptimizerSpec, SchedulerSpec
from myoflow.core.train.spec import Selection, TrainConfig

CPU = torch.device("cpu")
SIGNATURE = {"net": "toy-linear", "inputs": 4}
#: 64 training samples in batches of 16: four steps an epoch.
BATCHES = 4


def config(**changes: Any) -> TrainConfig:
    base: dict[str, Any] = {
        "epochs": 6,
        "batch_size": 16,
        "optimizer": OptimizerSpec("adam", 0.05),
        "seed": 5,
    }
    return TrainConfig(**{**base, **changes})


def fit(
    out: Path,
    settings: TrainConfig,
    val: Regression | None = None,
    trainer: type[LinearTrainer] = LinearTrainer,
    **hooks: Any,
) -> pd.DataFrame:
    val = Regression(32, 2) if val is None else val
    return trainer(settings, SIGNATURE, Regression(64, 1), val, out, CPU, **hooks).fit()


def history(out: Path) -> pd.DataFrame:
    """``history.tsv`` without the timings; floats are written in full (repr) and read back bit
    for bit, so equal frames mean equal values."""
    return pd.read_csv(out / "history.tsv", sep="\t").drop(columns="seconds")


def test_a_toy_method_learns_and_writes_its_tables(tmp_path: Path) -> None:
    """Linear regression behind dropout and input noise: the validation loss falls more than
    tenfold (measured 2.9 -> 0.07-0.11 over 8 epochs; a model that does not learn stays near
    its first epoch's loss); the history and model tables have the documented columns."""
    returned = fit(tmp_path, config(epochs=8, optimizer=OptimizerSpec("adam", 0.1)))
    table = history(tmp_path)
    pd.testing.assert_frame_equal(returned.drop(columns="seconds"), table, check_exact=True)
    assert list(table.columns) == [
        "epoch",
        *("train_loss", "val_loss", "train_mae", "val_mae"),
        "lr",
    ]
    assert table["val_loss"].iloc[-1] < table["val_loss"].iloc[0] / 10
    model = pd.read_csv(tmp_path / "model.tsv", sep="\t").to_dict("records")
    assert model == [
        {
            "parameters": 5,
            "device": "cpu",
            "threads": 1,
            "train_samples": 64,
            "val_samples": 32,
        }
    ]


#: A run whose validation loss is lowest after epoch 1 and rises after it: the model starts at
#: the validation data's relation and trains towards another one (measured: 0.17, 0.57, 1.2,
#: 1.6, 2.0). A resume after epoch 2 must remember that its best epoch lies before the kill,
#: and the plateau scheduler's count of bad epochs: it halves the rate after epoch 3.
DRIFT = config(
    epochs=5,
    optimizer=OptimizerSpec("adamw", 0.05, weight_decay=0.01),
    scheduler=SchedulerSpec("plateau", patience=1, factor=0.5),
)


def drift(out: Path, **hooks: Any) -> pd.DataFrame:
    return fit(out, DRIFT, Regression(32, 2, OTHER_WEIGHTS), start=OTHER_WEIGHTS, **hooks)


def test_resume_after_an_interruption_equals_the_uninterrupted_run(tmp_path: Path) -> None:
    """Killed in epoch 3, after the best epoch (1): the resumed run's history, selection and
    every saved state (weights, optimiser, scheduler) are those of the uninterrupted run, bit
    for bit, though dropout, input noise and jitter draw from torch's and NumPy's generators."""
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    drift(whole)
    with pytest.raises(Interrupted):
        drift(killed, kill_at=2 * BATCHES + 2)
    assert torch.load(killed / "last.pt", weights_only=True)["epoch"] == 2
    assert not (killed / "best.pt").exists() and not (killed / "history.tsv").exists()
    expected = history(whole)
    best_epoch = int(expected.loc[expected["val_loss"].idxmin(), "epoch"])
    assert best_epoch == 1, f"the scenario needs its best epoch first: {list(expected.val_loss)}"
    assert list(expected["lr"]) == [0.05, 0.05, 0.05, 0.025, 0.025]
    drift(killed)
    pd.testing.assert_frame_equal(history(killed), expected, check_exact=True)
    a = torch.load(killed / "best.pt", weights_only=True)
    b = torch.load(whole / "best.pt", weights_only=True)
    assert a["epoch"] == b["epoch"] == best_epoch
    assert a["val_loss"] == b["val_loss"] == expected["val_loss"].min()
    assert_identical(a["state_dict"], b["state_dict"])
    last_a = torch.load(killed / "last.pt", weights_only=True)
    last_b = torch.load(whole / "last.pt", weights_only=True)
    assert list(last_a) == list(last_b)
    for key in ("signature", "model", "optimizer", "scheduler", "best_val", "epoch"):
        assert_identical(last_a[key], last_b[key], key)


def test_selection_on_a_named_metric_in_max_mode(tmp_path: Path) -> None:
    """``best.pt`` is the epoch of the highest ``val_score`` (scripted: 0.25, 0.75, 0.5, 0.625)
    and holds that epoch's weights: those a run stopped after epoch 2 ends with."""
    script = {1: 0.25, 2: 0.75, 3: 0.5, 4: 0.625}
    fit(tmp_path / "four", config(epochs=4), trainer=ScriptedTrainer, script=script, mode="max")
    fit(tmp_path / "two", config(epochs=2), trainer=ScriptedTrainer, script=script, mode="max")
    assert list(history(tmp_path / "four")["val_score"]) == list(script.values())
    best = torch.load(tmp_path / "four" / "best.pt", weights_only=True)
    assert list(best) == ["signature", "state_dict", "epoch", "val_score"]
    assert (best["epoch"], best["val_score"]) == (2, 0.75)
    after_two = torch.load(tmp_path / "two" / "last.pt", weights_only=True)["model"]
    assert_identical(best["state_dict"], after_two)


def test_without_validation_data_the_training_metric_selects(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="myoflow.train"):
        table = fit(tmp_path, config(epochs=3), val=Regression(0, 2))
    assert "no validation samples" in caplog.text
    assert table["val_loss"].isna().all()
    best = torch.load(tmp_path / "best.pt", weights_only=True)
    assert best["epoch"] == int(table.loc[table["train_loss"].idxmin(), "epoch"])
    assert best["val_loss"] == table["train_loss"].min()


def test_non_finite_training_loss_names_epoch_and_batch(tmp_path: Path) -> None:
    """A NaN loss in the third batch of epoch 2 stops the run there; ``last.pt`` stays epoch 1
    and no final output is written."""
    with pytest.raises(
        TrainingError,
        match=r"non-finite training loss \(nan\) at epoch 2, batch 3; the last good checkpoint",
    ):
        fit(tmp_path, config(), poison_at=BATCHES + 3)
    assert torch.load(tmp_path / "last.pt", weights_only=True)["epoch"] == 1
    for output in ("best.pt", "history.tsv", "model.tsv"):
        assert not (tmp_path / output).exists()


def test_non_finite_validation_loss_is_named_too(tmp_path: Path) -> None:
    val = Regression(32, 2)
    val.y[20] = float("nan")  # batch 2 of the validation pass (batches of 16, in order)
    with pytest.raises(
        TrainingError, match=r"non-finite validation loss \(nan\) at epoch 1, batch 2"
    ):
        fit(tmp_path, config(), val=val)


def test_a_misconfigured_method_is_refused(tmp_path: Path) -> None:
    class Unselectable(LinearTrainer):
        selection = Selection("dice", "max")

    with pytest.raises(ValueError, match=r"\['dice'\] not in \('loss', 'mae'\)"):
        fit(tmp_path, config(), trainer=Unselectable)

    class Forgetful(LinearTrainer):
        def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> Any:
            return super().loss(outputs, targets)[0], {}

    with pytest.raises(TrainingError, match=r"a training step did not return \['mae'\]"):
        fit(tmp_path, config(), trainer=Forgetful)
    with pytest.raises(TrainingError, match="training split is empty"):
        LinearTrainer(config(), SIGNATURE, Regression(0, 1), Regression(4, 2), tmp_path, CPU).fit()


def test_mixed_precision_without_cuda_trains_in_float32(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``amp`` is CUDA's: on the CPU it warns and the run is the float32 run, bit for bit."""
    fit(tmp_path / "plain", config(epochs=2))
    with caplog.at_level(logging.WARNING, logger="myoflow.train"):
        fit(tmp_path / "amp", config(epochs=2, amp=True))
    assert "mixed precision needs CUDA" in caplog.text
    pd.testing.assert_frame_equal(
        history(tmp_path / "amp"), history(tmp_path / "plain"), check_exact=True
    )
    assert "scaler" not in torch.load(tmp_path / "amp" / "last.pt", weights_only=True)


def test_a_finished_run_with_other_settings_is_not_resumed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Snakemake reruns training when the settings change, but ``last.pt`` is no declared output
    and survives: a run of another learning rate must start afresh, not return the old model."""
    fit(tmp_path, config(epochs=2))
    fresh = tmp_path / "fresh"
    fit(fresh, config(epochs=2, optimizer=OptimizerSpec("adam", 0.01)))
    expected = history(fresh)
    with caplog.at_level(logging.WARNING, logger="myoflow.train"):
        fit(tmp_path, config(epochs=2, optimizer=OptimizerSpec("adam", 0.01)))
    assert "not resumed" in caplog.text and "core.optimizer.lr: 0.05 -> 0.01" in caplog.text
    pd.testing.assert_frame_equal(history(tmp_path), expected, check_exact=True)


def test_other_data_is_not_resumed_but_more_epochs_are(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fit(tmp_path, config(epochs=2))
    with caplog.at_level(logging.INFO, logger="myoflow.train"):
        fit(tmp_path, config(epochs=3))
    assert "resuming" in caplog.text and "not resumed" not in caplog.text
    assert list(history(tmp_path)["epoch"]) == [1, 2, 3]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="myoflow.train"):
        fit(tmp_path, config(epochs=2))
    assert "ran 3 epochs, more than the 2 now configured" in caplog.text
    assert list(history(tmp_path)["epoch"]) == [1, 2]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="myoflow.train"):
        fit(tmp_path, config(epochs=2), val=Regression(16, 2))
    assert "val_samples: 32 -> 16" in caplog.text
