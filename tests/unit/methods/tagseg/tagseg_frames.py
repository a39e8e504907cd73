"""Tiny ``frames2d`` shards for paper 001's tests: a ring of myocardium per frame, a cine whose
blood pool is bright, and a tagged series whose grid is known, with a split table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from myoflow.io.atomic import write_tsv
from myoflow.io.frames import write_frames
from myoflow.methods.tagseg.settings import TagSegSettings
from myoflow.record import SliceRecord
from myoflow.settings import parse, plain

SIZE = 32
FRAMES = 3
SPACING = (1.5, 1.5)


def ring(size: int, radius: float, thickness: float) -> np.ndarray:
    rows, cols = np.mgrid[0:size, 0:size] - (size - 1) / 2
    distance = np.hypot(rows, cols)
    return ((distance >= radius) & (distance < radius + thickness)).astype(np.uint8)


def slice_record(subject: str, cohort: str = "c", size: int = SIZE, **changes: Any) -> SliceRecord:
    """A slice whose ring contracts a little frame by frame; cine and tagged series."""
    masks = np.stack([ring(size, size / 5 - t, size / 8 + t / 2) for t in range(FRAMES)])
    rows, cols = np.mgrid[0:size, 0:size] - (size - 1) / 2
    pool = (np.hypot(rows, cols) < size / 5).astype(np.float32)
    cine = np.stack([0.2 + 0.4 * m + 0.9 * pool for m in masks]).clip(0, 1).astype(np.float32)
    grid = 0.5 + 0.5 * np.cos(2 * np.pi * cols / 5) * np.cos(2 * np.pi * rows / 5)
    tagged = (cine * grid).astype(np.float32)
    rec = SliceRecord(
        cohort=cohort,
        subject=subject,
        slice_id="mid",
        position="mid",
        group="g1" if subject < "m" else "g2",
        pixel_spacing_mm=SPACING,
        frame_times_ms=np.arange(FRAMES) * 40.0 + 10.0,
        original_frames=FRAMES,
        cine=cine,
        tagged=tagged,
        mask=masks,
        ed_frame=0,
        es_frame=1,
    )
    return rec.replace(**changes)


def write_cohort(
    folder: Path, records: list[SliceRecord], splits: dict[str, str], size: int = SIZE
) -> tuple[Path, Path]:
    """The shard and split table of ``records``; ``splits``: subject -> split."""
    shard = folder / "shard-000.h5"
    write_frames(shard, records, size)
    table = pd.DataFrame(
        [
            {"cohort": r.cohort, "subject": r.subject, "group": r.group, "split": splits[r.subject]}
            for r in records
        ]
    )
    path = folder / "splits.tsv"
    write_tsv(table, path)
    return shard, path


def experiment(cohorts: list[str], **settings: Any) -> dict[str, Any]:
    """A resolved tagseg experiment with every role on ``cohorts`` and the test's image size."""
    given = {"image_size": SIZE, **settings}
    parsed = plain(parse(TagSegSettings, given, "test"))
    for role in ("pretrain_cohorts", "tagged_cohorts", "unlabelled_cohorts"):
        parsed[role] = list(parsed[role]) or cohorts
    return {
        "name": "t",
        "method": "tagseg",
        "cohorts": cohorts,
        "settings": parsed,
        "trained_by": None,
        "models_path": None,
    }
