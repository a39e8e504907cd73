"""Wilcoxon rank-sum tests between models per segmentation metric, Bonferroni-corrected.

Paper 002 (section III.C) compares models' per-volume metrics with a two-sided Wilcoxon rank-sum
test, e.g. the Hausdorff distances of 2D against 3D U-net (p = 0.0068); Table I's columns are
the metrics (Dice, Jaccard, Hausdorff distance, ...). :func:`ranksum_tests` runs that test for
every pair of models and every metric of a tidy table (one row per volume x model) and corrects
for the many pairs, so each segmentation method's report uses the same code.

The test is scipy's ``ranksums`` (the normal approximation of the rank-sum statistic, without a
tie correction) and the correction ``myoflow.stats.hypothesis.bonferroni`` (statsmodels'
``multipletests``). The rank-sum test treats the two samples as independent; the
models are scored on the same test volumes, for which the signed-rank test would be the paired
alternative, but the paper's test is kept so that its p-values are reproduced.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from myoflow.stats.hypothesis import bonferroni

RANKSUM_COLUMNS = [
    "metric",
    "model_a",
    "model_b",
    "n_a",
    "n_b",
    "median_a",
    "median_b",
    "statistic",
    "p",
    "p_bonferroni",
]

#: Fewest values per model for a test; with fewer the statistic and p-value are NaN.
MIN_VALUES = 2


def ranksum_tests(
    table: pd.DataFrame,
    metrics: Sequence[str],
    by: str = "method",
    pairs: Sequence[tuple[str, str]] | None = None,
    family: Literal["metric", "all"] = "metric",
) -> pd.DataFrame:
    """Two-sided Wilcoxon rank-sum test of each pair of models on each metric.

    ``table`` has one row per volume x model, the model in column ``by`` and one column per
    metric. ``pairs`` lists the ``(model_a, model_b)`` comparisons; by default every unordered
    pair of the models, sorted, each once. Per metric and model the NaN values are dropped (e.g.
    a Hausdorff distance undefined for an empty prediction), so ``n_a``/``n_b`` count the values
    tested and the medians are over them; note that dropping a model's failures flatters it.
    ``statistic`` is scipy's z, positive when model a's values rank higher, and ``p`` its
    two-sided p. A model with fewer than :data:`MIN_VALUES` values gives NaN statistic and p.

    Bonferroni family: ``"metric"`` (default) corrects the pairs of one metric together, so each
    metric's comparisons are judged as one question, as Table I reports each metric on its own,
    and adding a metric does not change another metric's adjusted p-values; ``"all"`` corrects
    every test of the call together. Only tests with a p-value count, and ``p_bonferroni =
    min(1, p x family size)``.

    Returns one row per metric x pair, metrics in the given order, with ``RANKSUM_COLUMNS``.

    Raises:
        ValueError: a column is missing, ``by`` is a metric, a pair names a model absent from
            the table or compares a model with itself, or ``family`` is unknown.
    """
    metrics = list(metrics)
    missing = sorted({by, *metrics} - set(table.columns))
    if missing:
        raise ValueError(f"columns missing from the table: {missing}")
    if by in metrics:
        raise ValueError(f"{by!r} is the model column; it cannot be a metric")
    if family not in ("metric", "all"):
        raise ValueError(f"family must be 'metric' or 'all', got {family!r}")
    blocks = dict(tuple(table.groupby(by, sort=True)))
    tested = list(combinations(blocks, 2)) if pairs is None else [(a, b) for a, b in pairs]
    unknown = sorted({model for pair in tested for model in pair} - set(blocks))
    if unknown:
        raise ValueError(f"models not in column {by!r}: {unknown}")
    if any(a == b for a, b in tested):
        raise ValueError("a pair compares a model with itself")
    rows = []
    for metric in metrics:
        for a, b in tested:
            sample_a = blocks[a][metric].dropna().to_numpy(dtype=float)
            sample_b = blocks[b][metric].dropna().to_numpy(dtype=float)
            rows.append(
                {"metric": metric, "model_a": a, "model_b": b, **_ranksum(sample_a, sample_b)}
            )
    result = pd.DataFrame(rows, columns=RANKSUM_COLUMNS)
    result["p_bonferroni"] = bonferroni(result, ["metric"] if family == "metric" else [])
    return result


def _ranksum(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Counts, medians and scipy's two-sided rank-sum test of ``a`` against ``b``."""
    out = {
        "n_a": int(a.size),
        "n_b": int(b.size),
        "median_a": float(np.median(a)) if a.size else np.nan,
        "median_b": float(np.median(b)) if b.size else np.nan,
        "statistic": np.nan,
        "p": np.nan,
    }
    if min(a.size, b.size) >= MIN_VALUES:
        result = stats.ranksums(a, b, alternative="two-sided")
        out.update(statistic=float(result.statistic), p=float(result.pvalue))
    return out
