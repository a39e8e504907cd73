"""Running the workflow through the repository's SLURM profile and reading back what SLURM did.

The profile is used exactly as docs/cluster.md tells users to: `snakemake --profile slurm` started
from the repository root, so Snakemake finds ./slurm by name.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import yaml

from support.workflow import ROOT

PROFILE = ROOT / "slurm" / "config.yaml"

# The SLURM run must use the same thread counts as the local `--cores 2` run, or PyTorch's
# reductions may differ in the last bits and the tables would not be comparable.
THREADS = 2


def profile_partitions() -> tuple[str, dict[str, str]]:
    """The profile's default partition and the rules it sends elsewhere (a site may edit both)."""
    profile = yaml.safe_load(PROFILE.read_text())
    default = str(profile["default-resources"]["slurm_partition"])
    per_rule = {
        rule: str(res["slurm_partition"])
        for rule, res in profile.get("set-resources", {}).items()
        if "slurm_partition" in res
    }
    return default, per_rule


def _run(args: list[str]) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None


def slurm_unavailable() -> str | None:
    """Why the SLURM test cannot run here, or None when a usable cluster is up."""
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        return "snakemake-executor-plugin-slurm is not installed (pip install -e '.[slurm]')"
    for tool in ("sinfo", "sbatch", "sacct"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not on PATH: no SLURM client on this machine"
    sinfo = _run(["sinfo", "-h", "-o", "%R|%a|%c|%G|%T"])
    if sinfo is None or sinfo.returncode != 0:
        detail = "timed out" if sinfo is None else sinfo.stderr.strip()
        return f"no SLURM controller answers `sinfo` ({detail})"
    # Exact states only: a suffix (idle* = not responding, idle~ = powered off, ...) means the
    # node cannot run jobs now.
    usable = {"idle", "mixed", "allocated", "completing"}
    partitions: dict[str, list[tuple[int, str]]] = {}
    for line in sinfo.stdout.splitlines():
        name, avail, cpus, gres, state = line.split("|")
        if avail == "up" and state in usable:
            # "2+" when nodes of one line differ; the minimum is enough here.
            partitions.setdefault(name, []).append((int(cpus.rstrip("+")), gres))
    default, per_rule = profile_partitions()
    wanted = {default, *per_rule.values()}
    missing = wanted - set(partitions)
    if missing:
        return f"partitions {sorted(missing)} named in slurm/config.yaml are not up on this cluster"
    for name in wanted:
        if not any(cpus >= THREADS for cpus, _ in partitions[name]):
            return f"partition {name} has no node with {THREADS} CPUs"
    for name in set(per_rule.values()):
        if not any("gpu" in gres for _, gres in partitions[name]):
            return f"partition {name} (the GPU rules') has no node with a `gpu` GRES"
    sacct = _run(["sacct", "-n", "-X", "-o", "JobID"])
    if sacct is None or sacct.returncode != 0:
        return "`sacct` does not work: the cluster has no accounting database (slurmdbd)"
    return None


def snakemake_slurm(
    workdir: Path, *args: str, timeout: float = 1800
) -> subprocess.CompletedProcess[str]:
    """`snakemake --profile slurm` on ``workdir`` from the repository root.

    The rules ask for up to 8 threads, more than a CI node has; ``--set-threads`` brings the GPU
    rules down to THREADS (a site would not need this). Status checks start after 2 s instead of
    the plugin's 40 s, since the test jobs take seconds. On timeout, Snakemake gets SIGINT so it
    cancels its SLURM jobs before the test fails.
    """
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--profile",
        "slurm",
        "-s",
        "Snakefile",
        "-d",
        str(workdir),
        "--set-threads",
        f"train_model={THREADS}",
        f"predict_shard={THREADS}",
        "--slurm-init-seconds-before-status-checks",
        "2",
        *args,
    ]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
        err += f"\n[test] snakemake --profile slurm was interrupted after {timeout} s"
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def slurm_run_id(log: str) -> str:
    """The executor's run id: the SLURM job name of every job of one Snakemake run."""
    match = re.search(r"SLURM run ID: (\S+)", log)
    assert match, "the Snakemake log names no SLURM run ID"
    return match.group(1)


@dataclass(frozen=True)
class SlurmJob:
    job_id: str
    rule: str
    partition: str
    tres: dict[str, str]
    state: str


def sacct_jobs(run_id: str) -> list[SlurmJob]:
    """Every job SLURM accounted under ``run_id``, with its rule from the executor's comment."""
    start = (datetime.now() - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S")
    sacct = subprocess.run(
        [
            "sacct",
            "-X",  # allocations only, not the batch/step lines
            "--parsable2",
            "--noheader",
            "--starttime",
            start,
            "--name",
            run_id,
            "--format",
            "JobIDRaw,Comment,Partition,AllocTRES,State",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    jobs = []
    for line in sacct.stdout.splitlines():
        job_id, comment, partition, tres, state = line.split("|")
        # The executor comments "rule_<rule>" or "rule_<rule>_wildcards_<values>".
        rule = comment.removeprefix("rule_").split("_wildcards_")[0]
        pairs = (item.split("=", 1) for item in tres.split(",") if item)
        jobs.append(SlurmJob(job_id, rule, partition, dict(pairs), state))
    return jobs
