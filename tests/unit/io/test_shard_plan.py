"""Shard plans hold whole subjects: never one subject in two shards, in the Snakefile or the jobs."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from myoflow.config import cohort_plan
from myoflow.errors import ConfigError
from myoflow.io.shard_plan import ShardPlan, synthetic_plan, table_plan
from myoflow.stages.cohort import shard_rows, shard_specs


def _check_plan(sizes: list[int], shard_size: int) -> ShardPlan:
    """Assert the plan's properties for subjects of ``sizes`` slices; return the plan."""
    plan = ShardPlan.over_subjects(sizes, shard_size)
    ends = np.cumsum([0, *sizes])
    spans = [plan.bounds(s) for s in range(plan.n_shards)]
    assert [lo for lo, _ in spans] == [0, *[hi for _, hi in spans[:-1]]], "contiguous"
    assert spans[-1][1] == plan.n_slices == sum(sizes), "every slice covered"
    for lo, hi in spans:
        assert lo in ends and hi in ends, "shards start and end on subject boundaries"
        whole = int(np.searchsorted(ends, hi)) - int(np.searchsorted(ends, lo))
        assert hi - lo <= shard_size or whole == 1, "too big, yet more than one subject"
    for (lo, _), (_, hi) in itertools.pairwise(spans):
        assert hi - lo > shard_size, "two neighbours would have fitted in one shard"
    assert len(set(plan.names)) == plan.n_shards
    return plan


def test_random_subject_sizes_are_never_split() -> None:
    rng = np.random.default_rng(0)
    for _ in range(300):
        sizes = rng.integers(1, 15, size=int(rng.integers(1, 60))).tolist()
        _check_plan(sizes, int(rng.integers(1, 40)))


@pytest.mark.parametrize(
    "sizes, shard_size, starts",
    [
        ([3] * 10, 200, (0,)),
        ([3] * 10, 7, (0, 6, 12, 18, 24)),  # two subjects (6 slices) per shard
        ([2] * 4, 3, (0, 2, 4, 6)),  # 2 + 2 > 3: one subject per shard
        ([1, 9, 1, 1], 4, (0, 1, 10)),  # the 9-slice subject alone
        ([5], 2, (0,)),
    ],
)
def test_plan_examples(sizes: list[int], shard_size: int, starts: tuple[int, ...]) -> None:
    assert _check_plan(sizes, shard_size).starts == starts


def test_bounds_outside_the_plan_are_refused() -> None:
    plan = ShardPlan.over_subjects([3, 3], 3)
    with pytest.raises(ConfigError, match="outside 0..1"):
        plan.bounds(2)
    with pytest.raises(ConfigError, match="shard_size"):
        ShardPlan.over_subjects([3], 0)


def test_synthetic_shards_hold_whole_subjects_in_the_jobs_too() -> None:
    cohort = {
        "source": "synthetic",
        "name": "rats",
        "species": "rat",
        "subjects": 7,
        "slices": ["basal", "mid", "apical"],
        "shard_size": 7,
    }
    parsed, _ = cohort_plan("rats", cohort, Path.cwd())
    assert parsed == synthetic_plan(cohort) and parsed.n_shards == 4  # 2 + 2 + 2 + 1 subjects
    seen: dict[str, int] = {}
    for shard in range(parsed.n_shards):
        specs = shard_specs(cohort, shard)
        lo, hi = parsed.bounds(shard)
        assert len(specs) == hi - lo
        for spec in specs:
            assert seen.setdefault(spec.subject, shard) == shard, f"{spec.subject} straddles"
        assert len(specs) == 3 * len({s.subject for s in specs})
    assert len(seen) == 7


def _manifest(path: Path, slices: dict[str, int]) -> Path:
    """A manifest listing ``slices[subject]`` slices per subject, rows interleaved."""
    rows = [
        (subject, str(k))
        for k in range(max(slices.values()))
        for subject in slices
        if k < slices[subject]
    ]
    lines = ["subject\tslice\tcine"] + [f"{s}\t{k}\t{s}_{k}.nii.gz" for s, k in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_manifest_shards_hold_whole_subjects_in_the_jobs_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(1)
    slices = {f"p{i:03d}": int(rng.integers(1, 9)) for i in rng.permutation(40)}
    manifest = _manifest(tmp_path / "manifest.tsv", slices)
    cohort = {"source": "manifest", "manifest": str(manifest), "shard_size": 10, "name": "mine"}
    parsed, _ = cohort_plan("mine", cohort, tmp_path)
    monkeypatch.chdir(tmp_path)  # a job resolves the manifest from its working directory
    seen: dict[str, int] = {}
    n = 0
    for shard in range(parsed.n_shards):
        rows = shard_rows(cohort, shard)
        n += len(rows)
        for subject in rows["subject"]:
            assert seen.setdefault(subject, shard) == shard, f"{subject} straddles two shards"
    assert n == sum(slices.values()) == parsed.n_slices and set(seen) == set(slices)


def test_a_table_with_a_subject_in_two_runs_is_refused() -> None:
    table = pd.DataFrame({"subject": ["a", "a", "b", "a"]})
    with pytest.raises(ConfigError, match=r"\['a'\] are not consecutive"):
        table_plan(table, 10)


def test_planning_a_hundred_thousand_rows_takes_milliseconds() -> None:
    table = pd.DataFrame({"subject": np.repeat([f"s{i:06d}" for i in range(33_334)], 3)})
    start = time.perf_counter()
    plan = table_plan(table, 200)
    seconds = time.perf_counter() - start
    assert plan.n_shards == -(-33_334 // 66)  # 66 whole subjects (198 slices) per shard
    # Tens of ms here; a second leaves room for a loaded machine and still catches a
    # per-row Python loop over pandas rows (several seconds at this size).
    assert seconds < 1.0
