"""Paper 001's training and prediction jobs on a tiny shard: a fine-tune starts from its
pretraining's weights, a checkpoint of another network or a grid of another size is refused by
name, and the evaluation scores every model's prediction of the evaluated frames."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from tagseg_frames import FRAMES, SIZE, experiment, slice_record, write_cohort

from myoflow.core.train.checkpoint import TrainingError
from myoflow.io.frames import FrameShard
from myoflow.io.tables import read_tsv
from myoflow.methods.base import TrainingData
from myoflow.methods.tagseg.evaluate import EMPTY, evaluate_stage
from myoflow.methods.tagseg.stages import predict_stage, train_stage
from myoflow.metrics.segmentation import frame_metrics

SPLITS = {"a": "train", "b": "train", "c": "train", "n": "val", "y": "test", "z": "test"}
QUICK = {"epochs": 1, "batch_size": 4}


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tagseg")
    records = [slice_record(s) for s in SPLITS]
    records[-1] = records[-1].replace(mask=records[-1].mask[:1])  # z: a mask at ED alone
    return write_cohort(folder, records, SPLITS)


def _experiment(**settings: Any) -> dict[str, Any]:
    base = {
        "architectures": ["segresnetvae"],
        "strategies": ["scratch", "physics"],
        "width": 0.25,
        "augment": False,
        "pretrain": QUICK,
        "finetune": QUICK,
    }
    return experiment(["c"], **{**base, **settings})


def _weights(path: Path) -> dict[str, torch.Tensor]:
    state = torch.load(path, map_location="cpu", weights_only=True)
    return state["state_dict"]


@pytest.fixture(scope="module")
def trained(cohort: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    shard, splits = cohort
    models = tmp_path_factory.mktemp("models")
    exp = _experiment()
    pretrain = models / "pretrain_physics_segresnetvae"
    train_stage(exp, pretrain.name, TrainingData([shard], [splits]), pretrain)
    # a learning rate so small that one epoch cannot move the weights measurably
    still = _experiment(finetune={**QUICK, "lr": 1e-30})
    needs = {pretrain.name: pretrain / "best.pt"}
    out = {"pretrain_physics_segresnetvae": pretrain}
    for name in ("segresnetvae_physics", "segresnetvae_scratch"):
        train_stage(still, name, TrainingData([shard], [splits], needs=needs), models / name)
        out[name] = models / name
    return out


def test_a_fine_tune_starts_from_its_pretraining_and_scratch_does_not(
    trained: dict[str, Path],
) -> None:
    pretrained = _weights(trained["pretrain_physics_segresnetvae"] / "best.pt")
    tuned = _weights(trained["segresnetvae_physics"] / "best.pt")
    fresh = _weights(trained["segresnetvae_scratch"] / "best.pt")
    assert all(torch.allclose(pretrained[k].float(), tuned[k].float()) for k in pretrained)
    assert not all(torch.allclose(pretrained[k].float(), fresh[k].float()) for k in pretrained)
    info = read_tsv(trained["segresnetvae_physics"] / "model.tsv").iloc[0]
    assert Path(info["init_from"]).parent.name == "pretrain_physics_segresnetvae"
    assert info["starts_from"] == "pretrain_physics_segresnetvae" and info["kind"] == "tagged"
    assert float(info["inference_ms_mean"]) > 0
    history = read_tsv(trained["segresnetvae_scratch"] / "history.tsv")
    assert {"train_dice", "val_dice", "train_shape", "val_loss"} <= set(history.columns)


def test_a_checkpoint_of_another_architecture_is_refused_by_name(
    cohort: tuple[Path, Path], trained: dict[str, Path], tmp_path: Path
) -> None:
    shard, splits = cohort
    exp = _experiment(architectures=["dynunet"], strategies=["scratch", "physics"], width=0.125)
    wrong = {"pretrain_physics_dynunet": trained["pretrain_physics_segresnetvae"] / "best.pt"}
    with pytest.raises(TrainingError, match=r"does not match the configured network.*network"):
        train_stage(
            exp, "dynunet_physics", TrainingData([shard], [splits], needs=wrong), tmp_path / "m"
        )


def test_frames_of_another_size_than_the_networks_input_are_refused(
    cohort: tuple[Path, Path], tmp_path: Path
) -> None:
    shard, splits = cohort
    exp = _experiment(image_size=64)
    with pytest.raises(ValueError, match=rf"shard-000.h5: frames of {SIZE} x {SIZE} pixels, but"):
        train_stage(exp, "segresnetvae_scratch", TrainingData([shard], [splits]), tmp_path)


def test_a_tagged_cohort_without_masks_cannot_be_fine_tuned_on(tmp_path: Path) -> None:
    records = [slice_record(s).replace(mask=None) for s in ("a", "b")]
    shard, splits = write_cohort(tmp_path, records, {"a": "train", "b": "val"})
    with pytest.raises(ValueError, match=r"cohort 'c' \(segresnetvae_scratch .*no tagged frames"):
        train_stage(
            _experiment(), "segresnetvae_scratch", TrainingData([shard], [splits]), tmp_path / "m"
        )


def test_predictions_are_scored_against_each_frames_mask_beside_the_empty_baseline(
    cohort: tuple[Path, Path], trained: dict[str, Path], tmp_path: Path
) -> None:
    shard, splits = cohort
    exp = _experiment()
    predictions = {}
    for model in ("pretrain_physics_segresnetvae", "segresnetvae_scratch", "segresnetvae_physics"):
        predictions[model] = tmp_path / f"{model}.h5"
        predict_stage(exp, model, trained[model] / "best.pt", shard, splits, predictions[model])
    with FrameShard(predictions["segresnetvae_scratch"]) as frames:
        # auto: the train and test splits (Table 3), not validation
        assert frames.slice_keys() == ["a/mid", "b/mid", "c/mid", "y/mid", "z/mid"]
        (y,) = frames.records(["y/mid"])
    elsewhere = _experiment(tagged_cohorts=["elsewhere"])  # cohort c only pretrains there
    model = "segresnetvae_scratch"
    predict_stage(elsewhere, model, trained[model] / "best.pt", shard, splits, tmp_path / "no.h5")
    with FrameShard(tmp_path / "no.h5") as frames:
        assert frames.slice_keys() == [] and len(frames) == 0
    tables = evaluate_stage(exp, shard, splits, predictions)
    seg = tables["segmentation"]
    scored = seg[seg["method"] == "segresnetvae_scratch"]
    assert sorted(set(scored["subject"])) == ["a", "b", "c", "y"]  # z has no per-frame mask
    assert len(scored) == 4 * FRAMES and set(seg["method"]) == {*predictions, EMPTY}
    truth = slice_record("y").mask
    expected = frame_metrics(y.mask, truth, (1.5, 1.5))
    mine = scored[scored["subject"] == "y"].sort_values("frame")
    np.testing.assert_allclose(mine["dice"], expected["dice"])
    assert (seg.loc[seg["method"] == EMPTY, "dice"] == 0).all()
    assert set(seg.loc[seg["subject"] == "y", "split"]) == {"test"}
    qc = tables["qc"]
    assert list(qc["subject"]) == ["z"] and "no_reference_mask" in qc["reason"].iloc[0]
    realism = tables["realism_frames"]
    assert set(realism["transform"]) == {"physics"}
    assert len(realism) == 5 * FRAMES  # z: its ED mask bounds the heart in every frame
    assert isinstance(realism, pd.DataFrame) and realism["ssim_heart"].between(-1, 1).all()
