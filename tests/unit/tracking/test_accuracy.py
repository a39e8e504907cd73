"""The documented accuracy aims, per tracker, on the phantom whose motion is known exactly.

docs/tracking.md (section "Tracking validation") states the aims at SNR 20: mean end-systolic
displacement error inside the ED myocardium at most 0.3 px, and ES Ecc error at most 0.02 (mean
|error| over the AHA segments; the UK Biobank anchor is -0.001 +/- 0.021). Its benchmark table
(``make bench-tracking``: 160 x 160 x 20 frames, 1-3-3-1 tags, 3 slices per cell) says both
trackers meet them at every tag spacing. These tests hold each tracker to those absolute
numbers, not to a fraction of the zero baseline: a tracker that returns 0.6 x the true motion
beats zero by far but errs by 0.4 x the motion, about 2 px at ES here.

Setting: the benchmark's own (``validation_specs`` defaults: 160 x 160, 20 frames, SNR 20), so
the numbers of docs/tracking.md apply; one mid-ventricular slice per cell (the first slice
of the benchmark's cell, seed 0) keeps it to a few seconds. Cells: rat with 4 px tags and human
with 5 px tags, the middle of the benchmarked 3-6 px. Measured here when written:

    cell         method        ES error   Ecc global error   Ecc segment MAE
    rat, 4 px    HARP          0.131 px   +0.0035            0.0035
    rat, 4 px    HARP phase    0.131 px   +0.0043            0.0043
    rat, 4 px    SinMod        0.068 px   +0.0006            0.0012
    human, 5 px  HARP          0.218 px   +0.0080            0.0080
    human, 5 px  HARP phase    0.218 px   +0.0099            0.0098
    human, 5 px  SinMod        0.116 px   +0.0019            0.0019

(zero baseline: 5.61 / 4.73 px, Ecc error +0.154). The extreme spacings are left out on
purpose: the aim is a cell mean over slices, and single slices there come near or over it
(human 6 px: HARP 0.315 px on this one slice; docs/tracking.md's worst cell mean: 0.279 px). A
smaller matrix is not used either: at 112 x 112 SinMod's Ecc error on the rat's 3 px slice was
0.027 against 0.003 at 160 x 160, so the benchmark's numbers do not carry over unchanged.
"""

from __future__ import annotations

from functools import cache

import pytest

from myoflow.methods.tracking_validation.grid import Cell
from myoflow.methods.tracking_validation.scoring import ZERO, score_record
from myoflow.methods.tracking_validation.sweep import validation_specs
from myoflow.phantom.cohort import generate

#: docs/tracking.md, "Tracking validation": "the aims at SNR 20 — mean ES error at most 0.3 px".
AIM_ES_MEAN_PX = 0.3
#: docs/tracking.md, same sentence: "mean |ES Ecc error| over segments at most 0.02"
#: (|dEcc| <= 0.02).
AIM_ECC = 0.02
#: (species, tag spacing in px) of each cell; SNR 20 as the aims say.
CELLS = [("rat", 4.0), ("human", 5.0)]
#: The methods held to the aims: each tracker, and HARP with its strain from phase gradients
#: (same displacement; docs/tracking.md gives its Ecc segment MAE as 0.009 / 0.016).
METHODS = ["harp", "harp_phase", "sinmod"]


@cache
def _rows(species: str, spacing_px: float) -> dict[str, dict[str, float]]:
    """The slice rows of ``score_record`` per method (trackers, ``harp_phase`` and ``zero``),
    computed once per cell."""
    spec = validation_specs(species, 20.0, spacing_px, 1, seed=0)[0]
    cell = Cell(species, "ideal", "none", 20.0, spacing_px)
    results = score_record(generate(spec), cell, ["harp", "sinmod"])
    return {r.row["method"]: r.row for r in results}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("species", "spacing_px"), CELLS)
def test_tracker_meets_the_documented_aims(species: str, spacing_px: float, method: str) -> None:
    row = _rows(species, spacing_px)[method]
    assert row["status"] == "ok", row["status"]
    cell = f"{method} on {species}, {spacing_px:g} px tags, SNR 20"
    assert row["es_mean_px"] <= AIM_ES_MEAN_PX, f"{cell}: mean ES error {row['es_mean_px']:.3f} px"
    assert abs(row["ecc_global_error"]) <= AIM_ECC, f"{cell}: Ecc error {row['ecc_global_error']}"
    assert row["ecc_segment_mae"] <= AIM_ECC, f"{cell}: Ecc segment MAE {row['ecc_segment_mae']}"


@pytest.mark.parametrize(("species", "spacing_px"), CELLS)
def test_the_aims_would_catch_a_tracker_that_underestimates_the_motion(
    species: str, spacing_px: float
) -> None:
    """The cells move enough that the aims mean something: a tracker returning 0.6 x the truth
    errs by about 0.4 x the zero baseline, which must miss each aim at least twice over."""
    zero = _rows(species, spacing_px)[ZERO]
    assert 0.4 * zero["es_mean_px"] > 2 * AIM_ES_MEAN_PX
    assert 0.4 * abs(zero["ecc_global_error"]) > 2 * AIM_ECC
