"""Paired and Welch tests equal scipy on the same samples; Bonferroni families are as documented."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from myoflow.stats.hypothesis import PAIRED_COLUMNS, WELCH_COLUMNS, paired_tests, welch_tests

SEGMENTS = [1, 2, 3, 4, 5, 6]
NETS = ["myonet", "resmyonet"]
KEYS = ["subject", "slice_id", "segment"]


def _strain_table() -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Shuffled tidy table of 7 subjects x 2 slices x 6 segments x (reference + 2 nets).

    Also returns each method's values as (subject x slice, segment) arrays built directly, so
    the expected tests do not go through the table.
    """
    rng = np.random.default_rng(2024)
    reference = rng.normal(-0.17, 0.03, (14, len(SEGMENTS)))
    values = {
        "reference": reference,
        "myonet": reference + rng.normal(0.005, 0.01, reference.shape),
        "resmyonet": reference + rng.normal(-0.01, 0.02, reference.shape),
    }
    rows = [
        {
            "subject": f"s{i // 2}",
            "slice_id": i % 2,
            "segment": segment,
            "method": method,
            "ecc": array[i, j],
        }
        for method, array in values.items()
        for i in range(reference.shape[0])
        for j, segment in enumerate(SEGMENTS)
    ]
    table = pd.DataFrame(rows).sample(frac=1.0, random_state=1).reset_index(drop=True)
    return table, values


def test_paired_tests_equal_ttest_rel_per_segment_with_bonferroni_per_method() -> None:
    table, values = _strain_table()
    result = paired_tests(table, "ecc", "method", "reference", KEYS, ["segment"])
    assert list(result.columns) == ["segment", *PAIRED_COLUMNS]
    assert len(result) == len(SEGMENTS) * len(NETS)
    for row in result.itertuples():
        j = SEGMENTS.index(row.segment)
        x, y = values[row.method][:, j], values["reference"][:, j]
        expected = stats.ttest_rel(x, y)
        assert row.against == "reference"
        assert row.n == x.size
        assert row.t == pytest.approx(expected.statistic)
        assert row.p == pytest.approx(expected.pvalue)
        assert row.p_bonferroni == pytest.approx(min(1.0, expected.pvalue * len(SEGMENTS)))
        assert row.mean_method == pytest.approx(x.mean())
        assert row.sd_method == pytest.approx(x.std(ddof=1))
        assert row.mean_reference == pytest.approx(y.mean())
        assert row.sd_reference == pytest.approx(y.std(ddof=1))
        assert row.mean_diff == pytest.approx((x - y).mean())


def test_paired_tests_drop_incomplete_pairs() -> None:
    table, values = _strain_table()
    hole = (table["method"] == "myonet") & (table["segment"] == 1)
    table.loc[table.index[hole][0], "ecc"] = np.nan
    result = paired_tests(table, "ecc", "method", "reference", KEYS, ["segment"])
    row = result[(result["method"] == "myonet") & (result["segment"] == 1)].iloc[0]
    assert row["n"] == values["myonet"].shape[0] - 1
    complete = result[(result["method"] == "resmyonet") & (result["segment"] == 1)].iloc[0]
    assert complete["n"] == values["resmyonet"].shape[0]


def test_paired_tests_with_one_pair_give_nan_and_shrink_the_family() -> None:
    table, values = _strain_table()
    keep = (table["segment"] != 6) | (table["subject"].eq("s0") & table["slice_id"].eq(0))
    result = paired_tests(table[keep], "ecc", "method", "reference", KEYS, ["segment"])
    lone = result[result["segment"] == 6]
    assert (lone["n"] == 1).all()
    assert lone[["t", "p", "p_bonferroni", "sd_method"]].isna().all().all()
    tested = result[result["segment"] != 6]
    x, y = values["myonet"][:, 0], values["reference"][:, 0]
    first = tested[(tested["method"] == "myonet") & (tested["segment"] == 1)].iloc[0]
    family = len(SEGMENTS) - 1
    assert first["p_bonferroni"] == pytest.approx(min(1.0, stats.ttest_rel(x, y).pvalue * family))


def _welch_ci(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Welch-Satterthwaite degrees of freedom and the 95% interval of mean(a) - mean(b)."""
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    dof = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    half = stats.t.ppf(0.975, dof) * math.sqrt(va + vb)
    diff = a.mean() - b.mean()
    return dof, diff - half, diff + half


def _group_table() -> tuple[pd.DataFrame, dict[tuple[str, str], np.ndarray]]:
    """Per method, unequal-size, unequal-variance samples of a control and two disease groups."""
    rng = np.random.default_rng(99)
    samples = {
        (method, group): rng.normal(mean, sd, size)
        for method in NETS
        for group, mean, sd, size in (
            ("control", -0.18, 0.02, 12),
            ("diabetes", -0.16, 0.04, 7),
            ("hypertension", -0.17, 0.01, 9),
        )
    }
    rows = [
        {"method": method, "group": group, "ecc": v}
        for (method, group), array in samples.items()
        for v in array
    ]
    return pd.DataFrame(rows).sample(frac=1.0, random_state=4), samples


def test_welch_tests_equal_scipy_and_hand_interval() -> None:
    table, samples = _group_table()
    result = welch_tests(table, "ecc", "group", "control", ["method"])
    assert list(result.columns) == ["method", *WELCH_COLUMNS]
    assert len(result) == 4
    for row in result.itertuples():
        a, b = samples[(row.method, row.group)], samples[(row.method, "control")]
        expected = stats.ttest_ind(a, b, equal_var=False)
        dof, low, high = _welch_ci(a, b)
        assert (row.n_group, row.n_reference) == (a.size, b.size)
        assert row.mean_diff == pytest.approx(a.mean() - b.mean())
        assert row.t == pytest.approx(expected.statistic)
        assert row.dof == pytest.approx(expected.df) and row.dof == pytest.approx(dof)
        assert row.p == pytest.approx(expected.pvalue)
        assert (row.ci_low, row.ci_high) == pytest.approx((low, high))
        assert row.ci_low < row.mean_diff < row.ci_high
        # default family: the method's rows (two disease groups)
        assert row.p_bonferroni == pytest.approx(min(1.0, expected.pvalue * 2))


def test_welch_family_is_all_rows_without_method_column() -> None:
    table, samples = _group_table()
    result = welch_tests(table[table["method"] == "myonet"], "ecc", "group", "control", [])
    assert list(result["group"]) == ["diabetes", "hypertension"]
    for row in result.itertuples():
        p = stats.ttest_ind(
            samples[("myonet", row.group)], samples[("myonet", "control")], equal_var=False
        ).pvalue
        assert row.p_bonferroni == pytest.approx(min(1.0, p * 2))
    pooled = welch_tests(table, "ecc", "group", "control", ["method"], family=())
    assert pooled["p_bonferroni"].to_numpy() == pytest.approx(
        np.minimum(1.0, pooled["p"].to_numpy() * len(pooled))
    )


def test_welch_group_with_one_observation_gives_nan() -> None:
    table, samples = _group_table()
    lone = pd.DataFrame({"method": ["myonet"], "group": ["heart_attack"], "ecc": [-0.12]})
    result = welch_tests(pd.concat([table, lone]), "ecc", "group", "control", ["method"])
    row = result[result["group"] == "heart_attack"].iloc[0]
    assert row["n_group"] == 1
    assert row["mean_diff"] == pytest.approx(-0.12 - samples[("myonet", "control")].mean())
    assert row[["t", "dof", "p", "ci_low", "ci_high", "p_bonferroni"]].isna().all()
    # the untestable group does not enlarge the family of the tested ones
    tested = result[(result["method"] == "myonet") & (result["group"] != "heart_attack")]
    assert tested["p_bonferroni"].to_numpy() == pytest.approx(
        np.minimum(1.0, tested["p"].to_numpy() * 2)
    )
