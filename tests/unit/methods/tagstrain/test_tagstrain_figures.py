"""Paper 003's figures: the files are written, the chosen examples are the worst / median ones,
and the Bland-Altman lines are the statistics of the differences built into the tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from myoflow.methods.tagstrain.figures import (
    BoxExample,
    SliceExample,
    fig_bland_altman_levels,
    fig_example_slice,
    fig_localisation,
    pick_example_slice,
    pick_examples,
)

N_FRAMES = 6
#: Per level, the ES difference rnncnn - reference of each slice, for εC and εR.
ECC_DIFF = {
    "basal": [0.01, -0.02, 0.03, 0.00],
    "mid": [0.05, 0.01, -0.03, 0.02, 0.04],
    "apical": [-0.01, 0.02, 0.06],
}
ERR_DIFF = {"basal": [0.1, -0.1, 0.2, 0.05], "mid": [0.0] * 5, "apical": [0.3, -0.2, 0.1]}


def _slice_rows(level: str, i: int, ecc_diff: float, err_diff: float) -> list[dict]:
    """One slice's rows: 2 methods x 2 segments x frames; the ES frame varies by slice, and
    the non-ES frames and segment 1 carry values that would spoil the statistics if used."""
    es_frame = 2 + i % 2
    rows = []
    for method, scale in (("reference", 0.0), ("rnncnn", 1.0)):
        for segment in (0, 1):
            for frame in range(N_FRAMES):
                ref_ecc, ref_err = -0.15 - 0.01 * i, 0.3 + 0.02 * i
                at_es = frame == es_frame and segment == 0
                ecc = ref_ecc + scale * (ecc_diff if at_es else 0.5)
                err = ref_err + scale * (err_diff if at_es else -0.7)
                rows.append(
                    {
                        "experiment": "e",
                        "cohort": "ukb",
                        "subject": f"{level}{i}",
                        "slice_id": f"s{i}",
                        "position": level,
                        "group": "control",
                        "split": "test",
                        "method": method,
                        "segment": segment,
                        "frame": frame,
                        "time_ms": 40.0 * frame,
                        "es_frame": es_frame,
                        "ecc_green": ecc,
                        "err_green": err,
                    }
                )
    return rows


def _curves(ecc: dict[str, list[float]] = ECC_DIFF) -> pd.DataFrame:
    rows = []
    for level, diffs in ecc.items():
        for i, d in enumerate(diffs):
            rows += _slice_rows(level, i, d, ERR_DIFF[level][i] if i < len(ERR_DIFF[level]) else 0)
    return pd.DataFrame(rows)


def _boxes(iou: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "cohort": "ukb",
            "subject": [f"p{i}" for i in range(len(iou))],
            "slice_id": "s0",
            "iou": iou,
            **{f"target_{c}": v for c, v in zip(("x1", "y1", "x2", "y2"), (10, 12, 40, 44))},
            **{f"pred_{c}": v for c, v in zip(("x1", "y1", "x2", "y2"), (11, 10, 42, 41))},
        }
    )


def _written(stem: Path) -> bool:
    return all(
        Path(f"{stem}.{ext}").is_file() and Path(f"{stem}.{ext}").stat().st_size > 0
        for ext in ("png", "svg")
    )


def test_pick_examples_returns_the_worst_and_the_median_iou_whatever_the_row_order() -> None:
    boxes = _boxes([0.9, 0.53, 0.8, 0.95, 0.7])
    for table in (boxes, boxes.iloc[::-1]):
        (worst_name, worst), (typical_name, typical) = pick_examples(table)
        assert (worst_name, typical_name) == ("worst", "typical")
        assert (worst["subject"], worst["iou"]) == ("p1", 0.53)
        assert (typical["subject"], typical["iou"]) == ("p2", 0.8)
    tied = _boxes([0.6, 0.6, 0.9, np.nan])
    assert pick_examples(tied)[0][1]["subject"] == pick_examples(tied.iloc[::-1])[0][1]["subject"]
    assert pick_examples(tied)[1][1]["subject"] == "p1"  # lower median of 0.6, 0.6, 0.9


def test_fig_localisation_writes_png_and_svg(tmp_path: Path) -> None:
    boxes = _boxes([0.9, 0.53, 0.8, 0.95, 0.7])
    image = np.random.default_rng(0).random((64, 64))
    examples = [BoxExample.from_row(name, row, image) for name, row in pick_examples(boxes)]
    assert examples[0].title == "worst: p1/s0, IoU 0.53"
    assert examples[0].target == (10.0, 12.0, 40.0, 44.0)
    fig_localisation(boxes, examples, tmp_path / "fig4")
    assert _written(tmp_path / "fig4")
    with pytest.raises(ValueError, match="2-D"):
        BoxExample("x", np.zeros(4), (0, 0, 1, 1), (0, 0, 1, 1))


def test_bland_altman_lines_are_the_built_in_bias_and_limits(tmp_path: Path) -> None:
    drawn = fig_bland_altman_levels(_curves(), "rnncnn", tmp_path / "fig5")
    assert _written(tmp_path / "fig5")
    assert set(drawn) == {(s, lv) for s in ("ecc_green", "err_green") for lv in ECC_DIFF}
    for strain, diffs in (("ecc_green", ECC_DIFF), ("err_green", ERR_DIFF)):
        for level, d in diffs.items():
            bias, low, high = drawn[strain, level]
            sd = np.std(d, ddof=1)
            assert bias == pytest.approx(np.mean(d), abs=1e-12)
            assert (low, high) == pytest.approx((np.mean(d) - 1.96 * sd, np.mean(d) + 1.96 * sd))


def test_bland_altman_panel_with_under_three_pairs_has_no_lines(tmp_path: Path) -> None:
    drawn = fig_bland_altman_levels(
        _curves({"mid": [0.01, 0.02, 0.03], "apical": [0.01, 0.02]}), "rnncnn", tmp_path / "f"
    )
    assert list(dict.fromkeys(level for _, level in drawn)) == ["mid", "apical"]
    assert np.isnan(drawn["ecc_green", "apical"]).all()
    assert drawn["ecc_green", "mid"][0] == pytest.approx(0.02)
    assert _written(tmp_path / "f")


def test_missing_method_or_reference_is_refused(tmp_path: Path) -> None:
    curves = _curves()
    with pytest.raises(ValueError, match="harp"):
        fig_bland_altman_levels(curves, "harp", tmp_path / "x")
    with pytest.raises(ValueError, match="reference"):
        fig_bland_altman_levels(curves[curves["method"] != "reference"], "rnncnn", tmp_path / "x")
    with pytest.raises(ValueError, match="harp"):
        pick_example_slice(curves, "harp")


def test_pick_example_slice_is_the_median_error_mid_slice() -> None:
    # mid |errors| 0.05, 0.01, 0.03, 0.02, 0.04 -> median 0.03 is slice s2 of subject mid2;
    # over all slices the median would differ (0.02), so the mid restriction is tested too.
    curves = _curves()
    assert pick_example_slice(curves, "rnncnn") == ("ukb", "mid2", "s2")
    assert pick_example_slice(curves.sample(frac=1.0, random_state=1), "rnncnn") == (
        "ukb",
        "mid2",
        "s2",
    )
    no_mid = _curves({"basal": [0.01, -0.04, 0.03], "apical": [0.0]})
    # all |errors| 0.01, 0.04, 0.03, 0.0 -> lower median 0.01 (basal0)
    assert pick_example_slice(no_mid, "rnncnn") == ("ukb", "basal0", "s0")


def test_fig_example_slice_writes_png_and_svg(tmp_path: Path) -> None:
    curves = _curves()
    chosen = pick_example_slice(curves, "rnncnn")
    rows = curves[
        (curves[["cohort", "subject", "slice_id"]].apply(tuple, axis=1) == chosen)
        & (curves["segment"] == 0)
    ]
    rng = np.random.default_rng(1)
    angle = np.repeat(np.linspace(0, 2 * np.pi, 24, endpoint=False), 7)
    radius = np.tile(np.linspace(10, 16, 7), 24)
    ref = np.stack([32 + radius * np.cos(angle), 32 + radius * np.sin(angle)])
    example = SliceExample(
        title="typical: mid2/s2",
        image_ed=rng.random((64, 64)),
        image_es=rng.random((64, 64)),
        reference_ed=ref,
        reference_es=0.9 * (ref - 32) + 32,
        predicted_ed=ref + 0.5,
        predicted_es=0.9 * (ref - 32) + 32.5,
        curves=rows,
        method="rnncnn",
        es_time_ms=float(rows["time_ms"][rows["frame"] == rows["es_frame"]].iloc[0]),
    )
    fig_example_slice(example, tmp_path / "fig6")
    assert _written(tmp_path / "fig6")
    with pytest.raises(ValueError, match=r"\[2, N\]"):
        SliceExample(**{**example.__dict__, "predicted_es": ref.T})
    with pytest.raises(ValueError, match="rnncnn"):
        SliceExample(**{**example.__dict__, "curves": rows[rows["method"] == "reference"]})
