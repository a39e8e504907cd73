"""The paper 001 report rules: tables and figures of a tagseg experiment.

CPU-only jobs in the core environment (torch is not imported: Table 2's inference times were
measured by each training job, on its device, into ``model.tsv``). The tables are composed in
``paper001``, the figures drawn in ``figures``; this module reads the merged evaluation tables,
the models' records and the few frames a figure shows, and writes TSV + Markdown, PNG + SVG.
A model's name is its folder's (``results/models/<exp>/<model>/``, ``.../predictions/<model>/``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from myoflow.io.frames import FrameShard
from myoflow.io.tables import read_tsv
from myoflow.methods.base import files_by_model
from myoflow.methods.tagseg import examples as frame_examples
from myoflow.methods.tagseg import figures, paper001
from myoflow.methods.tagseg.pseudotag import PseudoTagSettings, pseudo_tagged
from myoflow.methods.tagseg.settings import CYCLEGAN, gamma_models
from myoflow.report.tables import write_table

PathLike = str | os.PathLike[str]


def _records(paths: Sequence[PathLike]) -> dict[str, pd.DataFrame]:
    return {model: read_tsv(files[0]) for model, files in files_by_model(paths, 0).items()}


def tables_stage(
    experiment: Mapping[str, Any],
    segmentation_path: PathLike,
    realism_path: PathLike,
    histories: Sequence[PathLike],
    infos: Sequence[PathLike],
    out_dir: PathLike,
) -> None:
    """Tables 2, 3 (and 4 with a gamma sweep) and the realism table into ``out_dir``."""
    settings = experiment["settings"]
    out = Path(out_dir)
    segmentation = read_tsv(segmentation_path)
    if segmentation.empty:
        raise ValueError(
            f"{segmentation_path}: no tagged frame was scored (the evaluated splits "
            f"{settings['evaluate_split']!r} of the tagged cohorts {settings['tagged_cohorts']} "
            "hold no frame with a reference mask; the QC table says why)"
        )
    write_table(
        paper001.table2_networks(_records(infos), _records(histories)),
        out / "table2_networks",
        "Table 2: networks (parameters, seconds per epoch, inference ms over 7 runs of one image)",
    )
    write_table(
        paper001.table3_strategies(segmentation, float(settings["gamma"])),
        out / "table3_strategies",
        "Table 3: Dice and HD95 (mm) per architecture and strategy, train and test splits",
    )
    sweep = gamma_models(settings)
    write_table(
        paper001.table4_gamma(segmentation, sweep)
        if sweep
        else pd.DataFrame({"note": ["no gamma_sweep in the experiment's settings"]}),
        out / "table4_gamma",
        f"Table 4: shape-aware loss weight ({settings['sweep_architecture']} from scratch)",
    )
    realism = read_tsv(realism_path)
    write_table(
        paper001.realism_table(realism),
        out / "realism",
        "Pseudo-tagged cine against the true tagged frame of the same heart (phantom)",
    )


def figures_stage(
    experiment: Mapping[str, Any],
    segmentation_path: PathLike,
    histories: Sequence[PathLike],
    shards: Sequence[PathLike],
    predictions: Sequence[PathLike],
    out_dir: PathLike,
) -> None:
    """Figures 5, 6, 8, 9 and 11 into ``out_dir``."""
    out = Path(out_dir)
    settings = experiment["settings"]
    segmentation = read_tsv(segmentation_path)
    predicted = files_by_model(predictions, 1)
    figures.fig5_transforms(
        *_transforms(settings, shards, predicted.get(CYCLEGAN, [])), out / "fig5_transforms"
    )
    models = [m for m in figures.table3_models(segmentation["method"].unique()) if m in predicted]
    examples = frame_examples.pick_examples(segmentation, models)
    images, truths, preds = frame_examples.load_examples(examples, list(shards), predicted)
    figures.fig6_examples(examples, images, truths, preds, out / "fig6_examples")
    figures.fig8_training(_records(histories), out / "fig8_training")
    figures.fig9_dice_per_frame(segmentation, out / "fig9_dice_per_frame")
    figures.fig11_groups(segmentation, out / "fig11_groups")


def _transforms(
    settings: Mapping[str, Any], shards: Sequence[PathLike], translated: Sequence[PathLike]
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Figure 5's frame: the first slice with a cine (end-systole when known) made pseudo-tagged
    by physics, its CycleGAN translation where predicted, and its true tagged frame where the
    cohort has one."""
    for shard in shards:
        with FrameShard(shard) as frames:
            for rec in frames.records():
                if rec.cine is None:
                    continue
                t = rec.es_frame if rec.es_frame is not None else 0
                seed = int.from_bytes(hashlib.sha256(rec.key.encode()).digest()[:4], "big")
                physics, _ = pseudo_tagged(
                    rec.cine[t : t + 1],
                    rec.pixel_spacing_mm,
                    PseudoTagSettings(**settings["physics"]),
                    np.random.default_rng([int(settings["seed"]), seed]),
                    np.array([rec.frame_times_ms[t] - rec.frame_times_ms[0]]),
                )
                tagged = None if rec.tagged is None else rec.tagged[t]
                return (
                    rec.cine[t],
                    physics[0],
                    _translation(translated, rec.cohort, rec.key, t),
                    tagged,
                )
    raise ValueError(f"no slice with a cine series in {list(map(os.fspath, shards))}")


def _translation(paths: Sequence[PathLike], cohort: str, key: str, t: int) -> np.ndarray | None:
    """Frame ``t`` of the CycleGAN's translation of slice ``key`` of ``cohort``, if predicted."""
    for path in paths:
        with FrameShard(path) as frames:
            if key in frames.slice_keys():
                (rec,) = frames.records([key])
                if rec.cohort == cohort and rec.tagged is not None:
                    return rec.tagged[t]
    return None
