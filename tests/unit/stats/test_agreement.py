"""Agreement statistics equal direct computations on small examples."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pingouin
import pytest
from scipy import stats

from myoflow.stats.agreement import (
    AGREEMENT_KEYS,
    agreement,
    agreement_table,
    pair_with_reference,
)

# Two raters (a method and a reference) scoring six targets; neither constant nor identical.
METHOD = np.array([-0.21, -0.18, -0.15, -0.12, -0.20, -0.10])
REFERENCE = np.array([-0.19, -0.17, -0.16, -0.10, -0.18, -0.11])


def _mean_squares(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """MSR (targets), MSC (raters) and MSE of the two-way ANOVA without replication."""
    table = np.column_stack([x, y])
    n, k = table.shape
    grand = table.mean()
    ss_rows = k * np.sum((table.mean(axis=1) - grand) ** 2)
    ss_cols = n * np.sum((table.mean(axis=0) - grand) ** 2)
    ss_error = np.sum((table - grand) ** 2) - ss_rows - ss_cols
    return ss_rows / (n - 1), ss_cols / (k - 1), ss_error / ((n - 1) * (k - 1))


def _ci_width(result: dict[str, float], prefix: str) -> float:
    return result[f"{prefix}_ci_high"] - result[f"{prefix}_ci_low"]


def test_iccs_equal_mcgraw_wong_mean_square_formulas() -> None:
    msr, msc, mse = _mean_squares(METHOD, REFERENCE)
    n, k = METHOD.size, 2
    result = agreement(METHOD, REFERENCE)
    assert result["icc_a1"] == pytest.approx(
        (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
    )
    assert result["icc_c1"] == pytest.approx((msr - mse) / (msr + (k - 1) * mse))
    # McGraw & Wong's F-based interval of ICC(C,1), at full precision (not rounded to 0.01)
    f_obs = msr / mse
    df1, df2 = n - 1, (n - 1) * (k - 1)
    f_low = f_obs / stats.f.ppf(0.975, df1, df2)
    f_high = f_obs * stats.f.ppf(0.975, df2, df1)
    assert result["icc_c1_ci_low"] == pytest.approx((f_low - 1) / (f_low + k - 1))
    assert result["icc_c1_ci_high"] == pytest.approx((f_high - 1) / (f_high + k - 1))


# Ten-ish percent strains of eight targets where the method reads 2 points higher than the
# reference plus a little noise: a systematic bias between the raters, so the one-way ICC(1,1)
# (which folds the rater effect into the error) and the two-way ICC(A,1) (which estimates it
# with one degree of freedom) have clearly different intervals.
BIASED_REFERENCE = np.array([10.0, 12.0, 15.0, 11.0, 18.0, 14.0, 16.0, 13.0])
BIASED_METHOD = BIASED_REFERENCE + 2.0 + np.array([0.0, 1.0, -1.0, 0.0, 1.0, -1.0, 0.0, 0.0])


def _icc_a1_interval(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """ICC(A,1) and its 95% interval by McGraw & Wong (1996), cases 2A and 3A.

    The interval inverts an approximate F test whose denominator df ``v`` is a
    Satterthwaite-type combination of the rater and error mean squares.
    """
    msr, msc, mse = _mean_squares(x, y)
    n, k = x.size, 2
    icc = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
    a = k * icc / (n * (1 - icc))
    b = 1 + k * icc * (n - 1) / (n * (1 - icc))
    v = (a * msc + b * mse) ** 2 / ((a * msc) ** 2 / (k - 1) + (b * mse) ** 2 / ((n - 1) * (k - 1)))
    f_star = stats.f.ppf(0.975, n - 1, v)  # F*: upper 2.5% point of F(n - 1, v)
    f_lower = stats.f.ppf(0.975, v, n - 1)  # F_*: upper 2.5% point of F(v, n - 1)
    spread = k * msc + (k * n - k - n) * mse
    low = n * (msr - f_star * mse) / (f_star * spread + n * msr)
    high = n * (f_lower * msr - mse) / (spread + n * f_lower * msr)
    return icc, low, high


def _icc_11_interval(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """95% interval of the one-way ICC(1,1) (McGraw & Wong 1996, case 1)."""
    table = np.column_stack([x, y])
    n, k = table.shape
    msr = k * np.var(table.mean(axis=1), ddof=1)
    msw = np.sum((table - table.mean(axis=1, keepdims=True)) ** 2) / (n * (k - 1))
    f_obs = msr / msw
    f_low = f_obs / stats.f.ppf(0.975, n - 1, n * (k - 1))
    f_high = f_obs * stats.f.ppf(0.975, n * (k - 1), n - 1)
    return (f_low - 1) / (f_low + k - 1), (f_high - 1) / (f_high + k - 1)


def test_icc_a1_interval_equals_mcgraw_wong_under_rater_bias() -> None:
    """ICC(A,1) and its interval follow McGraw & Wong, not another ICC's interval."""
    icc, low, high = _icc_a1_interval(BIASED_METHOD, BIASED_REFERENCE)
    one_way_low = _icc_11_interval(BIASED_METHOD, BIASED_REFERENCE)[0]
    # the data discriminate: the one-way interval is far from the two-way one (0.19 vs -0.05)
    assert abs(one_way_low - low) > 0.1
    result = agreement(BIASED_METHOD, BIASED_REFERENCE)
    # rel 1e-9: the same closed forms in double precision, rearranged (pingouin's df formula is
    # Shrout & Fleiss's algebraic equivalent of McGraw & Wong's), agree to ~1e-15
    assert result["icc_a1"] == pytest.approx(icc, rel=1e-9)
    assert result["icc_a1_ci_low"] == pytest.approx(low, rel=1e-9)
    assert result["icc_a1_ci_high"] == pytest.approx(high, rel=1e-9)
    assert low < icc < high


def test_pingouin_options_are_restored() -> None:
    before = dict(pingouin.options)
    agreement(METHOD, REFERENCE)
    assert pingouin.options == before


def test_constant_offset_lowers_absolute_agreement_only() -> None:
    perfect = agreement(METHOD + 0.05, METHOD)
    assert perfect["icc_c1"] == pytest.approx(1.0)
    assert perfect["icc_a1"] < 0.99
    noisy = agreement(METHOD, REFERENCE)
    shifted = agreement(METHOD + 0.05, REFERENCE)
    assert shifted["icc_c1"] == pytest.approx(noisy["icc_c1"])
    assert shifted["icc_a1"] < noisy["icc_a1"]


def test_pearson_equals_corrcoef_and_fisher_interval() -> None:
    result = agreement(METHOD, REFERENCE)
    r = np.corrcoef(METHOD, REFERENCE)[0, 1]
    assert result["pearson_r"] == pytest.approx(r)
    n = METHOD.size
    t_stat = r * math.sqrt((n - 2) / (1 - r**2))
    assert result["pearson_p"] == pytest.approx(2 * stats.t.sf(abs(t_stat), n - 2))
    half = stats.norm.ppf(0.975) / math.sqrt(n - 3)
    assert result["pearson_ci_low"] == pytest.approx(math.tanh(math.atanh(r) - half))
    assert result["pearson_ci_high"] == pytest.approx(math.tanh(math.atanh(r) + half))


def test_cv_and_bland_altman_equal_direct_numpy() -> None:
    result = agreement(METHOD, REFERENCE)
    diff = METHOD - REFERENCE
    n = diff.size
    bias, sd = diff.mean(), diff.std(ddof=1)
    assert result["cv"] == pytest.approx(sd / abs(np.concatenate([METHOD, REFERENCE]).mean()))
    assert result["ba_bias"] == pytest.approx(bias)
    assert result["ba_sd"] == pytest.approx(sd)
    assert result["ba_loa_low"] == pytest.approx(bias - 1.96 * sd)
    assert result["ba_loa_high"] == pytest.approx(bias + 1.96 * sd)
    t_crit = stats.t.ppf(0.975, n - 1)
    assert result["ba_bias_ci_low"] == pytest.approx(bias - t_crit * sd / math.sqrt(n))
    assert result["ba_bias_ci_high"] == pytest.approx(bias + t_crit * sd / math.sqrt(n))
    limit_half = t_crit * sd * math.sqrt(3 / n)
    for side, limit in (("low", bias - 1.96 * sd), ("high", bias + 1.96 * sd)):
        assert result[f"ba_loa_{side}_ci_low"] == pytest.approx(limit - limit_half)
        assert result[f"ba_loa_{side}_ci_high"] == pytest.approx(limit + limit_half)


def test_intervals_bracket_estimates_and_shrink_with_n() -> None:
    rng = np.random.default_rng(7)

    def sample(n: int) -> dict[str, float]:
        truth = rng.normal(-0.18, 0.04, n)
        return agreement(truth + rng.normal(0.01, 0.01, n), truth + rng.normal(0, 0.01, n))

    small, large = sample(15), sample(300)
    prefixes = ("icc_a1", "icc_c1", "pearson", "ba_bias", "ba_loa_low", "ba_loa_high")
    estimate = {"pearson": "pearson_r"}
    for result in (small, large):
        for prefix in prefixes:
            value = result[estimate.get(prefix, prefix)]
            assert result[f"{prefix}_ci_low"] < value < result[f"{prefix}_ci_high"], prefix
    for prefix in prefixes:
        assert _ci_width(large, prefix) < _ci_width(small, prefix), prefix


def test_nan_pairs_are_dropped() -> None:
    method = np.append(METHOD, [np.nan, -0.2])
    reference = np.append(REFERENCE, [-0.2, np.nan])
    with_nan = agreement(method, reference)
    clean = agreement(METHOD, REFERENCE)
    assert with_nan["n"] == METHOD.size
    assert with_nan == pytest.approx(clean)


@pytest.mark.parametrize("n", [0, 1, 2])
def test_too_few_pairs_give_nan_without_raising(n: int) -> None:
    result = agreement(METHOD[:n], REFERENCE[:n])
    assert list(result) == list(AGREEMENT_KEYS)
    assert result["n"] == n
    assert all(math.isnan(result[key]) for key in AGREEMENT_KEYS if key != "n")


def test_constant_values_give_nan_where_undefined() -> None:
    constant = np.full(5, -0.15)
    all_equal = agreement(constant, constant)
    assert all_equal["n"] == 5
    for key in ("icc_a1", "icc_c1", "pearson_r", "pearson_p"):
        assert math.isnan(all_equal[key]), key
    assert all_equal["ba_bias"] == 0.0 and all_equal["ba_sd"] == 0.0
    flat_reference = agreement(METHOD, np.full(METHOD.size, -0.15))
    assert math.isnan(flat_reference["pearson_r"])
    dyadic = np.array([0.5, 1.0, -0.25, 2.0])  # exact sums, so the grand mean is exactly 0
    assert math.isnan(agreement(dyadic, -dyadic)["cv"])


def test_three_pairs_have_no_fisher_interval() -> None:
    result = agreement(METHOD[:3], REFERENCE[:3])
    assert not math.isnan(result["pearson_r"])
    assert math.isnan(result["pearson_ci_low"]) and math.isnan(result["pearson_ci_high"])


def test_mismatched_lengths_raise() -> None:
    with pytest.raises(ValueError, match="equal length"):
        agreement(METHOD, REFERENCE[:-1])


def _tidy(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Tidy table of 8 subjects x 2 segments x (reference, net) and the values by construction."""
    subjects, segments = np.arange(8), np.array([1, 2])
    reference = rng.normal(-0.18, 0.03, (subjects.size, segments.size))
    net = reference + rng.normal(0.01, 0.01, reference.shape)
    rows = [
        {"subject": f"s{s}", "segment": seg, "method": name, "ecc": values[i, j]}
        for name, values in (("reference", reference), ("net", net))
        for i, s in enumerate(subjects)
        for j, seg in enumerate(segments)
    ]
    table = pd.DataFrame(rows).sample(frac=1.0, random_state=3).reset_index(drop=True)
    return table, {"reference": reference, "net": net}


def test_agreement_table_pairs_by_keys_per_group() -> None:
    table, values = _tidy(np.random.default_rng(11))
    result = agreement_table(
        table, "ecc", "method", "reference", ["subject", "segment"], ["segment"]
    )
    assert list(result.columns) == ["segment", "method", "against", *AGREEMENT_KEYS]
    assert list(result["segment"]) == [1, 2]
    assert set(result["method"]) == {"net"} and set(result["against"]) == {"reference"}
    for j, row in result.iterrows():
        expected = agreement(values["net"][:, j], values["reference"][:, j])
        assert row[list(AGREEMENT_KEYS)].to_dict() == pytest.approx(expected)
    overall = agreement_table(table, "ecc", "method", "reference", ["subject", "segment"], [])
    assert len(overall) == 1
    expected = agreement(values["net"].ravel(), values["reference"].ravel())
    assert overall.iloc[0][list(AGREEMENT_KEYS)].to_dict() == pytest.approx(expected)


def test_pairing_rejects_duplicate_keys() -> None:
    table, _ = _tidy(np.random.default_rng(5))
    doubled = pd.concat([table, table.iloc[:1]])
    with pytest.raises(ValueError, match="not unique"):
        pair_with_reference(doubled, "ecc", "method", "reference", ["subject", "segment"])
