"""The paper 003 report rules: tables and figures of a tagstrain experiment.

CPU-only jobs in the core environment (torch is not imported). ``experiment`` is the resolved
experiment (``myoflow.experiment.resolve``) with tagstrain's settings. The tables are composed in
``paper003``, the figures drawn in ``figures``; this module reads the merged evaluation tables
and the few images a figure shows, and writes TSV + Markdown and PNG + SVG.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from myoflow.experiment import reference_group
from myoflow.io.shards import read_record, shard_keys
from myoflow.io.tables import read_tsv
from myoflow.methods.tagstrain import paper003
from myoflow.methods.tagstrain.evaluate import PROVIDED
from myoflow.methods.tagstrain.settings import TRACKER
from myoflow.methods.tagstrain.slices import landmarks_px
from myoflow.methods.tagstrain.tracked import with_reference
from myoflow.record import SliceRecord
from myoflow.report.figures_common import note_figure
from myoflow.report.tables import write_table
from myoflow.tables import REFERENCE, TRUTH

PathLike = str | os.PathLike[str]
#: Why a figure or table that compares with the reference is empty.
NO_REFERENCE = "a model applied to scans without landmarks; the QC table lists them"


def _evaluated(path: PathLike, what: str, experiment: Mapping[str, Any]) -> pd.DataFrame:
    table = read_tsv(path)
    if table.empty:
        raise ValueError(
            f"{path}: no evaluated slice in {what}; the "
            f"{experiment['settings']['evaluate_split']!r} split is empty (more subjects, or "
            "another evaluate_split)"
        )
    return table


def tables_stage(
    experiment: Mapping[str, Any],
    boxes_path: PathLike,
    errors_path: PathLike,
    curves_path: PathLike,
    out_dir: PathLike,
) -> None:
    """Localisation, landmark RMSE, Table 2 and Table 3 (TSV + Markdown) into ``out_dir``.

    On a cohort without reference landmarks (a model applied to new scans), the accuracy tables
    are empty and say so, and Table 3 holds the prediction's group differences."""
    boxes = _evaluated(boxes_path, "the boxes", experiment)
    errors = read_tsv(errors_path)
    curves = _evaluated(curves_path, "the strain curves", experiment)
    name, reference = experiment["name"], f"reference ({experiment['reference']})"
    if REFERENCE not in set(curves["method"]):
        reference += f" — none: the slices hold no reference landmarks ({NO_REFERENCE})"
    write_table(
        paper003.localisation_table(boxes),
        os.path.join(out_dir, "localisation"),
        f"{name}: IoU of the localisation network's ED box with the target box (the ED "
        f"myocardium's extent enlarged by {experiment['settings']['roi']['enlargement']:.0%})",
    )
    # with a tracker reference, every method is also scored against the records' own landmarks
    own = [m for m in (TRUTH, PROVIDED) if m in set(curves["method"])]
    write_table(
        paper003.landmark_table(errors, curves),
        os.path.join(out_dir, "landmark_rmse"),
        f"{name}: root mean squared position error of the 168 landmarks against the "
        f"{reference}" + "".join(f" and against the {m} landmarks" for m in own) + " at ED and "
        "ES, mean and SD over slices",
    )
    references = [m for m in (REFERENCE, *own) if m in set(curves["method"])]
    write_table(
        pd.concat([paper003.table2(curves, against) for against in references])
        if references
        else pd.DataFrame(columns=paper003.TABLE2_COLUMNS),
        os.path.join(out_dir, "table2_strain"),
        f"{name}: ES Green strain per level against the {reference}"
        + "".join(f", then against the {m} landmarks" for m in own)
        + "; bias and precision = mean and SD of the slice differences; paired t-test, "
        "Bonferroni over the 15 tests of a method (significant: p_bonferroni < 0.05)",
    )
    group = reference_group(experiment)
    if group is None:
        groups = pd.DataFrame(columns=["method", "strain", "group", "reference_group"])
        caption = f"{name}: no group to compare with (one group only)"
    else:
        groups = paper003.table3(curves, group)
        caption = (
            f"{name}: mid-ventricular ES εC (ring average) of each group against {group} "
            "(Welch's t-test, 95 % CI of the difference; one value per subject)"
        )
    write_table(groups, os.path.join(out_dir, "table3_groups"), caption)


def _find(paths: Sequence[PathLike], key: str, with_landmarks: bool = False) -> SliceRecord | None:
    """The record ``key`` from the first of ``paths`` that holds it (with landmarks, when
    ``with_landmarks``: the tracker's prediction rather than the localisation's)."""
    for path in paths:
        if key in shard_keys(path):
            rec = read_record(path, key)
            if rec.landmarks is not None or not with_landmarks:
                return rec
    return None


def _reference_of(rec: SliceRecord | None, tracked: Sequence[PathLike]) -> SliceRecord | None:
    """``rec`` with its reference landmarks: its own, or the learnt tracker's from the tracking
    shard of ``tracked`` that holds it (None when none does)."""
    if rec is None or not tracked:
        return rec
    shard = next((p for p in tracked if rec.key in shard_keys(p)), None)
    return with_reference(rec, shard)[0]


def _px(rec: SliceRecord, landmarks_mm: np.ndarray) -> np.ndarray:
    return landmarks_px(rec.replace(landmarks=landmarks_mm))


def figures_stage(
    experiment: Mapping[str, Any],
    boxes_path: PathLike,
    curves_path: PathLike,
    histories: Sequence[PathLike],
    shards: Sequence[PathLike],
    predictions: Sequence[PathLike],
    out_dir: PathLike,
    tracked: Sequence[PathLike] = (),
) -> None:
    """Figure 4 (IoU and boxes), Figure 5 (Bland-Altman per level), Figure 6 (an example slice)
    and the training curves, from the first cohort's slices for the examples; ``tracked``: the
    first cohort's tracking shards of the learnt tracker, when one is the reference (figure 6
    draws its landmarks as the reference)."""
    from myoflow.methods.tagstrain import figures

    boxes = _evaluated(boxes_path, "the boxes", experiment)
    curves = _evaluated(curves_path, "the strain curves", experiment)
    first = experiment["cohorts"][0]
    fig4 = os.path.join(out_dir, "fig4_localisation")
    if np.isfinite(boxes["iou"].to_numpy(float)).any():
        examples = []
        firsts = boxes[boxes["cohort"] == first]
        scored = firsts[np.isfinite(firsts["iou"].to_numpy(float))]
        for title, row in figures.pick_examples(scored) if len(scored) else []:
            rec = _find(shards, f"{row['subject']}/{row['slice_id']}")
            if rec is None or rec.tagged is None:
                continue
            examples.append(figures.BoxExample.from_row(title, row, rec.tagged[0]))
        figures.fig_localisation(boxes, examples, fig4)
    else:
        note_figure(
            f"No target box: the slices hold neither masks nor landmarks\n({NO_REFERENCE})", fig4
        )
    fig5 = os.path.join(out_dir, "fig5_bland_altman")
    if (curves["method"] == REFERENCE).any():
        figures.fig_bland_altman_levels(curves, TRACKER, fig5)
    else:
        note_figure(f"No reference to compare with\n({NO_REFERENCE})", fig5)
    cohort, subject, slice_id = figures.pick_example_slice(
        curves[curves["cohort"] == first], TRACKER
    )
    key = f"{subject}/{slice_id}"
    rec = _reference_of(_find(shards, key), tracked)
    predicted_rec = _find(predictions, key, with_landmarks=True)
    if rec is None or rec.tagged is None or predicted_rec is None:
        raise ValueError(f"figure 6: slice {cohort} {key} is not in the shards given")
    mine = curves[
        (curves["cohort"] == cohort)
        & (curves["subject"] == subject)
        & (curves["slice_id"] == slice_id)
        & (curves["segment"] == 0)
        & curves["method"].isin(["reference", TRACKER])
    ]
    es = int(mine["es_frame"].iloc[0])
    predicted = _px(rec, predicted_rec.landmarks)
    reference = None if rec.landmarks is None else _px(rec, rec.landmarks)
    figures.fig_example_slice(
        figures.SliceExample(
            title=f"{subject}/{slice_id} ({rec.position}, {rec.group})",
            image_ed=rec.tagged[0],
            image_es=rec.tagged[es],
            reference_ed=None if reference is None else reference[0],
            reference_es=None if reference is None else reference[es],
            predicted_ed=predicted[0],
            predicted_es=predicted[es],
            curves=mine,
            method=TRACKER,
            es_time_ms=float(np.asarray(rec.frame_times_ms)[es]),
        ),
        os.path.join(out_dir, "fig6_example"),
    )
    names = [os.path.basename(os.path.dirname(str(p))) for p in histories]
    figures.fig_training_curves(
        {n: read_tsv(p) for n, p in zip(names, histories)},
        os.path.join(out_dir, "tagstrain_training"),
    )
