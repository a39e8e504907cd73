"""Validation of the tagged-image trackers on the phantom, whose motion is known exactly.

The driver (``run_cell`` for one cell of the grid, ``run_sweep`` for every cell in one process)
and the aggregation of its tables. The grid is ``myoflow.methods.tracking_validation.grid``, the
slices of a cell ``sweep``, the metrics of one slice and ``score_record`` ``scoring``. The
workflow runs one job per cell and merges their tables (``outputs``); both ways give the same
tables, because a cell's slices and scores depend on the cell alone.

Aggregation (``aggregate``) is per cell ``(method, species, realism, mask_error, snr,
spacing_px)``: mean and 95th-percentile displacement and landmark figures are the mean over the
cell's slices of each slice's value (so "es_p95_px" is the mean of per-slice 95th percentiles:
every slice weighs the same whatever its pixel count), while the maxima (``*_max_*``) are the
largest over the cell's slices: the worst point a user meets in that condition. Strain errors
pool slices (global, mid-wall) or slices x AHA segments (``segment``) into bias (mean error),
SD and mean absolute error. ``aggregate_segments`` gives the same per AHA segment for the
figure. The frame table (landmark RMSE per frame) stays per slice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from myoflow.methods.tracking_validation.grid import MASK_ERRORS, REALISMS, Cell, SweepConfig
from myoflow.methods.tracking_validation.scoring import (
    CELL_KEYS,
    DISPLACEMENT_METRICS,
    FRAME_COLUMNS,
    LANDMARK_METRICS,
    SEGMENT_COLUMNS,
    SLICE_COLUMNS,
    ZERO,
    TrackFn,
    _track_with_api,
    score_record,
)
from myoflow.methods.tracking_validation.sweep import cell_specs
from myoflow.phantom.cohort import generate
from myoflow.strain.analysis import GLOBAL_SEGMENT

log = logging.getLogger(__name__)

#: The issue's aims: mean end-systolic displacement error at SNR 20 and |ES Ecc error|.
AIM_ES_MEAN_PX = 0.3
AIM_ECC = 0.02
STRAIN_STATS = ["bias", "sd", "mae"]
CELL_COLUMNS = [
    *CELL_KEYS,
    "slices",
    "failed",
    *DISPLACEMENT_METRICS,
    "es_mean_px_sd",
    *LANDMARK_METRICS,
    "qc_rejected",
    "flagged_es",
    "es_max_unflagged_px",
    *[
        f"{strain}_{scope}_{stat}"
        for strain in ("ecc", "err")
        for scope in ("global", "segment", "midwall")
        for stat in STRAIN_STATS
    ],
    "ms_per_frame",
    "frames_per_s",
]
#: The displacement figures a cell takes the largest of over its slices (the others: the mean).
MAX_METRICS = frozenset(name for name in DISPLACEMENT_METRICS if "_max_" in name)


@dataclass
class SweepResult:
    """Tidy per-slice, per-slice-segment and per-slice-frame tables of a sweep (one row per
    method each)."""

    slices: pd.DataFrame
    segments: pd.DataFrame
    frames: pd.DataFrame

    def cells(self) -> pd.DataFrame:
        """The aggregated table, one row per method x cell."""
        return aggregate(self.slices, self.segments)


def _concat(tables: Sequence[pd.DataFrame], columns: Sequence[str]) -> pd.DataFrame:
    """The non-empty ``tables`` stacked, or an empty table with ``columns``."""
    full = [t for t in tables if not t.empty]
    if not full:
        return pd.DataFrame(columns=list(columns))
    return pd.concat(full, ignore_index=True)[list(columns)]


def combine(results: Iterable[SweepResult]) -> SweepResult:
    """One result from several (cells run apart), their rows in the given order."""
    parts = list(results)
    return SweepResult(
        slices=_concat([r.slices for r in parts], SLICE_COLUMNS),
        segments=_concat([r.segments for r in parts], SEGMENT_COLUMNS),
        frames=_concat([r.frames for r in parts], FRAME_COLUMNS),
    )


# --------------------------------------------------------------------------------------------
# The sweep


def run_cell(config: SweepConfig, cell: Cell, track: TrackFn = _track_with_api) -> SweepResult:
    """Generate, track and score the slices of one cell: its slice, segment and frame tables."""
    results = []
    for spec in cell_specs(config, cell):
        rec = generate(spec)
        results += score_record(rec, cell, config.trackers, config.tracker_options, track=track)
    return SweepResult(
        slices=pd.DataFrame([r.row for r in results], columns=SLICE_COLUMNS),
        segments=_concat([r.segments for r in results], SEGMENT_COLUMNS),
        frames=_concat([r.frames for r in results], FRAME_COLUMNS),
    )


def run_sweep(
    config: SweepConfig,
    track: TrackFn = _track_with_api,
    progress: Callable[[str], None] | None = None,
) -> SweepResult:
    """Every cell of ``config`` in this process, one after the other (``run_cell``)."""
    cells = list(config.cells())
    results = []
    for i, cell in enumerate(cells, start=1):
        start = time.perf_counter()
        results.append(run_cell(config, cell, track))
        message = (
            f"cell {i}/{len(cells)}: {cell.id}, {config.slices} slice(s) in "
            f"{time.perf_counter() - start:.1f} s"
        )
        log.info(message)
        if progress is not None:
            progress(message)
    return combine(results)


# --------------------------------------------------------------------------------------------
# Aggregation


def _error_stats(values: Iterable[float], prefix: str) -> dict[str, float]:
    """Bias (mean error), SD (ddof 1; NaN for one value) and mean |error| of finite values."""
    v = np.asarray(list(values), dtype=float)
    v = v[np.isfinite(v)]
    return {
        f"{prefix}_bias": float(v.mean()) if len(v) else np.nan,
        f"{prefix}_sd": float(v.std(ddof=1)) if len(v) > 1 else np.nan,
        f"{prefix}_mae": float(np.abs(v).mean()) if len(v) else np.nan,
    }


#: The order of the named cell keys in every table: the grid's, not the alphabet's.
_KEY_ORDER = {"realism": REALISMS, "mask_error": MASK_ERRORS}


def _rank(column: pd.Series) -> pd.Series:
    order = _KEY_ORDER.get(str(column.name))
    if order is None:
        return column
    return column.map({name: i for i, name in enumerate(order)})


def _cell_order(table: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Rows sorted by species, realism (ideal first), mask error (none first), SNR and spacing,
    the trackers first and the zero baseline last within a cell, then by any further ``keys``
    (e.g. segment, frame)."""
    if table.empty:
        return table
    leading = [k for k in CELL_KEYS[1:] if k in keys]
    trailing = [k for k in keys if k not in (*leading, "method")]
    return (
        table.assign(_zero=table["method"].eq(ZERO).astype(int))
        .sort_values([*leading, "_zero", "method", *trailing], kind="stable", key=_rank)
        .drop(columns="_zero")
        .reset_index(drop=True)
    )


def _nan_stats(ok: pd.DataFrame, name: str, pick: Callable[..., Any]) -> dict[str, float]:
    """``{name: pick(values)}`` over the finite values, NaN when there are none (a tracker
    without quality control, or every slice rejected)."""
    values = ok[name].to_numpy(dtype=float)
    values = values[np.isfinite(values)]
    return {name: float(pick(values)) if len(values) else np.nan}


def aggregate(slices: pd.DataFrame, segments: pd.DataFrame) -> pd.DataFrame:
    """One row per method x cell: columns ``CELL_COLUMNS``.

    ``slices`` counts the cell's slices, ``failed`` those the method refused; displacement and
    landmark figures are means over the successful slices (``es_mean_px_sd`` their spread),
    maxima the largest; strain errors pool global and mid-wall values over slices and
    AHA-segment values over slices x segments; ``ms_per_frame`` is the median over slices,
    ``frames_per_s`` its inverse.
    """
    rows = []
    seg_groups = dict(tuple(segments.groupby(CELL_KEYS, sort=False))) if len(segments) else {}
    for cell, block in slices.groupby(CELL_KEYS, sort=False):
        ok = block[block["status"] == "ok"]
        row: dict[str, Any] = dict(zip(CELL_KEYS, cell))
        row["slices"] = len(block)
        row["failed"] = int(len(block) - len(ok))
        for name in [*DISPLACEMENT_METRICS, *LANDMARK_METRICS]:
            values = ok[name].to_numpy(dtype=float)
            pick = np.max if name in MAX_METRICS else np.mean
            row[name] = float(pick(values)) if len(values) else np.nan
        row["es_mean_px_sd"] = float(ok["es_mean_px"].std(ddof=1)) if len(ok) > 1 else np.nan
        passed = ok["qc_passed"].to_numpy(dtype=float)
        row["qc_rejected"] = int((passed == 0).sum())
        row.update(_nan_stats(ok, "flagged_es", np.nanmean))
        row.update(_nan_stats(ok, "es_max_unflagged_px", np.nanmax))
        seg = seg_groups.get(cell, pd.DataFrame(columns=SEGMENT_COLUMNS))
        is_global = seg["segment"] == GLOBAL_SEGMENT
        for key in ("ecc", "err"):
            row.update(_error_stats(seg.loc[is_global, f"{key}_error"], f"{key}_global"))
            row.update(_error_stats(seg.loc[~is_global, f"{key}_error"], f"{key}_segment"))
            row.update(_error_stats(ok[f"{key}_midwall_error"], f"{key}_midwall"))
        ms = 1000.0 * ok["seconds_per_frame"].to_numpy(dtype=float)
        ms = ms[np.isfinite(ms)]
        row["ms_per_frame"] = float(np.median(ms)) if len(ms) else np.nan
        row["frames_per_s"] = 1000.0 / row["ms_per_frame"] if len(ms) else np.nan
        rows.append(row)
    table = pd.DataFrame(rows, columns=CELL_COLUMNS)
    return _cell_order(table, CELL_KEYS)


def aggregate_segments(
    segments: pd.DataFrame, by: Sequence[str] = tuple(CELL_KEYS)
) -> pd.DataFrame:
    """Per ``by`` x segment: ``n`` slices and bias / SD / mean |error| of ES Ecc and Err.

    Group by fewer keys (e.g. ``("method", "species")`` of one SNR) to pool cells for a figure.
    """
    by = list(by)
    columns = [*by, "segment", "n"] + [
        f"{key}_{stat}" for key in ("ecc", "err") for stat in STRAIN_STATS
    ]
    rows = []
    for group, block in segments.groupby([*by, "segment"], sort=True):
        row: dict[str, Any] = dict(zip([*by, "segment"], group))
        row["n"] = int(block["ecc_error"].notna().sum())
        for key in ("ecc", "err"):
            row.update(_error_stats(block[f"{key}_error"], key))
        rows.append(row)
    table = pd.DataFrame(rows, columns=columns)
    if "method" in by and len(table):
        table = _cell_order(table, [*by, "segment"])
    return table
