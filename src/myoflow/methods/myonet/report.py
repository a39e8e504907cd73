"""The MyoNet / ResMyoNet report rules (paper 000): tables and figures.

CPU-only jobs in the core environment. ``experiment`` is the resolved experiment of
``myoflow.experiment.resolve`` (see ``myoflow.methods.myonet.stages``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from myoflow.experiment import reference_group
from myoflow.io.shards import read_record, shard_keys
from myoflow.io.tables import read_tsv
from myoflow.record import SliceRecord
from myoflow.tables import TRUTH


def _read(path: str | os.PathLike[str]) -> pd.DataFrame:
    return read_tsv(path)


def tables_stage(
    experiment: Mapping[str, Any],
    metrics_path: str | os.PathLike[str],
    summary_path: str | os.PathLike[str],
    histories: Sequence[str | os.PathLike[str]],
    models: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
) -> None:
    """Paper 000 Table 1, Table 2, the group-effect table and the timing table (TSV + Markdown).

    ``histories`` and ``models`` hold one file per network in ``settings.nets`` order.
    """
    from myoflow.methods.myonet import paper000
    from myoflow.report.tables import write_table

    nets = list(experiment["settings"]["nets"])
    summary = _read(summary_path)
    metrics = _read(metrics_path)
    if summary.empty:
        raise ValueError(
            f"{summary_path}: no evaluated slice; the {experiment['settings']['evaluate_split']!r} "
            "split is empty (more subjects, or another evaluate_split)"
        )
    name = experiment["name"]
    reference = f"reference ({experiment['reference']})"
    with_truth = TRUTH in set(summary["method"])
    shown = f"{reference}{', truth' if with_truth else ''}"
    write_table(
        paper000.segment_table(summary),
        os.path.join(out_dir, "table1_segments"),
        f"{name}: end-systolic Green-Lagrange strain per AHA segment, {shown} and networks",
    )
    truth_note = (
        "; rows `against: truth` compare every method, the tracker included, with the phantom's "
        "exact motion"
        if with_truth
        else ""
    )
    write_table(
        paper000.agreement_table_rows(
            summary, metrics, reference_name=experiment.get("tracker") or paper000.REFERENCE
        ),
        os.path.join(out_dir, "table2_agreement"),
        f"{name}: displacement accuracy and strain agreement with the {reference}{truth_note}",
    )
    group = reference_group(experiment)
    if group is None:
        groups = pd.DataFrame(columns=["method", "strain", "group", "reference_group"])
    else:
        groups = paper000.group_table(summary, group)
    write_table(
        groups,
        os.path.join(out_dir, "group_effects"),
        f"{name}: group effects on global ES strain (Welch tests against {group})",
    )
    write_table(
        paper000.timing_table(
            {n: _read(p) for n, p in zip(nets, histories)},
            {n: _read(p) for n, p in zip(nets, models)},
        ),
        os.path.join(out_dir, "timing"),
        f"{name}: training time",
    )


def _figure_slice(
    experiment: Mapping[str, Any],
    summary: pd.DataFrame,
    references: Sequence[str | os.PathLike[str]],
    predictions: Sequence[str | os.PathLike[str]],
    tracked: Sequence[str | os.PathLike[str]] = (),
) -> tuple[SliceRecord, np.ndarray, dict[str, np.ndarray]]:
    """The first evaluated mid-ventricular slice (else the first evaluated one) of the first
    cohort, its reference displacement and the displacements compared with it.

    ``references`` holds the first cohort's preprocessed shards and ``tracked``, with a tracker
    reference, its tracking shards (same file names): the tracked displacement is then the
    reference, and on a phantom the exact motion is shown as ``truth`` beside the networks'
    predictions. The slice is chosen from
    the summary table and then read alone, so a large cohort's predictions are never loaded for
    one figure.
    """
    nets = list(experiment["settings"]["nets"])
    tracked_by_name = {Path(p).name: p for p in tracked}
    tracker = experiment.get("tracker")
    if tracker and not tracked_by_name:
        raise ValueError(f"reference {tracker!r}: no tracking shard given for Fig. 4")
    rows = summary[summary["cohort"] == experiment["cohorts"][0]]
    if rows.empty:
        raise ValueError("no evaluated slice to show in Fig. 4")
    mid = rows[rows["position"] == "mid"]
    first = (mid if len(mid) else rows).iloc[0]
    key = f"{first['subject']}/{first['slice_id']}"
    # .../predictions/<net>/<cohort>/shard-NNN.h5 pairs with .../preprocessed/crop/shard-NNN.h5
    predicted = {(Path(p).parents[1].name, Path(p).name): p for p in predictions}
    for path in references:
        if key in shard_keys(path):
            rec = read_record(path, key)
            fields = {net: read_record(predicted[net, Path(path).name], key) for net in nets}
            break
    else:
        raise ValueError(f"slice {key} is in no preprocessed shard of the first cohort")
    shown = {net: f.displacement for net, f in fields.items() if f.displacement is not None}
    reference = rec.displacement
    if tracker:
        reference = read_record(tracked_by_name[Path(path).name], key).displacement
    if reference is None or len(shown) != len(nets):
        raise ValueError(f"slice {key} lacks a reference or predicted displacement")
    if tracker and experiment["synthetic"].get(rec.cohort) and rec.displacement is not None:
        shown = {TRUTH: rec.displacement, **shown}
    return rec, reference, shown


def figures_stage(
    experiment: Mapping[str, Any],
    summary_path: str | os.PathLike[str],
    curves_path: str | os.PathLike[str],
    histories: Sequence[str | os.PathLike[str]],
    predictions: Sequence[str | os.PathLike[str]],
    references: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    tracked: Sequence[str | os.PathLike[str]] = (),
) -> None:
    """Paper 000 Figures 4-7, strain curves over the cycle and the AHA bullseye.

    ``predictions`` lists the prediction shards of the first cohort for every network (the
    network is the folder name); ``references`` that cohort's preprocessed shards; ``tracked``
    its tracking shards when a tracker is the reference.
    """
    from myoflow.methods.myonet import paper000
    from myoflow.report import figures
    from myoflow.samples import ed_mask

    nets = list(experiment["settings"]["nets"])
    summary = _read(summary_path)
    rec, reference, fields = _figure_slice(experiment, summary, references, predictions, tracked)
    frame = rec.es_frame if rec.es_frame is not None else rec.n_frames // 2
    figures.fig_displacement(
        reference,
        fields,
        ed_mask(rec),
        frame,
        rec.pixel_spacing_mm,
        os.path.join(out_dir, "fig4_displacement"),
        title=f"{rec.cohort} {rec.subject} {rec.slice_id}, frame {frame}",
    )
    figures.fig_segments(summary, os.path.join(out_dir, "fig5_segments"))
    pairs = paper000.strain_pairs(summary)
    stats = paper000.agreement_rows(summary)
    stats = stats[stats["against"] == paper000.REFERENCE]
    figures.fig_bland_altman(pairs, stats, os.path.join(out_dir, "fig6_bland_altman"))
    figures.fig_training(
        {n: _read(p) for n, p in zip(nets, histories)}, os.path.join(out_dir, "fig7_training")
    )
    figures.fig_strain_curves(_read(curves_path), os.path.join(out_dir, "strain_curves"))
    figures.fig_bullseye(summary, os.path.join(out_dir, "bullseye"))
