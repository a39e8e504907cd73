"""Subject-level train/validation/test split, stratified by group, deterministic from a seed.

Slices of one subject are strongly correlated, so a subject (paper 000: a scan) lies in exactly
one set; otherwise test accuracy is inflated by leakage.

How the subjects of one cohort are divided:

1. One row per subject: the input may list every slice. A subject whose slices name different
   groups takes its most frequent group (ties: the first name in sorted order).
2. Within each group, the subjects are sorted and then shuffled by a generator seeded from
   ``(seed, cohort, group)``: the result does not depend on the row order of the input, and
   adding a group or another cohort leaves every existing group's split unchanged.
3. Set sizes per group by the largest-remainder method on ``n * fractions`` (so they add up to
   ``n`` and are as close to the fractions as integers allow). Then, in a group of at least three
   subjects, a validation or test set left empty by rounding takes one subject from the largest
   set, provided its fraction is not zero: every group is represented in model selection and in
   the final evaluation. The price is that in very small groups val and test exceed their
   nominal fractions (3 subjects: 1/1/1). Groups of one or two subjects go to training.

Several cohorts in one table (a ``cohort`` column) are split independently.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

SPLITS = ("train", "val", "test")
MIN_GROUP_FOR_EVAL = 3


def _stable_int(text: str) -> int:
    """A hash of ``text`` that is the same in every process (Python's ``hash`` is salted)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


def split_sizes(n: int, fractions: Sequence[float]) -> list[int]:
    """Subjects per set for a group of ``n`` (largest remainder, then the small-group rule)."""
    quotas = [n * f for f in fractions]
    sizes = [math.floor(q) for q in quotas]
    order = sorted(range(len(quotas)), key=lambda i: (-(quotas[i] - sizes[i]), i))
    for i in order[: n - sum(sizes)]:
        sizes[i] += 1
    if n >= MIN_GROUP_FOR_EVAL:
        for i in range(1, len(sizes)):
            if sizes[i] == 0 and fractions[i] > 0:
                donor = max(range(len(sizes)), key=lambda j: (sizes[j], -j))
                sizes[donor] -= 1
                sizes[i] += 1
    return sizes


def _subject_groups(table: pd.DataFrame) -> pd.DataFrame:
    rows = table[["subject", "group"]].astype(str)
    counts = rows.value_counts().reset_index(name="n")
    counts = counts.sort_values(["subject", "n", "group"], ascending=[True, False, True])
    return counts.drop_duplicates("subject")[["subject", "group"]].reset_index(drop=True)


def _split_cohort(
    table: pd.DataFrame, cohort: str, fractions: Sequence[float], seed: int
) -> pd.DataFrame:
    parts = []
    for group, members in _subject_groups(table).groupby("group", sort=True):
        subjects = np.array(sorted(members["subject"]))
        rng = np.random.default_rng([seed, _stable_int(cohort), _stable_int(str(group))])
        subjects = subjects[rng.permutation(len(subjects))]
        labels = np.repeat(SPLITS, split_sizes(len(subjects), fractions))
        parts.append(pd.DataFrame({"subject": subjects, "group": group, "split": labels}))
    return pd.concat(parts, ignore_index=True)


def split_subjects(
    table: pd.DataFrame, fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0
) -> pd.DataFrame:
    """Assign every subject of ``table`` (columns ``subject``, ``group``, optional ``cohort``).

    Returns one row per subject, sorted: ``[cohort,] subject, group, split`` with split one of
    ``train``, ``val``, ``test``.
    """
    if len(fractions) != 3 or any(f < 0 for f in fractions):
        raise ValueError(f"fractions must be three non-negative numbers, got {fractions}")
    if not math.isclose(sum(fractions), 1.0, abs_tol=1e-6):
        raise ValueError(f"fractions must add up to 1, got {sum(fractions)}")
    missing = {"subject", "group"} - set(table.columns)
    if missing:
        raise ValueError(f"split table lacks column(s) {sorted(missing)}")
    if table.empty:
        raise ValueError("split table is empty")
    if "cohort" not in table.columns:
        return _split_cohort(table, "", fractions, seed).sort_values("subject", ignore_index=True)
    parts = []
    for cohort, rows in table.groupby(table["cohort"].astype(str), sort=True):
        part = _split_cohort(rows, str(cohort), fractions, seed)
        parts.append(part.assign(cohort=cohort)[["cohort", "subject", "group", "split"]])
    return pd.concat(parts, ignore_index=True).sort_values(["cohort", "subject"], ignore_index=True)
