"""Helpers for benchmarks/: medians of repeats, the machine's own ceilings, and one workflow run.

Machines here are shared and noisy, so every benchmark prints its speeds next to ceilings measured
in the same process and run (fp32 GEMM rate, memory copy bandwidth); the ratios are comparable
across runs and machines where absolute seconds are not. The accuracy benchmarks run the real
workflow on a config of their own (``run_workflow``).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

#: The repository's Snakefile, which the accuracy benchmarks run.
SNAKEFILE = Path(__file__).resolve().parents[2] / "Snakefile"


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``repeats`` calls of ``fn``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def matmul_gflops(repeats: int, n: int = 4096) -> float:
    """fp32 ``n x n`` matrix-multiply rate in GFLOP/s with the current thread settings."""
    rng = np.random.default_rng(0)
    a = rng.random((n, n), dtype=np.float32)
    b = rng.random((n, n), dtype=np.float32)
    a @ b  # warm-up
    return 2 * n**3 / median_seconds(lambda: a @ b, repeats) / 1e9


def synced(fn: Callable[[], object], device: torch.device) -> Callable[[], None]:
    """``fn`` followed by a wait for the GPU, so that wall time covers the queued kernels."""

    def call() -> None:
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    return call


def torch_matmul_gflops(repeats: int, device: torch.device, n: int = 4096) -> float:
    """fp32 ``n x n`` ``torch.mm`` rate on ``device``: the ceiling for the same library and
    thread count (on CUDA without TF32, torch's default for matrix products)."""
    generator = torch.Generator().manual_seed(0)
    a = torch.rand(n, n, generator=generator).to(device)
    b = torch.rand(n, n, generator=generator).to(device)
    mm = synced(lambda: torch.mm(a, b), device)
    mm()  # warm-up
    return 2 * n**3 / median_seconds(mm, repeats) / 1e9


def memcpy_gbs(repeats: int, mib: int = 256) -> float:
    """Memory copy bandwidth in GB/s over a buffer far larger than the caches."""
    src = np.ones(mib * 2**18, dtype=np.float32)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    return src.nbytes / median_seconds(lambda: np.copyto(dst, src), repeats) / 1e9


def run_workflow(
    config: dict[str, Any], workdir: str | None, prefix: str, cores: int
) -> tuple[Path, float]:
    """Write ``config`` into ``workdir`` (default: a new temporary folder named ``prefix``...),
    run the whole workflow there on ``cores`` and return the folder and the wall time in
    minutes; exit with the end of Snakemake's output when it fails."""
    work = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix=prefix))
    work.mkdir(parents=True, exist_ok=True)
    (work / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    tic = time.perf_counter()
    command = [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "-d", str(work)]
    run = subprocess.run(
        [*command, "--cores", str(cores)], check=False, capture_output=True, text=True
    )
    if run.returncode != 0:
        sys.exit((run.stdout + run.stderr)[-4000:])
    return work, (time.perf_counter() - tic) / 60
