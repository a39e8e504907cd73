"""Paper 003's tables from the evaluation's tidy tables: localisation, landmark error, Table 2
(ES strain per level) and Table 3 (mid-ventricular strain per disease group).

Pure pandas over :mod:`myoflow.tables`' columns; the statistics are the shared builders'
(:mod:`myoflow.report.hypothesis_tables`, :mod:`myoflow.stats`), so this module only chooses
rows and lays them out as the paper does.

* Table 2: at end-systole, for each slice level (basal, mid, apical) and each strain (εC
  averaged over the three rings, subendocardial, mid-wall, subepicardial, and εR), the
  reference's and each method's mean ± SD over slices, the bias ± precision (mean ± SD of the
  slice differences, method - reference), a paired Student t-test, Bonferroni over the table's
  15 tests of one method (p < 0.05 / 15 marked), and the absolute error mean ± SD.
* Table 3: the mid-ventricular average εC of every group against the reference group, per
  method, by Welch's unequal-variance t-test with the 95 % interval of the difference; one value
  per subject (the mean of its mid slices).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from myoflow.record import SLICE_POSITIONS
from myoflow.report.agreement_tables import method_order, sort_by_method
from myoflow.report.hypothesis_tables import welch_group_table
from myoflow.stats.hypothesis import paired_tests
from myoflow.tables import REFERENCE

#: Table 2's strains, in the paper's row order: εC averaged over the rings, its three rings, εR.
TABLE2_STRAINS = {
    "ecc_green": "εC",
    "ecc_endo_green": "εC subendo",
    "ecc_mid_green": "εC midwall",
    "ecc_epi_green": "εC subepi",
    "err_green": "εR",
}
#: Table 2's columns (``table2``).
TABLE2_COLUMNS = [
    "against",
    "method",
    "position",
    "label",
    "strain",
    "n",
    "reference_mean",
    "reference_sd",
    "mean",
    "sd",
    "bias",
    "precision",
    "t",
    "p",
    "p_bonferroni",
    "significant",
    "abs_error_mean",
    "abs_error_sd",
]
#: The significance level of one test before Bonferroni (the paper's p < 0.0033 over 15).
ALPHA = 0.05
GLOBAL = 0


def es_long(curves: pd.DataFrame, strains: list[str]) -> pd.DataFrame:
    """One row per slice x method x strain: the whole slice's value at its ES frame."""
    es = curves[(curves["segment"] == GLOBAL) & (curves["frame"] == curves["es_frame"])]
    keep = ["cohort", "subject", "slice_id", "group", "position", "method", "segment"]
    return es.melt(id_vars=keep, value_vars=strains, var_name="strain", value_name="value")


def _level_order(values: pd.Series) -> pd.Series:
    order = {p: i for i, p in enumerate(SLICE_POSITIONS)}
    return values.map(lambda v: order.get(v, len(order)))


def table2(curves: pd.DataFrame, against: str = REFERENCE) -> pd.DataFrame:
    """Paper 003's Table 2 for every method against the method ``against`` (the reference, or
    the phantom's truth when a tracker is the reference), one row per method x level x strain:
    ``against``, ``n``, ``reference_mean``, ``reference_sd`` (of ``against``), ``mean``,
    ``sd``, ``bias``, ``precision``, ``p``, ``p_bonferroni``, ``significant``
    (``p_bonferroni`` < 0.05), ``abs_error_mean``, ``abs_error_sd``."""
    long = es_long(curves, list(TABLE2_STRAINS))
    tests = paired_tests(
        long,
        value="value",
        method_col="method",
        reference_label=against,
        pair_on=["cohort", "subject", "slice_id", "segment", "position", "strain"],
        by=["position", "strain"],
    )
    reference = long[long["method"] == against]
    rows = []
    for (method, position, strain), m in long[long["method"] != against].groupby(
        ["method", "position", "strain"]
    ):
        keys = ["cohort", "subject", "slice_id"]
        ref = reference[(reference["position"] == position) & (reference["strain"] == strain)]
        paired = m.merge(ref[[*keys, "value"]], on=keys, suffixes=("", "_reference"))
        diff = (paired["value"] - paired["value_reference"]).to_numpy(float)
        rows.append(
            {
                "method": method,
                "position": position,
                "strain": strain,
                "abs_error_mean": float(np.mean(np.abs(diff))) if diff.size else np.nan,
                "abs_error_sd": float(np.std(np.abs(diff), ddof=1)) if diff.size > 1 else np.nan,
                "precision": float(np.std(diff, ddof=1)) if diff.size > 1 else np.nan,
            }
        )
    spread = pd.DataFrame(rows)
    table = tests.rename(
        columns={
            "mean_method": "mean",
            "sd_method": "sd",
            "mean_reference": "reference_mean",
            "sd_reference": "reference_sd",
            "mean_diff": "bias",
        }
    ).merge(spread, on=["method", "position", "strain"], how="left")
    table["significant"] = table["p_bonferroni"] < ALPHA
    table["label"] = table["strain"].map(TABLE2_STRAINS)
    table["against"] = against
    order = {m: i for i, m in enumerate(method_order(table["method"]))}
    strain_rank = {s: i for i, s in enumerate(TABLE2_STRAINS)}
    table = table.assign(
        _level=_level_order(table["position"]), _strain=table["strain"].map(strain_rank)
    )
    table = sort_by_method(table, ["method", "_level", "_strain"], order)
    return table[TABLE2_COLUMNS].reset_index(drop=True)


def table3(curves: pd.DataFrame, reference_group: str) -> pd.DataFrame:
    """Paper 003's Table 3: mid-ventricular ES εC (averaged over the rings) of each group
    against ``reference_group``, per method (the zero baseline, whose strain is 0, left out).

    Raises ``ValueError`` when no mid slice of the reference group was evaluated."""
    long = es_long(curves, ["ecc_green"])
    mid = long[(long["position"] == "mid") & (long["method"] != "zero")]
    if mid.empty:
        raise ValueError("Table 3 needs mid-ventricular slices; none was evaluated")
    table = welch_group_table(mid, reference_group)
    order = {m: i for i, m in enumerate(method_order(table["method"]))}
    return sort_by_method(table, ["method", "group"], order).reset_index(drop=True)


def localisation_table(boxes: pd.DataFrame) -> pd.DataFrame:
    """IoU of the predicted ED box with the target over slices (paper 003: 90.4 ± 5.4 %, worst
    53 %), the share of slices whose box holds every ED landmark, and the IoU of the boxes the
    tracker's crops were cut with (beyond the paper: ``tracker.refine``); over the slices that
    have a target (a mask or landmarks), so ``n`` may be below the slices predicted."""
    boxes = boxes[np.isfinite(boxes["iou"].to_numpy(float))]
    iou = boxes["iou"].to_numpy(float)
    inside = boxes["landmarks_inside"].to_numpy(float)
    crop = boxes["crop_iou"].to_numpy(float)
    worst = boxes.loc[boxes["iou"].idxmin()] if len(boxes) else None
    return pd.DataFrame(
        [
            {
                "n": int(iou.size),
                "iou_mean": float(np.mean(iou)) if iou.size else np.nan,
                "iou_sd": float(np.std(iou, ddof=1)) if iou.size > 1 else np.nan,
                "iou_median": float(np.median(iou)) if iou.size else np.nan,
                "iou_worst": float(np.min(iou)) if iou.size else np.nan,
                "worst_slice": "" if worst is None else f"{worst['subject']}/{worst['slice_id']}",
                "all_landmarks_inside": float(np.mean(inside >= 1.0)) if iou.size else np.nan,
                "crop_iou_mean": float(np.mean(crop)) if crop.size else np.nan,
                "crop_iou_worst": float(np.min(crop)) if crop.size else np.nan,
            }
        ]
    )


def landmark_table(errors: pd.DataFrame, curves: pd.DataFrame) -> pd.DataFrame:
    """Landmark RMSE at ED and at each slice's ES frame, mean ± SD over slices, in mm and in
    image pixels, per method and per reference it is measured ``against`` (the reference first)
    (paper 003: 4.1 ± 2.0 mm at ED and 3.8 ± 1.7 mm at ES; two
    observers 2.1 ± 1.8 and 2.0 ± 1.6 mm)."""
    es = curves[["cohort", "subject", "slice_id", "es_frame"]].drop_duplicates()
    merged = errors.merge(es, on=["cohort", "subject", "slice_id"])
    rows = []
    for phase, pick in (
        ("ED", merged["frame"] == 0),
        ("ES", merged["frame"] == merged["es_frame"]),
    ):
        for (against, method), m in merged[pick].groupby(["against", "method"], sort=False):
            rows.append(
                {
                    "against": against,
                    "method": method,
                    "phase": phase,
                    "n": len(m),
                    "rmse_mm_mean": m["rmse_mm"].mean(),
                    "rmse_mm_sd": m["rmse_mm"].std(),
                    "rmse_px_mean": m["rmse_px"].mean(),
                    "rmse_px_sd": m["rmse_px"].std(),
                }
            )
    columns = [
        "against",
        "method",
        "phase",
        "n",
        *(f"rmse_{u}_{s}" for u in ("mm", "px") for s in ("mean", "sd")),
    ]
    table = pd.DataFrame(rows, columns=columns)
    if table.empty:
        return table
    order = {m: i for i, m in enumerate(method_order(table["method"]))}
    table = table.assign(_against=table["against"] != REFERENCE)
    table = sort_by_method(table, ["_against", "method", "phase"], order)
    return table.drop(columns="_against").reset_index(drop=True)
