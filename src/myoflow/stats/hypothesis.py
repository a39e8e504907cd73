"""Group tests of the reports: paired t-tests against the reference and Welch tests between groups.

Paper 000 (Table 1) tests each AHA segment's strain of each network against the SinMod
reference with a t-test and a Bonferroni correction; paper 003 does the same over its 15
strain tests (Table 2) and compares disease groups with a reference group by Welch's
unequal-variance t-test with the 95% interval of the difference (Table 3). Both functions take
the tidy tables of :mod:`myoflow.tables`, so every method's report uses them unchanged.

The tests come from scipy (``ttest_rel``, ``ttest_ind(equal_var=False)`` with its
Welch-Satterthwaite interval) and the correction from statsmodels (``multipletests``); this
module only pairs rows, groups them and defines the correction families. scipy's conventions
for differences or groups without spread are passed through unchanged (t = NaN when every
difference is 0, +/-inf with p = 0 when they are all equal and non-zero).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from myoflow.stats.agreement import (
    CONFIDENCE,
    METHOD_VALUE,
    REFERENCE_VALUE,
    pair_with_reference,
)

PAIRED_COLUMNS = [
    "method",
    "against",
    "n",
    "mean_method",
    "sd_method",
    "mean_reference",
    "sd_reference",
    "mean_diff",
    "t",
    "p",
    "p_bonferroni",
]
WELCH_COLUMNS = [
    "group",
    "reference_group",
    "n_group",
    "n_reference",
    "mean_group",
    "mean_reference",
    "mean_diff",
    "ci_low",
    "ci_high",
    "t",
    "dof",
    "p",
    "p_bonferroni",
]


def paired_tests(
    df: pd.DataFrame,
    value: str,
    method_col: str,
    reference_label: str,
    pair_on: list[str],
    by: list[str],
) -> pd.DataFrame:
    """Paired t-test of each non-reference method against the reference, per ``by`` group.

    Rows are paired on ``pair_on`` by :func:`myoflow.stats.agreement.pair_with_reference` and
    pairs with a NaN are dropped, so ``n`` counts complete pairs and the means and SDs (ddof =
    1) are over those pairs; ``mean_diff`` is mean(method - reference). ``t`` and ``p``
    (two-sided) are scipy's ``ttest_rel``; fewer than 2 pairs give NaN.

    Bonferroni family: all the by-groups of one method, e.g. the six segments of MyoNet. Paper
    000's Table 1 corrects the segment tests of each network and strain without naming the
    family; correcting per method judges each network against the reference on its own, so
    adding a method to the report does not change another method's adjusted p-values. Only tests
    with a p-value count, and ``p_bonferroni = min(1, p x family size)``. One call covers one
    value column, so Ecc and Err are separate families when called once each; to correct across
    several values (paper 003's 15 tests) stack them into one ``value`` column with the kind in
    a ``by`` column.

    Returns one row per by-group x method, sorted, with columns ``by + PAIRED_COLUMNS``.
    """
    paired = pair_with_reference(df, value, method_col, reference_label, pair_on, by)
    keys = [*by, "method"]
    rows = []
    for key, group in paired.groupby(keys, sort=True, dropna=False):
        complete = group.dropna(subset=[METHOD_VALUE, REFERENCE_VALUE])
        x = complete[METHOD_VALUE].to_numpy(dtype=float)
        y = complete[REFERENCE_VALUE].to_numpy(dtype=float)
        t, p = np.nan, np.nan
        if x.size >= 2:
            result = stats.ttest_rel(x, y)
            t, p = float(result.statistic), float(result.pvalue)
        mean_method, sd_method = _mean_sd(x)
        mean_reference, sd_reference = _mean_sd(y)
        rows.append(
            {
                **dict(zip(keys, key, strict=True)),
                "against": reference_label,
                "n": int(x.size),
                "mean_method": mean_method,
                "sd_method": sd_method,
                "mean_reference": mean_reference,
                "sd_reference": sd_reference,
                "mean_diff": float(np.mean(x - y)) if x.size else np.nan,
                "t": t,
                "p": p,
            }
        )
    table = pd.DataFrame(rows, columns=[*by, *PAIRED_COLUMNS])
    table["p_bonferroni"] = bonferroni(table, ["method"])
    return table


def welch_tests(
    df: pd.DataFrame,
    value: str,
    group_col: str,
    reference_group: str,
    by: list[str],
    family: Sequence[str] = ("method",),
) -> pd.DataFrame:
    """Welch's t-test of each group against ``reference_group``, per ``by`` group.

    Within each by-group (e.g. method x segment), every ``group_col`` value other than
    ``reference_group`` is compared with the reference group's rows of the same by-group; NaN
    values are dropped. ``mean_diff`` = mean(group) - mean(reference); ``t``, ``dof`` (the
    Welch-Satterthwaite degrees of freedom), the two-sided ``p`` and the 95% interval of the
    difference ``ci_low``/``ci_high`` are scipy's ``ttest_ind(equal_var=False)`` (Welch 1947,
    Biometrika 34:28-35), the test of paper 003's Table 3. A group or reference with fewer than
    2 values has no variance estimate: its test statistics and interval are NaN, while the
    counts and means are still reported.

    Bonferroni family: the rows sharing the values of the ``family`` columns that are in ``by``.
    The default makes each method one family when ``by`` holds ``method`` (a method's
    group x segment tests are corrected together, methods judged separately, as in
    :func:`paired_tests`) and all rows one family otherwise. Only tests with a p-value count;
    ``p_bonferroni = min(1, p x family size)``.

    Returns one row per by-group x group, sorted, with columns ``by + WELCH_COLUMNS``.

    Raises:
        ValueError: a column is missing or ``group_col`` is a by column.
    """
    by = list(by)
    missing = sorted({value, group_col, *by} - set(df.columns))
    if missing:
        raise ValueError(f"columns missing from the table: {missing}")
    if group_col in by:
        raise ValueError(f"{group_col!r} is the group column; it cannot be a by column")
    rows = []
    for key, block in _by_groups(df, by):
        is_reference = block[group_col] == reference_group
        reference = block.loc[is_reference, value].dropna().to_numpy(dtype=float)
        others = block.loc[~is_reference]
        for group, rows_of_group in others.groupby(group_col, sort=True, dropna=False):
            sample = rows_of_group[value].dropna().to_numpy(dtype=float)
            rows.append(
                {
                    **key,
                    "group": group,
                    "reference_group": reference_group,
                    **_welch(sample, reference),
                }
            )
    table = pd.DataFrame(rows, columns=[*by, *WELCH_COLUMNS])
    table["p_bonferroni"] = bonferroni(table, [c for c in family if c in by])
    return table


def _by_groups(df: pd.DataFrame, by: list[str]) -> Iterator[tuple[dict[str, object], pd.DataFrame]]:
    """Yield ``({by column: value}, rows)`` per by-group; the whole table when ``by`` is empty.

    NaN by-values form their own group rather than vanishing from the results.
    """
    if not by:
        yield {}, df
        return
    for key, block in df.groupby(by, sort=True, dropna=False):
        yield dict(zip(by, key, strict=True)), block


def _mean_sd(values: np.ndarray) -> tuple[float, float]:
    """Mean and SD (ddof = 1) of a sample; NaN where undefined (empty, or one value for the SD)."""
    mean = float(np.mean(values)) if values.size else np.nan
    sd = float(np.std(values, ddof=1)) if values.size >= 2 else np.nan
    return mean, sd


def _welch(sample: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """Counts, means and scipy's Welch test of ``sample`` against ``reference``."""
    mean_group, _ = _mean_sd(sample)
    mean_reference, _ = _mean_sd(reference)
    out = {
        "n_group": int(sample.size),
        "n_reference": int(reference.size),
        "mean_group": mean_group,
        "mean_reference": mean_reference,
        "mean_diff": mean_group - mean_reference,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "t": np.nan,
        "dof": np.nan,
        "p": np.nan,
    }
    if min(sample.size, reference.size) >= 2:
        result = stats.ttest_ind(sample, reference, equal_var=False)
        interval = result.confidence_interval(confidence_level=CONFIDENCE)
        out.update(
            ci_low=float(interval.low),
            ci_high=float(interval.high),
            t=float(result.statistic),
            dof=float(result.df),
            p=float(result.pvalue),
        )
    return out


def bonferroni(table: pd.DataFrame, family: list[str]) -> pd.Series:
    """Bonferroni-adjusted ``p`` within each family (rows sharing the ``family`` columns; all
    rows when ``family`` is empty).

    statsmodels counts NaN p-values as tests, so only the tests that produced a p-value are
    passed to it; the others stay NaN.
    """
    adjusted = pd.Series(np.nan, index=table.index, dtype=float)
    blocks = table.groupby(family, dropna=False) if family else [((), table)]
    for _, block in blocks:
        tested = block["p"].dropna()
        if not tested.empty:
            adjusted.loc[tested.index] = multipletests(tested.to_numpy(), method="bonferroni")[1]
    return adjusted
