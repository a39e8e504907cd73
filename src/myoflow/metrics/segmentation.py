"""Binary segmentation accuracy: overlap, boundary distance and confusion-matrix rates.

Per frame on 2-D masks ``[T, H, W]`` (paper 001 segments tagged frames; paper 000's myocardium)
and per volume on stacks ``[T, Z, H, W]`` (paper 002's 3-D Attention M-net), one row per frame
with the columns :data:`myoflow.tables.SEGMENTATION_COLUMNS`. Everything comes from MONAI
(``monai.metrics``), so the definitions are the field's; this module only batches the masks,
passes the spacing and states what an empty mask gives.

* ``dice``, ``jaccard``, ``sensitivity``, ``specificity``, ``ppv``, ``npv``: MONAI's
  confusion matrix (``get_confusion_matrix``) and its ratios
  (``compute_confusion_matrix_metric``): Dice = "f1 score" = 2TP / (2TP + FP + FN), Jaccard =
  "threat score" = TP / (TP + FP + FN), sensitivity = TP / (TP + FN), specificity =
  TN / (TN + FP), PPV = TP / (TP + FP), NPV = TN / (TN + FN). MONAI counts in float32, exact up
  to 2^24 foreground pixels per mask.
* ``hd_*``, ``hd95_*``: MONAI's symmetric Hausdorff distance (``compute_hausdorff_distance``)
  between the boundaries of the two masks (foreground pixels with a face-neighbour outside, by
  binary erosion), through exact Euclidean nearest-boundary distances; HD95 takes the 95th
  percentile (linear interpolation) of each direction's distances and keeps the larger. ``_px``
  measures in pixel (voxel) steps, ``_mm`` with the ``spacing_mm`` given per array axis, so an
  anisotropic grid (thick slices, rectangular pixels) is measured in millimetres; in pixel
  steps a 3-D stack mixes slice and in-plane steps, which is why the mm value is the one to
  compare across cohorts. MONAI 1.6.1 takes the spacing for the Euclidean metric only, used here.

Empty masks, where a formula divides by zero, follow MONAI's confusion-matrix convention: the
ratio is NaN when its denominator is 0 and is computed otherwise. So:

* truth and prediction both empty: Dice, Jaccard, sensitivity and PPV are NaN (0/0: nothing to
  find and nothing found; the frame says nothing about overlap), specificity and NPV are 1;
* truth empty, prediction not: Dice and Jaccard are 0 (every predicted pixel is a false
  positive, a real error), sensitivity NaN, PPV 0. MONAI's ``DiceMetric`` would give NaN here by
  default (``ignore_empty=True``); the confusion-matrix form keeps the false positives visible;
* prediction empty, truth not: Dice, Jaccard, sensitivity 0, PPV NaN;
* a mask that fills the whole grid makes specificity (truth) or NPV (prediction) NaN.

The Hausdorff distances are NaN whenever either mask is empty: with no boundary on one side
there is no distance. (MONAI returns inf for HD but NaN for HD95 when one mask is empty, and
NaN for both when both are; one rule keeps means over frames finite, and the failure is still
seen in ``n_pred``, ``n_truth`` and Dice.) The empty masks are not passed to MONAI at all.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from monai.metrics import (
    compute_confusion_matrix_metric,
    compute_hausdorff_distance,
    get_confusion_matrix,
)
from numpy.typing import ArrayLike

from myoflow.tables import SEGMENTATION_COLUMNS

#: Our column name -> MONAI's confusion-matrix metric name.
RATIOS = {
    "dice": "f1 score",
    "jaccard": "threat score",
    "sensitivity": "sensitivity",
    "specificity": "specificity",
    "ppv": "precision",
    "npv": "negative predictive value",
}
#: Hausdorff columns: (column, percentile, measured in mm).
DISTANCES = (
    ("hd_px", None, False),
    ("hd95_px", 95.0, False),
    ("hd_mm", None, True),
    ("hd95_mm", 95.0, True),
)


def _binary(masks: ArrayLike, name: str) -> np.ndarray:
    """``masks`` as bool, after checking that they hold only 0 and 1 (or False and True)."""
    array = np.asarray(masks)
    as_bool = array.astype(bool)
    if not np.array_equal(array, as_bool):
        raise ValueError(f"{name} must be binary (0/1 or bool), got values {np.unique(array)[:5]}")
    return as_bool


def _metrics(
    pred: ArrayLike, truth: ArrayLike, spacing_mm: Sequence[float], spatial_dims: int
) -> pd.DataFrame:
    """One row per frame (the leading axis) of binary masks with ``spatial_dims`` axes after it."""
    p = _binary(pred, "prediction")
    y = _binary(truth, "truth")
    layout = "[T, H, W]" if spatial_dims == 2 else "[T, Z, H, W]"
    if y.ndim != spatial_dims + 1 or y.shape[0] < 1:
        raise ValueError(f"truth masks must be {layout}, got shape {y.shape}")
    if p.shape != y.shape:
        raise ValueError(f"prediction masks have shape {p.shape} but the truth {y.shape}")
    spacing = tuple(float(s) for s in spacing_mm)
    if len(spacing) != spatial_dims or not all(np.isfinite(spacing)) or min(spacing) <= 0:
        raise ValueError(f"spacing_mm must be {spatial_dims} positive values, got {spacing_mm}")

    axes = tuple(range(1, spatial_dims + 1))
    table = pd.DataFrame({"n_truth": y.sum(axis=axes), "n_pred": p.sum(axis=axes)})
    # MONAI's layout: [batch, channel, *spatial], one channel (the foreground), float.
    p_t = torch.from_numpy(p[:, None]).float()
    y_t = torch.from_numpy(y[:, None]).float()
    confusion = get_confusion_matrix(p_t, y_t, include_background=True)
    for column, name in RATIOS.items():
        table[column] = compute_confusion_matrix_metric(name, confusion)[:, 0].double().numpy()

    both = (table["n_truth"] > 0).to_numpy() & (table["n_pred"] > 0).to_numpy()
    for column, percentile, in_mm in DISTANCES:
        values = np.full(len(table), np.nan)
        if both.any():
            with warnings.catch_warnings():
                # MONAI 1.6.1 passes its own deprecated argument to get_mask_edges internally.
                warnings.filterwarnings("ignore", ".*always_return_as_numpy", FutureWarning)
                hd = compute_hausdorff_distance(
                    p_t[both],
                    y_t[both],
                    include_background=True,
                    percentile=percentile,
                    spacing=[spacing] * int(both.sum()) if in_mm else None,
                )
            values[both] = hd[:, 0].double().numpy()
        table[column] = values
    table.insert(0, "frame", np.arange(len(table)))
    return table[["frame", *SEGMENTATION_COLUMNS]]


def frame_metrics(pred: ArrayLike, truth: ArrayLike, spacing_mm: Sequence[float]) -> pd.DataFrame:
    """2-D metrics of each frame of binary masks ``[T, H, W]``.

    ``spacing_mm`` is ``(row, column)``, the record's ``pixel_spacing_mm``. One row per frame,
    columns ``frame`` and :data:`myoflow.tables.SEGMENTATION_COLUMNS` (NaN cases in the module
    docstring).

    Raises:
        ValueError: the masks are not binary, not ``[T, H, W]`` or of different shapes, or the
            spacing is not two positive numbers.
    """
    return _metrics(pred, truth, spacing_mm, spatial_dims=2)


def volume_metrics(pred: ArrayLike, truth: ArrayLike, spacing_mm: Sequence[float]) -> pd.DataFrame:
    """3-D metrics of each frame's volume of binary stacks ``[T, Z, H, W]``.

    ``spacing_mm`` is ``(slice, row, column)``: the distance between consecutive slices (the
    stack must be evenly spaced; MONAI takes one spacing per axis) and the pixel spacing. One
    row per frame, columns ``frame`` and :data:`myoflow.tables.SEGMENTATION_COLUMNS`.

    Raises:
        ValueError: as :func:`frame_metrics`, for ``[T, Z, H, W]`` and three spacings.
    """
    return _metrics(pred, truth, spacing_mm, spatial_dims=3)
