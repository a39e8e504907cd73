"""Displacement <-> network target: the invertible affine scaling of paper 000, section 2.1.

The networks end in a sigmoid, so their targets must lie in (0, 1]. Displacement in mm over
``[-D, D]`` is mapped affinely onto grey levels ``[32, 255]`` and divided by 255, i.e. onto
``[32/255, 1]`` (about ``[0.125, 1]``); the background (outside the myocardium) is 0, clearly apart
from every displacement value. Predictions go back to mm with the exact inverse before any error
metric or strain is computed.

Preprocessed shards keep displacement in mm; the training data loader applies ``to_network``
and the prediction stage ``to_mm``, so ``D`` (``max_displacement_mm``) can change without
preprocessing again.

Values beyond ``±D`` are clipped (per component) rather than rejected: a few outliers in a
reference field should not cost a subject. How much was clipped is measured at preprocessing
(``clipped_fraction``) and listed in the QC table, and ``suggest_max_displacement`` proposes a
``D`` from the training data.

Precision: the map is computed in float64 and returned in the input's floating dtype. In float64
a round trip inside ``[-D, D]`` is exact to ~1e-15 * D. In float32 two roundings remain, of the
network value (half an ulp, at most 2^-25 since values are below 1, magnified by 2D * 255/223) and
of the result in mm (at most 2^-24 * D), so ``|u - to_mm(to_network(u))| <= 2.2 * 2^-24 * D``,
about 1.3e-7 * D (2e-6 mm for a human D of 15 mm).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from myoflow.record import SliceRecord

GREY_LOW = 32.0
GREY_HIGH = 255.0
GREY_FULL = 255.0
NETWORK_MIN = GREY_LOW / GREY_FULL


def _check_d(max_displacement_mm: float) -> float:
    d = float(max_displacement_mm)
    if not (np.isfinite(d) and d > 0):
        raise ValueError(
            f"max_displacement_mm must be positive and finite, got {max_displacement_mm}"
        )
    return d


def _float_dtype(arr: np.ndarray) -> np.dtype:
    return arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.dtype(np.float64)


def _channel_mask(mask: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A mask shaped like the field without its channel axis (-3), broadcast over the channels."""
    return np.broadcast_to(np.expand_dims(np.asarray(mask).astype(bool), -3), shape)


def to_network(
    u_mm: np.ndarray, max_displacement_mm: float, mask: np.ndarray | None = None
) -> np.ndarray:
    """Displacement ``[..., 2, H, W]`` in mm -> sigmoid targets in ``[32/255, 1]``, background 0.

    ``mask`` (``[..., H, W]``, e.g. the myocardium ``[T, H, W]`` or ``[1, H, W]``) marks where the
    field is kept; elsewhere the output is 0. Values beyond ``±D`` are clipped.
    """
    u = np.asarray(u_mm)
    d = _check_d(max_displacement_mm)
    scale = (GREY_HIGH - GREY_LOW) / (2.0 * d)
    v = (GREY_LOW + (np.clip(u, -d, d).astype(np.float64) + d) * scale) / GREY_FULL
    if mask is not None:
        v = np.where(_channel_mask(mask, v.shape), v, 0.0)
    return v.astype(_float_dtype(u), copy=False)


def to_mm(v: np.ndarray, max_displacement_mm: float) -> np.ndarray:
    """Exact inverse of ``to_network`` for values in ``[32/255, 1]``.

    Background (0) maps to a value below ``-D`` that means nothing: select the myocardium with
    its mask, as the strain code does.
    """
    v = np.asarray(v)
    d = _check_d(max_displacement_mm)
    u = (v.astype(np.float64) * GREY_FULL - GREY_LOW) * (2.0 * d / (GREY_HIGH - GREY_LOW)) - d
    return u.astype(_float_dtype(v), copy=False)


def clipped_fraction(
    u_mm: np.ndarray, max_displacement_mm: float, mask: np.ndarray | None = None
) -> float:
    """Fraction of displacement components (inside ``mask``) that ``to_network`` would clip."""
    u = np.asarray(u_mm)
    d = _check_d(max_displacement_mm)
    beyond = np.abs(u) > d
    if mask is not None:
        inside = _channel_mask(mask, u.shape)
        total = int(inside.sum())
        return float((beyond & inside).sum()) / total if total else 0.0
    return float(beyond.mean()) if beyond.size else 0.0


def suggest_max_displacement(
    records: Iterable[SliceRecord], percentile: float = 99.9, step_mm: float = 0.5
) -> float:
    """A ``D`` for a cohort: the ``percentile`` of |displacement components| rounded up to ``step_mm``.

    Values are taken inside each record's myocardium mask (all pixels when it has none). The
    records stream through a histogram with bins of ``step_mm``, so memory does not grow with the
    cohort; the percentile is the smallest value below which at least ``percentile`` % of the
    values lie (numpy's ``inverted_cdf``). Pass training records only: choosing ``D`` on the
    test set would leak it.
    """
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {percentile}")
    if not step_mm > 0:
        raise ValueError(f"step_mm must be positive, got {step_mm}")
    counts = np.zeros(1, dtype=np.int64)
    for rec in records:
        if rec.displacement is None:
            continue
        mag = np.abs(np.asarray(rec.displacement, dtype=np.float64))
        if rec.mask is not None:
            mag = mag[_channel_mask(rec.mask, mag.shape)]
        # Bin k holds values in ((k - 1) * step, k * step]: its upper edge is the rounded-up value.
        new = np.bincount(np.ceil(mag.ravel() / step_mm).astype(np.int64))
        if len(new) > len(counts):
            counts = np.pad(counts, (0, len(new) - len(counts)))
        counts[: len(new)] += new
    total = int(counts.sum())
    if total == 0:
        raise ValueError("no displacement values: cannot suggest max_displacement_mm")
    k = int(np.searchsorted(np.cumsum(counts), percentile / 100.0 * total))
    return max(k, 1) * step_mm
