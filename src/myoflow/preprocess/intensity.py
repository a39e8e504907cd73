"""Per-series intensity normalisation, so that scanners, coils and tagging sequences look alike.

One pair of statistics per series (all frames together, cine and tagged separately), never per
frame: tag fading and inflow changes over the cycle are signal and must survive normalisation.
Statistics are taken inside the ROI crop only, leaving out the zero padding of a crop that reaches
past the image (``region``), which would otherwise drag the low percentile to 0.

* ``percentile``: clip to the ``[p_lo, p_hi]`` percentiles and scale that range to ``[0, 1]``;
  robust to the few very bright pixels (fat, flow artefacts) that would squash a min-max scaling.
* ``zscore``: zero mean and unit standard deviation.

Padding stays 0 in the output. A series without contrast cannot be normalised and is rejected.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from myoflow.errors import InputError
from myoflow.record import SliceRecord

INTENSITY_MODES = ("percentile", "zscore")


def normalise_series(
    series: np.ndarray,
    mode: str = "percentile",
    percentiles: Sequence[float] = (1.0, 99.0),
    region: np.ndarray | None = None,
) -> np.ndarray:
    """Normalise a ``[T, H, W]`` series; ``region`` ``[H, W]`` bool selects the pixels used.

    Raises InputError("image is constant ...") when the series has no contrast in the region.
    """
    if mode not in INTENSITY_MODES:
        raise ValueError(f"intensity mode must be one of {INTENSITY_MODES}, got {mode!r}")
    values = series[:, region] if region is not None else series
    if mode == "percentile":
        lo, hi = np.percentile(values, percentiles)
        if not hi > lo:
            raise InputError(
                f"image is constant between its {percentiles[0]:g}th and {percentiles[1]:g}th "
                "percentiles inside the ROI"
            )
        out = np.clip((series - np.float32(lo)) * np.float32(1.0 / (hi - lo)), 0.0, 1.0)
    else:
        mean, sd = float(values.mean(dtype=np.float64)), float(values.std(dtype=np.float64))
        if not sd > 0:
            raise InputError("image is constant inside the ROI")
        out = (series - np.float32(mean)) * np.float32(1.0 / sd)
    out = out.astype(np.float32, copy=False)
    if region is not None:
        out[:, ~region] = 0.0
    return out


def normalise_record(
    rec: SliceRecord,
    mode: str = "percentile",
    percentiles: Sequence[float] = (1.0, 99.0),
    region: np.ndarray | None = None,
) -> SliceRecord:
    """Normalise the cine and tagged series of ``rec`` independently; raise InputError if constant."""
    changes: dict[str, np.ndarray] = {}
    for kind in ("cine", "tagged"):
        series = getattr(rec, kind)
        if series is None:
            continue
        try:
            changes[kind] = normalise_series(series, mode, percentiles, region)
        except InputError as err:
            raise rec.error(f"{kind}: {err.problem}", kind) from None
    return rec.replace(**changes)
