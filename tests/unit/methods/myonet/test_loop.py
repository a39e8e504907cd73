"""MyoNet's training on the core trainer: it learns, exact resume after a kill, selection, NaN
stop, checkpoints, and the files the workflow reads (history and model tables)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from myoflow.core.nets import build_net, count_parameters
from myoflow.core.train.checkpoint import TrainingError, load_checkpoint
from myoflow.methods.myonet.data import DisplacementDataset
from myoflow.methods.myonet.losses import DisplacementLoss, normalised_mse_accuracy
from myoflow.methods.myonet.trainer import TrainSettings, clipping, train
from myoflow.samples import read_splits, select
from myoflow.tables import HISTORY

#: Adam at lr 0.1, a hundred times the default rate, on single-sample batches: the validation
#: loss is lowest after epoch 1 and several times higher in epochs 2 and 3 (measured: 0.28,
#: 1.56, 1.39; ``_best_epoch_before_the_kill`` checks the order), so a resume after epoch 1
#: must remember a best epoch that lies before the kill. With a falling validation loss the
#: best epoch would always be the last and a resume that forgot it would go unnoticed.
SETTINGS = TrainSettings(
    epochs=3,
    batch_size=1,
    optimizer="adam",
    lr=0.1,
    compile=False,
    channels_last=False,
    seed=3,
)
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


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """Train on one thread: the width-2 networks here gain nothing from a second one, and on a
    busy 2-core machine two threads made a 12-epoch test 4x slower (28 s against 7 s)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


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
    """``history.tsv`` without the timings. pandas writes floats in full (repr) and reads them
    back bit for bit, so equal files mean equal values."""
    return pd.read_csv(out / "history.tsv", sep="\t").drop(columns="seconds")


def _best_epoch_before_the_kill(history: pd.DataFrame, killed_after: int) -> int:
    """The epoch of lowest validation loss, checked to lie at or before the last checkpoint
    of the killed run with every later epoch worse: the case where a resume must remember it."""
    best = int(history.loc[history["val_loss"].idxmin(), "epoch"])
    later = history.loc[history["epoch"] > best, "val_loss"]
    assert best <= killed_after and len(later) > 0, (
        f"the scenario needs its best epoch ({best}) at or before the kill (after epoch "
        f"{killed_after}) and epochs after it; validation losses: {list(history['val_loss'])}"
    )
    assert (later > history["val_loss"].min()).all()
    return best


def test_killed_then_resumed_equals_uninterrupted(
    uninterrupted: Path, tiny_cohort: tuple[Path, Path], tmp_path: Path
) -> None:
    """Killed in epoch 2, after the best epoch (1): the resumed run selects epoch 1 and its
    history and weights are bit for bit those of the run that was never interrupted."""
    train_data, val_data = _data(tiny_cohort)
    per_epoch = len(train_data)
    faulty = FaultyDataset(train_data, ok_items=per_epoch + 1, mode="kill")  # dies in epoch 2
    with pytest.raises(Interrupted):
        _run(tmp_path, (faulty, val_data))
    killed_after = torch.load(tmp_path / "last.pt", weights_only=True)["epoch"]
    assert killed_after == 1
    assert not (tmp_path / "best.pt").exists()
    expected = _history(uninterrupted)
    best_epoch = _best_epoch_before_the_kill(expected, killed_after)
    returned = _run(tmp_path, (train_data, val_data))
    # Exact: the epochs after a resume are the epochs the uninterrupted run had, not close ones.
    resumed = _history(tmp_path)
    pd.testing.assert_frame_equal(resumed, expected, check_exact=True)
    pd.testing.assert_frame_equal(returned.drop(columns="seconds"), expected, check_exact=True)
    best = torch.load(tmp_path / "best.pt", weights_only=True)
    assert best["epoch"] == best_epoch
    assert best["val_loss"] == resumed["val_loss"].min()
    a = best["state_dict"]
    b = torch.load(uninterrupted / "best.pt", weights_only=True)["state_dict"]
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)


def _loss_and_accuracy(
    model: torch.nn.Module,
    data: DisplacementDataset,
    indices: list[int],
    settings: TrainSettings,
    training: bool,
) -> tuple[float, float]:
    """Loss and accuracy of ``model`` on the samples ``indices`` of ``data`` as one batch;
    ``training``: with the batch's own normalisation statistics (as in a training step), else
    the stored ones (as in validation and prediction)."""
    x, y, m = (torch.stack(items) for items in zip(*(data[i] for i in indices)))
    model.train(training)
    with torch.no_grad():
        pred = model(x)
        loss = DisplacementLoss(**settings.loss)(pred, y, m)
    return float(loss), normalised_mse_accuracy(pred, y)


def test_history_and_best_selection(uninterrupted: Path, tiny_cohort: tuple[Path, Path]) -> None:
    """One history row per epoch, and ``best.pt`` is the epoch of lowest validation loss."""
    history = pd.read_csv(uninterrupted / "history.tsv", sep="\t")
    assert list(history.columns) == HISTORY
    assert list(history["epoch"]) == [1, 2, 3]
    assert np.isfinite(history[["train_loss", "val_loss"]].to_numpy()).all()
    assert (history["seconds"] > 0).all()
    best = torch.load(uninterrupted / "best.pt", weights_only=True)
    row = history.loc[history["val_loss"].idxmin()]
    assert best["epoch"] == int(row["epoch"])
    assert best["val_loss"] == row["val_loss"]
    # best.pt holds the weights that scored that epoch: reloaded, they reproduce its validation
    # loss and accuracy. The validation batches are single samples (batch_size 1), so the mean
    # over samples below is the loop's mean over batches.
    model = _model()
    model.load_state_dict(best["state_dict"])
    _, val_data = _data(tiny_cohort)
    scores = [
        _loss_and_accuracy(model, val_data, [i], SETTINGS, training=False)
        for i in range(len(val_data))
    ]
    loss, accuracy = np.mean(scores, axis=0)
    # Same float32 network on the same samples: equal but for the order of float sums.
    assert loss == pytest.approx(row["val_loss"], rel=1e-6)
    assert accuracy == pytest.approx(row["val_accuracy"], rel=1e-6)


def test_training_fits_a_handful_of_samples(tiny_cohort: tuple[Path, Path], tmp_path: Path) -> None:
    """Training learns: on its two training slices, in 12 one-batch epochs, the loss of the
    selected network (``best.pt``, as the prediction stage uses it) falls well below the initial
    network's, and so does the training loss of the last epoch.

    The target margin covers the whole 32 x 32 crop: the target is then a smooth displacement
    field without the step to the background, which a width-2 network learns within the few
    epochs a unit test affords (with the step it plateaus near half its initial loss).
    """
    shard, splits_path = tiny_cohort
    refs = select([shard], read_splits([splits_path]), ["train"])
    data = DisplacementDataset(refs, 3.0, margin_px=32)
    settings = TrainSettings(
        epochs=12,
        batch_size=len(refs),
        optimizer="adam",
        lr=0.03,
        compile=False,
        channels_last=False,
        seed=0,
    )
    everything = list(range(len(data)))
    model = _model()
    initial_loss, initial_accuracy = _loss_and_accuracy(
        copy.deepcopy(model), data, everything, settings, training=True
    )
    history = train(model, SIGNATURE, data, data, settings, tmp_path, CPU)
    selected = _model()
    selected.load_state_dict(torch.load(tmp_path / "best.pt", weights_only=True)["state_dict"])
    loss, _ = _loss_and_accuracy(selected, data, everything, settings, training=False)
    # Measured: the loss falls 10-12 fold (0.28 -> 0.022-0.024 selected, 0.028 last epoch);
    # a network that does not learn stays at its initial loss. A 5-fold fall is clear of both.
    assert loss < initial_loss / 5
    assert history["train_loss"].iloc[-1] < initial_loss / 5
    # The paper's accuracy, 1 - normalised MSE, rises with it: normalised MSE (measured
    # 32 -> 4.9) at least halves.
    assert 1 - history["train_accuracy"].iloc[-1] < (1 - initial_accuracy) / 2


def test_decay_settings_step_the_learning_rate(
    tiny_cohort: tuple[Path, Path], tmp_path: Path
) -> None:
    """``decay_start`` / ``decay_every`` / ``decay_gamma`` from an experiment's settings reach
    the optimiser: the rate stays for ``decay_start`` epochs, then falls by ``decay_gamma`` every
    ``decay_every`` epochs (``auto``: after half the epochs); with None it is the paper's
    constant rate."""
    options = {"epochs": 5, "batch_size": 4, "optimizer": "adam", "lr": 0.01, "seed": 1}
    options |= {"compile": False, "channels_last": False, "loss": {"myocardium": 1.0}}
    decayed = TrainSettings.from_settings(
        options | {"decay_start": 1, "decay_every": 2, "decay_gamma": 0.5, "nets": ["myonet"]}
    )
    history = _run(tmp_path / "decayed", _data(tiny_cohort), decayed)
    np.testing.assert_allclose(history["lr"], [0.01, 0.01, 0.01, 0.005, 0.005])
    auto = TrainSettings.from_settings(options | {"decay_start": "auto", "decay_every": 1})
    history = _run(tmp_path / "auto", _data(tiny_cohort), auto)  # after half of 5 epochs: 2
    np.testing.assert_allclose(history["lr"], [0.01, 0.01, 0.01, 0.007, 0.0049])
    constant = TrainSettings.from_settings(options | {"decay_start": None})
    constant = _run(tmp_path / "constant", _data(tiny_cohort), constant)
    np.testing.assert_allclose(constant["lr"], [0.01] * 5)


def test_model_table_and_checkpoint_layout(
    uninterrupted: Path, tiny_cohort: tuple[Path, Path]
) -> None:
    """``model.tsv`` holds the columns of paper 000's timing table and no provenance (no
    init_from); the checkpoints keep the flat one-network layout the prediction stage reads."""
    table = pd.read_csv(uninterrupted / "model.tsv", sep="\t")
    train_data, val_data = _data(tiny_cohort)
    expected = {
        "net": "myonet",
        "parameters": count_parameters(_model()),
        "device": "cpu",
        "threads": 1,
        "train_slices": len(train_data),
        "val_slices": len(val_data),
    }
    assert table.to_dict("records") == [expected]
    best = torch.load(uninterrupted / "best.pt", weights_only=True)
    assert list(best) == ["signature", "state_dict", "epoch", "val_loss"]
    last = torch.load(uninterrupted / "last.pt", weights_only=True)
    keys = ["signature", "run", "model", "optimizer", "scheduler", "history", "best_val", "epoch"]
    assert list(last) == keys  # the scheduler: MyoNet decays its rate by default


def test_a_d_that_clips_the_targets_is_warned_about_and_recorded(
    tiny_cohort: tuple[Path, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A ``max_displacement_mm`` below the reference's motion clips the targets: training
    says so and ``model.tsv`` records how much, instead of a network that silently under-reads."""
    shard, splits_path = tiny_cohort
    table = read_splits([splits_path])
    small = DisplacementDataset(select([shard], table, ["train"]), 0.05)
    val = DisplacementDataset(select([shard], table, ["val"]), 0.05)
    with caplog.at_level("WARNING", logger="myoflow.methods.myonet.trainer"):
        clipped = clipping(small, "myonet")
    assert clipped == small.clipped_fraction() > 0.01
    assert any(
        "clipped" in r.getMessage() and "max_displacement_mm = 0.05" in r.getMessage()
        for r in caplog.records
    )
    caplog.clear()
    with caplog.at_level("WARNING", logger="myoflow.methods.myonet.trainer"):
        assert clipping(DisplacementDataset(small.refs, 100.0), "myonet") == 0.0
    assert not caplog.records
    train(_model(), SIGNATURE, small, val, SETTINGS, tmp_path, CPU, clipped_fraction=clipped)
    model_table = pd.read_csv(tmp_path / "model.tsv", sep="\t")
    assert model_table["clipped_fraction"].tolist() == [pytest.approx(clipped)]


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
