"""Timing helpers for benchmarks/: medians of repeats and the machine's own ceilings.

Machines here are shared and noisy, so every benchmark prints its speeds next to ceilings measured
in the same process and run (fp32 GEMM rate, memory copy bandwidth); the ratios are comparable
across runs and machines where absolute seconds are not.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np


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


def memcpy_gbs(repeats: int, mib: int = 256) -> float:
    """Memory copy bandwidth in GB/s over a buffer far larger than the caches."""
    src = np.ones(mib * 2**18, dtype=np.float32)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    return src.nbytes / median_seconds(lambda: np.copyto(dst, src), repeats) / 1e9
