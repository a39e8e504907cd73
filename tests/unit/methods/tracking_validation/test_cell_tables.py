"""One cell's tables on disk: written atomically, read back equal, merged as the sweep's."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from myoflow.methods.tracking_validation.cell_tables import (
    CELL_FILES,
    read_cell,
    read_cells,
    write_cell,
)
from myoflow.methods.tracking_validation.grid import SweepConfig
from myoflow.methods.tracking_validation.validation import run_cell, run_sweep
from myoflow.record import SliceRecord

#: Timings differ between two runs of the same cell.
TIMING = ["seconds_per_frame"]


def _drifting(rec: SliceRecord, tracker: str, options: Mapping[str, Any]) -> Any:
    """A fake tracker: the truth scaled by 0.9 (so strain errors are not zero); as "refuser" it
    refuses basal slices (so failed rows go through the files too)."""
    assert rec.displacement is not None and rec.landmarks is not None
    if tracker == "refuser" and rec.position == "basal":
        raise ValueError("no tag peaks")
    marks = rec.landmarks[:1] + 0.9 * (rec.landmarks - rec.landmarks[:1])
    return 0.9 * rec.displacement, marks, None


def test_cells_written_apart_merge_into_the_sweeps_tables(tmp_path: Path) -> None:
    config = SweepConfig(
        trackers=("drift", "refuser"),
        species=("rat",),
        mask_error=("none", "erode1"),
        snr=(20.0,),
        spacing_px=(5.0,),
        slices=2,
        matrix=112,
    )
    sweep = run_sweep(config, track=_drifting)
    folders = []
    for cell in config.cells():
        folder = tmp_path / "cells" / cell.id
        paths = write_cell(run_cell(config, cell, _drifting), folder)
        assert [p.name for p in paths] == list(CELL_FILES.values())
        folders.append(folder)
    assert not list(tmp_path.rglob(".tmp-*"))
    merged = read_cells(folders)
    assert (merged.slices["status"] != "ok").sum() == (sweep.slices["status"] != "ok").sum() > 0
    for table in ("slices", "segments", "frames"):
        pd.testing.assert_frame_equal(
            getattr(merged, table).drop(columns=TIMING, errors="ignore"),
            getattr(sweep, table).drop(columns=TIMING, errors="ignore"),
            check_dtype=False,
        )
    timing = ["ms_per_frame", "frames_per_s"]
    pd.testing.assert_frame_equal(
        merged.cells().drop(columns=timing), sweep.cells().drop(columns=timing), check_dtype=False
    )


def test_identifiers_are_read_back_as_written(tmp_path: Path) -> None:
    """A subject called ``NA`` and the mask error ``none`` stay text (myoflow.io.tables)."""
    config = SweepConfig(
        trackers=("drift",), species=("rat",), snr=(20.0,), spacing_px=(5.0,), slices=1, matrix=112
    )
    (cell,) = config.cells()
    result = run_cell(config, cell, _drifting)
    for table in (result.slices, result.segments, result.frames):
        table["subject"] = "NA"
    write_cell(result, tmp_path)
    back = read_cell(tmp_path)
    for table in (back.slices, back.segments, back.frames):
        assert set(table["subject"]) == {"NA"} and set(table["mask_error"]) == {"none"}
    assert np.isnan(back.slices.loc[back.slices["method"] == "zero", "seconds_per_frame"]).all()
