"""Displacement scaling (paper 000, section 2.1): what mutation testing found untested.

``make mutants`` changed ``myoflow.preprocess.scaling`` in ways no test noticed: refusing a
sub-millimetre D, counting values exactly at ±D as clipped, returning float64 for float32 input
or integers for integer input, giving up on a cohort at the first record without displacement,
and the edges of the accepted arguments. Each test states the documented behaviour.
"""

from __future__ import annotations

import numpy as np
import pytest

from myoflow.preprocess.scaling import (
    GREY_FULL,
    GREY_HIGH,
    GREY_LOW,
    clipped_fraction,
    suggest_max_displacement,
    to_mm,
    to_network,
)
from myoflow.record import SliceRecord


def _record(displacement: np.ndarray | None, subject: str = "s01") -> SliceRecord:
    """A bare record: 3 frames of 4 x 4 pixels, the displacement given (mm), no mask."""
    return SliceRecord(
        cohort="c",
        subject=subject,
        slice_id="mid",
        position="mid",
        group="all",
        pixel_spacing_mm=(1.0, 1.0),
        frame_times_ms=np.arange(3) * 40.0,
        original_frames=3,
        displacement=displacement,
    )


def test_a_sub_millimetre_d_round_trips() -> None:
    """Mouse displacements can stay under 1 mm: any positive D is a valid scale."""
    d = 0.4
    u = np.linspace(-d, d, 2 * 2 * 5 * 5).reshape(2, 2, 5, 5)
    # float64 round trip: exact to ~1e-15 * D (module docstring)
    np.testing.assert_allclose(to_mm(to_network(u, d), d), u, atol=1e-12)


def test_float32_stays_float32_and_integers_become_floats() -> None:
    u32 = np.array([[-1.0, 0.5]], dtype=np.float32)
    assert to_network(u32, 2.0).dtype == np.float32
    assert to_mm(to_network(u32, 2.0), 2.0).dtype == np.float32
    # integer millimetres are values like any other, not truncated to the grey levels 0 and 1
    v = to_network(np.array([-2, 0, 2]), 2.0)
    expected = np.array([GREY_LOW, (GREY_LOW + GREY_HIGH) / 2, GREY_HIGH]) / GREY_FULL
    np.testing.assert_allclose(v, expected, rtol=1e-15)


def test_values_exactly_at_d_are_kept_not_clipped() -> None:
    """±D map onto 32/255 and 1 exactly: nothing is lost there, so nothing counts as clipped."""
    d = 1.5
    u = np.full((1, 2, 2, 2), d)
    u[0, 1] = -d
    assert clipped_fraction(u, d) == 0.0
    np.testing.assert_allclose(to_mm(to_network(u, d), d), u, atol=1e-12)


def test_nothing_to_count_is_nothing_clipped() -> None:
    u = np.full((1, 2, 3, 3), 10.0)  # every value beyond D
    assert clipped_fraction(u, 1.0, np.zeros((1, 3, 3), bool)) == 0.0
    assert clipped_fraction(np.zeros((0, 2, 3, 3)), 1.0) == 0.0


def test_records_without_displacement_are_skipped_not_the_end() -> None:
    u = np.full((3, 2, 4, 4), 1.2)
    alone = suggest_max_displacement([_record(u)], 100.0, 0.5)
    assert alone == 1.5  # 1.2 rounded up to the 0.5 mm step
    with_gap = suggest_max_displacement([_record(None, "s00"), _record(u)], 100.0, 0.5)
    assert with_gap == alone


def test_the_smallest_suggestion_is_one_step() -> None:
    """A cohort that barely moves still gets a usable, positive D: one step."""
    tiny = _record(np.full((3, 2, 4, 4), 0.01))
    assert suggest_max_displacement([tiny], 99.9, 0.5) == 0.5
    still = _record(np.zeros((3, 2, 4, 4)))
    assert suggest_max_displacement([still], 99.9, 0.25) == 0.25


@pytest.mark.parametrize("percentile", [0.5, 100.0])
def test_percentile_range_is_open_at_0_and_closed_at_100(percentile: float) -> None:
    u = np.linspace(0.0, 3.0, 3 * 2 * 4 * 4).reshape(3, 2, 4, 4)
    got = suggest_max_displacement([_record(u)], percentile, 0.5)
    # the inverted-CDF percentile of the values, rounded up to the step
    exact = np.percentile(u, percentile, method="inverted_cdf")
    assert got == max(np.ceil(exact / 0.5), 1) * 0.5


@pytest.mark.parametrize(
    "percentile, step, name",
    [(0.0, 0.5, "percentile"), (100.5, 0.5, "percentile"), (99.0, 0.0, "step_mm")],
)
def test_bad_percentile_or_step_is_refused_by_name(
    percentile: float, step: float, name: str
) -> None:
    with pytest.raises(ValueError, match=name):
        suggest_max_displacement([_record(np.ones((3, 2, 4, 4)))], percentile, step)


def test_the_default_suggestion_is_the_999th_percentile_in_half_millimetres() -> None:
    """The documented defaults (what `preprocess` suggests when a user sets no D): the 99.9th
    percentile of |u|, rounded up to 0.5 mm."""
    u = np.full((10, 2, 10, 10), 1.2)
    u[0, 0, 0, :3] = 9.0  # 3 values in 2000: inside the top 0.1 %, beyond the top 1 %
    assert suggest_max_displacement([_record(u)]) == 9.0  # the 99th percentile would be 1.5
    assert suggest_max_displacement([_record(np.full((3, 2, 4, 4), 1.7))]) == 2.0
