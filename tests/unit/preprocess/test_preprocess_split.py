"""Subject-level splits: no leakage, deterministic, stratified, order-free, small groups handled."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from myoflow.preprocess.split import split_sizes, split_subjects


def _table(groups: dict[str, int], cohort: str | None = None, slices: int = 3) -> pd.DataFrame:
    rows = []
    for group, n in groups.items():
        for i in range(n):
            for s in range(slices):
                rows.append({"subject": f"{group}-{i:03d}", "slice_id": f"sl{s}", "group": group})
    table = pd.DataFrame(rows)
    return table.assign(cohort=cohort) if cohort is not None else table


def test_every_subject_in_exactly_one_set() -> None:
    table = _table({"control": 120, "mi": 80})
    split = split_subjects(table, seed=3)
    assert list(split.columns) == ["subject", "group", "split"]
    assert split["subject"].is_unique
    assert set(split["subject"]) == set(table["subject"])
    assert set(split["split"]) == {"train", "val", "test"}


def test_each_group_is_stratified_80_10_10() -> None:
    groups = {"control": 120, "mi": 80}
    split = split_subjects(_table(groups), seed=0)
    for group, n in groups.items():
        counts = split[split["group"] == group]["split"].value_counts()
        assert counts["train"] == 0.8 * n and counts["val"] == 0.1 * n and counts["test"] == 0.1 * n


def test_deterministic_and_seed_dependent() -> None:
    table = _table({"control": 60, "mi": 40})
    a, b = split_subjects(table, seed=1), split_subjects(table, seed=1)
    pd.testing.assert_frame_equal(a, b)
    assert not split_subjects(table, seed=2)["split"].equals(a["split"])


def test_independent_of_row_order() -> None:
    table = _table({"control": 50, "mi": 30})
    shuffled = table.sample(frac=1.0, random_state=11).reset_index(drop=True)
    pd.testing.assert_frame_equal(split_subjects(table, seed=5), split_subjects(shuffled, seed=5))


def test_stable_when_other_cohorts_or_groups_are_added() -> None:
    rat = _table({"control": 30, "mi": 20}, cohort="rat")
    alone = split_subjects(rat, seed=4)
    more = pd.concat([rat, _table({"control": 40}, cohort="human")])
    together = split_subjects(more, seed=4)
    pd.testing.assert_frame_equal(
        together[together["cohort"] == "rat"].reset_index(drop=True), alone
    )
    grown = split_subjects(pd.concat([rat, _table({"sham": 10}, cohort="rat")]), seed=4)
    pd.testing.assert_frame_equal(grown[grown["group"] != "sham"].reset_index(drop=True), alone)


def test_subjects_with_the_same_name_in_two_cohorts_are_different_subjects() -> None:
    table = pd.concat([_table({"g": 10}, cohort="a"), _table({"g": 10}, cohort="b")])
    split = split_subjects(table, seed=0)
    assert len(split) == 20 and not split.duplicated(["cohort", "subject"]).any()


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, [1, 0, 0]),
        (2, [2, 0, 0]),
        (3, [1, 1, 1]),
        (4, [2, 1, 1]),
        (5, [3, 1, 1]),
        (10, [8, 1, 1]),
        (15, [12, 2, 1]),
        (200, [160, 20, 20]),
    ],
)
def test_small_groups(n: int, expected: list[int]) -> None:
    assert split_sizes(n, (0.8, 0.1, 0.1)) == expected
    split = split_subjects(_table({"g": n}, slices=1), seed=0)
    assert (
        split["split"].value_counts().reindex(["train", "val", "test"], fill_value=0).tolist()
        == expected
    )


def test_sizes_add_up_and_follow_the_fractions() -> None:
    for fractions in ((0.8, 0.1, 0.1), (0.7, 0.15, 0.15), (0.6, 0.4, 0.0), (1.0, 0.0, 0.0)):
        for n in range(1, 60):
            sizes = split_sizes(n, fractions)
            assert sum(sizes) == n and min(sizes) >= 0
            if n >= 3:
                assert all(s >= 1 for s, f in zip(sizes[1:], fractions[1:]) if f > 0)
            else:
                assert all(abs(s - n * f) < 1 for s, f in zip(sizes, fractions))
            if n >= 20:
                assert all(abs(s - n * f) < 1 for s, f in zip(sizes, fractions))


def test_a_subject_with_mixed_groups_takes_its_most_frequent() -> None:
    table = pd.DataFrame(
        {"subject": ["a", "a", "a", "b"], "group": ["mi", "mi", "control", "control"]}
    )
    split = split_subjects(table, seed=0).set_index("subject")
    assert split.loc["a", "group"] == "mi" and len(split) == 2


def _slices(subjects: dict[str, list[str]], cohort: str | None = None) -> pd.DataFrame:
    """Index table with one row per slice: ``subject -> the group named by each slice``."""
    rows = [
        {"subject": subject, "slice_id": f"sl{i}", "group": group}
        for subject, groups in subjects.items()
        for i, group in enumerate(groups)
    ]
    table = pd.DataFrame(rows)
    return table.assign(cohort=cohort) if cohort is not None else table


def _no_subject_straddles(table: pd.DataFrame, split: pd.DataFrame) -> None:
    """Every slice of a subject lands in one set, and every subject is assigned once."""
    keys = ["cohort", "subject"] if "cohort" in table.columns else ["subject"]
    assert not split.duplicated(keys).any()
    per_slice = table.merge(split[[*keys, "split"]], on=keys, how="left", validate="m:1")
    assert per_slice["split"].notna().all()
    assert (per_slice.groupby(keys)["split"].nunique() == 1).all()


def test_a_tie_between_groups_goes_to_the_first_name_in_sorted_order() -> None:
    """Documented tie rule: a subject with as many ``mi`` as ``control`` slices is ``control``.

    The rule decides the stratum, which shows in the set sizes: ``control`` then has three
    subjects, split 1/1/1 by the small-group rule, and ``mi`` two, both in training. Had the
    tie gone to ``mi`` (the name its first slice gives), the two groups would swap sizes.
    """
    subjects = {
        "c1": ["control"] * 3,
        "c2": ["control"] * 3,
        "m1": ["mi"] * 3,
        "m2": ["mi"] * 3,
        "tie": ["mi", "control", "control", "mi"],
    }
    table = _slices(subjects)
    for rows in (table, table.iloc[::-1].reset_index(drop=True)):  # neither order decides
        split = split_subjects(rows, seed=0)
        _no_subject_straddles(rows, split)
        assert split.set_index("subject").loc["tie", "group"] == "control"
        sizes = split.groupby("group")["split"].value_counts().unstack(fill_value=0)
        sizes = sizes.reindex(columns=["train", "val", "test"], fill_value=0)
        assert sizes.loc["control"].tolist() == [1, 1, 1]
        assert sizes.loc["mi"].tolist() == [2, 0, 0]


def test_most_frequent_group_wins_before_the_tie_rule() -> None:
    """Only the most frequent groups tie: ``control`` sorts first but is named once only."""
    table = _slices({"x": ["sham", "mi", "sham", "mi", "control"], "y": ["sham", "sham", "mi"]})
    split = split_subjects(table, seed=0).set_index("subject")
    assert split.loc["x", "group"] == "mi"
    assert split.loc["y", "group"] == "sham"
    _no_subject_straddles(table, split.reset_index())


def test_ties_are_resolved_within_each_cohort() -> None:
    """The same subject name in two cohorts is two subjects, each with its own slices' groups."""
    table = pd.concat(
        [
            _slices({"s": ["sham", "mi", "mi", "sham"]}, cohort="rat"),
            _slices({"s": ["sham", "mi", "sham"]}, cohort="mouse"),
        ],
        ignore_index=True,
    )
    split = split_subjects(table, seed=0).set_index("cohort")
    assert split.loc["rat", "group"] == "mi"  # 2 : 2, "mi" sorts before "sham"
    assert split.loc["mouse", "group"] == "sham"  # 2 : 1
    _no_subject_straddles(table, split.reset_index())


def test_bad_arguments() -> None:
    table = _table({"g": 5})
    with pytest.raises(ValueError, match="add up to 1"):
        split_subjects(table, fractions=(0.8, 0.1, 0.2))
    with pytest.raises(ValueError, match="lacks column"):
        split_subjects(table.drop(columns="group"))
    with pytest.raises(ValueError, match="empty"):
        split_subjects(table.iloc[:0])


def test_numeric_subject_ids_are_text() -> None:
    table = pd.DataFrame({"subject": np.arange(10), "group": "g"})
    split = split_subjects(table, seed=0)
    assert split["subject"].tolist() == sorted(str(i) for i in range(10))
