"""Rank-sum tests between models equal scipy's ``ranksums``; Bonferroni families are as documented."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from myoflow.stats.ranksum import RANKSUM_COLUMNS, ranksum_tests

MODELS = ["attmnet", "fcn3d", "unet2d", "unet3d"]
METRICS = ["dice", "hd_mm"]
VOLUMES = 12


def _metric_table() -> tuple[pd.DataFrame, dict[tuple[str, str], np.ndarray]]:
    """Shuffled tidy table of 12 volumes x 4 models, and each (model, metric) sample directly."""
    rng = np.random.default_rng(7)
    samples = {}
    for shift, model in enumerate(MODELS):
        samples[model, "dice"] = rng.normal(0.86 + 0.01 * shift, 0.02, VOLUMES)
        samples[model, "hd_mm"] = rng.gamma(4.0, 0.15 - 0.01 * shift, VOLUMES)
    rows = [
        {"volume": v, "method": model, **{m: samples[model, m][v] for m in METRICS}}
        for model in MODELS
        for v in range(VOLUMES)
    ]
    table = pd.DataFrame(rows).sample(frac=1.0, random_state=3).reset_index(drop=True)
    return table, samples


def test_ranksum_tests_equal_scipy_for_every_pair_and_metric() -> None:
    table, samples = _metric_table()
    result = ranksum_tests(table, METRICS)
    assert list(result.columns) == RANKSUM_COLUMNS
    assert len(result) == len(METRICS) * 6
    assert list(result["metric"].unique()) == METRICS
    for row in result.itertuples():
        a, b = samples[row.model_a, row.metric], samples[row.model_b, row.metric]
        expected = stats.ranksums(a, b)
        assert row.model_a < row.model_b
        assert (row.n_a, row.n_b) == (VOLUMES, VOLUMES)
        assert row.median_a == pytest.approx(np.median(a))
        assert row.median_b == pytest.approx(np.median(b))
        assert row.statistic == pytest.approx(expected.statistic)
        assert row.p == pytest.approx(expected.pvalue)


def test_bonferroni_multiplies_by_the_pairs_of_one_metric_capped_at_one() -> None:
    table, _ = _metric_table()
    result = ranksum_tests(table, METRICS)
    expected = np.minimum(1.0, result["p"] * 6)
    np.testing.assert_allclose(result["p_bonferroni"], expected)
    assert (result["p_bonferroni"] == 1.0).any() and (result["p_bonferroni"] < 1.0).any()
    everything = ranksum_tests(table, METRICS, family="all")
    np.testing.assert_allclose(everything["p_bonferroni"], np.minimum(1.0, result["p"] * 12))


def test_chosen_pairs_are_tested_in_their_order_and_form_the_family() -> None:
    table, samples = _metric_table()
    pairs = [("unet3d", "unet2d"), ("attmnet", "fcn3d")]
    result = ranksum_tests(table, ["hd_mm"], pairs=pairs)
    assert list(zip(result["model_a"], result["model_b"], strict=True)) == pairs
    p = stats.ranksums(samples["unet3d", "hd_mm"], samples["unet2d", "hd_mm"]).pvalue
    assert result["p_bonferroni"].iloc[0] == pytest.approx(min(1.0, 2 * p))
    with pytest.raises(ValueError, match="not in column"):
        ranksum_tests(table, ["dice"], pairs=[("attmnet", "deepmedic")])
    with pytest.raises(ValueError, match="with itself"):
        ranksum_tests(table, ["dice"], pairs=[("attmnet", "attmnet")])


def test_nan_values_are_dropped_per_metric() -> None:
    table, samples = _metric_table()
    holes = table.index[table["method"] == "unet2d"][:3]
    table.loc[holes, "hd_mm"] = np.nan
    kept = table.loc[(table["method"] == "unet2d") & table["hd_mm"].notna(), "hd_mm"].to_numpy()
    result = ranksum_tests(table, METRICS)
    row = result[(result["metric"] == "hd_mm") & (result["model_b"] == "unet3d")]
    row = row[row["model_a"] == "unet2d"].iloc[0]
    assert row["n_a"] == VOLUMES - 3
    expected = stats.ranksums(kept, samples["unet3d", "hd_mm"])
    assert row["p"] == pytest.approx(expected.pvalue)
    assert row["median_a"] == pytest.approx(np.median(kept))
    dice = result[(result["metric"] == "dice") & (result["model_a"] == "unet2d")]
    assert (dice["n_a"] == VOLUMES).all()


def test_fewer_than_two_values_give_nan_and_shrink_the_family() -> None:
    table, _ = _metric_table()
    unet2d = table["method"] == "unet2d"
    table.loc[table.index[unet2d][1:], "dice"] = np.nan  # one value left
    table.loc[table.index[table["method"] == "fcn3d"], "dice"] = np.nan  # none left
    result = ranksum_tests(table, ["dice"])
    involved = result["model_a"].isin(["unet2d", "fcn3d"]) | result["model_b"].isin(
        ["unet2d", "fcn3d"]
    )
    assert result.loc[involved, ["statistic", "p", "p_bonferroni"]].isna().all().all()
    assert np.isnan(result.loc[result["model_a"] == "fcn3d", "median_a"]).all()
    (tested,) = result.index[~involved]  # attmnet vs unet3d, a family of one
    assert result.loc[tested, "p_bonferroni"] == result.loc[tested, "p"]


def test_a_constant_metric_gives_no_difference() -> None:
    table, _ = _metric_table()
    table["specificity"] = 1.0
    result = ranksum_tests(table, ["specificity"])
    assert (result["statistic"] == 0.0).all() and (result["p"] == 1.0).all()
    assert (result["p_bonferroni"] == 1.0).all()
    assert (result["median_a"] == 1.0).all()


def test_bad_arguments_raise() -> None:
    table, _ = _metric_table()
    with pytest.raises(ValueError, match="missing"):
        ranksum_tests(table, ["jaccard"])
    with pytest.raises(ValueError, match="model column"):
        ranksum_tests(table, ["dice", "method"])
    with pytest.raises(ValueError, match="family"):
        ranksum_tests(table, ["dice"], family="model")  # type: ignore[arg-type]
