"""Segmentation metrics: exact on rectangles and boxes, circles within a pixel, empty masks as
documented, rows in mm along the right axes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from myoflow.metrics.segmentation import frame_metrics, volume_metrics
from myoflow.tables import SEGMENTATION_COLUMNS

SHAPE = (48, 64)
#: Anisotropic pixels, rows 1.5 mm apart and columns 0.6 mm, so that swapping them shows.
SPACING = (1.5, 0.6)
# MONAI counts and divides in float32 (relative rounding 6e-8 per operation).
REL32 = 1e-6


def _rectangle(top: int, bottom: int, left: int, right: int, shape=SHAPE) -> np.ndarray:
    """A filled rectangle, rows ``top..bottom - 1`` and columns ``left..right - 1``."""
    mask = np.zeros(shape, np.uint8)
    mask[top:bottom, left:right] = 1
    return mask


def _one(pred: np.ndarray, truth: np.ndarray, spacing=SPACING) -> pd.Series:
    return frame_metrics(pred[None], truth[None], spacing).iloc[0]


def test_columns_one_row_per_frame() -> None:
    truth = np.stack([_rectangle(10, 30, 10, 40)] * 3)
    table = frame_metrics(truth, truth, SPACING)
    assert list(table.columns) == ["frame", *SEGMENTATION_COLUMNS]
    assert table["frame"].tolist() == [0, 1, 2]
    perfect = table[["dice", "jaccard", "sensitivity", "specificity", "ppv", "npv"]]
    assert (perfect == 1.0).all().all()
    assert (table[["hd_px", "hd95_px", "hd_mm", "hd95_mm"]] == 0.0).all().all()


def test_nested_rectangles_give_the_confusion_matrix_formulas() -> None:
    """Prediction a b pixels inside truth A B pixels: TP = ab, FP = 0, FN = AB - ab,
    TN = N - AB, so every ratio has a closed form in the four areas."""
    truth = _rectangle(8, 38, 10, 50)  # 30 x 40
    pred = _rectangle(13, 33, 20, 40)  # 20 x 20, inside
    n, big, small = SHAPE[0] * SHAPE[1], 30 * 40, 20 * 20
    row = _one(pred, truth)
    assert (row["n_truth"], row["n_pred"]) == (big, small)
    assert row["dice"] == pytest.approx(2 * small / (small + big), rel=REL32)
    assert row["jaccard"] == pytest.approx(small / big, rel=REL32)
    assert row["sensitivity"] == pytest.approx(small / big, rel=REL32)
    assert row["specificity"] == 1.0 and row["ppv"] == 1.0
    assert row["npv"] == pytest.approx((n - big) / (n - small), rel=REL32)


def test_discs_dice_from_their_areas() -> None:
    """Two overlapping discs: Dice = 2|A and B| / (|A| + |B|), Jaccard = |A and B| / |A or B|,
    with the areas counted here from the masks."""
    rows, cols = np.indices(SHAPE)
    a = np.hypot(rows - 24, cols - 26) <= 12
    b = np.hypot(rows - 22, cols - 33) <= 9
    row = _one(a, b)
    both, either = (a & b).sum(), (a | b).sum()
    assert row["dice"] == pytest.approx(2 * both / (a.sum() + b.sum()), rel=REL32)
    assert row["jaccard"] == pytest.approx(both / either, rel=REL32)


@pytest.mark.parametrize("axis, k", [(0, 3), (1, 5)])
def test_overshoot_by_k_pixels_is_k_pixels_and_k_spacings_in_mm(axis: int, k: int) -> None:
    """The prediction is the truth grown by k pixels beyond one edge along ``axis``. Every
    boundary distance is at most k steps along that axis, and more than 5% of each direction's
    distances equal it (the whole far edge), so HD = HD95 = k pixels = k x spacing[axis] mm."""
    truth = _rectangle(10, 36, 12, 52)
    pred = _rectangle(10 - k, 36, 12, 52) if axis == 0 else _rectangle(10, 36, 12, 52 + k)
    row = _one(pred, truth)
    for column in ("hd_px", "hd95_px"):
        assert row[column] == pytest.approx(k, rel=REL32)
    for column in ("hd_mm", "hd95_mm"):
        assert row[column] == pytest.approx(k * SPACING[axis], rel=REL32)


@pytest.mark.parametrize("spacing", [(1.0, 1.0), (1.0, 0.5), (0.7, 1.3)])
def test_concentric_circles_are_their_radius_difference_apart_in_mm(spacing) -> None:
    """Discs of radius 9 and 15 mm about one centre, drawn on the spacing's grid: HD and HD95
    are 6 mm. Tolerance one pixel step (the larger spacing): each digitised boundary lies within
    a step inside its circle."""
    sy, sx = spacing
    rows, cols = np.indices((80, 80))
    radius = np.hypot((rows - 40.3) * sy, (cols - 39.6) * sx)
    inner, outer = radius <= 9.0, radius <= 15.0
    row = _one(inner, outer, spacing)
    for column in ("hd_mm", "hd95_mm"):
        assert row[column] == pytest.approx(6.0, abs=max(spacing))
    if sy == sx:
        assert row["hd_px"] == pytest.approx(6.0 / sy, abs=1.0)


def test_volumes_measure_slices_by_their_thickness() -> None:
    """Boxes in a [T, Z, H, W] stack with 8 mm slices: one extra slice is 1 voxel and 8 mm,
    two extra rows 2 voxels and 3 mm; the Dice is exact from the box volumes."""
    spacing = (8.0, *SPACING)
    truth = np.zeros((3, 6, *SHAPE), np.uint8)
    truth[:, 1:4, 10:30, 10:40] = 1
    pred = truth.copy()
    pred[1, 4, 10:30, 10:40] = 1  # one more slice
    pred[2, 1:4, 8:10, 10:40] = 1  # two more rows
    table = volume_metrics(pred, truth, spacing).set_index("frame")
    assert table.loc[0, "dice"] == 1.0 and table.loc[0, "hd_mm"] == 0.0
    assert table.loc[1, "hd_px"] == pytest.approx(1.0, rel=REL32)
    assert table.loc[1, "hd_mm"] == pytest.approx(8.0, rel=REL32)
    assert table.loc[1, "dice"] == pytest.approx(2 * 3 / (3 + 4), rel=REL32)
    assert table.loc[2, "hd_mm"] == pytest.approx(2 * SPACING[0], rel=REL32)
    assert table.loc[2, "dice"] == pytest.approx(2 * 20 / (20 + 22), rel=REL32)


def test_frames_are_scored_independently() -> None:
    truths = np.stack([_rectangle(8, 30, 8, 30), _rectangle(20, 40, 30, 60)])
    preds = np.stack([_rectangle(10, 30, 8, 34), _rectangle(20, 44, 28, 60)])
    together = frame_metrics(preds, truths, SPACING).drop(columns="frame")
    for t in range(2):
        alone = frame_metrics(preds[t : t + 1], truths[t : t + 1], SPACING).drop(columns="frame")
        pd.testing.assert_series_equal(together.iloc[t], alone.iloc[0], check_names=False)


def test_swapping_prediction_and_truth_swaps_the_directed_rates() -> None:
    """Dice, Jaccard and the (symmetric) Hausdorff distances stay; sensitivity becomes PPV and
    specificity NPV, and back."""
    a, b = _rectangle(8, 30, 8, 40), _rectangle(12, 36, 20, 50)
    ab, ba = _one(a, b), _one(b, a)
    for column in ("dice", "jaccard", "hd_mm", "hd95_mm", "hd_px", "hd95_px"):
        assert ab[column] == pytest.approx(ba[column], rel=REL32)
    assert ab["sensitivity"] == pytest.approx(ba["ppv"], rel=REL32)
    assert ab["specificity"] == pytest.approx(ba["npv"], rel=REL32)


def test_empty_masks_follow_the_documented_convention() -> None:
    empty, some, full = np.zeros(SHAPE), _rectangle(10, 20, 10, 20), np.ones(SHAPE)
    rows = frame_metrics(
        np.stack([empty, some, empty, full]), np.stack([empty, empty, some, some]), SPACING
    )
    distances = ["hd_px", "hd95_px", "hd_mm", "hd95_mm"]
    both_empty, truth_empty, pred_empty, pred_full = (rows.iloc[i] for i in range(4))
    nan = ["dice", "jaccard", "sensitivity", "ppv", *distances]
    assert both_empty[nan].isna().all()
    assert both_empty["specificity"] == 1.0 and both_empty["npv"] == 1.0
    assert (
        truth_empty["dice"] == 0.0 and truth_empty["jaccard"] == 0.0 and truth_empty["ppv"] == 0.0
    )
    assert truth_empty[["sensitivity", *distances]].isna().all()
    assert pred_empty["dice"] == 0.0 and pred_empty["sensitivity"] == 0.0
    assert pred_empty[["ppv", *distances]].isna().all()
    assert np.isnan(pred_full["npv"]) and pred_full["sensitivity"] == 1.0
    assert pred_full["hd_mm"] > 0  # both have a boundary, so the distance is measured


def test_bad_input_raises() -> None:
    truth = np.stack([_rectangle(8, 30, 8, 40)])
    with pytest.raises(ValueError, match="binary"):
        frame_metrics(truth * 2, truth, SPACING)
    with pytest.raises(ValueError, match="shape"):
        frame_metrics(truth[:, :40], truth, SPACING)
    with pytest.raises(ValueError, match=r"\[T, H, W\]"):
        frame_metrics(truth[0], truth[0], SPACING)
    with pytest.raises(ValueError, match="spacing"):
        frame_metrics(truth, truth, (1.0,))
    with pytest.raises(ValueError, match=r"\[T, Z, H, W\]"):
        volume_metrics(truth, truth, (8.0, *SPACING))
