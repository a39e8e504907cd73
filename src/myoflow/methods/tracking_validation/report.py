"""The tracking validation in the report: the table (TSV + Markdown) and one figure (PNG + SVG).

Inputs are the tidy tables of ``myoflow.methods.tracking_validation.validation``: the per-cell aggregate
(``aggregate``: one row per method x species x SNR x tag spacing) and the per-slice segment
errors (``SweepResult.segments``), from which the figure pools the strain errors over tag
spacings. The TSV keeps every column at full precision; the Markdown is for reading: two small
pivots of the headline number (mean end-systolic error in pixels, over SNR and over tag spacing),
then the main columns of every cell.

The figure has four panels: (a) mean ES error (px) against SNR and (b) against tag spacing, one
line per tracker and species with the zero baseline dashed and the 0.3 px aim dotted, on a log
axis because the baseline is an order of magnitude above the trackers; (c) ES Ecc error and (d)
ES Err error per AHA segment (bias +- SD over slices) at the reference SNR, with the +-0.02 Ecc
aim band. The zero baseline is left out of (c) and (d), where it would set the scale (its Ecc
error is the whole strain, about +0.15); its value is written in the panel title instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, NullLocator

from myoflow.io.atomic import atomic_path, write_tsv
from myoflow.methods.tracking_validation.scoring import PHASE_STRAIN, ZERO
from myoflow.methods.tracking_validation.validation import (
    AIM_ECC,
    AIM_ES_MEAN_PX,
    CELL_COLUMNS,
    SweepResult,
    aggregate_segments,
)
from myoflow.report.figures_common import (
    method_colour,
    method_order,
    new_figure,
    require_columns,
    save_figure,
)
from myoflow.report.figures_plots import segment_label
from myoflow.report.tables import markdown_table

#: Species line styles and markers in the figure (a species not listed gets the first ones).
SPECIES_STYLE = {"rat": ("-", "o"), "mouse": ("-.", "^"), "human": ("--", "s")}
#: The SNR at which panels (b)-(d) are drawn when it is part of the sweep (the issue's aim).
REFERENCE_SNR = 20.0
#: Columns of the Markdown's cell table: the headline numbers, not every statistic of the TSV.
MARKDOWN_COLUMNS = [
    "method",
    "species",
    "snr",
    "spacing_px",
    "slices",
    "failed",
    "es_mean_px",
    "es_p95_px",
    "es_mean_mm",
    "all_mean_px",
    "landmark_es_mean_px",
    "ecc_global_bias",
    "ecc_global_sd",
    "ecc_segment_mae",
    "err_global_bias",
    "err_segment_mae",
    "ms_per_frame",
]


def reference_snr(snrs: Sequence[float]) -> float:
    """The SNR that panels (b)-(d) show: 20 when swept, else the swept value closest to it."""
    values = sorted({float(s) for s in snrs})
    if not values:
        raise ValueError("no SNR values")
    return min(values, key=lambda s: (abs(np.log(s / REFERENCE_SNR)), s))


def _species_style(species: str) -> tuple[str, str]:
    return SPECIES_STYLE.get(species, ("-", "o"))


def _ordered(cells: pd.DataFrame) -> list[tuple[str, str]]:
    """(method, species) lines in drawing order: trackers alphabetically, the zero baseline last."""
    methods = [m for m in method_order(cells["method"]) if m in set(cells["method"])]
    species = list(dict.fromkeys(cells["species"]))
    return [(m, s) for m in methods for s in species]


def pivot(cells: pd.DataFrame, value: str, over: str) -> pd.DataFrame:
    """``value`` per (method, species) row with one column per value of ``over`` (mean of the
    other cell keys), e.g. the mean ES error per SNR averaged over tag spacings."""
    require_columns(cells, ["method", "species", over, value], "tracking pivot")
    table = cells.groupby(["method", "species", over], sort=False)[value].mean().unstack(over)
    table = table.reindex(columns=sorted(table.columns))
    order = [key for key in _ordered(cells) if key in table.index]
    table = table.reindex(pd.MultiIndex.from_tuples(order, names=["method", "species"]))
    unit = " px" if over == "spacing_px" else ""
    label = "SNR " if over == "snr" else "tags "
    table.columns = [f"{label}{c:g}{unit}" for c in table.columns]
    return table.reset_index()


def _whole_numbers(
    table: pd.DataFrame, columns: Sequence[str] = ("snr", "spacing_px")
) -> pd.DataFrame:
    """SNR and tag spacing as integers where they are whole (``20``, not ``20.000``)."""
    out = table.copy()
    for column in columns:
        values = out[column].to_numpy(dtype=float)
        if np.all(values == np.round(values)):
            out[column] = values.astype(int)
    return out


def aims_table(cells: pd.DataFrame) -> pd.DataFrame:
    """The issue's aims at the reference SNR, per (method, species), over the swept spacings.

    ``es_mean_px`` and ``ecc_segment_mae`` are the means over tag spacings, ``*_worst`` the
    largest over spacings; ``es_aim_met`` / ``ecc_aim_met`` compare the means with the aims
    (0.3 px; 0.02 for the mean |ES Ecc error| over AHA segments).
    """
    require_columns(
        cells,
        ["method", "species", "snr", "es_mean_px", "ecc_global_bias", "ecc_segment_mae"],
        "tracking aims",
    )
    ref = reference_snr(cells["snr"])
    at_ref = cells[cells["snr"] == ref]
    rows = []
    for method, species in _ordered(at_ref):
        block = at_ref[(at_ref["method"] == method) & (at_ref["species"] == species)]
        if block.empty:
            continue
        es = float(block["es_mean_px"].mean())
        ecc = float(block["ecc_segment_mae"].mean())
        rows.append(
            {
                "method": method,
                "species": species,
                "snr": ref,
                "es_mean_px": es,
                "es_mean_px_worst": float(block["es_mean_px"].max()),
                "es_aim_met": "yes" if es <= AIM_ES_MEAN_PX else "no",
                "ecc_global_bias": float(block["ecc_global_bias"].mean()),
                "ecc_segment_mae": ecc,
                "ecc_segment_mae_worst": float(block["ecc_segment_mae"].max()),
                "ecc_aim_met": "yes" if ecc <= AIM_ECC else "no",
            }
        )
    return pd.DataFrame(rows)


def validation_markdown(cells: pd.DataFrame) -> str:
    """The Markdown view of the cell table: the aims, two pivots and the main columns."""
    require_columns(cells, MARKDOWN_COLUMNS, "tracking validation table")
    ref = reference_snr(cells["snr"])
    parts = [
        "# Tracking validation on the phantom",
        "",
        (
            "Trackers against the phantom's exact motion, beside the zero-displacement baseline on "
            "the same slices. Errors are end-point errors inside the ED myocardium; `es` at "
            "end-systole, `all` over frames 1..T-1; px = pixels of each slice. Strain errors are "
            "method minus truth (the truth displacement through the same strain code) of the "
            "Green-Lagrange Ecc/Err at ES: `global` per slice, `segment` pooled over AHA segments. "
            f"Aims: mean ES error <= {AIM_ES_MEAN_PX:g} px at SNR 20, |ES Ecc error| <= {AIM_ECC:g}. "
            "Full precision and every statistic (95th percentiles in mm and px, SDs, mean |error|) "
            "in validation.tsv."
        ),
        "",
        f"## Aims at SNR {ref:g} (means over tag spacings; worst = largest over spacings)",
        "",
        markdown_table(_whole_numbers(aims_table(cells), ("snr",)), digits=3),
        "",
        "## Mean ES displacement error (px), averaged over tag spacings",
        "",
        markdown_table(pivot(cells, "es_mean_px", "snr"), digits=3),
        "",
        f"## Mean ES displacement error (px) at SNR {ref:g}, per tag spacing",
        "",
        markdown_table(pivot(cells[cells["snr"] == ref], "es_mean_px", "spacing_px"), digits=3),
        "",
        "## Mean |ES Ecc error| over AHA segments, averaged over tag spacings",
        "",
        markdown_table(pivot(cells, "ecc_segment_mae", "snr"), digits=4),
        "",
        "## Every cell",
        "",
        markdown_table(_whole_numbers(cells[MARKDOWN_COLUMNS]), digits=3),
    ]
    return "\n".join(parts) + "\n"


def write_validation_tables(cells: pd.DataFrame, stem: str | Path) -> None:
    """``<stem>.tsv`` (every column, full precision) and ``<stem>.md``, atomically."""
    require_columns(cells, CELL_COLUMNS, "tracking validation table")
    text = validation_markdown(cells)
    write_tsv(cells[CELL_COLUMNS], f"{stem}.tsv")
    with atomic_path(f"{stem}.md") as tmp:
        tmp.write_text(text, encoding="utf-8")


def _line_panel(ax: Axes, cells: pd.DataFrame, over: str, title: str) -> None:
    """Mean ES error (px) against ``over`` per (method, species), with the aim line.

    A phase-strain variant (``harp_phase``) shares its tracker's displacement, so only the
    tracker's line is drawn.
    """
    for method, species in _ordered(cells):
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
    lines = _ordered(pooled)
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
    """The four-panel validation figure (see the module docstring), ``<stem>.{png,svg}``."""
    require_columns(cells, ["method", "species", "snr", "spacing_px", "es_mean_px"], "cells")
    require_columns(
        segments,
        ["method", "species", "snr", "spacing_px", "segment", "ecc_error", "err_error"],
        "segment errors",
    )
    if cells.empty:
        raise ValueError("fig_tracking_validation: the cell table is empty")
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
}


def write_sweep(result: SweepResult, out_dir: str | Path) -> list[Path]:
    """Every file of a sweep under ``out_dir``: the cell table (TSV + MD), the figure (PNG +
    SVG) and the per-slice and per-slice-segment tables they come from. Returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_tsv(result.slices, out / OUTPUT_NAMES["slices"])
    write_tsv(result.segments, out / OUTPUT_NAMES["segments"])
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
    ]
