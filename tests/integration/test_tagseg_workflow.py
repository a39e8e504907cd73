"""Paper 001 end to end on a tiny config: one architecture, two strategies (from scratch, and
pretrained on physics pseudo-tagged cine), through the generic rules; the report holds Tables 2
and 3 filled, and every figure."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
from support.workflow import completed_run, read_tsv, snakemake, write_config

pytestmark = pytest.mark.integration

TINY_TAGSEG = {
    "preprocess": {"size": 32, "frames": 6, "frames2d": {"size": 32}},
    "split": {"train": 0.5, "val": 0.25, "test": 0.25},
    "export_nifti": False,
    "cohorts": {
        "ukb": {
            "source": "synthetic",
            "species": "human",
            "seed": 6,
            "subjects": 8,
            "slices": ["mid"],
            "frames": 6,
            "matrix": 96,
            "realism": "realistic",
            "groups": {
                "reference": {"fraction": 0.5},
                "diabetes": {"fraction": 0.5, "global_scale": 0.8},
            },
        }
    },
    "experiments": {
        "tiny": {
            "method": "tagseg",
            "cohorts": ["ukb"],
            "settings": {
                "architectures": ["segresnetvae"],
                "strategies": ["scratch", "physics"],
                "width": 0.25,
                "pretrain": {"epochs": 2, "batch_size": 8},
                "finetune": {"epochs": 2, "batch_size": 8},
            },
        }
    },
    "tracking_validation": {"enabled": False},
}
FIGURES = (
    "fig5_transforms",
    "fig6_examples",
    "fig8_training",
    "fig9_dice_per_frame",
    "fig11_groups",
)


@pytest.fixture(scope="module")
def tagseg_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return completed_run(tmp_path_factory.mktemp("tagseg"), TINY_TAGSEG)


def test_the_fine_tune_starts_from_the_pretraining_the_dag_trained_first(
    tagseg_run: Path,
) -> None:
    models = tagseg_run / "results" / "models" / "tiny"
    assert sorted(p.name for p in models.iterdir()) == [
        "pretrain_physics_segresnetvae",
        "segresnetvae_physics",
        "segresnetvae_scratch",
    ]
    info = read_tsv(models / "segresnetvae_physics" / "model.tsv").iloc[0]
    assert info["init_from"] == "results/models/tiny/pretrain_physics_segresnetvae/best.pt"
    assert "init_from" not in read_tsv(models / "segresnetvae_scratch" / "model.tsv")


def test_tables_2_and_3_are_filled(tagseg_run: Path) -> None:
    tables = tagseg_run / "results" / "experiments" / "tiny" / "tables"
    table2 = read_tsv(tables / "table2_networks.tsv")
    assert list(table2["architecture"]) == ["segresnetvae"]
    assert (table2[["parameters", "seconds_per_epoch", "inference_ms_mean"]] > 0).all(axis=None)
    table3 = read_tsv(tables / "table3_strategies.tsv")
    assert list(table3["method"]) == [
        "segresnetvae_scratch",
        "segresnetvae_physics",
        "pretrain_physics_segresnetvae",
        "empty_mask",
    ]
    assert table3["dsc_mean_test"].between(0, 1).all() and (table3["n_test"] > 0).all()
    assert (table3.loc[table3["method"] == "empty_mask", "dsc_mean_train"] == 0).all()
    for name in ("table2_networks", "table3_strategies", "table4_gamma", "realism"):
        assert (tables / f"{name}.md").read_text().startswith("# ")
    realism = read_tsv(tables / "realism.tsv")
    assert list(realism["transform"]) == ["physics"] and realism["frames"].iloc[0] > 0


def test_every_figure_is_drawn(tagseg_run: Path) -> None:
    figures = tagseg_run / "results" / "experiments" / "tiny" / "figures"
    for name in FIGURES:
        assert (figures / f"{name}.png").stat().st_size > 0
        assert (figures / f"{name}.svg").stat().st_size > 0


def test_a_tracker_can_start_from_the_masks_a_trained_model_predicts(tmp_path: Path) -> None:
    """`mask:` wires the chain tagged series -> tagseg masks -> tracker -> paper 003 without a
    drawn contour: the applying experiment predicts every slice, and the tracking job of the
    paper 003 experiment reads that prediction (a dry run: the DAG, not the numbers, which
    tests/unit/stages/test_stages_tracking.py checks)."""
    config = copy.deepcopy(TINY_TAGSEG)
    tiny = config["experiments"]["tiny"]
    config["experiments"]["applied"] = {**tiny, "models": "tiny"}
    config["experiments"]["chain"] = {
        "method": "tagstrain",
        "cohorts": ["ukb"],
        "reference": "harp",
        "mask": {"experiment": "applied", "model": "segresnetvae_physics"},
        "settings": {"compare_trackers": ["sinmod"]},
    }
    write_config(tmp_path, config)
    run = snakemake(tmp_path, "-n", "results/experiments/chain/tables/boxes.tsv")
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-3000:]
    predicted = "results/experiments/applied/predictions/segresnetvae_physics/ukb/shard-000.h5"
    for tracker in ("harp", "sinmod"):
        tracked = f"results/ukb/tracking_on_masks/applied/segresnetvae_physics/{tracker}/"
        assert re.search(
            rf"rule track_shard_on_predicted_masks:\n\s+input: \S+crop/shard-000.h5, "
            rf"{re.escape(predicted)}\n\s+output: {re.escape(tracked)}shard-000.h5",
            output,
        ), output[-3000:]
    assert "results/ukb/tracking/harp/" not in output, "the drawn masks are not tracked"
    assert "results/models/applied" not in output, "the applying experiment trains nothing"
