"""The tracking validation in the report: the figure (PNG + SVG) and every output file.

The figure is drawn in the reference condition (``report_tables.reference_condition``: the
ideal phantom tracked from the true mask) from the per-cell aggregate and the per-slice segment
errors (``SweepResult.segments``), which it pools over tag spacings. It has four panels: (a)
mean ES error (px) against SNR and (b) against tag spacing, one line per tracker and species
with the zero baseline dashed and the 0.3 px aim dotted, on a log axis because the baseline is
an order of magnitude above the trackers; (c) ES Ecc error and (d) ES Err error per AHA segment
(bias +- SD over slices) at the reference SNR, with the +-0.02 Ecc aim band. The zero baseline is
left out of (c) and (d), where it would set the scale (its Ecc error is the whole strain, about
+0.15); its value is written in the panel title instead. What realism and a wrong mask cost is
in the table (``report_tables``).

``write_sweep`` writes every merged output of a sweep: the table, the figure and the per-slice,
per-slice-segment and per-slice-frame tables they come from.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, NullLocator

from myoflow.io.atomic import write_tsv
from myoflow.methods.tracking_validation.report_tables import (
    line_order,
    reference_condition,
    reference_snr,
    write_validation_tables,
)
from myoflow.methods.tracking_validation.scoring import PHASE_STRAIN, ZERO
from myoflow.methods.tracking_validation.validation import (
    AIM_ECC,
    AIM_ES_MEAN_PX,
    SweepResult,
    aggregate_segments,
)
from myoflow.report.figures_common import method_colour, new_figure, require_columns, save_figure
from myoflow.report.figures_plots import segment_label

#: Species line styles and markers in the figure (a species not listed gets the first ones).
SPECIES_STYLE = {"rat": ("-", "o"), "mouse": ("-.", "^"), "human": ("--", "s")}


def _species_style(species: str) -> tuple[str, str]:
    return SPECIES_STYLE.get(species, ("-", "o"))


def _line_panel(ax: Axes, cells: pd.DataFrame, over: str, title: str) -> None:
    """Mean ES error (px) against ``over`` per (method, species), with the aim line.

    A phase-strain variant (``harp_phase``) shares its tracker's displacement, so only the
    tracker's line is drawn.
    """
    for method, species in line_order(cells):
        block = cells[(cells["method"] == method) & (cells["species"] == species)]
        if block.empty or method.endswith(PHASE_STRAIN):
            continue
        series = block.groupby(over)["es_mean_px"].mean().sort_index()
        style, marker = _species_style(species)
        ax.plot(
            series.index,
            series.to_numpy(),
            linestyle=":" if method == ZERO else style,
            marker=marker,
            markersize=4,
            color=method_colour(method),
            label=f"{method}, {species}",
        )
    ax.axhline(AIM_ES_MEAN_PX, color="black", linestyle=":", linewidth=1.0)
    ax.annotate(
        f"aim {AIM_ES_MEAN_PX:g} px",
        (1.0, AIM_ES_MEAN_PX),
        xycoords=("axes fraction", "data"),
        ha="right",
        va="bottom",
        fontsize="small",
    )
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(
        FuncFormatter(lambda v, _: f"{v:g}" if f"{v:.0e}"[0] in "235" else "")
    )
    ax.set_ylabel("mean ES error (px)")
    ax.set_title(title, fontsize="medium", loc="left")
    ax.grid(True, which="both", linewidth=0.3, alpha=0.5)


def _segment_panel(ax: Axes, pooled: pd.DataFrame, strain: str, title: str) -> None:
    """ES strain error per segment (bias +- SD) per (tracker, species), dodged sideways."""
    present = {int(s) for s in pooled["segment"].unique()}
    segments = sorted(present - {0}) + ([0] if 0 in present else [])
    lines = line_order(pooled)
    x = np.arange(len(segments), dtype=float)
    step = 0.8 / max(len(lines), 1)
    for i, (method, species) in enumerate(lines):
        block = pooled[(pooled["method"] == method) & (pooled["species"] == species)]
        block = block.set_index("segment").reindex(segments)
        style, marker = _species_style(species)
        ax.errorbar(
            x + (i - (len(lines) - 1) / 2) * step,
            block[f"{strain}_bias"].to_numpy(dtype=float),
            yerr=np.nan_to_num(block[f"{strain}_sd"].to_numpy(dtype=float)),
            fmt=marker,
            markersize=4,
            capsize=2,
            elinewidth=0.8,
            color=method_colour(method),
            markerfacecolor="white" if style == "--" else method_colour(method),
            label=f"{method}, {species}",
        )
    ax.axhline(0.0, color="black", linewidth=0.6)
    if strain == "ecc":
        ax.axhspan(-AIM_ECC, AIM_ECC, color="0.85", zorder=0, label=f"aim ±{AIM_ECC:g}")
    ax.set_xticks(x, [segment_label(s) for s in segments], rotation=45, ha="right")
    ax.set_ylabel(f"ES {strain.capitalize()} error, Green (fraction)")
    ax.set_title(title, fontsize="medium", loc="left")
    ax.grid(True, axis="y", linewidth=0.3, alpha=0.5)


def fig_tracking_validation(cells: pd.DataFrame, segments: pd.DataFrame, stem: str | Path) -> None:
    """The four-panel validation figure in the reference condition (see the module docstring),
    ``<stem>.{png,svg}``; ``cells`` and ``segments`` may hold every condition."""
    keys = ["method", "species", "realism", "mask_error", "snr", "spacing_px"]
    require_columns(cells, [*keys, "es_mean_px"], "cells")
    require_columns(segments, [*keys, "segment", "ecc_error", "err_error"], "segment errors")
    if cells.empty:
        raise ValueError("fig_tracking_validation: the cell table is empty")
    cells = reference_condition(cells)
    realism, mask_error = cells["realism"].iloc[0], cells["mask_error"].iloc[0]
    segments = segments[(segments["realism"] == realism) & (segments["mask_error"] == mask_error)]
    ref = reference_snr(cells["snr"])
    at_ref = segments[segments["snr"] == ref]
    pooled = aggregate_segments(at_ref, ("method", "species"))
    trackers = pooled[pooled["method"] != ZERO]
    zero = pooled[(pooled["method"] == ZERO) & (pooled["segment"] == 0)]

    fig = new_figure(12.0, 8.5)
    axes = fig.subplots(2, 2)
    _line_panel(axes[0, 0], cells, "snr", "(a) vs SNR, mean over tag spacings")
    axes[0, 0].set_xscale("log")
    snrs = sorted(cells["snr"].unique())
    axes[0, 0].set_xticks(snrs, [f"{s:g}" for s in snrs])
    axes[0, 0].xaxis.set_minor_locator(NullLocator())
    axes[0, 0].set_xlabel("SNR")
    _line_panel(
        axes[0, 1], cells[cells["snr"] == ref], "spacing_px", f"(b) vs tag spacing, SNR {ref:g}"
    )
    axes[0, 1].set_xlabel("tag spacing (px)")
    for ax, strain, letter in ((axes[1, 0], "ecc", "c"), (axes[1, 1], "err", "d")):
        note = ""
        if not zero.empty:
            values = ", ".join(
                f"{row.species} {getattr(row, f'{strain}_bias'):+.2f}" for row in zero.itertuples()
            )
            note = f"\nzero baseline global error (off scale): {values}"
        title = (
            f"({letter}) ES {strain.capitalize()} error per segment, SNR {ref:g}, bias ± SD{note}"
        )
        if trackers.empty:
            ax.set_axis_off()
            ax.set_title(title + "\n(no tracker succeeded)", fontsize="medium", loc="left")
        else:
            _segment_panel(ax, trackers, strain, title)
    fig.suptitle(f"{realism} phantom, mask error {mask_error}", fontsize="medium")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    axes[0, 0].legend(handles, labels, fontsize="small", loc="best")
    if not trackers.empty:
        axes[1, 0].legend(fontsize="small", loc="best")
    save_figure(fig, stem)


def write_validation_report(
    cells: pd.DataFrame,
    segments: pd.DataFrame,
    table_stem: str | Path,
    figure_stem: str | Path,
) -> None:
    """The table (``<table_stem>.tsv/.md``) and the figure (``<figure_stem>.png/.svg``)."""
    write_validation_tables(cells, table_stem)
    fig_tracking_validation(cells, segments, figure_stem)


#: File names under the output folder (``results/tracking/`` in the workflow).
OUTPUT_NAMES = {
    "table": "validation",  # .tsv + .md
    "figure": "validation",  # .png + .svg
    "slices": "validation_slices.tsv",
    "segments": "validation_segments.tsv",
    "frames": "validation_frames.tsv",
}


def write_sweep(result: SweepResult, out_dir: str | Path) -> list[Path]:
    """Every file of a sweep under ``out_dir``: the cell table (TSV + MD), the figure (PNG +
    SVG) and the per-slice, per-slice-segment and per-slice-frame tables they come from.
    Returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for table in ("slices", "segments", "frames"):
        write_tsv(getattr(result, table), out / OUTPUT_NAMES[table])
    write_validation_report(
        result.cells(), result.segments, out / OUTPUT_NAMES["table"], out / OUTPUT_NAMES["figure"]
    )
    table, figure = OUTPUT_NAMES["table"], OUTPUT_NAMES["figure"]
    return [
        out / f"{table}.tsv",
        out / f"{table}.md",
        out / f"{figure}.png",
        out / f"{figure}.svg",
        out / OUTPUT_NAMES["slices"],
        out / OUTPUT_NAMES["segments"],
        out / OUTPUT_NAMES["frames"],
    ]
