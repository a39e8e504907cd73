"""Strain analysis: what mutation testing (``make mutants``) found untested.

``es_frame_of`` is documented as the frame of the most negative *global* Green Ecc. On the
phantom every segment peaks with the global curve, so a mutant that read the segments' rows
instead went unnoticed, and so did a lost "no global Ecc" error. Here the segments peak at
another frame than the global curve.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from myoflow.strain.analysis import GLOBAL_SEGMENT, es_frame_of, maps_strain


def _curves(global_ecc: list[float], segment_ecc: list[float]) -> pd.DataFrame:
    frames = range(len(global_ecc))
    rows = [
        {"segment": GLOBAL_SEGMENT, "frame": t, "ecc_green": e} for t, e in zip(frames, global_ecc)
    ]
    for segment in (1, 2):
        rows += [
            {"segment": segment, "frame": t, "ecc_green": e} for t, e in zip(frames, segment_ecc)
        ]
    return pd.DataFrame(rows)


def test_es_is_read_from_the_global_curve_only() -> None:
    # global shortening peaks at frame 3; the segments (e.g. a dyssynchronous wall) at frame 1
    curves = _curves([0.0, -0.05, -0.10, -0.15, -0.08], [0.0, -0.30, -0.02, -0.01, 0.0])
    assert es_frame_of(curves) == 3
    # NaN frames of the global curve are skipped, not taken as the minimum
    curves.loc[(curves["segment"] == GLOBAL_SEGMENT) & (curves["frame"] == 2), "ecc_green"] = np.nan
    assert es_frame_of(curves) == 3


def test_no_global_ecc_is_an_error_that_says_so() -> None:
    all_nan = _curves([np.nan, np.nan, np.nan], [0.0, -0.2, -0.1])
    segments_only = all_nan[all_nan["segment"] != GLOBAL_SEGMENT]
    for curves in (all_nan, segments_only):
        with pytest.raises(ValueError, match="^no global Ecc values: cannot find the ES frame$"):
            es_frame_of(curves)


def test_maps_strain_takes_any_frame_of_the_series_as_es_and_names_the_range() -> None:
    """Frame 0 is a valid (if trivial) ES; one past the last is refused with the valid range."""
    mask = np.zeros((12, 12), np.uint8)
    mask[2:10, 2:10] = 1
    mask[4:8, 4:8] = 0
    maps = {k: np.zeros((3, 12, 12)) for k in ("ecc_green", "err_green", "ecc_eng", "err_eng")}
    args = (maps, mask, (1.0, 1.0), "mid", None)
    _, summary = maps_strain(*args, 0, np.arange(3) * 40.0)
    assert len(summary) and (summary["es_frame"] == 0).all()
    with pytest.raises(ValueError, match=r"^ES frame 3 outside 0\.\.2$"):
        maps_strain(*args, 3, np.arange(3) * 40.0)
