"""Paper 002's training and prediction jobs on a tiny stack cohort: a model trains, resumes,
predicts the test volumes onto the stack3d grid, and a checkpoint of another network is refused
by name; augmentation moves image and mask together."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from myoflow.core.train.checkpoint import TrainingError
from myoflow.io.shards import write_shard
from myoflow.io.tables import read_tsv
from myoflow.io.volumes import VolumeShard
from myoflow.methods.attmnet.data import StackVolumes, Volume, augmentation, select_volumes
from myoflow.methods.attmnet.stages import predict_stage, train_stage
from myoflow.methods.base import TrainingData
from myoflow.phantom.cohort import generate, plan
from myoflow.preprocess.options import Stack3dOptions
from myoflow.preprocess.stack3d import stack3d_shard

MICE = {
    "species": "mouse",
    "subjects": 3,
    "frames": 2,
    "matrix": 40,
    "pixel_mm": [0.3, 0.33],
    "snr": 15,
    "seed": 3,
    "stack": {"gap_mm": 0.8, "slices": 7},
}
SPLIT = {"mice-s0001": "train", "mice-s0002": "val", "mice-s0003": "test"}
OPTS = Stack3dOptions(z_spacing_mm=0.4, size=32, depth=16)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("attmnet")
    write_shard(folder / "records.h5", [generate(spec) for spec in plan("mice", MICE)])
    shard = folder / "shard-000.h5"
    stack3d_shard(folder / "records.h5", shard, folder / "qc.tsv", folder / "index.tsv", OPTS)
    splits = folder / "splits.tsv"
    rows = [{"cohort": "mice", "subject": s, "group": "all", "split": v} for s, v in SPLIT.items()]
    pd.DataFrame(rows).to_csv(splits, sep="\t", index=False)
    return shard, splits


def _experiment(**settings: Any) -> dict[str, Any]:
    base = {
        "models": ["attmnet", "unet3d"],
        "width": 0.125,
        "epochs": 1,
        "batch_size": 2,
        "lr": 1e-3,
        "patience": 8,
        "factor": 0.5,
        "lambdas": [1.0, 1.0, 3.0],
        "augment": True,
        "shift_px": 3,
        "rotate_deg": 15.0,
        "flip_p": 0.5,
        "seed": 0,
        "evaluate_split": "auto",
    }
    return {"name": "mouse", "method": "attmnet", "settings": {**base, **settings}}


def test_a_model_trains_resumes_and_predicts_the_test_volumes(
    cohort: tuple[Path, Path], tmp_path: Path
) -> None:
    shard, splits = cohort
    out = tmp_path / "attmnet"
    train_stage(_experiment(), "attmnet", TrainingData([shard], [splits]), out)
    history = read_tsv(out / "history.tsv")
    assert len(history) == 1 and np.isfinite(history["val_gdl"]).all()
    assert {"train_ddl", "val_dice", "train_bce"} <= set(history.columns)
    info = read_tsv(out / "model.tsv").iloc[0]
    assert info["network"] == "attmnet" and info["loss"] == "hybrid"
    assert info["train_samples"] == 2 and info["val_samples"] == 2
    # a second run to two epochs resumes after the first
    train_stage(_experiment(epochs=2), "attmnet", TrainingData([shard], [splits]), out)
    assert list(read_tsv(out / "history.tsv")["epoch"]) == [1, 2]

    predicted = tmp_path / "pred.h5"
    predict_stage(_experiment(), "attmnet", out / "best.pt", shard, splits, predicted)
    with VolumeShard(predicted) as volumes, VolumeShard(shard) as truth:
        (vol,) = volumes.subjects()
        (source,) = truth.subjects(["mice-s0003"])
        assert vol.subject == "mice-s0003" and vol.masks.shape == (2, 16, 32, 32)
        assert set(np.unique(vol.masks)) <= {0, 1}
        assert vol.grid == source.grid and vol.slice_ids == source.slice_ids


def test_a_checkpoint_of_another_network_is_refused_by_name(
    cohort: tuple[Path, Path], tmp_path: Path
) -> None:
    shard, splits = cohort
    unet = tmp_path / "unet3d"
    train_stage(_experiment(augment=False), "unet3d", TrainingData([shard], [splits]), unet)
    assert read_tsv(unet / "model.tsv").iloc[0]["loss"] == "weighted_ce"
    with pytest.raises(TrainingError, match="network"):
        predict_stage(_experiment(), "attmnet", unet / "best.pt", shard, splits, tmp_path / "p.h5")


def test_volumes_without_myocardium_are_left_out_and_a_split_without_any_is_an_error(
    cohort: tuple[Path, Path], tmp_path: Path
) -> None:
    shard, splits = cohort
    chosen = select_volumes([shard], read_tsv(splits), ("train",), "test role")
    assert [(v.subject, v.frame) for v in chosen] == [("mice-s0001", 0), ("mice-s0001", 1)]
    unlabelled = pd.DataFrame(
        [{"cohort": "mice", "subject": s, "group": "all", "split": "test"} for s in SPLIT]
    )
    assert select_volumes([shard], unlabelled, ("train",), "test role") == []


def test_augmentation_moves_image_and_mask_together(cohort: tuple[Path, Path]) -> None:
    shard, _ = cohort
    with VolumeShard(shard) as volumes:
        sample = volumes.sample(0)
    mask = sample["mask"] > 0
    volume = Volume(str(shard), 0, "mice", "mice-s0001", 0)
    data = StackVolumes([volume], seed=1, transform=augmentation(5, 15.0, 0.5))
    moved = 0
    for epoch in range(4):
        data.set_epoch(epoch)
        _, (target, weights) = data[0]
        np.testing.assert_array_equal((weights[0] == 1).numpy(), target[0].numpy() > 0.5)
        moved += not np.array_equal(target[0].numpy() > 0.5, mask)
        # the slices stay slices: planes without myocardium stay without it
        empty = ~mask.any(axis=(1, 2))
        assert not target[0].numpy()[empty].any()
    assert moved >= 3
    # one draw moves both keys alike: a mask given as the image comes out as the mask
    transform = augmentation(5, 15.0, 0.5)
    for seed in range(4):
        transform.set_random_state(seed=seed)
        both = mask[None].astype(np.float32)
        out = transform({"image": both, "mask": both.copy()})
        a, b = np.asarray(out["image"])[0] > 0.5, np.asarray(out["mask"])[0] > 0.5
        assert 2 * (a & b).sum() / (a.sum() + b.sum()) > 0.95
    # the same (seed, epoch) draws the same sample: a resumed run sees what the killed one did
    data.set_epoch(2)
    again = data[0]
    data.set_epoch(2)
    np.testing.assert_array_equal(again[0].numpy(), data[0][0].numpy())
