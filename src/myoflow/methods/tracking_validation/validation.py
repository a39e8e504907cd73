"""Validation of the tagged-image trackers on the phantom, whose motion is known exactly.

The driver (``run_sweep``) and the aggregation of its tables. Planning of the sweep (cells and
their phantom slices) is in ``myoflow.methods.tracking_validation.sweep``; the metrics of one slice and
``score_record`` in ``myoflow.methods.tracking_validation.scoring``.

Aggregation (``aggregate``) is per cell ``(method, species, snr, spacing_px)``: displacement and
landmark figures are the mean over the cell's slices of each slice's value (so "es_p95_px" is the
mean of per-slice 95th percentiles: every slice weighs the same whatever its pixel count); strain
errors pool slices (global) or slices x AHA segments (``segment``) into bias (mean error), SD and
mean absolute error. ``aggregate_segments`` gives the same per AHA segment for the figure.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from myoflow.methods.tracking_validation.scoring import (
    CELL_KEYS,
    DISPLACEMENT_METRICS,
    LANDMARK_METRICS,
    SEGMENT_COLUMNS,
    SLICE_COLUMNS,
    ZERO,
    TrackFn,
    _track_with_api,
    score_record,
)
from myoflow.methods.tracking_validation.sweep import SweepConfig, validation_specs
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
    *[
        f"{strain}_{scope}_{stat}"
        for strain in ("ecc", "err")
        for scope in ("global", "segment")
        for stat in STRAIN_STATS
    ],
    "ms_per_frame",
    "frames_per_s",
]


@dataclass
class SweepResult:
    """Tidy per-slice and per-slice-segment tables of a sweep (one row per method each)."""

    slices: pd.DataFrame
    segments: pd.DataFrame

    def cells(self) -> pd.DataFrame:
        """The aggregated table, one row per ``(method, species, snr, spacing_px)``."""
        return aggregate(self.slices, self.segments)


# --------------------------------------------------------------------------------------------
# The sweep


def run_sweep(
    config: SweepConfig,
    track: TrackFn = _track_with_api,
    progress: Callable[[str], None] | None = None,
) -> SweepResult:
    """Generate, track and score every cell of ``config``; the tidy slice and segment tables."""
    rows: list[dict[str, Any]] = []
    segment_tables: list[pd.DataFrame] = []
    cells = list(config.cells())
    for i, (species, snr, spacing) in enumerate(cells, start=1):
        start = time.perf_counter()
        keys = {"species": species, "snr": float(snr), "spacing_px": float(spacing)}
        specs = validation_specs(
            species,
            snr,
            spacing,
            config.slices,
            config.seed,
            config.matrix,
            config.frames,
            config.pattern,
        )
        for spec in specs:
            rec = generate(spec)
            for result in score_record(
                rec, keys, config.trackers, config.tracker_options, track=track
            ):
                rows.append(result.row)
                if not result.segments.empty:
                    segment_tables.append(result.segments)
        message = (
            f"cell {i}/{len(cells)}: {species}, SNR {snr:g}, tags {spacing:g} px, "
            f"{len(specs)} slice(s) in {time.perf_counter() - start:.1f} s"
        )
        log.info(message)
        if progress is not None:
            progress(message)
    slices = pd.DataFrame(rows, columns=SLICE_COLUMNS)
    segments = (
        pd.concat(segment_tables, ignore_index=True)
        if segment_tables
        else pd.DataFrame(columns=SEGMENT_COLUMNS)
    )
    return SweepResult(slices=slices, segments=segments)


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


def _cell_order(table: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Rows sorted by species, SNR and spacing, the trackers first and the zero baseline last
    within a cell, then by any further ``keys`` (e.g. segment)."""
    if table.empty:
        return table
    leading = [k for k in ("species", "snr", "spacing_px") if k in keys]
    trailing = [k for k in keys if k not in (*leading, "method")]
    return (
        table.assign(_zero=table["method"].eq(ZERO).astype(int))
        .sort_values([*leading, "_zero", "method", *trailing], kind="stable")
        .drop(columns="_zero")
        .reset_index(drop=True)
    )


def aggregate(slices: pd.DataFrame, segments: pd.DataFrame) -> pd.DataFrame:
    """One row per cell ``(method, species, snr, spacing_px)``: columns ``CELL_COLUMNS``.

    ``slices`` counts the cell's slices, ``failed`` those the method refused; displacement and
    landmark figures are means over the successful slices (``es_mean_px_sd`` their spread);
    strain errors pool global values over slices and AHA-segment values over slices x segments;
    ``ms_per_frame`` is the median over slices, ``frames_per_s`` its inverse.
    """
    rows = []
    seg_groups = dict(tuple(segments.groupby(CELL_KEYS, sort=False))) if len(segments) else {}
    for cell, block in slices.groupby(CELL_KEYS, sort=False):
        ok = block[block["status"] == "ok"]
        row: dict[str, Any] = dict(zip(CELL_KEYS, cell))
        row["slices"] = len(block)
        row["failed"] = int(len(block) - len(ok))
        for name in [*DISPLACEMENT_METRICS, *LANDMARK_METRICS]:
            row[name] = float(ok[name].mean()) if len(ok) else np.nan
        row["es_mean_px_sd"] = float(ok["es_mean_px"].std(ddof=1)) if len(ok) > 1 else np.nan
        seg = seg_groups.get(cell, pd.DataFrame(columns=SEGMENT_COLUMNS))
        is_global = seg["segment"] == GLOBAL_SEGMENT
        for key in ("ecc", "err"):
            row.update(_error_stats(seg.loc[is_global, f"{key}_error"], f"{key}_global"))
            row.update(_error_stats(seg.loc[~is_global, f"{key}_error"], f"{key}_segment"))
        ms = 1000.0 * ok["seconds_per_frame"].to_numpy(dtype=float)
        ms = ms[np.isfinite(ms)]
        row["ms_per_frame"] = float(np.median(ms)) if len(ms) else np.nan
        row["frames_per_s"] = 1000.0 / row["ms_per_frame"] if len(ms) else np.nan
        rows.append(row)
    table = pd.DataFrame(rows, columns=CELL_COLUMNS)
    return _cell_order(table, CELL_KEYS)


def aggregate_segments(
    segments: pd.DataFrame, by: Sequence[str] = ("method", "species", "snr", "spacing_px")
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
