"""Paper 003 end to end on a tiny config: both networks train, the fully automatic prediction
runs, and the report holds Tables 2 and 3 filled, with the figures."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from support.workflow import completed_run, read_tsv, snakemake

pytestmark = pytest.mark.integration

TINY_TAGSTRAIN = {
    # the LV crop, where the compared trackers run, at 64 pixels keeps the 7 mm tags resolvable
    "preprocess": {"size": 64, "frames": 8, "fov": {"size": 128, "frames": 8}},
    "split": {"train": 0.5, "val": 0.25, "test": 0.25},
    "export_nifti": False,
    "cohorts": {
        "ukb": {
            "source": "synthetic",
            "species": "human",
            "seed": 6,
            "subjects": 8,
            "slices": ["basal", "mid"],
            "frames": 8,
            "matrix": 112,
            "groups": {
                "reference": {"fraction": 0.5},
                "diabetes": {"fraction": 0.5, "global_scale": 0.8},
            },
        }
    },
    "experiments": {
        "tiny": {
            "method": "tagstrain",
            "cohorts": ["ukb"],
            "reference": "truth",
            "settings": {
                # every subject evaluated, so each group of Table 3 has several
                "evaluate_split": "all",
                "roi": {"epochs": 2, "batch_size": 4, "filters": [4, 4, 4, 4, 4], "dense": 8},
                "tracker": {
                    "epochs": 2,
                    "batch_size": 4,
                    "crop_size": 32,
                    "width": 0.125,
                    "dense": 16,
                    "lstm_units": 16,
                },
            },
        },
        # learns HARP's landmarks, scored against them and against the phantom's truth
        "tiny_harp": {
            "method": "tagstrain",
            "cohorts": ["ukb"],
            "reference": "harp",
            "settings": {"compare_trackers": ["sinmod"]},
        },
        # applies tiny's trained models: no training of its own, every split predicted
        "applied": {"method": "tagstrain", "cohorts": ["ukb"], "models": "tiny"},
    },
    "tracking_validation": {"enabled": False},
}
# the three experiments build the same networks
for _name in ("tiny_harp", "applied"):
    TINY_TAGSTRAIN["experiments"][_name]["settings"] = {
        **TINY_TAGSTRAIN["experiments"]["tiny"]["settings"],
        **TINY_TAGSTRAIN["experiments"][_name].get("settings", {}),
    }
del TINY_TAGSTRAIN["experiments"]["applied"]["settings"]["evaluate_split"]
TABLES = ("localisation", "landmark_rmse", "table2_strain", "table3_groups")
FIGURES = ("fig4_localisation", "fig5_bland_altman", "fig6_example", "tagstrain_training")


@pytest.fixture(scope="module")
def tagstrain_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return completed_run(tmp_path_factory.mktemp("tagstrain"), TINY_TAGSTRAIN)


def test_tables_two_and_three_are_filled(tagstrain_run: Path) -> None:
    tables = tagstrain_run / "results" / "experiments" / "tiny" / "tables"
    table2 = read_tsv(tables / "table2_strain.tsv")
    # the two trackers are the "uncorrected registration" rows, on the same slices
    assert set(table2["method"]) == {"rnncnn", "harp", "sinmod", "zero"}
    harp = table2[(table2["method"] == "harp") & (table2["strain"] == "ecc_green")]
    assert (harp["n"] == 8).all() and (harp["bias"].abs() < 0.05).all()
    predicted = table2[table2["method"] == "rnncnn"]
    # 2 levels x 5 strains, each with its reference, prediction and test
    assert len(predicted) == 10 and set(predicted["position"]) == {"basal", "mid"}
    assert predicted[["reference_mean", "mean", "bias", "p"]].notna().all().all()
    assert (predicted["reference_mean"][predicted["strain"] == "ecc_green"] < 0).all()
    table3 = read_tsv(tables / "table3_groups.tsv")
    assert set(table3["method"]) == {"reference", "rnncnn", "harp", "sinmod"}
    assert set(table3["group"]) == {"diabetes"}
    assert table3[["mean_diff", "ci_low", "ci_high"]].notna().all().all()
    # the phantom's diabetics shorten less: the reference sees the difference
    reference = table3[table3["method"] == "reference"].iloc[0]
    assert reference["mean_diff"] > 0
    for name in TABLES:
        assert (tables / f"{name}.md").read_text().count("|") > 10


def test_every_slice_is_localised_and_tracked(tagstrain_run: Path) -> None:
    tables = tagstrain_run / "results" / "experiments" / "tiny" / "tables"
    boxes = read_tsv(tables / "boxes.tsv")
    assert len(boxes) == 16 and boxes["iou"].between(0, 1).all()
    qc = read_tsv(tables / "qc.tsv")  # every slice usable and inside its box, or named here
    assert set(qc["status"]) <= {"flagged"}
    errors = read_tsv(tables / "landmark_errors.tsv")
    assert set(errors["method"]) == {"rnncnn", "harp", "sinmod", "zero"}
    assert (errors["rmse_px"] > 0).any()


def test_figures_and_report(tagstrain_run: Path) -> None:
    figures = tagstrain_run / "results" / "experiments" / "tiny" / "figures"
    for name in FIGURES:
        assert (figures / f"{name}.png").stat().st_size > 1000
        assert (figures / f"{name}.svg").stat().st_size > 1000
    run = snakemake(tagstrain_run, "--report", "report.html")
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    assert (tagstrain_run / "report.html").stat().st_size > 10_000


def test_a_tracker_reference_is_scored_against_the_truth_too(tagstrain_run: Path) -> None:
    tables = tagstrain_run / "results" / "experiments" / "tiny_harp" / "tables"
    table2 = read_tsv(tables / "table2_strain.tsv")
    assert set(table2["against"]) == {"reference", "truth"}
    # HARP (the reference) against the truth: the tracker's own εC error, small on this phantom
    harp = table2[(table2["against"] == "truth") & (table2["method"] == "reference")]
    assert len(harp) == 10
    assert (harp.loc[harp["strain"] == "ecc_green", "bias"].abs() < 0.05).all()
    assert set(table2.loc[table2["against"] == "reference", "method"]) == {
        "rnncnn",
        "sinmod",
        "truth",
        "zero",
    }
    rmse = read_tsv(tables / "landmark_rmse.tsv")
    assert {("truth", "rnncnn"), ("reference", "truth")} <= set(
        zip(rmse["against"], rmse["method"])
    )


def test_models_trained_by_another_experiment_are_applied_as_they_are(
    tagstrain_run: Path,
) -> None:
    results = tagstrain_run / "results"
    assert not (results / "models" / "applied").exists(), "nothing trained"
    mine = read_tsv(results / "experiments" / "applied" / "tables" / "boxes.tsv")
    theirs = read_tsv(results / "experiments" / "tiny" / "tables" / "boxes.tsv")
    assert len(mine) == 16, "every split of the cohort predicted"
    corners = ["subject", "slice_id", "pred_x1", "pred_y1", "pred_x2", "pred_y2"]
    pd.testing.assert_frame_equal(mine[corners], theirs[corners])
