"""Paper 001's tables from hand-built tidy input: every expected value is worked out by hand
from the rows below (means, sample SDs with ddof = 1, medians, the paper's cumulative rank)."""

from __future__ import annotations

import math
import subprocess
import sys
from typing import Any

import numpy as np
import pandas as pd
import pytest

from myoflow.methods.tagseg.paper001 import (
    realism_table,
    table2_networks,
    table3_strategies,
    table4_gamma,
)
from myoflow.tables import SEGMENTATION_COLUMNS, TAGSEG_REALISM, TAGSEG_SEGMENTATION

NAN = float("nan")


def _frames(
    method: str,
    kind: str,
    split: str,
    dice: list[float],
    hd95: list[float],
    *,
    architecture: str | None = None,
    strategy: str | None = None,
    gamma: float | None = None,
) -> list[dict[str, Any]]:
    """One TAGSEG_SEGMENTATION row per frame; a frame whose HD95 is NaN has an empty prediction
    (``n_pred`` 0), as ``myoflow.metrics.segmentation`` scores it."""
    rows = []
    for frame, (d, h) in enumerate(zip(dice, hd95, strict=True)):
        row: dict[str, Any] = dict.fromkeys(SEGMENTATION_COLUMNS, NAN)
        row.update(
            experiment="seg",
            cohort="ph",
            subject=f"s{frame % 2}",
            slice_id="mid",
            position="mid",
            group="all",
            split=split,
            method=method,
            against="reference_mask",
            frame=frame,
            time_ms=10.0 * frame,
            is_ed=frame == 0,
            is_es=frame == 1,
            kind=kind,
            architecture=architecture,
            strategy=strategy,
            gamma=gamma,
            n_truth=50,
            n_pred=0 if math.isnan(h) else 40,
            dice=d,
            hd95_mm=h,
        )
        rows.append(row)
    return rows


def _table(*groups: list[dict[str, Any]]) -> pd.DataFrame:
    table = pd.DataFrame([row for rows in groups for row in rows], columns=TAGSEG_SEGMENTATION)
    assert list(table.columns) == TAGSEG_SEGMENTATION
    return table


def _tagged(method: str, split: str, dice: list[float], hd95: list[float], gamma: float = 0.05):
    arch, strategy = method.split("_")[:2]
    return _frames(
        method, "tagged", split, dice, hd95, architecture=arch, strategy=strategy, gamma=gamma
    )


def _row(table: pd.DataFrame, method: str) -> pd.Series:
    (index,) = np.flatnonzero(table["method"] == method)
    return table.iloc[index]


# --- Table 3 -----------------------------------------------------------------------------------


@pytest.fixture()
def segmentation() -> pd.DataFrame:
    """Baseline and pretraining rows first, a sweep model at another gamma among them."""
    return _table(
        _frames("empty_mask", "baseline", "train", [0.0, 0.0], [NAN, NAN]),
        _frames("empty_mask", "baseline", "test", [0.0, 0.0, 0.0], [NAN, NAN, NAN]),
        _frames(
            "pretrain_cine_dynunet",
            "pretrain",
            "test",
            [0.2, 0.4],
            [10.0, 14.0],
            architecture="dynunet",
            strategy="cine",
            gamma=0.05,
        ),
        _tagged("segresnetvae_scratch_g0.1", "train", [0.5, 0.5], [9.0, 9.0], gamma=0.1),
        _tagged("segresnetvae_scratch_g0.1", "test", [0.5, 0.5], [9.0, 9.0], gamma=0.1),
        _tagged("dynunet_scratch", "train", [0.8, 0.9, 0.7], [2.0, 4.0, 6.0]),
        _tagged("dynunet_scratch", "test", [0.6, 0.9, 0.0], [3.0, 5.0, NAN]),
        _tagged("dynunet_scratch", "val", [0.1], [50.0]),  # not a column of Table 3
        _tagged("dynunet_cine", "test", [0.7, 0.9], [4.0, 2.0]),
    )


def test_table3_mean_and_sd_per_model_and_split(segmentation: pd.DataFrame) -> None:
    table = table3_strategies(segmentation, 0.05)
    row = _row(table, "dynunet_scratch")
    assert (row["kind"], row["architecture"], row["strategy"]) == ("tagged", "dynunet", "scratch")
    # train: Dice 0.8, 0.9, 0.7; HD95 2, 4, 6 mm
    assert row["n_train"] == 3
    assert row["dsc_mean_train"] == pytest.approx(0.8)
    assert row["dsc_sd_train"] == pytest.approx(0.1)
    assert row["hd95_mm_mean_train"] == pytest.approx(4.0)
    assert row["hd95_mm_sd_train"] == pytest.approx(2.0)
    assert row["empty_train"] == 0
    # test: Dice 0.6, 0.9, 0.0 (deviations 0.1, 0.4, -0.5); HD95 3, 5 and an empty prediction
    assert row["n_test"] == 3
    assert row["dsc_mean_test"] == pytest.approx(0.5)
    assert row["dsc_sd_test"] == pytest.approx(math.sqrt(0.42 / 2))
    assert row["hd95_mm_mean_test"] == pytest.approx(4.0), "the NaN left out, not counted as 0"
    assert row["hd95_mm_sd_test"] == pytest.approx(math.sqrt(2.0))
    assert row["empty_test"] == 1


def test_table3_keeps_the_experiments_gamma_then_pretrainings_and_baseline(
    segmentation: pd.DataFrame,
) -> None:
    table = table3_strategies(segmentation, 0.05)
    assert "segresnetvae_scratch_g0.1" not in set(table["method"])
    assert list(table["kind"][:2]) == ["tagged", "tagged"]
    assert set(table["method"][:2]) == {"dynunet_scratch", "dynunet_cine"}
    assert set(table["method"][2:]) == {"pretrain_cine_dynunet", "empty_mask"}
    pretrain = _row(table, "pretrain_cine_dynunet")
    assert (pretrain["architecture"], pretrain["strategy"]) == ("dynunet", "cine")
    assert pretrain["dsc_mean_test"] == pytest.approx(0.3)
    assert pretrain["hd95_mm_mean_test"] == pytest.approx(12.0)
    baseline = _row(table, "empty_mask")
    assert (baseline["architecture"], baseline["strategy"]) == ("-", "-")
    assert baseline["n_train"] == 2 and baseline["n_test"] == 3
    assert baseline["dsc_mean_test"] == 0.0 and baseline["dsc_sd_test"] == 0.0
    assert baseline["empty_train"] == 2 and baseline["empty_test"] == 3
    assert math.isnan(baseline["hd95_mm_mean_test"]), "no boundary in any frame: no HD95"
    assert math.isnan(baseline["hd95_mm_sd_test"])
    # a sweep model is Table 4's, never a strategy row, even at the gamma asked for
    other = table3_strategies(segmentation, 0.1)
    assert list(other["method"]) == ["pretrain_cine_dynunet", "empty_mask"]


def test_table3_a_split_a_model_was_not_scored_on_is_empty_not_zero(
    segmentation: pd.DataFrame,
) -> None:
    table = table3_strategies(segmentation, 0.05)
    assert not any(column.endswith("_val") for column in table.columns)
    cine = _row(table, "dynunet_cine")
    for column in ("n", "dsc_mean", "dsc_sd", "hd95_mm_mean", "hd95_mm_sd", "empty"):
        assert pd.isna(cine[f"{column}_train"]), column
    assert cine["n_test"] == 2
    assert cine["dsc_mean_test"] == pytest.approx(0.8)
    assert cine["dsc_sd_test"] == pytest.approx(math.sqrt(0.02))
    assert cine["hd95_mm_mean_test"] == pytest.approx(3.0)
    assert cine["empty_test"] == 0


def test_table3_one_frame_has_no_sd() -> None:
    table = table3_strategies(_table(_tagged("dynunet_scratch", "test", [0.7], [3.0])), 0.05)
    row = _row(table, "dynunet_scratch")
    assert row["dsc_mean_test"] == pytest.approx(0.7)
    assert math.isnan(row["dsc_sd_test"]) and math.isnan(row["hd95_mm_sd_test"])


# --- Table 4 -----------------------------------------------------------------------------------

SWEEP = {
    0.1: "segresnetvae_scratch_g0.1",
    0.0: "segresnetvae_scratch_g0",
    0.05: "segresnetvae_scratch",
}


def _sweep_rows(values: dict[str, tuple[float, float, float, float]]) -> pd.DataFrame:
    """One frame per model and split: (Dice train, HD95 train, Dice test, HD95 test)."""
    groups = []
    for method, (dice_train, hd_train, dice_test, hd_test) in values.items():
        gamma = {model: g for g, model in SWEEP.items()}.get(method, 0.05)
        groups.append(_tagged(method, "train", [dice_train], [hd_train], gamma=gamma))
        groups.append(_tagged(method, "test", [dice_test], [hd_test], gamma=gamma))
    groups.append(_frames("empty_mask", "baseline", "test", [0.0], [NAN]))
    return _table(*groups)


def test_table4_cumulative_rank_by_hand() -> None:
    table = table4_gamma(
        _sweep_rows(
            {
                "segresnetvae_scratch_g0.1": (0.75, 2.0, 0.78, 6.0),
                "segresnetvae_scratch_g0": (0.80, 3.0, 0.70, 5.0),
                "dynunet_scratch": (0.99, 0.5, 0.99, 0.5),  # not in the sweep
                "segresnetvae_scratch": (0.85, 3.0, 0.78, 4.0),
            }
        ),
        SWEEP,
    )
    assert list(table["gamma"]) == [0.0, 0.05, 0.1]
    assert list(table["method"]) == [
        "segresnetvae_scratch_g0",
        "segresnetvae_scratch",
        "segresnetvae_scratch_g0.1",
    ]
    # Dice train (desc) 2, 1, 3; HD95 train (asc, 3.0 tied) 2, 2, 1;
    # Dice test (desc, 0.78 tied) 3, 1, 1; HD95 test (asc) 2, 1, 3
    assert list(table["cumulative_rank"]) == [9, 5, 8]
    assert list(table["rank"]) == [3, 1, 2]
    assert list(table["dsc_mean_train"]) == pytest.approx([0.80, 0.85, 0.75])
    assert list(table["hd95_mm_mean_test"]) == pytest.approx([5.0, 4.0, 6.0])


def test_table4_ties_share_the_best_rank() -> None:
    table = table4_gamma(
        _sweep_rows(
            {
                "segresnetvae_scratch_g0": (0.7, 4.0, 0.6, 5.0),
                "segresnetvae_scratch": (0.9, 2.0, 0.8, 3.0),
                "segresnetvae_scratch_g0.1": (0.7, 4.0, 0.6, 5.0),
            }
        ),
        SWEEP,
    )
    # each column: 0.05 first (1), the other two tied (2 each): 4 against 8 and 8
    assert list(table["cumulative_rank"]) == [8, 4, 8]
    assert list(table["rank"]) == [2, 1, 2]


def test_table4_a_model_that_segments_nothing_ranks_last() -> None:
    rows = _sweep_rows(
        {
            "segresnetvae_scratch_g0": (0.8, 3.0, 0.7, 4.0),
            "segresnetvae_scratch": (0.9, 2.0, 0.8, 3.0),
            "segresnetvae_scratch_g0.1": (0.0, NAN, 0.0, NAN),
        }
    )
    table = table4_gamma(rows, SWEEP)
    assert list(table["rank"]) == [2, 1, 3]


# --- Table 2 -----------------------------------------------------------------------------------


def _info(kind: str, architecture: str | None, parameters: int, samples: int, ms: float):
    return pd.DataFrame(
        [
            {
                "parameters": parameters,
                "device": "cpu",
                "threads": 4,
                "train_samples": samples,
                "val_samples": 10,
                "architecture": architecture,
                "kind": kind,
                "inference_ms_mean": ms,
                "inference_ms_sd": ms / 10,
                "strategy": None,
                "gamma": 0.05,
            }
        ]
    )


def test_table2_one_row_per_architecture_from_its_first_tagged_model() -> None:
    infos = {
        "cyclegan": _info("cyclegan", None, 11_000_000, 500, 5.0),
        "pretrain_cine_dynunet": _info("pretrain", "dynunet", 1111, 300, 1.0),
        "dynunet_scratch": _info("tagged", "dynunet", 2222, 120, 20.0),
        "segresnetvae_scratch": _info("tagged", "segresnetvae", 3333, 120, 8.0),
        "dynunet_cine": _info("tagged", "dynunet", 4444, 999, 99.0),
    }
    histories = {
        "cyclegan": pd.DataFrame({"seconds": [100.0, 100.0]}),
        "pretrain_cine_dynunet": pd.DataFrame({"seconds": [1.0, 1.0, 1.0]}),
        "dynunet_scratch": pd.DataFrame({"seconds": [10.0, 30.0, 20.0, 100.0]}),
        "segresnetvae_scratch": pd.DataFrame({"seconds": [5.0, 7.0, 6.0]}),
        "dynunet_cine": pd.DataFrame({"seconds": [50.0, 50.0]}),
    }
    table = table2_networks(infos, histories)
    assert list(table["architecture"]) == ["dynunet", "segresnetvae"]
    assert list(table["model"]) == ["dynunet_scratch", "segresnetvae_scratch"]
    assert list(table["parameters"]) == [2222, 3333]
    assert list(table["seconds_per_epoch"]) == [25.0, 6.0], "the median epoch"
    assert list(table["images_per_epoch"]) == [120, 120]
    assert list(table["inference_ms_mean"]) == [20.0, 8.0]
    assert list(table["inference_ms_sd"]) == pytest.approx([2.0, 0.8])
    assert list(table["device"]) == ["cpu", "cpu"]
    # the paper's Table 2 beside ours: parameters, seconds per epoch, inference ms (mean ± SD)
    assert list(table["paper_parameters"]) == [34_164_258, 3_555_891]
    assert list(table["paper_seconds_per_epoch"]) == [163.2, 64.3]
    assert list(table["paper_inference_ms"]) == ["661 ± 274", "112 ± 28.7"]


def test_table2_without_tagged_models_is_empty() -> None:
    infos = {"pretrain_cine_dynunet": _info("pretrain", "dynunet", 1111, 300, 1.0)}
    assert table2_networks(infos, {"pretrain_cine_dynunet": pd.DataFrame({"seconds": [1.0]})}).empty


# --- the realism of the transforms -------------------------------------------------------------


def test_realism_table_per_transform() -> None:
    base = {column: NAN for column in TAGSEG_REALISM}
    base.update(experiment="seg", cohort="ph", subject="s0", slice_id="mid", position="mid")
    base.update(group="all", split="test")
    values = {
        # transform: (SSIM, spacing pseudo, spacing real, angle pseudo, angle real, mod. p., r.)
        "physics": [
            (0.5, 5.0, 6.0, 40.0, 45.0, 0.2, 0.3),
            (0.7, 7.0, 6.0, 50.0, 45.0, 0.4, 0.3),
            (0.6, 6.0, 6.0, 90.0, 45.0, 0.3, 0.3),
        ],
        "cyclegan": [(0.2, 4.0, 6.0, 10.0, 45.0, 0.1, 0.3), (0.4, 8.0, 6.0, 20.0, 45.0, 0.5, 0.3)],
    }
    rows = []
    for transform, frames in values.items():
        for frame, (ssim, sp, sr, ap, ar, mp, mr) in enumerate(frames):
            rows.append(
                {
                    **base,
                    "transform": transform,
                    "frame": frame,
                    "ssim_heart": ssim,
                    "spacing_mm_pseudo": sp,
                    "spacing_mm_real": sr,
                    "angle_deg_pseudo": ap,
                    "angle_deg_real": ar,
                    "modulation_pseudo": mp,
                    "modulation_real": mr,
                }
            )
    table = realism_table(pd.DataFrame(rows, columns=TAGSEG_REALISM))
    assert list(table["transform"]) == ["physics", "cyclegan"]
    assert list(table["frames"]) == [3, 2]
    assert list(table["ssim_heart_mean"]) == pytest.approx([0.6, 0.3])
    assert list(table["ssim_heart_sd"]) == pytest.approx([0.1, math.sqrt(0.02)])
    assert list(table["spacing_mm_pseudo_median"]) == pytest.approx([6.0, 6.0])
    assert list(table["spacing_mm_real_median"]) == pytest.approx([6.0, 6.0])
    assert list(table["angle_deg_pseudo_median"]) == pytest.approx([50.0, 15.0])
    assert list(table["angle_deg_real_median"]) == pytest.approx([45.0, 45.0])
    assert list(table["modulation_pseudo_median"]) == pytest.approx([0.3, 0.3])
    assert list(table["modulation_real_median"]) == pytest.approx([0.3, 0.3])


# --- the report rule's environment -------------------------------------------------------------


def test_paper001_tables_are_torch_free() -> None:
    code = (
        "import sys; import myoflow.methods.tagseg.report; "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    run = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
