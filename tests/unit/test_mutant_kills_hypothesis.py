"""Paired and Welch tests: what mutation testing (``make mutants``) found untested.

Mutants of ``myoflow.stats.hypothesis`` that survived the other tests: the smallest samples that
still get a test (two values: ``>= 2`` changed to ``> 2`` went unnoticed), the means reported
for a group too small to test, NaN keys kept as their own group, the documented sort order, the
header of an empty result, a by column that is not a pairing key, and the errors naming a
missing column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from myoflow.stats.hypothesis import PAIRED_COLUMNS, WELCH_COLUMNS, paired_tests, welch_tests

#: ``{(group, segment): values}``; a group label may be NaN (a float)
WelchValues = dict[tuple[str | float, float], list[float]]


def _welch_table(values: WelchValues) -> pd.DataFrame:
    """Rows of (segment, group, value) from ``{(group, segment): values}``."""
    return pd.DataFrame(
        [
            {"segment": segment, "group": group, "ecc": v}
            for (group, segment), vs in values.items()
            for v in vs
        ]
    )


def test_two_values_per_group_are_enough_for_welch() -> None:
    sample, reference = [0.1, 0.3], [0.0, 0.05]
    table = _welch_table({("rt", 1.0): sample, ("sham", 1.0): reference})
    row = welch_tests(table, "ecc", "group", "sham", by=["segment"]).iloc[0]
    assert (row["group"], row["reference_group"]) == ("rt", "sham")
    expected = stats.ttest_ind(sample, reference, equal_var=False)
    # the same scipy call on the same numbers: equal to float rounding
    assert row["t"] == pytest.approx(expected.statistic, rel=1e-12)
    assert row["p"] == pytest.approx(expected.pvalue, rel=1e-12)


def test_a_group_too_small_to_test_still_reports_counts_and_means() -> None:
    table = _welch_table({("rt", 1.0): [0.4], ("sham", 1.0): [0.1, 0.2, 0.3]})
    row = welch_tests(table, "ecc", "group", "sham", by=["segment"]).iloc[0]
    assert (row["n_group"], row["n_reference"]) == (1, 3)
    # float64 means of a few decimals: equal up to rounding
    assert row["mean_group"] == pytest.approx(0.4, rel=1e-12)
    assert row["mean_reference"] == pytest.approx(0.2, rel=1e-12)
    assert row["mean_diff"] == pytest.approx(0.2, rel=1e-12)
    assert np.isnan(row["t"]) and np.isnan(row["p"])


def test_nan_keys_are_their_own_group_and_rows_are_sorted() -> None:
    values: WelchValues = {
        ("rt", 2.0): [0.1, 0.2, 0.4],
        ("sham", 2.0): [0.0, 0.1, 0.1],
        ("rt", np.nan): [0.3, 0.5, 0.6],
        ("sham", np.nan): [0.1, 0.0, 0.2],
        ("mi", 1.0): [0.2, 0.1, 0.6],
        ("rt", 1.0): [0.5, 0.6, 0.9],
        ("sham", 1.0): [0.1, 0.2, 0.1],
    }
    table = _welch_table(values).iloc[::-1].reset_index(drop=True)
    out = welch_tests(table, "ecc", "group", "sham", by=["segment"], family=("segment",))
    keys = list(zip(out["segment"].fillna(np.inf), out["group"]))
    assert keys == [(1.0, "mi"), (1.0, "rt"), (2.0, "rt"), (np.inf, "rt")], "sorted, NaN last"
    nan_row = out[out["segment"].isna()].iloc[0]
    expected = stats.ttest_ind(values[("rt", np.nan)], values[("sham", np.nan)], equal_var=False)
    assert nan_row["p"] == pytest.approx(expected.pvalue, rel=1e-12)
    assert nan_row["p_bonferroni"] == pytest.approx(min(1.0, expected.pvalue), rel=1e-12)


def test_nan_group_labels_are_tested_not_dropped() -> None:
    table = _welch_table({(np.nan, 1.0): [0.3, 0.5], ("sham", 1.0): [0.1, 0.0]})
    out = welch_tests(table, "ecc", "group", "sham", by=["segment"])
    assert len(out) == 1 and out["group"].isna().all() and out["n_group"].iloc[0] == 2


def test_empty_results_keep_their_header() -> None:
    only_reference = _welch_table({("sham", 1.0): [0.1, 0.2]})
    assert list(welch_tests(only_reference, "ecc", "group", "sham", ["segment"]).columns) == [
        "segment",
        *WELCH_COLUMNS,
    ]
    no_methods = pd.DataFrame({"subject": ["a"], "method": ["reference"], "ecc": [0.1]})
    out = paired_tests(no_methods, "ecc", "method", "reference", ["subject"], [])
    assert out.empty and list(out.columns) == PAIRED_COLUMNS


def test_missing_columns_are_named() -> None:
    table = _welch_table({("sham", 1.0): [0.1, 0.2]})
    with pytest.raises(ValueError, match="columns missing.*'slice_id'"):
        welch_tests(table, "ecc", "group", "sham", by=["slice_id"])
    with pytest.raises(ValueError, match="'group' is the group column"):
        welch_tests(table, "ecc", "group", "sham", by=["group"])


def _paired_table() -> tuple[pd.DataFrame, dict[str, tuple[list[float], list[float]]]]:
    """Two subjects per group; a by column (group) that is not a pairing key; a NaN by-value."""
    net = {"a": [0.2, 0.5], "b": [0.1, 0.4], "c": [0.3, 0.2]}
    ref = {"a": [0.1, 0.3], "b": [0.2, 0.1], "c": [0.0, 0.1]}
    groups: dict[str, str | float] = {"a": "rt", "b": "sham", "c": np.nan}
    rows = [
        {"subject": f"{g}{i}", "group": groups[g], "method": m, "ecc": vals[g][i]}
        for g in net
        for i in range(2)
        for m, vals in (("net", net), ("reference", ref))
    ]
    # rows in reverse order, so that the output's sort order is the function's doing
    return pd.DataFrame(rows).iloc[::-1].reset_index(drop=True), {
        "rt": (net["a"], ref["a"]),
        "sham": (net["b"], ref["b"]),
    } | {"nan": (net["c"], ref["c"])}


def test_paired_tests_need_two_pairs_and_keep_by_columns_that_are_not_keys() -> None:
    table, samples = _paired_table()
    out = paired_tests(table, "ecc", "method", "reference", pair_on=["subject"], by=["group"])
    assert list(out["group"].fillna("nan")) == ["rt", "sham", "nan"], "sorted, NaN last"
    for _, row in out.iterrows():
        x, y = samples[row["group"] if isinstance(row["group"], str) else "nan"]
        expected = stats.ttest_rel(x, y)
        assert row["n"] == 2
        # the same scipy call and numpy reductions on the same numbers: float rounding only
        assert row["t"] == pytest.approx(expected.statistic, rel=1e-12)
        assert row["sd_method"] == pytest.approx(np.std(x, ddof=1), rel=1e-12)
        assert row["sd_reference"] == pytest.approx(np.std(y, ddof=1), rel=1e-12)
