"""Subject split: what mutation testing (``make mutants``) found untested.

``split_subjects`` accepts three non-negative fractions that add up to 1 within 1e-6. Mutants
that refused a zero fraction (a split with no test set), accepted a negative fraction or a
two-fraction list, or demanded an exact sum of 1 (refusing thirds written to seven decimals)
all survived the split tests; so did one that set a set's size to 1 where the largest
remainder adds one, and one that seeded every group's shuffle alike.
"""

from __future__ import annotations

import pandas as pd
import pytest

from myoflow.preprocess.split import split_sizes, split_subjects


def _table() -> pd.DataFrame:
    return pd.DataFrame({"subject": [f"s{i:02d}" for i in range(12)], "group": ["all"] * 12})


def test_a_zero_fraction_is_a_set_left_empty() -> None:
    out = split_subjects(_table(), (0.75, 0.25, 0.0), seed=3)
    assert out["split"].value_counts().to_dict() == {"train": 9, "val": 3}


def test_fractions_that_add_up_to_1_within_1e_6_are_accepted() -> None:
    third = 0.3333333  # sum 0.9999999: off by 1e-7, as thirds typed into a config are
    out = split_subjects(_table(), (third, third, third), seed=3)
    assert out["split"].value_counts().to_dict() == {"train": 4, "val": 4, "test": 4}


@pytest.mark.parametrize("fractions", [(1.2, -0.1, -0.1), (0.5, 0.5)])
def test_negative_or_too_few_fractions_are_refused(fractions: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="three non-negative numbers"):
        split_subjects(_table(), fractions)


def test_an_empty_table_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="^split table is empty$"):
        split_subjects(_table().iloc[:0])


@pytest.mark.parametrize(
    "fractions", [(0.8, 0.1, 0.1), (0.75, 0.15, 0.1), (0.7, 0.1, 0.2), (0.5, 0.25, 0.25)]
)
def test_set_sizes_add_up_and_stay_within_one_of_their_quota(
    fractions: tuple[float, float, float],
) -> None:
    """Largest remainder: sizes add up to the group and each is its quota rounded down or up,
    except where the small-group rule lends a subject to an empty validation or test set."""
    for n in range(1, 41):
        sizes = split_sizes(n, fractions)
        assert sum(sizes) == n, (n, sizes)
        lent = n >= 3 and any(size == 1 and n * f < 1 for size, f in zip(sizes, fractions))
        for size, f in zip(sizes, fractions):
            assert abs(size - n * f) < (2 if lent else 1), (n, sizes)


def test_groups_are_shuffled_independently() -> None:
    """Each group draws its own permutation (seeded by its name): twenty groups of the same ten
    subject names do not all send the same names to the test set."""
    table = pd.DataFrame(
        [{"subject": f"g{g:02d}-{i}", "group": f"g{g:02d}"} for g in range(20) for i in range(10)]
    )
    out = split_subjects(table, (0.8, 0.1, 0.1), seed=0)
    tested = out[out["split"] == "test"]["subject"].str.split("-").str[1]
    assert tested.nunique() > 1


def test_cohorts_are_split_independently() -> None:
    """Each cohort draws its own permutations (seeded by its name): two cohorts of the same
    subject names and groups are not split alike."""
    rows = [{"subject": f"s{i:02d}", "group": "all"} for i in range(40)]
    table = pd.DataFrame([{**row, "cohort": cohort} for cohort in ("a", "b") for row in rows])
    out = split_subjects(table, (0.5, 0.25, 0.25), seed=0)
    by_cohort = out.pivot(index="subject", columns="cohort", values="split")
    assert (by_cohort["a"] != by_cohort["b"]).any()
