"""Paper 002's Fig. 4: one test volume's slices segmented by every model, with true positives,
false negatives and false positives in the paper's yellow, green and red.

The figure only draws; :func:`pick_volume` chooses the volume deterministically from the
evaluation's ``segmentation`` table (``paper002.SEGMENTATION``) and the report reads exactly that
subject's stacks. The paper shows "a selected volume"; here it is the end-diastolic volume
whose Dice is the median of the best model's (highest mean Dice) on the test split, so the
figure shows a typical case of the best model rather than a flattering one, and the other
models on the same volume. The slices are the acquired ones (what was annotated), seen through
the network's window and cropped to the myocardium of all panels with a margin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.colors import to_rgba
from matplotlib.patches import Patch

from myoflow.methods.attmnet.paper002 import EMPTY, INTERPOLATED, model_order
from myoflow.report.figures_common import new_figure, require_columns, save_figure

PathLike = str | Path
#: The paper's overlay colours (Fig. 4): true positive, false negative, false positive.
OVERLAY = {"true positive": "#ffd700", "false negative": "#2ca02c", "false positive": "#d62728"}
#: Overlay opacity over the grey image.
ALPHA = 0.6
#: Pixels kept around the myocardium of all panels when cropping.
MARGIN = 4
#: Distances to the median closer than this are a tie (interpolation rounding).
_TIE = 1e-12


@dataclass(frozen=True)
class VolumeChoice:
    """The volume Fig. 4 shows and why: the ``model`` whose median-Dice volume it is."""

    cohort: str
    subject: str
    frame: int
    model: str
    dice: float


def pick_volume(
    segmentation: pd.DataFrame, grid: str = INTERPOLATED, split: str = "test"
) -> VolumeChoice | None:
    """The ED volume of ``split`` whose Dice on ``grid`` is closest to the median of the best
    model's (highest mean Dice; ties to Table I's order, then to the first row); None when no
    model (the empty baseline aside) has a finite ED Dice there."""
    require_columns(
        segmentation,
        ["grid", "split", "method", "is_ed", "cohort", "subject", "frame", "dice"],
        "pick_volume",
    )
    rows = segmentation[
        (segmentation["grid"] == grid)
        & (segmentation["split"] == split)
        & (segmentation["method"] != EMPTY)
        & segmentation["is_ed"].astype(bool)
    ]
    rows = rows[np.isfinite(rows["dice"].to_numpy(float))]
    if rows.empty:
        return None
    means = rows.groupby("method")["dice"].mean()
    best = max(model_order(means.index), key=lambda m: means[m])
    scored = rows[rows["method"] == best]
    dice = scored["dice"].to_numpy(float)
    distance = np.abs(dice - np.median(dice))
    pick = scored.iloc[int(np.flatnonzero(distance <= distance.min() + _TIE)[0])]
    return VolumeChoice(
        str(pick["cohort"]), str(pick["subject"]), int(pick["frame"]), best, float(pick["dice"])
    )


def _crop(masks: Sequence[np.ndarray], shape: tuple[int, ...]) -> tuple[slice, slice]:
    """Rows and columns of the myocardium of every panel and slice, with :data:`MARGIN`."""
    union = np.zeros(shape[-2:], bool)
    for mask in masks:
        union |= np.asarray(mask, bool).any(axis=0)
    if not union.any():
        return slice(None), slice(None)
    rows, cols = np.nonzero(union)
    return (
        slice(max(rows.min() - MARGIN, 0), rows.max() + MARGIN + 1),
        slice(max(cols.min() - MARGIN, 0), cols.max() + MARGIN + 1),
    )


def _overlay(truth: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """RGBA ``[H, W, 4]``: true positives, false negatives, false positives in their colours."""
    rgba = np.zeros((*truth.shape, 4))
    for name, where in (
        ("true positive", truth & pred),
        ("false negative", truth & ~pred),
        ("false positive", ~truth & pred),
    ):
        rgba[where] = to_rgba(OVERLAY[name], ALPHA)
    return rgba


def fig4_volume(
    images: np.ndarray,
    truth: np.ndarray,
    predictions: Mapping[str, np.ndarray],
    scores: Mapping[str, float],
    slice_ids: Sequence[str],
    title: str,
    stem: PathLike,
) -> None:
    """Paper 002 Fig. 4: columns the acquired slices (``images``, ``truth`` and each model's
    mask ``[Z, H, W]``), rows the image, the reference (drawn in the true-positive colour) and
    each model in Table I's order, titled with its ``scores`` (the volume's Dice). Where a 2-D
    network loses the apex, or a local one a slice, it shows as a green slice among yellow."""
    truth = np.asarray(truth, bool)
    preds = {m: np.asarray(predictions[m], bool) for m in model_order(predictions)}
    for name, drawn in {"reference": truth, **preds}.items():
        if drawn.shape != images.shape:
            raise ValueError(f"fig4_volume: {name} has shape {drawn.shape}, images {images.shape}")
    if len(slice_ids) != images.shape[0]:
        raise ValueError(f"fig4_volume: {len(slice_ids)} slice ids for {images.shape[0]} slices")
    rows, cols = _crop([truth, *preds.values()], images.shape)
    panels = [("MRI", None), ("reference", truth), *preds.items()]
    n_slices = images.shape[0]
    fig = new_figure(1.4 * n_slices + 0.8, 1.4 * len(panels) + 0.8)
    axes = fig.subplots(len(panels), n_slices, squeeze=False)
    for r, (name, mask) in enumerate(panels):
        for z in range(n_slices):
            ax = axes[r, z]
            ax.imshow(images[z][rows, cols], cmap="gray", vmin=0.0, vmax=1.0)
            if mask is not None:
                ax.imshow(_overlay(truth[z], mask[z])[rows, cols])
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"slice {slice_ids[z]}", fontsize="small")
        label = f"{name}\nDice {scores[name]:.3f}" if name in scores else name
        axes[r, 0].set_ylabel(label, fontsize="small")
    handles = [Patch(color=colour, alpha=ALPHA, label=name) for name, colour in OVERLAY.items()]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize="small")
    fig.suptitle(title, fontsize="medium")
    save_figure(fig, stem)
