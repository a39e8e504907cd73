"""`snakemake --profile slurm` on a real SLURM cluster: GPU rules get a GPU, results match a local run.

Needs a running cluster whose partitions are the ones named in slurm/config.yaml, with a `gpu`
GRES in the GPU partition and accounting (sacct); `.ci/slurm/start.sh` sets one up on a single
machine. Without one the tests are skipped, unless MYOFLOW_REQUIRE_SLURM=1 (set by CI), which
turns a missing cluster into a failure so CI cannot pass by skipping.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support.cluster import (
    THREADS,
    SlurmJob,
    profile_partitions,
    sacct_jobs,
    slurm_run_id,
    slurm_unavailable,
    snakemake_slurm,
)
from support.workflow import TINY_MYONET, completed_run, write_config

pytestmark = [pytest.mark.slurm, pytest.mark.integration]

GPU_RULES = {"train_model", "predict_shard"}
# Rules that are not local rules, so the profile must have sent them to SLURM.
CPU_RULES = {"phantom_shard", "preprocess_shard", "evaluate_shard"}

TABLES = Path("results/experiments/tiny/tables")


@pytest.fixture(scope="module")
def cluster() -> None:
    reason = slurm_unavailable()
    if reason is None:
        return
    if os.environ.get("MYOFLOW_REQUIRE_SLURM") == "1":
        pytest.fail(f"MYOFLOW_REQUIRE_SLURM=1 but SLURM is not usable: {reason}")
    pytest.skip(f"no usable SLURM cluster: {reason}")


@pytest.fixture(scope="module")
def local_run(cluster: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return completed_run(tmp_path_factory.mktemp("local"), TINY_MYONET)


@pytest.fixture(scope="module")
def slurm_run(
    cluster: None, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[SlurmJob]]:
    """The same config through the SLURM profile, and the jobs SLURM accounted for it."""
    workdir = tmp_path_factory.mktemp("slurm")
    write_config(workdir, TINY_MYONET)
    run = snakemake_slurm(workdir)
    log = run.stdout + run.stderr
    assert run.returncode == 0, log[-8000:]
    return workdir, sacct_jobs(slurm_run_id(log))


def test_every_job_completed_in_the_profiles_partition(
    slurm_run: tuple[Path, list[SlurmJob]],
) -> None:
    _, jobs = slurm_run
    default, per_rule = profile_partitions()
    assert CPU_RULES | GPU_RULES <= {job.rule for job in jobs}, "rules missing from sacct"
    for job in jobs:
        assert job.state == "COMPLETED", job
        assert job.partition == per_rule.get(job.rule, default), job


def test_gpu_rules_get_one_gpu_and_others_none(slurm_run: tuple[Path, list[SlurmJob]]) -> None:
    _, jobs = slurm_run
    for job in jobs:
        if job.rule in GPU_RULES:
            assert job.tres.get("gres/gpu") == "1", job
            # --set-threads reached SLURM as --cpus-per-task.
            assert job.tres.get("cpu") == str(THREADS), job
        else:
            assert "gres/gpu" not in job.tres, job


def test_each_gpu_job_was_submitted_once(
    slurm_run: tuple[Path, list[SlurmJob]], local_run: Path
) -> None:
    """One training job per network and one prediction per network and shard, none retried."""
    _, jobs = slurm_run
    nets = [p for p in (local_run / "results/models/tiny").iterdir() if p.is_dir()]
    predictions = list((local_run / "results/experiments/tiny/predictions").glob("*/*/*.h5"))
    assert len(nets) == 2 and predictions
    assert sum(job.rule == "train_model" for job in jobs) == len(nets)
    assert sum(job.rule == "predict_shard" for job in jobs) == len(predictions)


def test_tables_match_a_local_run(slurm_run: tuple[Path, list[SlurmJob]], local_run: Path) -> None:
    """Same inputs, same threads: SLURM must not change a single number (timing holds seconds)."""
    slurm_dir, _ = slurm_run
    names = sorted(p.name for p in (local_run / TABLES).glob("*.tsv") if p.name != "timing.tsv")
    assert {"table1_segments.tsv", "table2_agreement.tsv", "metrics.tsv"} <= set(names)
    assert (
        sorted(p.name for p in (slurm_dir / TABLES).glob("*.tsv") if p.name != "timing.tsv")
        == names
    )
    for name in names:
        local = (local_run / TABLES / name).read_text()
        assert (slurm_dir / TABLES / name).read_text() == local, f"{name} differs"
