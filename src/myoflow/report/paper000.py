"""Paper 000's tables (1, 2, group effects, timing) from the tidy evaluation tables.

Why here and not in the stage: the tables are pure functions of tidy tables, so they are tested
on small hand-made frames, and the next methods (tagged strain, paper 003) reuse the pieces
(``strain_long``, ``segment_table``, ``agreement_rows``, ``group_table``).

Units of analysis, stated because they change the statistics:

* Table 1 and the strain agreement of Table 2 pair the network's and the reference's
  end-systolic strain of the same slice and AHA segment (segment 0, the slice's global value,
  is reported in Table 1 but not pooled into Table 2 with the segments).
* Displacement metrics are per slice, shown as mean and SD over slices.
* Group effects use one value per subject (the mean global ES strain over its slices), because
  slices of one heart are not independent observations.

Truth. When the reference is a tagged-image tracker and the cohort is a phantom, the evaluation
adds the exact motion as the method ``truth`` (and metrics rows ``against: truth``). Table 1
then shows truth like any method (tested against the reference); Table 2 keeps its rows of each
network against the reference and adds rows of every method against truth, the reference named
by its tracker (``reference_name``). With ``reference: truth`` there is no ``truth`` method and
the tables are unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from myoflow.stats.agreement import agreement_table
from myoflow.stats.hypothesis import paired_tests, welch_tests
from myoflow.strain.aha import SEGMENT_NAMES

REFERENCE = "reference"
#: The phantom's exact motion where it is not itself the reference.
TRUTH = "truth"
#: End-systolic Green-Lagrange strains compared in the paper's tables.
ES_STRAINS = ("ecc_green_es", "err_green_es")
SLICE_KEYS = ["cohort", "subject", "slice_id"]
DISPLACEMENT_COLUMNS = ("rmse_x_mm", "rmse_y_mm", "ssim_x", "ssim_y", "epe_mm")
AGREEMENT_COLUMNS = (
    "icc_a1",
    "icc_c1",
    "pearson_r",
    "cv",
    "ba_bias",
    "ba_sd",
    "ba_loa_low",
    "ba_loa_high",
)
GLOBAL = 0


def segment_name(segment: int) -> str:
    return "global" if segment == GLOBAL else SEGMENT_NAMES[int(segment)]


def strain_long(summary: pd.DataFrame, strains: tuple[str, ...] = ES_STRAINS) -> pd.DataFrame:
    """One row per slice x segment x method x strain with the value in ``value``."""
    keep = [*SLICE_KEYS, "group", "position", "method", "segment"]
    return summary.melt(
        id_vars=keep, value_vars=list(strains), var_name="strain", value_name="value"
    )


def segment_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Table 1: ES Ecc/Err per AHA segment (and global) for every method, paired t vs reference.

    p is the paired t-test of a network against the reference over the slices of the segment;
    p_bonferroni corrects over the segments of one network and strain.
    """
    long = strain_long(summary)
    desc = (
        long.groupby(["strain", "segment", "method"], sort=True)["value"]
        .agg(n="count", mean="mean", sd="std")
        .reset_index()
    )
    tests = _per_strain(paired_tests, long, by=["segment"])
    tests = tests[["strain", "segment", "method", "p", "p_bonferroni"]]
    table = desc.merge(tests, on=["strain", "segment", "method"], how="left")
    table.insert(2, "segment_name", table["segment"].map(segment_name))
    order = {m: i for i, m in enumerate(_methods(table["method"]))}
    return table.sort_values(
        ["strain", "segment", "method"], key=lambda c: c.map(order) if c.name == "method" else c
    ).reset_index(drop=True)


def _per_strain(
    statistic: Callable[..., pd.DataFrame],
    long: pd.DataFrame,
    by: list[str],
    reference_label: str = REFERENCE,
) -> pd.DataFrame:
    """``statistic`` of each method against ``reference_label``, one strain at a time."""
    parts = [
        statistic(
            rows,
            value="value",
            method_col="method",
            reference_label=reference_label,
            pair_on=[*SLICE_KEYS, "segment"],
            by=by,
        ).assign(strain=strain)
        for strain, rows in long.groupby("strain", sort=True)
    ]
    return pd.concat(parts, ignore_index=True)


def _methods(methods: pd.Series) -> list[str]:
    """Reference and truth first, then the others in order of appearance, the zero baseline last."""
    seen = list(dict.fromkeys(methods))
    nets = [m for m in seen if m not in (REFERENCE, TRUTH, "zero")]
    return [m for m in (REFERENCE, TRUTH, *nets, "zero") if m in seen]


def agreement_rows(summary: pd.DataFrame, reference_name: str = REFERENCE) -> pd.DataFrame:
    """Strain agreement over slice x AHA segment values: each network with the reference and,
    when the summary holds ``truth``, every other method with truth.

    ``against`` says which; in the rows against truth the reference is called
    ``reference_name`` (the tracker, so that it reads like the displacement rows of Table 2).
    """
    long = strain_long(summary)
    long = long[long["segment"] != GLOBAL]
    vs_reference = _per_strain(agreement_table, long[long["method"] != TRUTH], by=[])
    if not (long["method"] == TRUTH).any():
        return vs_reference
    renamed = long.assign(method=long["method"].replace({REFERENCE: reference_name}))
    vs_truth = _per_strain(agreement_table, renamed, by=[], reference_label=TRUTH)
    order = {m: i for i, m in enumerate(_methods(long["method"]))}
    order[reference_name] = order[REFERENCE]
    vs_truth = vs_truth.sort_values(
        ["strain", "method"], key=lambda c: c.map(order) if c.name == "method" else c
    )
    return pd.concat([vs_reference, vs_truth], ignore_index=True)


def agreement_table_rows(
    summary: pd.DataFrame, metrics: pd.DataFrame, reference_name: str = REFERENCE
) -> pd.DataFrame:
    """Table 2: displacement accuracy and strain agreement, one row per metric x method x against.

    Columns: ``metric, strain, method, against, value, sd, ci_low, ci_high, n``. Displacement
    metrics are the mean (and SD) over slices, the zero-displacement baseline included; strain
    rows carry the 95% CI where the statistic has one. Rows ``against: reference`` come first;
    when the tables hold the phantom's truth, rows ``against: truth`` follow (every method, the
    reference named ``reference_name``).
    """
    rows: list[dict[str, Any]] = []
    metrics = metrics.sort_values("against", key=lambda c: c != REFERENCE, kind="stable")
    for (method, against), m in metrics.groupby(["method", "against"], sort=False):
        for col in DISPLACEMENT_COLUMNS:
            rows.append(
                {
                    "metric": col,
                    "strain": "",
                    "method": method,
                    "against": against,
                    "value": m[col].mean(),
                    "sd": m[col].std(),
                    "n": int(m[col].count()),
                }
            )
    for r in agreement_rows(summary, reference_name).to_dict("records"):
        for col in AGREEMENT_COLUMNS:
            ci = _ci_columns(col)
            rows.append(
                {
                    "metric": col,
                    "strain": r["strain"],
                    "method": r["method"],
                    "against": r["against"],
                    "value": r[col],
                    "ci_low": r.get(ci[0], np.nan),
                    "ci_high": r.get(ci[1], np.nan),
                    "n": int(r["n"]),
                }
            )
    columns = ["metric", "strain", "method", "against", "value", "sd", "ci_low", "ci_high", "n"]
    return pd.DataFrame(rows).reindex(columns=columns)


def _ci_columns(col: str) -> tuple[str, str]:
    """Names of the CI columns of an agreement statistic (see ``myoflow.stats.agreement``)."""
    if col == "pearson_r":
        return "pearson_ci_low", "pearson_ci_high"
    return f"{col}_ci_low", f"{col}_ci_high"


def group_table(summary: pd.DataFrame, reference_group: str) -> pd.DataFrame:
    """Welch tests of every group against ``reference_group`` for the reference and each network.

    One value per subject: the mean of its slices' global ES strain. A network reproduces a group
    effect when its mean difference and CI tell the same story as the reference's. Bonferroni
    corrects over the groups of one method and strain.
    """
    glob = strain_long(summary[summary["segment"] == GLOBAL])
    per_subject = (
        glob.groupby(["cohort", "subject", "group", "method", "strain"], sort=True)["value"]
        .mean()
        .reset_index()
    )
    if reference_group not in set(per_subject["group"]):
        raise ValueError(
            f"reference group {reference_group!r} has no evaluated subject; groups present: "
            f"{sorted(set(per_subject['group']))}"
        )
    table = welch_tests(
        per_subject,
        value="value",
        group_col="group",
        reference_group=reference_group,
        by=["method", "strain"],
        family=("method", "strain"),
    )
    return table.reset_index(drop=True)


def timing_table(
    histories: dict[str, pd.DataFrame], models: dict[str, pd.DataFrame]
) -> pd.DataFrame:
    """Training seconds for 10 and 100 epochs per network.

    ``measured`` when the run trained that many epochs (the sum of their epoch times), otherwise
    ``projected`` as the median epoch time times the count; the basis is always stated.
    """
    rows = []
    for net, history in histories.items():
        info = models[net].iloc[0].to_dict()
        median = float(history["seconds"].median())
        for epochs in (10, 100):
            measured = len(history) >= epochs
            rows.append(
                {
                    "net": net,
                    "epochs": epochs,
                    "seconds": float(history["seconds"].iloc[:epochs].sum())
                    if measured
                    else median * epochs,
                    "basis": "measured" if measured else f"projected from {len(history)} epoch(s)",
                    "median_epoch_seconds": median,
                    "parameters": int(info["parameters"]),
                    "device": info["device"],
                    "train_slices": int(info["train_slices"]),
                }
            )
    return pd.DataFrame(rows)


def strain_pairs(summary: pd.DataFrame) -> pd.DataFrame:
    """Network vs reference ES strain per slice x AHA segment (the points of Fig. 6).

    Columns ``method, strain, value_method, value_reference``, the same pairs as Table 2's rows
    against the reference (truth, where present, is not a network and is left out).
    """
    long = strain_long(summary)
    long = long[long["segment"] != GLOBAL]
    keys = [*SLICE_KEYS, "segment", "strain"]
    ref = long[long["method"] == REFERENCE][[*keys, "value"]]
    nets = long[~long["method"].isin([REFERENCE, TRUTH])]
    paired = nets.merge(ref, on=keys, suffixes=("_method", "_reference"))
    return paired[["method", "strain", "value_method", "value_reference"]].reset_index(drop=True)
