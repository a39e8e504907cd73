"""Method-neutral test tables: paired tests per level with Bonferroni, Welch per subject."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from myoflow.report.hypothesis_tables import paired_table, welch_group_table

LEVELS = ("basal", "mid", "apical")


def _long() -> pd.DataFrame:
    """Two subjects per group (``rt`` contracts less), 3 levels, 2 segments; ``net`` =
    reference + noise + 0.01 at the basal level only."""
    rng = np.random.default_rng(3)
    rows = []
    for s in range(4):
        group = "rt" if s % 2 else "sham"
        for level in LEVELS:
            for segment in (1, 2):
                ref = (-0.12 if group == "rt" else -0.18) + rng.normal(0, 0.01)
                base = {
                    "cohort": "c",
                    "subject": f"s{s}",
                    "slice_id": level,
                    "group": group,
                    "position": level,
                    "segment": segment,
                    "strain": "ecc_green_es",
                }
                net = ref + rng.normal(0, 0.003) + (0.01 if level == "basal" else 0.0)
                rows.append({**base, "method": "net", "value": net})
                rows.append({**base, "method": "reference", "value": ref})
    return pd.DataFrame(rows)


def test_paired_table_per_level_matches_scipy_and_corrects_over_levels() -> None:
    long = _long()
    table = paired_table(long, by=["position"])
    assert list(table.columns) == [
        "strain",
        "position",
        "method",
        "n",
        "mean",
        "sd",
        "p",
        "p_bonferroni",
    ]
    # sorted by level name, the reference before the method within each level
    assert list(table["method"]) == ["reference", "net"] * len(LEVELS)
    assert table[table["method"] == "reference"]["p"].isna().all()
    for level in LEVELS:
        rows = long[long["position"] == level].sort_values(["subject", "segment"])
        net = rows[rows["method"] == "net"]["value"].to_numpy()
        ref = rows[rows["method"] == "reference"]["value"].to_numpy()
        row = table[(table["position"] == level) & (table["method"] == "net")].iloc[0]
        assert row["n"] == net.size and row["mean"] == pytest.approx(net.mean(), rel=1e-12)
        assert row["p"] == pytest.approx(stats.ttest_rel(net, ref).pvalue, rel=1e-12)
        assert row["p_bonferroni"] == pytest.approx(min(1.0, row["p"] * len(LEVELS)), rel=1e-12)


def test_welch_group_table_uses_one_value_per_subject() -> None:
    long = _long()
    table = welch_group_table(long, "sham")
    ref = table[table["method"] == "reference"].iloc[0]
    assert (ref["group"], ref["n_group"], ref["n_reference"]) == ("rt", 2, 2)  # subjects
    rows = long[long["method"] == "reference"]
    per_subject = rows.groupby(["subject", "group"])["value"].mean().reset_index()
    rt = per_subject[per_subject["group"] == "rt"]["value"]
    sham = per_subject[per_subject["group"] == "sham"]["value"]
    welch = stats.ttest_ind(rt, sham, equal_var=False)
    interval = welch.confidence_interval(0.95)
    assert ref["mean_diff"] == pytest.approx(rt.mean() - sham.mean(), rel=1e-12)
    assert ref["p"] == pytest.approx(welch.pvalue, rel=1e-12)
    assert (ref["ci_low"], ref["ci_high"]) == pytest.approx((interval.low, interval.high))
    with pytest.raises(ValueError, match="reference group 'none'"):
        welch_group_table(long, "none")
