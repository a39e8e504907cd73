"""The paper 002 report rules: Table I, the Wilcoxon tests, the volume agreement and Fig. 4.

CPU-only jobs in the core environment (torch is not imported: the parameter counts come from
each model's ``model.tsv``, written where it trained). The tables are composed in ``paper002``,
the figure drawn in ``figures``; this module reads the merged evaluation tables, the models'
records and the one subject Fig. 4 shows, and writes TSV + Markdown, PNG + SVG. A model's name
is its folder's (``results/models/<exp>/<model>/model.tsv``,
``.../predictions/<model>/<cohort>/shard-NNN.h5``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from myoflow.io.tables import read_tsv
from myoflow.io.volumes import SubjectVolumes, VolumeShard
from myoflow.methods.attmnet import figures, paper002
from myoflow.methods.base import files_by_model
from myoflow.report.figures_common import note_figure
from myoflow.report.tables import write_table
from myoflow.samples import evaluated_splits

PathLike = str | os.PathLike[str]


def table_split(experiment: Mapping[str, Any]) -> str:
    """The split Table I summarises: the test split when it is evaluated (the paper's), else
    the first evaluated split."""
    splits = evaluated_splits(experiment)
    return "test" if "test" in splits else splits[0]


def tables_stage(
    experiment: Mapping[str, Any],
    segmentation_path: PathLike,
    volumes_path: PathLike,
    infos: Sequence[PathLike],
    out_dir: PathLike,
) -> None:
    """``table1_models`` (the interpolated grid, the paper's), ``table1_acquired``, ``wilcoxon``
    and ``volume_agreement`` (TSV + Markdown) in ``out_dir``."""
    out = Path(out_dir)
    segmentation = read_tsv(segmentation_path)
    if segmentation.empty:
        raise ValueError(
            f"{segmentation_path}: no volume was scored (the evaluated splits "
            f"{list(evaluated_splits(experiment))} hold no subject with reference masks; the QC "
            "table says why)"
        )
    split = table_split(experiment)
    records = {model: read_tsv(files[0]) for model, files in files_by_model(infos, 0).items()}
    write_table(
        paper002.table1(segmentation, records, paper002.INTERPOLATED, split),
        out / "table1_models",
        f"Table I: segmentation of the {split} volumes on the {paper002.INTERPOLATED} grid "
        "(mean and SD per volume; HD in voxels and mm)",
        digits=4,
    )
    write_table(
        paper002.table1(segmentation, records, paper002.ACQUIRED, split),
        out / "table1_acquired",
        f"Table I on the acquired slices only: segmentation of the {split} volumes mapped back "
        "from the interpolated grid (the planes between slices are interpolated, not measured)",
        digits=4,
    )
    write_table(
        paper002.wilcoxon_table(segmentation, split=split),
        out / "wilcoxon",
        f"Two-sided Wilcoxon rank-sum tests between models, {split} volumes, per grid "
        "(Bonferroni per metric and grid)",
    )
    write_table(
        paper002.volume_agreement(read_tsv(volumes_path)),
        out / "volume_agreement",
        "Myocardial volume, mass, EDV, ESV and EF of each model against the reference masks "
        "(and the phantom's truth volume), disc summation on the acquired slices",
        digits=4,
    )


def _subject(paths: Sequence[PathLike], cohort: str, subject: str) -> SubjectVolumes | None:
    """The subject ``subject`` of ``cohort`` from the first of the shards that holds it."""
    for path in paths:
        with VolumeShard(path) as shard:
            if subject in shard.subject_names() and shard.meta(subject)["cohort"] == cohort:
                return next(shard.subjects([subject]))
    return None


def _acquired(volume: np.ndarray, vol: SubjectVolumes) -> np.ndarray:
    """The acquired slices' planes of ``volume [D, S, S]``: ``[Z, S, S]`` in the window."""
    return volume[list(vol.grid.planes)]


def figures_stage(
    experiment: Mapping[str, Any],
    segmentation_path: PathLike,
    shards: Sequence[PathLike],
    predictions: Sequence[PathLike],
    out_dir: PathLike,
) -> None:
    """Fig. 4 (``fig4_volume``, PNG + SVG) in ``out_dir``; a figure saying why when no volume
    of a model on the split has a Dice."""
    stem = Path(out_dir) / "fig4_volume"
    segmentation = read_tsv(segmentation_path)
    split = table_split(experiment)
    choice = figures.pick_volume(segmentation, split=split)
    if choice is None:
        note_figure(f"Fig. 4: no scored end-diastolic {split} volume of a model", stem)
        return
    truth = _subject(shards, choice.cohort, choice.subject)
    if truth is None or truth.masks is None:
        raise ValueError(
            f"{choice.cohort}:{choice.subject} has no reference masks in the truth shards "
            f"{[os.fspath(path) for path in shards]}"
        )
    frame = choice.frame
    scored = segmentation[
        (segmentation["grid"] == paper002.INTERPOLATED)
        & (segmentation["cohort"] == choice.cohort)
        & (segmentation["subject"] == choice.subject)
        & (segmentation["frame"] == frame)
    ]
    scores = dict(zip(scored["method"], scored["dice"].astype(float), strict=True))
    masks = {}
    for model, paths in files_by_model(predictions, 1).items():
        predicted = _subject(paths, choice.cohort, choice.subject)
        if predicted is not None and predicted.masks is not None:
            masks[model] = _acquired(predicted.masks[frame], truth)
    figures.fig4_volume(
        _acquired(truth.images[frame], truth),
        _acquired(truth.masks[frame if truth.masks.shape[0] > 1 else 0], truth),
        masks,
        scores,
        truth.slice_ids,
        f"{choice.cohort}:{choice.subject}, frame {frame} (ED): the median-Dice {split} volume "
        f"of {choice.model} (Dice on the {paper002.INTERPOLATED} grid)",
        stem,
    )
