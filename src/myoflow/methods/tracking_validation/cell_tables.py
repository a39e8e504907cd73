"""The tables of one cell on disk: what a cell's job writes and the merge job reads back.

Why one job per cell: the grid is a product of five keys (species x realism x mask error x SNR x
tag spacing), so it grows fast; one job per cell spreads it over cores and cluster nodes, reruns
only the cells whose settings changed, and keeps a finished cell when another fails. Each job
writes its cell's tidy tables to ``results/tracking/cells/<cell-id>/`` (``CELL_FILES``), every
file atomically (``myoflow.io.atomic``); the merge job stacks them in grid order
(``read_cells``) and aggregates exactly as the in-process sweep does.

Reading goes through ``myoflow.io.tables.read_tsv`` (identifiers as written), and the columns
are put back in their documented order, so a merged table equals the in-process one.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from myoflow.io.atomic import write_tsv
from myoflow.io.tables import read_tsv
from myoflow.methods.tracking_validation.scoring import (
    FRAME_COLUMNS,
    SEGMENT_COLUMNS,
    SLICE_COLUMNS,
)
from myoflow.methods.tracking_validation.validation import SweepResult, combine

#: A cell folder's files, by table of ``SweepResult``, with their columns.
CELL_FILES = {"slices": "slices.tsv", "segments": "segments.tsv", "frames": "frames.tsv"}
_COLUMNS = {"slices": SLICE_COLUMNS, "segments": SEGMENT_COLUMNS, "frames": FRAME_COLUMNS}


def cell_paths(cell_dir: str | Path) -> list[Path]:
    """The files of a cell folder, in ``CELL_FILES`` order."""
    return [Path(cell_dir) / name for name in CELL_FILES.values()]


def write_cell(result: SweepResult, cell_dir: str | Path) -> list[Path]:
    """The cell's slice, segment and frame tables under ``cell_dir``, each atomically."""
    paths = cell_paths(cell_dir)
    for (table, columns), path in zip(_COLUMNS.items(), paths, strict=True):
        write_tsv(getattr(result, table)[columns], path)
    return paths


def read_cell(cell_dir: str | Path) -> SweepResult:
    """What ``write_cell`` wrote, columns in their documented order."""
    tables = {
        table: read_tsv(path)[columns]
        for (table, columns), path in zip(_COLUMNS.items(), cell_paths(cell_dir), strict=True)
    }
    return SweepResult(**tables)


def read_cells(cell_dirs: Iterable[str | Path]) -> SweepResult:
    """The cells' tables stacked in the given (grid) order: the sweep's tables."""
    return combine(read_cell(cell_dir) for cell_dir in cell_dirs)
