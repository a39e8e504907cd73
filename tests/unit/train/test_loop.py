"""The training loop: exact resume after a kill, selection, NaN stop, checkpoint checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from myoflow.nets import build_net
from myoflow.train.data import DisplacementDataset, read_splits, select
from myoflow.train.loop import TrainingError, TrainSettings, load_checkpoint, train

SETTINGS = TrainSettings(epochs=3, batch_size=2, compile=False, channels_last=False, seed=3)
SIGNATURE = {"net": "myonet", "base_width": 2, "levels": 5, "max_displacement_mm": 3.0}
CPU = torch.device("cpu")


class Interrupted(Exception):
    """Stands in for a kill: raised from inside an epoch."""


class FaultyDataset(DisplacementDataset):
    """Serves ``ok_items`` samples normally, then fails (``kill``) or returns NaN images."""

    def __init__(self, base: DisplacementDataset, ok_items: int, mode: str) -> None:
        super().__init__(base.refs, base.max_displacement_mm, base.augment, base.seed)
        self.ok_items = ok_items
        self.mode = mode
        self.served = 0

    def __getitem__(self, index: int):
        self.served += 1
        x, y, m = super().__getitem__(index)
        if self.served > self.ok_items:
            if self.mode == "kill":
                raise Interrupted
            x = torch.full_like(x, float("nan"))
        return x, y, m


def _data(tiny_cohort: tuple[Path, Path]) -> tuple[DisplacementDataset, DisplacementDataset]:
    shard, splits_path = tiny_cohort
    table = read_splits([splits_path])
    train_refs = select([shard], table, ["train"])
    val_refs = select([shard], table, ["val"])
    return (
        DisplacementDataset(train_refs, 3.0, augment=True, seed=3),
        DisplacementDataset(val_refs, 3.0),
    )


def _model() -> torch.nn.Module:
    torch.manual_seed(3)
    return build_net("myonet", base_width=2)


def _run(out: Path, data, settings: TrainSettings = SETTINGS) -> pd.DataFrame:
    return train(_model(), SIGNATURE, data[0], data[1], settings, out, CPU)


@pytest.fixture(scope="module")
def uninterrupted(tiny_cohort: tuple[Path, Path], tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("uninterrupted")
    _run(out, _data(tiny_cohort))
    return out


def _history(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "history.tsv", sep="\t").drop(columns="seconds")


def test_killed_then_resumed_equals_uninterrupted(
    uninterrupted: Path, tiny_cohort: tuple[Path, Path], tmp_path: Path
) -> None:
    train_data, val_data = _data(tiny_cohort)
    per_epoch = len(train_data)
    faulty = FaultyDataset(train_data, ok_items=per_epoch + 1, mode="kill")  # dies in epoch 2
    with pytest.raises(Interrupted):
        _run(tmp_path, (faulty, val_data))
    assert torch.load(tmp_path / "last.pt", weights_only=True)["epoch"] == 1
    assert not (tmp_path / "best.pt").exists()
    _run(tmp_path, (train_data, val_data))
    pd.testing.assert_frame_equal(_history(tmp_path), _history(uninterrupted))
    a = torch.load(tmp_path / "best.pt", weights_only=True)["state_dict"]
    b = torch.load(uninterrupted / "best.pt", weights_only=True)["state_dict"]
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)


def test_history_and_best_selection(uninterrupted: Path) -> None:
    history = pd.read_csv(uninterrupted / "history.tsv", sep="\t")
    assert list(history["epoch"]) == [1, 2, 3]
    assert np.isfinite(history[["train_loss", "val_loss"]].to_numpy()).all()
    assert (history["seconds"] > 0).all()
    assert (history["train_accuracy"] <= 1).all()
    best = torch.load(uninterrupted / "best.pt", weights_only=True)
    assert best["epoch"] == int(history.loc[history["val_loss"].idxmin(), "epoch"])
    assert best["val_loss"] == pytest.approx(history["val_loss"].min())


def test_rerun_of_a_finished_training_changes_nothing(
    uninterrupted: Path, tiny_cohort: tuple[Path, Path]
) -> None:
    before = _history(uninterrupted)
    _run(uninterrupted, _data(tiny_cohort))
    pd.testing.assert_frame_equal(_history(uninterrupted), before)


def test_nan_loss_names_epoch_and_batch_and_keeps_last_good(
    tiny_cohort: tuple[Path, Path], tmp_path: Path
) -> None:
    train_data, val_data = _data(tiny_cohort)
    faulty = FaultyDataset(train_data, ok_items=len(train_data), mode="nan")  # epoch 2 is NaN
    with pytest.raises(TrainingError, match=r"non-finite training loss .* epoch 2, batch 1"):
        _run(tmp_path, (faulty, val_data))
    last = torch.load(tmp_path / "last.pt", weights_only=True)
    assert last["epoch"] == 1
    assert all(torch.isfinite(v).all() for v in last["model"].values() if v.is_floating_point())


def test_mismatching_checkpoint_is_refused(uninterrupted: Path, tmp_path: Path) -> None:
    other = {**SIGNATURE, "base_width": 4}
    with pytest.raises(TrainingError, match=r"does not match.*base_width.*\(2, 4\)"):
        load_checkpoint(uninterrupted / "best.pt", other)
    broken = tmp_path / "best.pt"
    broken.write_bytes((uninterrupted / "best.pt").read_bytes()[:200])
    with pytest.raises(TrainingError, match="cannot read checkpoint"):
        load_checkpoint(broken, SIGNATURE)


def test_empty_training_split_is_an_error(tiny_cohort: tuple[Path, Path], tmp_path: Path) -> None:
    _, val_data = _data(tiny_cohort)
    empty = DisplacementDataset([], 3.0)
    with pytest.raises(TrainingError, match="training split is empty"):
        _run(tmp_path, (empty, val_data))
