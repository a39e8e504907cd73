"""Paper 002's tables from hand-built tidy input: Table I's means and SDs against numpy, the
Wilcoxon table against scipy's ``ranksums`` on the same values, the volume agreement against
``myoflow.stats.agreement`` on the pairs worked out by hand."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from myoflow.methods.attmnet.paper002 import (
    AGREEMENT_COLUMNS,
    EMPTY,
    SEGMENTATION,
    VOLUMES,
    WILCOXON_COLUMNS,
    model_order,
    table1,
    volume_agreement,
    wilcoxon_table,
)
from myoflow.stats.agreement import agreement
from myoflow.tables import SEGMENTATION_COLUMNS

NAN = float("nan")
#: Per model: Dice of the test volumes (ED and ES of three subjects) on the interpolated grid.
DICE = {
    "unet2d": [0.80, 0.82, 0.85, 0.79, 0.90, 0.88],
    "attmnet": [0.91, 0.93, 0.90, 0.89, 0.95, 0.92],
    EMPTY: [0.0] * 6,
}


def _segmentation() -> pd.DataFrame:
    """Six test volumes per model on each grid (the acquired Dice 0.1 lower), one train volume;
    unet2d's last volume is an empty prediction (no Hausdorff distance)."""
    rows: list[dict[str, Any]] = []
    for model, dice in DICE.items():
        for grid, shift in (("interpolated", 0.0), ("acquired", 0.1)):
            for i, d in enumerate(dice):
                row: dict[str, Any] = dict.fromkeys(SEGMENTATION_COLUMNS, 0.5)
                empty = model == EMPTY or (model == "unet2d" and i == 5)
                row.update(
                    experiment="e",
                    cohort="ph",
                    subject=f"s{i // 2}",
                    group="control",
                    split="test",
                    grid=grid,
                    method=model,
                    frame=i % 2,
                    time_ms=50.0 * (i % 2),
                    is_ed=i % 2 == 0,
                    is_es=i % 2 == 1,
                    n_pred=0 if empty else 100,
                    dice=d - shift if d else 0.0,
                    jaccard=d / (2 - d),
                    hd_px=NAN if empty else 10 * (1 - d),
                    hd_mm=NAN if empty else 2 * (1 - d),
                    sensitivity=d + 0.01,
                )
                rows.append(row)
    train = {**rows[0], "split": "train", "dice": 0.1, "subject": "t"}
    return pd.DataFrame([*rows, train], columns=SEGMENTATION)


def test_model_order_is_table_one_then_others_then_the_baseline() -> None:
    assert model_order(["zz", EMPTY, "unet2d", "attmnet", "unet2d", "fcn3d"]) == [
        "attmnet",
        "unet2d",
        "fcn3d",
        "zz",
        EMPTY,
    ]


def test_table1_means_and_sds_match_numpy() -> None:
    infos = {"attmnet": pd.DataFrame([{"parameters": 1234, "width": 0.25}])}
    table = table1(_segmentation(), infos)
    assert list(table["model"]) == ["attmnet", "unet2d", EMPTY]
    assert set(table["grid"]) == {"interpolated"} and set(table["split"]) == {"test"}
    assert list(table["volumes"]) == [6, 6, 6]
    assert list(table["empty_predictions"]) == [0, 1, 6]
    for _, row in table.iterrows():
        dice = np.array(DICE[row["model"]])
        assert row["dice_mean"] == pytest.approx(dice.mean())
        assert row["dice_sd"] == pytest.approx(dice.std(ddof=1))
        assert row["sensitivity_mean"] == pytest.approx(dice.mean() + 0.01)
    unet = table.set_index("model").loc["unet2d"]
    kept = 10 * (1 - np.array(DICE["unet2d"][:5]))  # the empty prediction has no HD
    assert unet["hd_px_mean"] == pytest.approx(kept.mean())
    assert unet["hd_px_sd"] == pytest.approx(kept.std(ddof=1))
    assert unet["hausdorff"] == f"{kept.mean():.2f} ({kept.mean() / 5:.4f})"
    assert unet["label"] == "2D U-net" and unet["paper_dice"] == 0.8677
    assert unet["paper_parameters"] == 24_902_996 and pd.isna(unet["parameters"])
    att = table.set_index("model").loc["attmnet"]
    assert att["parameters"] == 1234 and att["width"] == 0.25
    assert att["paper_parameters"] == 24_657_034 and att["paper_hd_px"] == 3.18
    empty = table.set_index("model").loc[EMPTY]
    assert np.isnan(empty["hd_px_mean"]) and pd.isna(empty["paper_parameters"])
    assert pd.isna(empty["hausdorff"]) and np.isnan(empty["paper_dice"])


def test_table1_on_the_acquired_grid_and_another_split() -> None:
    table = table1(_segmentation(), {}, grid="acquired")
    dice = np.array(DICE["attmnet"]) - 0.1
    assert table.iloc[0]["dice_mean"] == pytest.approx(dice.mean())
    assert set(table["grid"]) == {"acquired"}
    train = table1(_segmentation(), {}, split="train")
    assert list(train["model"]) == ["unet2d"] and np.isnan(train.iloc[0]["dice_sd"])
    assert table1(_segmentation(), {}, split="val").empty


def test_wilcoxon_table_equals_scipy_ranksums_per_grid() -> None:
    seg = _segmentation()
    table = wilcoxon_table(seg, ["dice", "hd_px"])
    assert list(table.columns) == WILCOXON_COLUMNS
    # one pair (the baseline is not tested) x two metrics x two grids
    assert len(table) == 4 and set(table["grid"]) == {"interpolated", "acquired"}
    assert set(zip(table["model_a"], table["model_b"], strict=True)) == {("attmnet", "unet2d")}
    for _, row in table.iterrows():
        chosen = seg[(seg["grid"] == row["grid"]) & (seg["split"] == "test")]
        a = chosen.loc[chosen["method"] == "attmnet", row["metric"]].dropna()
        b = chosen.loc[chosen["method"] == "unet2d", row["metric"]].dropna()
        expected = stats.ranksums(a, b)
        assert row["statistic"] == pytest.approx(expected.statistic)
        assert row["p"] == pytest.approx(expected.pvalue)
        assert row["p_bonferroni"] == pytest.approx(expected.pvalue)  # one pair per family
        assert (row["n_a"], row["n_b"]) == (len(a), len(b))
    assert set(table.loc[table["metric"] == "hd_px", "n_b"]) == {5}


def test_wilcoxon_table_with_one_model_is_empty() -> None:
    seg = _segmentation()
    table = wilcoxon_table(seg[seg["method"] != "unet2d"], ["dice"])
    assert table.empty and list(table.columns) == WILCOXON_COLUMNS


def _volumes() -> pd.DataFrame:
    """Four subjects, ED and ES, of the reference and one model; a truth volume at ED."""
    rows = []
    ref_myo = [0.040, 0.050, 0.045, 0.060]
    model_myo = [0.042, 0.049, 0.047, 0.063]
    for method, myo, edv, esv in (
        ("reference", ref_myo, [0.020, 0.030, 0.025, 0.028], [0.008, 0.012, 0.010, 0.011]),
        ("unet3d", model_myo, [0.021, 0.029, 0.027, 0.028], [0.009, 0.011, 0.012, 0.010]),
    ):
        for i in range(4):
            for frame in (0, 1):
                ed = frame == 0
                row = dict.fromkeys(VOLUMES, NAN)
                row.update(
                    experiment="e",
                    cohort="ph",
                    subject=f"s{i}",
                    group="control",
                    split="test",
                    method=method,
                    frame=frame,
                    is_ed=ed,
                    is_es=not ed,
                    myocardial_volume_ml=myo[i] + 0.001 * frame,
                    myocardial_mass_g=(myo[i] + 0.001 * frame) * 1.05,
                )
                if ed:
                    row.update(
                        truth_myocardial_volume_ml=0.05,
                        edv_ml=edv[i],
                        esv_ml=esv[i],
                        ef=(edv[i] - esv[i]) / edv[i],
                    )
                rows.append(row)
    return pd.DataFrame(rows, columns=VOLUMES)


def test_volume_agreement_against_the_reference_and_the_truth() -> None:
    vols = _volumes()
    table = volume_agreement(vols)
    assert list(table.columns) == AGREEMENT_COLUMNS
    against_reference = table[table["against"] == "reference"].set_index("quantity")
    assert list(against_reference.index) == [
        "myocardial_volume_ml",
        "myocardial_mass_g",
        "edv_ml",
        "esv_ml",
        "ef",
    ]
    assert set(against_reference["method"]) == {"unet3d"}
    model, ref = (vols[vols["method"] == m] for m in ("unet3d", "reference"))
    myo = against_reference.loc["myocardial_volume_ml"]
    assert myo["n"] == 8 and myo["frames"] == "all"  # every frame paired
    expected = agreement(model["myocardial_volume_ml"], ref["myocardial_volume_ml"])
    for key in ("icc_a1", "ba_bias", "ba_loa_low", "ba_loa_high"):
        assert myo[key] == pytest.approx(expected[key])
    diff = model["myocardial_volume_ml"].to_numpy() - ref["myocardial_volume_ml"].to_numpy()
    assert myo["ba_bias"] == pytest.approx(diff.mean())
    assert myo["ba_loa_high"] == pytest.approx(diff.mean() + 1.96 * diff.std(ddof=1))
    ef = against_reference.loc["ef"]
    ed_model, ed_ref = model[model["is_ed"]], ref[ref["is_ed"]]
    assert ef["n"] == 4 and ef["frames"] == "ED"
    assert ef["ba_bias"] == pytest.approx((ed_model["ef"].to_numpy() - ed_ref["ef"]).mean())
    assert ef["mean_against"] == pytest.approx(ed_ref["ef"].mean())
    assert against_reference.loc["myocardial_mass_g", "n"] == 4
    truth = table[table["against"] == "truth"]
    assert list(truth["method"]) == ["reference", "unet3d"]
    assert list(truth["n"]) == [4, 4]
    assert truth.iloc[0]["ba_bias"] == pytest.approx(ed_ref["myocardial_volume_ml"].mean() - 0.05)


def test_volume_agreement_without_truth_has_no_truth_rows() -> None:
    vols = _volumes().assign(truth_myocardial_volume_ml=NAN)
    table = volume_agreement(vols)
    assert set(table["against"]) == {"reference"}


def test_paper002_and_the_report_are_torch_free() -> None:
    code = (
        "import sys; import myoflow.methods.attmnet.report; "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    run = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
