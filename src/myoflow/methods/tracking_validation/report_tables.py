"""The tracking validation's table: the TSV of every cell and its Markdown view.

Input is the per-cell aggregate of ``myoflow.methods.tracking_validation.validation``
(``aggregate``: one row per method x species x realism x mask error x SNR x tag spacing). The
TSV keeps every column at full precision; the Markdown is for reading: the aims and two small
pivots of the headline number (mean end-systolic error in pixels, over SNR and over tag
spacing) in the reference condition, then what a user meets in every condition (realism preset
x mask error: mean, 95th percentile and maximum point error, landmark and mid-wall strain
errors), then the main columns of every cell.

The reference condition is the ideal phantom tracked from the true mask (``ideal``, ``none``),
where the aims were set; when the grid lacks either, its first realism and mask error stand in.
The aims, the pivots and the figure (``report``) are drawn there, so that their curves over SNR
and spacing are not averaged with realism or a wrong mask.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from myoflow.io.atomic import atomic_path, write_tsv
from myoflow.methods.tracking_validation.grid import MASK_ERRORS, REALISMS
from myoflow.methods.tracking_validation.scoring import PHASE_STRAIN, ZERO
from myoflow.methods.tracking_validation.validation import AIM_ECC, AIM_ES_MEAN_PX, CELL_COLUMNS
from myoflow.report.figures_common import method_order, require_columns
from myoflow.report.tables import markdown_table

#: The SNR at which panels (b)-(d) are drawn when it is part of the sweep (the issue's aim).
REFERENCE_SNR = 20.0
#: Columns of the Markdown's cell table: the headline numbers, not every statistic of the TSV.
MARKDOWN_COLUMNS = [
    "method",
    "species",
    "realism",
    "mask_error",
    "snr",
    "spacing_px",
    "slices",
    "failed",
    "es_mean_px",
    "es_p95_px",
    "es_max_px",
    "es_mean_mm",
    "all_mean_px",
    "landmark_es_mean_px",
    "ecc_global_bias",
    "ecc_global_sd",
    "ecc_segment_mae",
    "err_global_bias",
    "err_segment_mae",
    "ecc_midwall_mae",
    "err_midwall_mae",
    "ms_per_frame",
]
#: Columns of the conditions table (per method x species x realism x mask error).
CONDITION_COLUMNS = [
    "method",
    "species",
    "realism",
    "mask_error",
    "snr",
    "slices",
    "failed",
    "es_mean_px",
    "es_p95_px",
    "es_max_px",
    "landmark_es_mean_px",
    "ecc_midwall_mae",
    "err_midwall_mae",
    "ecc_segment_mae",
    "qc_rejected",
    "es_max_unflagged_px",
    "frames_per_s",
]
#: The zero baseline's ``mask_error`` in the conditions table: it tracks nothing, so no mask
#: changes it and it has one row per species and realism preset.
ANY_MASK = "any"


def reference_snr(snrs: Sequence[float]) -> float:
    """The SNR that panels (b)-(d) show: 20 when swept, else the swept value closest to it."""
    values = sorted({float(s) for s in snrs})
    if not values:
        raise ValueError("no SNR values")
    return min(values, key=lambda s: (abs(np.log(s / REFERENCE_SNR)), s))


def reference_condition(cells: pd.DataFrame) -> pd.DataFrame:
    """The cells of the reference condition: ``ideal`` and ``none`` when swept, else the grid's
    first realism and mask error (see the module docstring)."""
    require_columns(cells, ["realism", "mask_error"], "tracking reference condition")
    picked = []
    for key, order in (("realism", REALISMS), ("mask_error", MASK_ERRORS)):
        present = [name for name in order if name in set(cells[key])]
        if not present:
            raise ValueError(f"no known {key} in the cell table: {sorted(set(cells[key]))}")
        picked.append(cells[key] == present[0])
    return cells[picked[0] & picked[1]]


def conditions_table(cells: pd.DataFrame) -> pd.DataFrame:
    """What a user meets per (method, species, realism, mask error) at the reference SNR.

    Means over tag spacings, except the maxima ``es_max_px`` and ``es_max_unflagged_px`` (the
    largest over them) and the slice counts (summed: ``failed`` the tracker refused,
    ``qc_rejected`` its quality control rejected). Per species and preset, the trackers' rows by mask error, then the
    zero baseline's (``mask_error`` = ``any``: nothing it does depends on the mask).
    ``harp_phase`` differs from HARP in its field strain only, so it is left out.
    """
    keys = ["method", "species", "realism", "mask_error"]
    require_columns(cells, [c for c in CONDITION_COLUMNS if c != "snr"], "tracking conditions")
    ref = reference_snr(cells["snr"])
    at_ref = cells[(cells["snr"] == ref) & ~cells["method"].str.endswith(PHASE_STRAIN)]
    is_zero = at_ref["method"] == ZERO
    zero = at_ref[is_zero]
    first_mask = zero.groupby(["species", "realism"])["mask_error"].transform("first")
    zero = zero[zero["mask_error"] == first_mask].assign(mask_error=ANY_MASK)
    rows = pd.concat([at_ref[~is_zero], zero])
    sums = ["slices", "failed", "qc_rejected"]
    maxima = ["es_max_px", "es_max_unflagged_px"]
    means = [c for c in CONDITION_COLUMNS if c not in (*keys, "snr", *sums, *maxima)]
    grouped = rows.groupby(keys, sort=False)
    table = grouped[means].mean()
    table[maxima] = grouped[maxima].max()
    table[sums] = grouped[sums].sum()
    table = table.reset_index().assign(snr=ref)
    ranks = {
        "species": list(dict.fromkeys(cells["species"])),
        "realism": list(REALISMS),
        "mask_error": [*MASK_ERRORS, ANY_MASK],
        "method": method_order(table["method"]),
    }
    table = table.sort_values(
        list(ranks),
        key=lambda column: column.map({name: i for i, name in enumerate(ranks[column.name])}),
        kind="stable",
    )
    return table[CONDITION_COLUMNS].reset_index(drop=True)


def line_order(cells: pd.DataFrame) -> list[tuple[str, str]]:
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
    order = [key for key in line_order(cells) if key in table.index]
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
    for method, species in line_order(at_ref):
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


def _condition(cells: pd.DataFrame) -> str:
    """The reference condition in words, for headings."""
    realism, mask_error = cells["realism"].iloc[0], cells["mask_error"].iloc[0]
    return f"{realism} phantom, mask error {mask_error}"


def validation_markdown(cells: pd.DataFrame, every_cell: bool = True) -> str:
    """The Markdown view of the cell table: the aims and pivots in the reference condition,
    every condition at the reference SNR, and (``every_cell``) the main columns of every cell,
    which a large grid's printout leaves to the TSV."""
    require_columns(cells, MARKDOWN_COLUMNS, "tracking validation table")
    ref = reference_snr(cells["snr"])
    base = reference_condition(cells)
    where = _condition(base)
    parts = [
        "# Tracking validation on the phantom",
        "",
        (
            "Trackers against the phantom's exact motion, beside the zero-displacement baseline on "
            "the same slices. Errors are end-point errors inside the true ED myocardium; `es` at "
            "end-systole, `all` over frames 1..T-1; px = pixels of each slice; `max` = the worst "
            "point of the cell's slices. Strain errors are method minus truth of the "
            "Green-Lagrange Ecc/Err at ES from the field (the truth displacement through the same "
            "strain code): "
            "`global` per slice, `segment` pooled over AHA segments; and of the engineering "
            "mid-wall Ecc/Err from the landmarks (`midwall`). `realism`: the phantom preset; "
            "`mask_error`: how the myocardium mask given to the tracker was perturbed (scores "
            f"always use the true mask). Aims: mean ES error <= {AIM_ES_MEAN_PX:g} px at SNR 20, "
            f"|ES Ecc error| <= {AIM_ECC:g}. Full precision and every statistic (95th percentiles "
            "and maxima in mm and px, SDs, mean |error|) in validation.tsv; the landmark RMSE per "
            "frame in validation_frames.tsv."
        ),
        "",
        (
            f"## Aims at SNR {ref:g}, {where} (means over tag spacings; worst = largest over "
            "spacings)"
        ),
        "",
        markdown_table(_whole_numbers(aims_table(base), ("snr",)), digits=3),
        "",
        f"## Mean ES displacement error (px), {where}, averaged over tag spacings",
        "",
        markdown_table(pivot(base, "es_mean_px", "snr"), digits=3),
        "",
        f"## Mean ES displacement error (px) at SNR {ref:g}, {where}, per tag spacing",
        "",
        markdown_table(pivot(base[base["snr"] == ref], "es_mean_px", "spacing_px"), digits=3),
        "",
        f"## Mean |ES Ecc error| over AHA segments, {where}, averaged over tag spacings",
        "",
        markdown_table(pivot(base, "ecc_segment_mae", "snr"), digits=4),
        "",
        (
            f"## What a user meets at SNR {ref:g}: every realism preset and mask error (means "
            "over tag spacings; es_max_px the largest)"
        ),
        "",
        markdown_table(_whole_numbers(conditions_table(cells), ("snr",)), digits=3),
    ]
    if every_cell:
        parts += [
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
