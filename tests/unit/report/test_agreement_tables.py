"""Method-neutral agreement tables on long tables built with known differences."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from myoflow.report import agreement_tables as agree

LEVELS = {"basal": 0.03, "mid": 0.0, "apical": -0.02}  # each level's bias of the method
# A zero-mean pattern of differences, so that each level's bias is exactly its offset.
PATTERN = np.array([0.004, -0.004, 0.002, -0.002])


def _long(with_truth: bool = False) -> pd.DataFrame:
    """One strain; 4 slices per level x segments 1-2; ``net`` = reference + level bias + pattern."""
    rows = []
    for level, bias in LEVELS.items():
        for i, d in enumerate(PATTERN):
            for segment in (1, 2):
                ref = -0.15 - 0.01 * i - 0.005 * segment
                base = {
                    "cohort": "c",
                    "subject": f"{level}{i}",
                    "slice_id": level,
                    "group": "g",
                    "position": level,
                    "segment": segment,
                    "strain": "ecc_green_es",
                }
                rows.append({**base, "method": "reference", "value": ref})
                rows.append({**base, "method": "net", "value": ref + bias + d})
                if with_truth:
                    rows.append({**base, "method": agree.TRUTH, "value": ref - 0.01})
    return pd.DataFrame(rows)


def test_method_order_puts_reference_truth_first_and_zero_last() -> None:
    methods = pd.Series(["zero", "resmyonet", "truth", "myonet", "reference", "myonet"])
    assert agree.method_order(methods) == ["reference", "truth", "resmyonet", "myonet", "zero"]


def test_strain_long_has_one_row_per_strain() -> None:
    summary = pd.DataFrame(
        {
            "cohort": ["c"],
            "subject": ["s"],
            "slice_id": ["1"],
            "group": ["g"],
            "position": ["mid"],
            "method": ["reference"],
            "segment": [3],
            "ecc_green_es": [-0.2],
            "err_green_es": [0.4],
            "ecc_eng_es": [-0.18],
        }
    )
    long = agree.strain_long(summary, ["ecc_green_es", "err_green_es"])
    assert long.set_index("strain")["value"].to_dict() == {
        "ecc_green_es": -0.2,
        "err_green_es": 0.4,
    }


def test_bland_altman_by_level_recovers_each_levels_bias() -> None:
    table = agree.agreement_rows(_long(), by=["position"]).set_index("position")
    n_pairs = len(PATTERN) * 2  # slices x segments of one level
    sd = np.std(np.repeat(PATTERN, 2), ddof=1)
    for level, bias in LEVELS.items():
        row = table.loc[level]
        assert row["n"] == n_pairs and row["against"] == agree.REFERENCE
        assert row["ba_bias"] == pytest.approx(bias, abs=1e-15)  # float64 rounding of a mean
        assert row["ba_sd"] == pytest.approx(sd, rel=1e-12)
        assert row["ba_loa_high"] == pytest.approx(bias + 1.96 * sd, abs=1e-12)
    pooled = agree.agreement_rows(_long()).iloc[0]
    assert pooled["n"] == n_pairs * len(LEVELS)
    assert pooled["ba_bias"] == pytest.approx(np.mean(list(LEVELS.values())), abs=1e-15)


def test_rows_against_truth_name_the_reference() -> None:
    table = agree.agreement_rows(_long(with_truth=True), reference_name="harp")
    assert list(zip(table["method"], table["against"])) == [
        ("net", "reference"),
        ("harp", "truth"),
        ("net", "truth"),
    ]
    harp = table[table["method"] == "harp"].iloc[0]
    assert harp["ba_bias"] == pytest.approx(0.01, abs=1e-15)  # reference = truth + 0.01


def test_reference_pairs_keep_the_level_and_leave_truth_out() -> None:
    pairs = agree.reference_pairs(_long(with_truth=True), by=["position"])
    assert list(pairs.columns) == [
        "position",
        "method",
        "strain",
        "value_method",
        "value_reference",
    ]
    assert set(pairs["method"]) == {"net"} and len(pairs) == len(LEVELS) * len(PATTERN) * 2
    diff = (pairs["value_method"] - pairs["value_reference"]).groupby(pairs["position"]).mean()
    assert diff.to_dict() == pytest.approx(LEVELS, abs=1e-15)


def test_metric_rows_put_the_reference_block_first() -> None:
    metrics = pd.DataFrame(
        {
            "method": ["net", "net", "zero", "net", "net"],
            "against": ["truth", "truth", "reference", "reference", "reference"],
            "epe_mm": [1.0, 3.0, 5.0, 2.0, np.nan],
        }
    )
    table = agree.metric_rows(metrics, ["epe_mm"])
    assert list(table.columns) == agree.SUMMARY_COLUMNS
    assert list(zip(table["method"], table["against"])) == [
        ("zero", "reference"),
        ("net", "reference"),
        ("net", "truth"),
    ]
    net_truth = table.iloc[2]
    assert (net_truth["value"], net_truth["sd"], net_truth["n"]) == (2.0, np.sqrt(2.0), 2)
    assert table.iloc[1]["n"] == 1  # the NaN is not counted


def test_agreement_long_carries_each_statistics_interval() -> None:
    agreement = agree.agreement_rows(_long())
    table = agree.agreement_long(agreement, ["pearson_r", "ba_bias", "cv"]).set_index("metric")
    row = agreement.iloc[0]
    assert table.loc["pearson_r", "ci_low"] == row["pearson_ci_low"]
    assert table.loc["ba_bias", "ci_high"] == row["ba_bias_ci_high"]
    assert np.isnan(table.loc["cv", "ci_low"])  # the CV has no interval
    assert (table["n"] == row["n"]).all() and table["sd"].isna().all()
