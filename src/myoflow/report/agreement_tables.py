"""Method-neutral agreement tables: every method's values against a reference, in long form.

Why here and not in a paper's module: each method compares its output with a reference the
same way (paper 000: a network's ES strain against SinMod, Table 2 and Figure 6; paper 003:
landmark strain against the manual landmarks, bias and precision per basal, mid and apical
level, Table 2 and Figure 5), so a paper module only chooses rows and columns and composes its
tables from these builders. The statistics themselves are :mod:`myoflow.stats.agreement`'s.

The long form. Every builder here and in :mod:`myoflow.report.hypothesis_tables` starts from
:func:`strain_long`: one row per slice x AHA segment x method x strain with the value in
``value`` (from the ``STRAIN_SUMMARY`` columns of :mod:`myoflow.tables`). A method's row is
paired with the reference's row of the same slice and segment (:data:`PAIR_ON`), so the unit of
analysis is the slice x segment; which segments and strains enter is the caller's choice.

Methods are strings: :data:`REFERENCE` (the experiment's reference), :data:`TRUTH` (the
phantom's exact motion, where it is not itself the reference), networks by name and
:data:`ZERO` (the zero-displacement baseline). Tables list them in :func:`method_order`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from myoflow.stats.agreement import agreement_table
from myoflow.tables import REFERENCE, TRUTH, ZERO

GLOBAL = 0
SLICE_KEYS = ["cohort", "subject", "slice_id"]
#: The keys that pair a method's value with the reference's: one slice x segment.
PAIR_ON = [*SLICE_KEYS, "segment"]
#: Columns of the long summary rows (:func:`metric_rows`, :func:`agreement_long`).
SUMMARY_COLUMNS = ["metric", "strain", "method", "against", "value", "sd", "ci_low", "ci_high", "n"]


def strain_long(summary: pd.DataFrame, strains: Sequence[str]) -> pd.DataFrame:
    """One row per slice x segment x method x strain with the value in ``value``.

    ``summary`` has the ``STRAIN_SUMMARY`` identifiers; ``strains`` names its value columns to
    keep (e.g. ``ecc_green_es``), which become the ``strain`` column.
    """
    keep = [*SLICE_KEYS, "group", "position", "method", "segment"]
    return summary.melt(
        id_vars=keep, value_vars=list(strains), var_name="strain", value_name="value"
    )


def method_order(methods: pd.Series) -> list[str]:
    """Reference and truth first, then the others in order of appearance, the zero baseline last."""
    seen = list(dict.fromkeys(methods))
    others = [m for m in seen if m not in (REFERENCE, TRUTH, ZERO)]
    return [m for m in (REFERENCE, TRUTH, *others, ZERO) if m in seen]


def sort_by_method(
    table: pd.DataFrame, columns: list[str], order: Mapping[str, int]
) -> pd.DataFrame:
    """``table`` sorted on ``columns``, the ``method`` column by ``order`` rather than by name."""
    return table.sort_values(columns, key=lambda c: c.map(order) if c.name == "method" else c)


def per_strain(
    statistic: Callable[..., pd.DataFrame],
    long: pd.DataFrame,
    by: Sequence[str],
    reference_label: str = REFERENCE,
) -> pd.DataFrame:
    """``statistic`` of each method against ``reference_label``, one strain at a time.

    ``statistic`` is :func:`myoflow.stats.agreement.agreement_table` or one of
    :mod:`myoflow.stats.hypothesis`'s tests; rows pair on :data:`PAIR_ON` and ``by`` splits the
    pairs. The result carries a ``strain`` column.
    """
    parts = [
        statistic(
            rows,
            value="value",
            method_col="method",
            reference_label=reference_label,
            pair_on=PAIR_ON,
            by=list(by),
        ).assign(strain=strain)
        for strain, rows in long.groupby("strain", sort=True)
    ]
    return pd.concat(parts, ignore_index=True)


def agreement_rows(
    long: pd.DataFrame, reference_name: str = REFERENCE, by: Sequence[str] = ()
) -> pd.DataFrame:
    """Agreement (ICC, Pearson, CV, Bland-Altman) of each method with the reference and, when
    ``long`` holds ``truth``, of every other method with truth; one row per strain x ``by``
    group x method x against.

    ``against`` says which. In the rows against truth the reference is called
    ``reference_name`` (the tracker's name, so that a tracker reads like any other method).
    ``by = ["position"]`` gives the bias and limits of agreement per slice level (paper 003).
    Columns: ``by``, ``method``, ``against``, ``AGREEMENT_KEYS`` of
    :mod:`myoflow.stats.agreement`, ``strain``.
    """
    by = list(by)
    vs_reference = per_strain(agreement_table, long[long["method"] != TRUTH], by=by)
    if not (long["method"] == TRUTH).any():
        return vs_reference
    renamed = long.assign(method=long["method"].replace({REFERENCE: reference_name}))
    vs_truth = per_strain(agreement_table, renamed, by=by, reference_label=TRUTH)
    order = {m: i for i, m in enumerate(method_order(long["method"]))}
    order[reference_name] = order[REFERENCE]
    vs_truth = sort_by_method(vs_truth, ["strain", *by, "method"], order)
    return pd.concat([vs_reference, vs_truth], ignore_index=True)


def reference_pairs(long: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """Each method's value beside the reference's of the same slice x segment (Bland-Altman
    points), one row per pair.

    Columns ``by``, ``method``, ``strain``, ``value_method``, ``value_reference``: the pairs of
    :func:`agreement_rows`' rows against the reference. Truth, where present, is not a method
    compared with the reference and is left out.
    """
    keys = [*PAIR_ON, "strain"]
    reference = long[long["method"] == REFERENCE][[*keys, "value"]]
    methods = long[~long["method"].isin([REFERENCE, TRUTH])]
    paired = methods.merge(reference, on=keys, suffixes=("_method", "_reference"))
    columns = [*by, "method", "strain", "value_method", "value_reference"]
    return paired[columns].reset_index(drop=True)


def metric_rows(metrics: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Mean, SD and count over rows (slices) of each metric column, per method x against.

    ``metrics`` has ``method`` and ``against`` columns (e.g. ``DISPLACEMENT_METRICS``). Rows
    against the reference come first, then the others in order of appearance; within each,
    methods in order of appearance. Columns :data:`SUMMARY_COLUMNS` (``strain`` empty, no CI).
    """
    rows: list[dict[str, Any]] = []
    metrics = metrics.sort_values("against", key=lambda c: c != REFERENCE, kind="stable")
    for (method, against), m in metrics.groupby(["method", "against"], sort=False):
        for col in columns:
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
    return pd.DataFrame(rows).reindex(columns=SUMMARY_COLUMNS)


def agreement_long(agreement: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """:func:`agreement_rows` as one row per statistic in ``columns`` x strain x method x against.

    ``value`` is the statistic and ``ci_low``/``ci_high`` its 95% interval where it has one
    (NaN otherwise). Columns :data:`SUMMARY_COLUMNS` (no SD).
    """
    rows: list[dict[str, Any]] = []
    for r in agreement.to_dict("records"):
        for col in columns:
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
    return pd.DataFrame(rows).reindex(columns=SUMMARY_COLUMNS)


def _ci_columns(col: str) -> tuple[str, str]:
    """Names of the CI columns of an agreement statistic (see ``myoflow.stats.agreement``)."""
    if col == "pearson_r":
        return "pearson_ci_low", "pearson_ci_high"
    return f"{col}_ci_low", f"{col}_ci_high"
