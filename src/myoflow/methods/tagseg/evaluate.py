"""Paper 001's evaluation of one shard: Dice and HD95 per tagged frame and model, the realism of
each cine -> tagged transform, and the QC rows of what could not be scored.

Segmentation (``segmentation``): every segmenter's mask of every evaluated tagged frame of the
tagged cohorts against the frame's own mask, with MONAI's metrics (``myoflow.metrics.
segmentation``; HD95 in mm with the profile's pixel spacing, on the profile's 256 x 256 grid
the networks see), beside the empty-mask baseline the issue asks for (Dice 0, no boundary). A
frame without a reference mask is not scored and its slice gets a QC row.

Realism (``realism_frames``): where a slice has both series (the phantom: the same heart imaged both
ways), each frame's pseudo-tagged version, by physics (made here, with the experiment's
settings, seeded by the slice's name) and by the CycleGAN (its prediction shard), against the
true tagged frame: SSIM around the heart and the tag period, angle and modulation measured from
the spectrum (``myoflow.methods.tagseg.realism``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from myoflow.io.frames import FrameShard
from myoflow.methods.tagseg.pseudotag import PseudoTagSettings, pseudo_tagged
from myoflow.methods.tagseg.realism import realism_row
from myoflow.methods.tagseg.settings import CYCLEGAN, ModelSpec, model_plan
from myoflow.methods.tagseg.stages import evaluated_splits
from myoflow.metrics.segmentation import frame_metrics
from myoflow.qc import qc_row_skipped, qc_table
from myoflow.record import SliceRecord
from myoflow.samples import read_splits, slice_columns, split_of
from myoflow.tables import TAGSEG_REALISM, TAGSEG_SEGMENTATION

PathLike = str | os.PathLike[str]
#: The trivial baseline's name: a mask with no myocardium.
EMPTY = "empty_mask"
STAGE = "tagseg evaluation"


def evaluate_stage(
    experiment: Mapping[str, Any],
    shard: PathLike,
    splits: PathLike,
    predictions: Mapping[str, PathLike],
) -> dict[str, pd.DataFrame]:
    """The tables ``segmentation``, ``realism_frames`` and ``qc`` of one shard."""
    settings = experiment["settings"]
    plan = model_plan(settings)
    split = split_of(read_splits([splits]))
    wanted = evaluated_splits(experiment)
    seg_rows: list[pd.DataFrame] = []
    realism_rows: list[dict[str, Any]] = []
    qc: list[dict[str, Any]] = []
    opened = {model: FrameShard(path) for model, path in predictions.items()}
    try:
        predicted = {model: set(frames.slice_keys()) for model, frames in opened.items()}
        with FrameShard(shard) as truth:
            for key in truth.slice_keys():
                meta = truth.meta(key)
                where = split.get((meta["cohort"], meta["subject"]))
                if where not in wanted:
                    continue
                (rec,) = truth.records([key])
                ids = slice_columns(experiment, rec, where)
                if rec.cohort in settings["tagged_cohorts"] and rec.tagged is not None:
                    if rec.mask is None or rec.mask.shape[0] != rec.n_frames:
                        qc.append(qc_row_skipped(rec, STAGE, "no_reference_mask_per_frame"))
                    else:
                        scored = _segmentation(rec, ids, plan, opened, predicted, qc)
                        seg_rows.append(scored)
                if rec.cine is not None and rec.tagged is not None and rec.mask is not None:
                    translated = _translated(opened, predicted, key)
                    realism_rows += _realism(rec, ids, settings, translated)
    finally:
        for frames in opened.values():
            frames.close()
    segmentation = (
        pd.concat(seg_rows, ignore_index=True)[TAGSEG_SEGMENTATION]
        if seg_rows
        else pd.DataFrame(columns=TAGSEG_SEGMENTATION)
    )
    return {
        "segmentation": segmentation,
        "realism_frames": pd.DataFrame(realism_rows, columns=TAGSEG_REALISM),
        "qc": qc_table(qc),
    }


def _segmentation(
    rec: SliceRecord,
    ids: dict[str, Any],
    plan: Mapping[str, ModelSpec],
    opened: Mapping[str, FrameShard],
    predicted: Mapping[str, set[str]],
    qc: list[dict[str, Any]],
) -> pd.DataFrame:
    """Every segmenter's rows and the baseline's for one slice's tagged frames."""
    truth = rec.mask.astype(bool)  # type: ignore[union-attr]
    empty = ~truth.any(axis=(1, 2))
    if empty.any():
        qc.append(
            qc_row_skipped(rec, STAGE, f"empty_reference_mask_frames_{np.flatnonzero(empty)}")
        )
    masks = {EMPTY: np.zeros_like(truth)}
    for model, spec in plan.items():
        if spec.kind == "cyclegan":
            continue
        if rec.key not in predicted[model]:
            raise ValueError(f"{opened[model].path}: no prediction of {rec.cohort}:{rec.key}")
        (pred,) = opened[model].records([rec.key])
        masks[model] = pred.mask.astype(bool)  # type: ignore[union-attr]
    frames: list[pd.DataFrame] = []
    for model, mask in masks.items():
        spec = plan.get(model)
        table = frame_metrics(mask, truth, rec.pixel_spacing_mm)
        table = table[~empty[table["frame"].to_numpy()]]
        frames.append(
            table.assign(
                **ids,
                method=model,
                against="reference_mask",
                time_ms=rec.frame_times_ms[table["frame"].to_numpy()],
                is_ed=table["frame"] == rec.ed_frame,
                is_es=table["frame"] == (-1 if rec.es_frame is None else rec.es_frame),
                kind="baseline" if spec is None else spec.kind,
                architecture=None if spec is None else spec.architecture,
                strategy=None if spec is None else (spec.strategy or spec.source),
                gamma=None if spec is None else spec.gamma,
            )
        )
    return pd.concat(frames, ignore_index=True)


def _translated(
    opened: Mapping[str, FrameShard], predicted: Mapping[str, set[str]], key: str
) -> np.ndarray | None:
    """The CycleGAN's translation of the slice's cine, when the experiment has a CycleGAN."""
    if CYCLEGAN not in opened or key not in predicted[CYCLEGAN]:
        return None
    (rec,) = opened[CYCLEGAN].records([key])
    return rec.tagged


def _realism(
    rec: SliceRecord,
    ids: dict[str, Any],
    settings: Mapping[str, Any],
    translated: np.ndarray | None,
) -> list[dict[str, Any]]:
    """One row per frame and transform of a slice with cine, tagged series and mask."""
    seed = int.from_bytes(hashlib.sha256(f"{rec.cohort}/{rec.key}".encode()).digest()[:4], "big")
    options = PseudoTagSettings(**settings["physics"])
    physics, _ = pseudo_tagged(
        rec.cine,  # type: ignore[arg-type]
        rec.pixel_spacing_mm,
        options,
        np.random.default_rng([int(settings["seed"]), seed]),
        rec.frame_times_ms - rec.frame_times_ms[0],
        rec.displacement if options.moving_tags else None,
    )
    transforms = {"physics": physics}
    if translated is not None:
        transforms[CYCLEGAN] = translated
    mask = rec.mask.astype(bool)  # type: ignore[union-attr]
    rows = []
    for name, images in transforms.items():
        for t in range(rec.n_frames):
            heart = mask[t if mask.shape[0] > 1 else 0]
            if not heart.any():
                continue
            row = realism_row(images[t], rec.tagged[t], heart, rec.pixel_spacing_mm)  # type: ignore[index]
            rows.append({**ids, "transform": name, "frame": t, **row})
    return rows
