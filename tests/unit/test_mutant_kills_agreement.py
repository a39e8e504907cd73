"""Agreement statistics and pairing: what mutation testing (``make mutants``) found untested.

Mutants of ``myoflow.stats.agreement`` that survived: the Fisher interval withheld at four pairs
(defined from n = 4: its SE is 1/sqrt(n - 3)), Pearson's r withheld for data whose range is
exactly 1, duplicate keys accepted when the duplicated rows differ in value, the method column's
output name allowed as a by column, a by column that is not a key, NaN by-values, the sort
order and the header of an empty table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from myoflow.stats.agreement import (
    AGREEMENT_KEYS,
    agreement,
    agreement_table,
    pair_with_reference,
)


def test_four_pairs_have_a_fisher_interval() -> None:
    method, reference = np.array([0.1, 0.4, 0.35, 0.8]), np.array([0.2, 0.3, 0.5, 0.9])
    out = agreement(method, reference)
    expected = stats.pearsonr(method, reference).confidence_interval(confidence_level=0.95)
    # the same scipy computation on the same numbers: float rounding only
    assert out["pearson_ci_low"] == pytest.approx(expected.low, rel=1e-12)
    assert out["pearson_ci_high"] == pytest.approx(expected.high, rel=1e-12)


def test_pearson_is_defined_whenever_neither_side_is_constant() -> None:
    """A range of exactly 1 (binary scores, whole units) is as good as any other."""
    method, reference = np.array([0.0, 1.0, 0.0, 1.0, 1.0]), np.array([0.0, 1.0, 1.0, 1.0, 0.0])
    out = agreement(method, reference)
    assert out["pearson_r"] == pytest.approx(np.corrcoef(method, reference)[0, 1], rel=1e-12)
    assert np.isfinite(out["pearson_ci_low"]) and np.isfinite(out["pearson_p"])


def _table() -> pd.DataFrame:
    """Three subjects per group; group is a by column but not a pairing key; one NaN group."""
    rows = []
    for subject, group, ref, net in [
        ("a", "rt", 0.10, 0.12),
        ("b", "rt", 0.20, 0.25),
        ("c", "rt", 0.30, 0.28),
        ("d", "sham", 0.15, 0.10),
        ("e", "sham", 0.25, 0.30),
        ("f", "sham", 0.35, 0.31),
        ("g", np.nan, 0.05, 0.07),
        ("h", np.nan, 0.40, 0.45),
        ("i", np.nan, 0.22, 0.20),
    ]:
        rows += [
            {"subject": subject, "group": group, "model": "reference", "ecc": ref},
            {"subject": subject, "group": group, "model": "net", "ecc": net},
        ]
    return pd.DataFrame(rows).iloc[::-1].reset_index(drop=True)


def test_agreement_table_by_a_column_that_is_not_a_key_nan_last_and_sorted() -> None:
    table = _table()
    out = agreement_table(table, "ecc", "model", "reference", ["subject"], ["group"])
    assert list(out["group"].fillna("<nan>")) == ["rt", "sham", "<nan>"]
    for _, row in out.iterrows():
        rows = table[
            table["group"].isna() if pd.isna(row["group"]) else table["group"] == row["group"]
        ]
        net = rows[rows["model"] == "net"].sort_values("subject")["ecc"].to_numpy()
        ref = rows[rows["model"] == "reference"].sort_values("subject")["ecc"].to_numpy()
        assert row["n"] == 3
        assert row["ba_bias"] == pytest.approx(np.mean(net - ref), rel=1e-12)


def test_an_empty_table_keeps_its_header() -> None:
    only_reference = _table().query("model == 'reference'")
    out = agreement_table(only_reference, "ecc", "model", "reference", ["subject"], ["group"])
    assert out.empty and list(out.columns) == ["group", "method", "against", *AGREEMENT_KEYS]


@pytest.mark.parametrize("side", ["reference", "net"])
def test_duplicate_keys_are_refused_even_when_the_values_differ(side: str) -> None:
    table = _table()
    twin = table[(table["model"] == side) & (table["subject"] == "a")].assign(ecc=0.99)
    with pytest.raises(
        ValueError, match=f"{'reference' if side == 'reference' else 'method'} rows"
    ):
        pair_with_reference(pd.concat([table, twin]), "ecc", "model", "reference", ["subject"])


def test_bad_columns_are_refused_by_name() -> None:
    table = _table()
    with pytest.raises(ValueError, match="columns missing.*'slice_id'"):
        pair_with_reference(table, "ecc", "model", "reference", ["subject", "slice_id"])
    # the output names the method column "method": no key or by column may take that name
    with pytest.raises(ValueError, match="name the method column"):
        pair_with_reference(
            table.assign(method=1), "ecc", "model", "reference", ["subject"], ["method"]
        )
    with pytest.raises(ValueError, match="name the method column"):
        pair_with_reference(table, "ecc", "model", "reference", ["subject", "model"])
