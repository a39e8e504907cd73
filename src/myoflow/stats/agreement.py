"""Agreement between paired values of a method and a reference (ICC, Pearson, CV, Bland-Altman).

Paper 000 (Table 2, Figure 6) judges each network's strain by how well it agrees with the SinMod
reference on the same slices and segments; paper 003 reports bias and precision the same way. The
pairs are therefore one value per key (e.g. cohort x subject x slice x segment) from the method
and one from the reference, and :func:`agreement_table` builds those pairs from the tidy tables of
:mod:`myoflow.tables` so that every method's report uses the same code.

Where a maintained library computes a statistic it is used: pingouin for the ICCs and their
confidence intervals, scipy for Pearson's r with its Fisher-z interval, statsmodels for the
t interval of the mean difference. The Bland-Altman limits of agreement, their confidence
intervals and the CV are hand-written because no maintained library returns them (pingouin's
``plot_blandaltman`` draws the limits but exposes neither them nor their intervals).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pingouin
from numpy.typing import ArrayLike
from scipy import stats
from statsmodels.stats.weightstats import DescrStatsW

#: Fewest complete pairs for which the statistics are reported. Below three pairs the two-way
#: ANOVA behind the ICCs has no residual degrees of freedom worth the name and the limits of
#: agreement rest on one or two differences, so every statistic is NaN rather than misleading.
MIN_PAIRS = 3

#: Coverage of every confidence interval.
CONFIDENCE = 0.95

#: Normal quantile of the limits of agreement, bias +/- 1.96 SD (Bland & Altman 1999, Stat
#: Methods Med Res 8:135-160), the limits drawn in paper 000's Figure 6.
LOA_Z = 1.96

#: Keys of :func:`agreement`, in the order the tables show them.
AGREEMENT_KEYS: tuple[str, ...] = (
    "n",
    "icc_a1",
    "icc_a1_ci_low",
    "icc_a1_ci_high",
    "icc_c1",
    "icc_c1_ci_low",
    "icc_c1_ci_high",
    "pearson_r",
    "pearson_ci_low",
    "pearson_ci_high",
    "pearson_p",
    "cv",
    "ba_bias",
    "ba_sd",
    "ba_loa_low",
    "ba_loa_high",
    "ba_bias_ci_low",
    "ba_bias_ci_high",
    "ba_loa_low_ci_low",
    "ba_loa_low_ci_high",
    "ba_loa_high_ci_low",
    "ba_loa_high_ci_high",
)

#: Column names of the paired values built by :func:`pair_with_reference`.
METHOD_VALUE = "value_method"
REFERENCE_VALUE = "value_reference"

# pingouin's names of the two ICCs (McGraw & Wong notation), mapped to this module's key prefix.
_ICC_TYPES = {"ICC(A,1)": "icc_a1", "ICC(C,1)": "icc_c1"}


def agreement(method: ArrayLike, reference: ArrayLike) -> dict[str, float]:
    """Agreement statistics of paired values; see :data:`AGREEMENT_KEYS` for the keys.

    Pairs where either value is NaN are dropped first and ``n`` counts the complete pairs, so a
    missing segment in one method does not shift the pairing of the others.

    * ``icc_a1``: ICC(A,1), two-way model, absolute agreement, single measurement (McGraw & Wong
      1996, Psychol Methods 1:30-46; Shrout & Fleiss 1979 ICC(2,1)). A constant offset between
      the methods lowers it, which is what "agrees with the reference" must penalise.
    * ``icc_c1``: ICC(C,1), two-way model, consistency, single measurement (Shrout & Fleiss
      ICC(3,1)). It ignores a constant offset, so the gap between the two ICCs shows bias.
      Both come with pingouin's 95% intervals (McGraw & Wong's F-based formulas).
    * ``pearson_*``: Pearson's r, its two-sided p-value and the 95% interval from Fisher's
      z-transform (SE = 1/sqrt(n - 3)), as scipy computes them.
    * ``cv``: SD of the differences (ddof = 1) divided by the absolute mean of all 2n values,
      as a fraction. Paper 000 reports a CV of each method against the reference without a
      formula; this "SD of the differences over the grand mean" form is the one stated for the
      pipeline. It is sqrt(2) times the within-subject CV that divides the within-pair SD,
      SD/sqrt(2), by the mean (Bland & Altman 1996, BMJ 313:744). The absolute value keeps it
      positive for circumferential strain, which is negative.
    * ``ba_*``: Bland-Altman (Bland & Altman 1986, Lancet 327:307-310): bias = mean of
      method - reference, SD of the differences (ddof = 1), limits bias +/- 1.96 SD. The bias
      interval is the one-sample t interval, bias +/- t(0.975, n-1) SD/sqrt(n). Each limit's
      interval uses the approximate standard error SD sqrt(3/n) with the same t quantile
      (Bland & Altman 1986; 1999, Stat Methods Med Res 8:135-160).

    Degenerate input never raises: with fewer than :data:`MIN_PAIRS` complete pairs every
    statistic but ``n`` is NaN. Otherwise a statistic is NaN exactly when its formula is
    undefined: Pearson's r (and its interval and p) when either method is constant, the Fisher
    interval when n = 3 (its SE divides by n - 3), the CV when the grand mean is 0, the ICCs when
    all 2n values are equal (every mean square is 0; checked here because pingouin's ANOVA turns
    rounding residue into arbitrary ICCs), and pingouin's ICC intervals when the residual mean
    square is exactly 0 (differences all equal), where its F statistic is infinite.
    Zero-width Bland-Altman intervals for identical differences are kept: they are the limit.

    Raises:
        ValueError: ``method`` and ``reference`` are not 1-D arrays of the same length, which
            is a programming error rather than degenerate data.
    """
    x = np.asarray(method, dtype=float)
    y = np.asarray(reference, dtype=float)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(
            f"method and reference must be 1-D of equal length, got {x.shape} and {y.shape}"
        )
    complete = ~(np.isnan(x) | np.isnan(y))
    x, y = x[complete], y[complete]
    n = int(x.size)
    result: dict[str, float] = dict.fromkeys(AGREEMENT_KEYS, float("nan"))
    result["n"] = n
    if n < MIN_PAIRS:
        return result
    if np.ptp(np.concatenate([x, y])) > 0:
        result.update(_icc(x, y))
    result.update(_pearson(x, y))
    result.update(_bland_altman(x - y))
    grand_mean = abs(float(np.mean(np.concatenate([x, y]))))
    result["cv"] = result["ba_sd"] / grand_mean if grand_mean > 0 else float("nan")
    return result


def pair_with_reference(
    df: pd.DataFrame,
    value: str,
    method_col: str,
    reference_label: str,
    pair_on: Sequence[str],
    by: Sequence[str] = (),
) -> pd.DataFrame:
    """Pair each non-reference method's rows with the reference's row of the same keys.

    The result has one row per non-reference row that has a reference row with the same
    ``pair_on`` values (an inner join: keys missing on either side have nothing to compare),
    with columns ``pair_on``, the ``by`` columns not in ``pair_on`` (taken from the method's
    row), ``method`` (the value of ``method_col``), :data:`METHOD_VALUE` and
    :data:`REFERENCE_VALUE`. Pairing by keys rather than by row order is what makes the
    statistics independent of how the tables were merged or sorted. NaN values are kept: the
    statistics drop incomplete pairs themselves and report the remaining count.

    Raises:
        ValueError: a column is missing, ``method_col`` or ``method`` (the output's name for it)
            is a key or by column, or the keys do not identify a single row per method
            (duplicates would silently weight some pairs twice).
    """
    pair_on, by = list(pair_on), list(by)
    missing = sorted({value, method_col, *pair_on, *by} - set(df.columns))
    if missing:
        raise ValueError(f"columns missing from the table: {missing}")
    clash = sorted({method_col, "method"} & {*pair_on, *by})
    if clash:
        raise ValueError(f"{clash} name the method column; they cannot be keys or by columns")
    extra = [c for c in by if c not in pair_on]
    is_reference = df[method_col] == reference_label
    reference = df.loc[is_reference, [*pair_on, value]]
    others = df.loc[~is_reference, [*pair_on, *extra, method_col, value]]
    for name, rows, keys in (
        ("reference", reference, pair_on),
        ("method", others, [*pair_on, method_col]),
    ):
        if rows.duplicated(keys).any():
            raise ValueError(f"{name} rows are not unique on {keys}; cannot pair them")
    others = others.rename(columns={method_col: "method", value: METHOD_VALUE})
    reference = reference.rename(columns={value: REFERENCE_VALUE})
    paired = others.merge(reference, on=pair_on, how="inner")
    return paired[[*pair_on, *extra, "method", METHOD_VALUE, REFERENCE_VALUE]]


def agreement_table(
    df: pd.DataFrame,
    value: str,
    method_col: str,
    reference_label: str,
    pair_on: list[str],
    by: list[str],
) -> pd.DataFrame:
    """:func:`agreement` of every non-reference method with the reference, per ``by`` group.

    ``df`` is tidy, one row per ``pair_on`` keys x method (e.g. ``STRAIN_SUMMARY`` with
    ``pair_on = ["cohort", "subject", "slice_id", "segment"]``); rows are paired by
    :func:`pair_with_reference`. ``by`` splits the pairs (``["segment"]`` for per-segment rows,
    ``[]`` for one row per method over all pairs). The result has one row per by-group x
    method, sorted, with columns ``by + ["method", "against", *AGREEMENT_KEYS]`` where
    ``against`` is ``reference_label``.
    """
    paired = pair_with_reference(df, value, method_col, reference_label, pair_on, by)
    keys = [*by, "method"]
    rows = [
        {
            **dict(zip(keys, key, strict=True)),
            "against": reference_label,
            **agreement(group[METHOD_VALUE], group[REFERENCE_VALUE]),
        }
        for key, group in paired.groupby(keys, sort=True, dropna=False)
    ]
    return pd.DataFrame(rows, columns=[*keys, "against", *AGREEMENT_KEYS])


@contextmanager
def _pingouin_unrounded() -> Iterator[None]:
    """Turn off pingouin's output rounding for the duration, then restore its options.

    pingouin rounds the ``CI95`` column to two decimals by default, which would make an ICC of
    0.996 report an interval that excludes it; the report rounds for display itself.
    """
    saved = dict(pingouin.options)
    pingouin.options["round"] = None
    pingouin.options["round.column.CI95"] = None
    try:
        yield
    finally:
        pingouin.options.clear()
        pingouin.options.update(saved)


def _icc(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """ICC(A,1) and ICC(C,1) with their 95% intervals, from pingouin's two-way ANOVA.

    The method and the reference are the two raters, each pair is a target. pingouin divides by
    zero mean squares on constant data and returns NaN or inf; the numpy warnings are silenced
    because :func:`agreement` documents those cases.
    """
    n = x.size
    long = pd.DataFrame(
        {
            "target": np.tile(np.arange(n), 2),
            "rater": np.repeat(["method", "reference"], n),
            "rating": np.concatenate([x, y]),
        }
    )
    with _pingouin_unrounded(), np.errstate(divide="ignore", invalid="ignore"):
        table = pingouin.intraclass_corr(
            data=long, targets="target", raters="rater", ratings="rating"
        ).set_index("Type")
    out: dict[str, float] = {}
    for icc_type, key in _ICC_TYPES.items():
        low, high = table.at[icc_type, "CI95"]
        out[key] = float(table.at[icc_type, "ICC"])
        out[f"{key}_ci_low"] = float(low)
        out[f"{key}_ci_high"] = float(high)
    return out


def _pearson(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Pearson's r, two-sided p and Fisher-z interval; NaN where undefined (see agreement)."""
    out = dict.fromkeys(("pearson_r", "pearson_ci_low", "pearson_ci_high", "pearson_p"), np.nan)
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return out
    result = stats.pearsonr(x, y)
    out["pearson_r"] = float(result.statistic)
    out["pearson_p"] = float(result.pvalue)
    if x.size > 3:
        interval = result.confidence_interval(confidence_level=CONFIDENCE)
        out["pearson_ci_low"] = float(interval.low)
        out["pearson_ci_high"] = float(interval.high)
    return out


def _bland_altman(diff: np.ndarray) -> dict[str, float]:
    """Bias, SD, limits of agreement and their intervals (formulas in :func:`agreement`)."""
    n = diff.size
    bias = float(np.mean(diff))
    sd = float(np.std(diff, ddof=1))
    bias_low, bias_high = DescrStatsW(diff).tconfint_mean(alpha=1 - CONFIDENCE)
    t_crit = float(stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1))
    limit_half_width = t_crit * sd * np.sqrt(3.0 / n)
    out = {
        "ba_bias": bias,
        "ba_sd": sd,
        "ba_bias_ci_low": float(bias_low),
        "ba_bias_ci_high": float(bias_high),
    }
    for side, limit in (("low", bias - LOA_Z * sd), ("high", bias + LOA_Z * sd)):
        out[f"ba_loa_{side}"] = limit
        out[f"ba_loa_{side}_ci_low"] = limit - limit_half_width
        out[f"ba_loa_{side}_ci_high"] = limit + limit_half_width
    return out
