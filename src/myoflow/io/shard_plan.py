"""How a cohort is cut into shard jobs: whole subjects per shard, planned at Snakemake's parse time.

The plan is a pure function of the cohort's subjects and their slice counts (the config alone for
a phantom, one read of the manifest otherwise), so the Snakefile and every shard job compute the
same shard -> slices mapping independently; no plan file is passed around. It must stay cheap:
a 10^5-slice cohort builds its DAG in seconds (benchmarks/bench_dag.py).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from myoflow.errors import ConfigError


@dataclass(frozen=True)
class ShardPlan:
    """How a cohort's slices are cut into jobs: whole subjects, at most ``shard_size`` slices each.

    Why whole subjects: a stage that looks at a subject as a whole (a per-subject stack, a
    subject's slices compared with each other) then reads one shard, and a shard job that fails
    loses whole subjects, never half of one. Slices are numbered in the cohort's order (the
    phantom's plan, or the table sorted by subject), in which a subject's slices are consecutive;
    shard ``i`` holds slices ``[starts[i], starts[i + 1])``, the last one up to ``n_slices``.
    """

    n_slices: int
    shard_size: int
    starts: tuple[int, ...]

    @classmethod
    def over_subjects(cls, sizes: Sequence[int], shard_size: int) -> ShardPlan:
        """Pack subjects of ``sizes`` slices each, in their order, into shards.

        A shard takes the next subject while it stays within ``shard_size`` slices; a subject
        with more slices than that gets a shard of its own. A shard is closed only when the next
        subject does not fit, so two neighbouring shards always hold more than ``shard_size``
        slices together: fewer than ``2 n / shard_size + 1`` shards. One prefix sum and one binary
        search per shard: a 10^5-slice cohort is planned in milliseconds at parse time.
        """
        if shard_size < 1:
            raise ConfigError(f"shard_size must be at least 1, got {shard_size}")
        ends = [0, *itertools.accumulate(sizes)]
        starts: list[int] = []
        subject = 0
        while subject < len(sizes):
            starts.append(ends[subject])
            last = bisect.bisect_right(ends, ends[subject] + shard_size, lo=subject + 1) - 1
            subject = max(last, subject + 1)
        return cls(n_slices=ends[-1], shard_size=shard_size, starts=tuple(starts) or (0,))

    @property
    def n_shards(self) -> int:
        return len(self.starts)

    @property
    def names(self) -> list[str]:
        return [shard_name(i) for i in range(self.n_shards)]

    def bounds(self, shard: int) -> tuple[int, int]:
        """Slices ``[lo, hi)`` of shard ``shard``."""
        if not 0 <= shard < self.n_shards:
            raise ConfigError(f"shard {shard} outside 0..{self.n_shards - 1}")
        hi = self.starts[shard + 1] if shard + 1 < self.n_shards else self.n_slices
        return self.starts[shard], hi


def synthetic_plan(cohort: dict[str, Any]) -> ShardPlan:
    """The shard plan of a synthetic cohort entry (defaults filled in): subjects x slices."""
    from myoflow.phantom.stack import slices_per_subject

    return ShardPlan.over_subjects(
        [slices_per_subject(cohort)] * int(cohort["subjects"]), int(cohort["shard_size"])
    )


def table_plan(table: Any, shard_size: int) -> ShardPlan:  # table: pandas.DataFrame
    """The shard plan of a manifest-shaped table whose rows are grouped by subject.

    Vectorised (one pass over the ``subject`` column), so a 10^5-row manifest is planned in
    milliseconds. Raises ConfigError naming a subject whose rows are not consecutive: the plan
    cuts the table into row ranges, so such a subject would straddle two shards.
    """
    import numpy as np

    subjects = table["subject"].astype(str)
    first = np.flatnonzero(subjects.ne(subjects.shift()).to_numpy())
    runs = subjects.iloc[first]
    split = runs[runs.duplicated()]
    if len(split):
        raise ConfigError(
            f"the rows of subject(s) {sorted(set(split))[:5]} are not consecutive; "
            "sort the table by subject"
        )
    sizes = np.diff(np.append(first, len(subjects))).tolist()
    return ShardPlan.over_subjects(sizes, shard_size)


def shard_name(index: int) -> str:
    return f"{index:03d}"
