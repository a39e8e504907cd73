"""Paper 002's evaluation of one ``stack3d`` shard: every model's myocardium volumes against the
reference masks, the volumes a lab reads from them, and the QC rows of what could not be scored.

Segmentation (``segmentation``, columns ``paper002.SEGMENTATION``): each evaluated subject's
volumes (one per frame with a reference mask) of every model and of the empty-mask baseline,
scored by MONAI's 3-D metrics (``myoflow.metrics.segmentation.volume_metrics``) on two grids:

* ``interpolated``: the network's ``depth x size x size`` volume with the grid's spacing, what
  the paper's Table I measured; four of five planes there are interpolated (the reference's by
  the preprocessing, linear and thresholded), so an error between slices is partly an error
  against interpolation;
* ``acquired``: the acquired slices only, mapped back exactly (``preprocess.stack3d.to_slices``)
  onto the acquired image, with the spacing (slice gap, row, column): what was imaged and
  annotated. Dice, Jaccard, HD, sensitivity and PPV do not depend on the background, but
  specificity and NPV count the whole acquired image's background, not the window's.

A reference volume without myocardium is not scored (its Dice is 0/0) and gets a QC row.

Volumes (``volumes``, columns ``paper002.VOLUMES``): per subject, frame and method (the reference
masks as ``reference``; the empty baseline has none, its volumes are 0 by construction), by disc
summation on the acquired slices: the myocardial volume is the mask's area times the slice gap, its
mass that times ``settings.MYOCARDIAL_DENSITY``; the LV cavity is, per slice, the pixels the
myocardium encloses (``binary_fill_holes`` minus the mask: the background not 4-connected to the
image's border) times the gap. A slice whose myocardium does not close (a basal crescent at the
outflow tract, a broken prediction) encloses nothing and adds no cavity, and so does a solid apical
disc: ``open_slices`` counts the slices with myocardium and no cavity, so a low EDV can be told from
an open ring. The cavity is therefore that of the closed slices only, a lower bound where the base
is open. Models are measured at every predicted frame, the reference at its masked frames. The
ejection fraction is one value per subject, so it sits on the subject's ED row (frame 0) of each
method with the EDV and ESV it comes from: ``(EDV - ESV) / EDV`` with the cavity at frame 0 and at
the subject's ES frame, NaN without an ES frame or mask there, or with no ED cavity. The phantom's
analytic myocardial volume (covariate ``stack_myocardial_volume_ml``, of the ED geometry) is on the
ED rows too.

QC (``qc``): a subject of the evaluated splits without reference masks (``skipped``), a subject
of the shard not in the split table (``flagged``), an empty reference volume (``flagged``), and
per model a subject missing from its prediction or predicted on another grid, shape or cohort,
or with non-binary masks (``excluded``: that model's rows of the subject are missing, the other
models' and subjects' are scored). Each row names the cohort, subject, file and problem.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy.ndimage import binary_fill_holes

from myoflow.io.volumes import StackGrid, SubjectVolumes, VolumeShard
from myoflow.methods.attmnet.paper002 import (
    ACQUIRED,
    EMPTY,
    INTERPOLATED,
    SEGMENTATION,
    VOLUMES,
)
from myoflow.methods.attmnet.settings import MYOCARDIAL_DENSITY
from myoflow.metrics.segmentation import volume_metrics
from myoflow.preprocess.stack3d import to_slices
from myoflow.qc import qc_table
from myoflow.samples import evaluated_splits, read_splits, split_of
from myoflow.tables import REFERENCE

PathLike = str | os.PathLike[str]
STAGE = "attmnet evaluation"
#: The covariate of the phantom's exact ED myocardial volume (``phantom.stack``).
TRUTH_COVARIATE = "stack_myocardial_volume_ml"
#: ``slice_id`` of a QC row about a whole stack.
WHOLE_STACK = "-"
_MM3_PER_ML = 1000.0


def evaluate_stage(
    experiment: Mapping[str, Any],
    shard: PathLike,
    splits: PathLike,
    predictions: Mapping[str, PathLike],
) -> dict[str, pd.DataFrame]:
    """The tables ``segmentation``, ``volumes`` and ``qc`` of one shard (module docstring);
    ``predictions``: model -> its prediction shard of ``shard``."""
    split = split_of(read_splits([splits]))
    wanted = evaluated_splits(experiment)
    seg: list[pd.DataFrame] = []
    vols: list[pd.DataFrame] = []
    qc: list[dict[str, Any]] = []
    with contextlib.ExitStack() as stack:
        opened = {m: stack.enter_context(VolumeShard(p)) for m, p in predictions.items()}
        predicted = {model: set(volumes.subject_names()) for model, volumes in opened.items()}
        truth = stack.enter_context(VolumeShard(shard))
        chosen = []
        for name in truth.subject_names():
            cohort = truth.meta(name)["cohort"]
            where = split.get((cohort, name))
            if where is None:
                qc.append(_qc(cohort, name, "flagged", "not in the split table", truth.path))
            elif where in wanted:
                chosen.append(name)
        for vol in truth.subjects(chosen):
            reference = vol.masks
            if reference is None:
                qc.append(_qc(vol.cohort, vol.subject, "skipped", "no reference masks", shard))
                continue
            ids = {
                "experiment": experiment["name"],
                "cohort": vol.cohort,
                "subject": vol.subject,
                "group": vol.group,
                "split": split[(vol.cohort, vol.subject)],
            }
            masks = {}
            for model, volumes in opened.items():
                mask = _prediction(vol, volumes, predicted[model], qc)
                if mask is not None:
                    masks[model] = mask
            seg.append(_segmentation(vol, reference.astype(bool), ids, masks, shard, qc))
            vols.append(_volumes(vol, ids, {REFERENCE: reference, **masks}))
    return {
        "segmentation": _table(seg, SEGMENTATION),
        "volumes": _table(vols, VOLUMES),
        "qc": qc_table(qc),
    }


def _table(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    parts = [part for part in parts if not part.empty]
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]


def _qc(cohort: str, subject: str, status: str, reason: str, file: PathLike) -> dict[str, Any]:
    return {
        "cohort": cohort,
        "subject": subject,
        "slice_id": WHOLE_STACK,
        "stage": STAGE,
        "status": status,
        "reason": reason,
        "file": os.fspath(file),
    }


def _prediction(
    vol: SubjectVolumes, volumes: VolumeShard, names: set[str], qc: list[dict[str, Any]]
) -> np.ndarray | None:
    """A model's masks ``[T, D, S, S]`` bool of ``vol``, or None after a QC row saying why."""
    problem = None
    if vol.subject not in names:
        problem = "no prediction of the subject"
    else:
        (pred,) = volumes.subjects([vol.subject])
        if pred.cohort != vol.cohort:
            problem = f"predicted as cohort {pred.cohort!r}"
        elif pred.grid != vol.grid:
            problem = f"predicted on grid {pred.grid}, the reference is on {vol.grid}"
        elif pred.masks is None or pred.masks.shape != vol.images.shape:
            shape = None if pred.masks is None else pred.masks.shape
            problem = f"predicted masks of shape {shape}, images of {vol.images.shape}"
        elif pred.masks.max(initial=0) > 1:
            problem = f"predicted masks are not binary (values up to {pred.masks.max()})"
        else:
            return pred.masks.astype(bool)
    qc.append(_qc(vol.cohort, vol.subject, "excluded", problem, volumes.path))
    return None


def acquired_spacing(grid: StackGrid) -> tuple[float, float, float]:
    """(slice gap, row, column) in mm: the spacing of the acquired slices."""
    plane, row, col = grid.spacing_mm
    return plane * grid.factor, row, col


def _segmentation(
    vol: SubjectVolumes,
    truth: np.ndarray,
    ids: dict[str, Any],
    masks: Mapping[str, np.ndarray],
    shard: PathLike,
    qc: list[dict[str, Any]],
) -> pd.DataFrame:
    """Every model's and the baseline's rows on both grids for one subject's masked frames
    (``truth``: the reference masks, bool)."""
    empty = ~truth.any(axis=(1, 2, 3))
    if empty.any():
        reason = f"empty reference volume at frames {np.flatnonzero(empty).tolist()}"
        qc.append(_qc(vol.cohort, vol.subject, "flagged", reason, shard))
    frames = np.flatnonzero(~empty)
    if not frames.size:
        return pd.DataFrame()
    truth = truth[frames]
    scored = {EMPTY: np.zeros_like(truth), **{m: mask[frames] for m, mask in masks.items()}}
    grids = {
        INTERPOLATED: (lambda m: m, vol.grid.spacing_mm),
        ACQUIRED: (lambda m: to_slices(m, vol.grid), acquired_spacing(vol.grid)),
    }
    parts = []
    for grid, (view, spacing) in grids.items():
        reference = view(truth)
        for model, mask in scored.items():
            table = volume_metrics(view(mask), reference, spacing)
            parts.append(table.assign(**ids, grid=grid, **_frame_columns(vol, model, frames)))
    return pd.concat(parts, ignore_index=True)


def _frame_columns(vol: SubjectVolumes, method: str, frames: np.ndarray) -> dict[str, Any]:
    return {
        "method": method,
        "frame": frames,
        "time_ms": vol.frame_times_ms[frames],
        "is_ed": frames == 0,
        "is_es": frames == (-1 if vol.es_frame is None else vol.es_frame),
    }


def disc_volumes(masks: np.ndarray, grid: StackGrid) -> pd.DataFrame:
    """Per frame of ``masks [F, depth, size, size]``: ``myocardial_volume_ml``,
    ``cavity_volume_ml``, ``myocardium_slices`` and ``open_slices`` by disc summation on the
    acquired slices (module docstring)."""
    slices = to_slices(masks.astype(bool), grid)
    gap, row, col = acquired_spacing(grid)
    ml_per_pixel = row * col * gap / _MM3_PER_ML
    myocardium = slices.sum(axis=(2, 3))
    cavity = np.zeros(myocardium.shape, np.int64)
    for index in np.ndindex(*myocardium.shape):
        if myocardium[index]:
            ring = slices[index]
            cavity[index] = int((binary_fill_holes(ring) & ~ring).sum())
    return pd.DataFrame(
        {
            "myocardial_volume_ml": myocardium.sum(axis=1) * ml_per_pixel,
            "cavity_volume_ml": cavity.sum(axis=1) * ml_per_pixel,
            "myocardium_slices": (myocardium > 0).sum(axis=1),
            "open_slices": ((myocardium > 0) & (cavity == 0)).sum(axis=1),
        }
    )


def _volumes(
    vol: SubjectVolumes, ids: dict[str, Any], masks: Mapping[str, np.ndarray]
) -> pd.DataFrame:
    """The volume rows of one subject's ``masks`` by method, the reference's included
    (module docstring)."""
    truth = vol.extra.get("covariates", {}).get(TRUTH_COVARIATE)
    parts = []
    for method, mask in masks.items():
        frames = np.arange(mask.shape[0])
        table = disc_volumes(mask, vol.grid)
        table = table.assign(**ids, **_frame_columns(vol, method, frames))
        table["myocardial_mass_g"] = table["myocardial_volume_ml"] * MYOCARDIAL_DENSITY
        ed = table["is_ed"].to_numpy()
        table[["truth_myocardial_volume_ml", "edv_ml", "esv_ml", "ef"]] = np.nan
        if truth is not None:
            table.loc[ed, "truth_myocardial_volume_ml"] = float(truth)
        es = vol.es_frame
        if es is not None and 0 < es < len(table):
            edv, esv = (float(table.at[f, "cavity_volume_ml"]) for f in (0, es))
            table.loc[ed, ["edv_ml", "esv_ml"]] = edv, esv
            table.loc[ed, "ef"] = (edv - esv) / edv if edv > 0 else np.nan
        parts.append(table)
    return pd.concat(parts, ignore_index=True)
