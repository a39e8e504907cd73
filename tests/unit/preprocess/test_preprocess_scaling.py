"""Displacement scaling of paper 000: exact inverse, background 0, range [32/255, 1], clipping."""

from __future__ import annotations

import numpy as np
import pytest
from preprocess_records import RecordFactory

from myoflow.preprocess.scaling import (
    NETWORK_MIN,
    clipped_fraction,
    suggest_max_displacement,
    to_mm,
    to_network,
)


@pytest.mark.parametrize("d", [1.5, 3.0, 15.0, 7.3])
def test_round_trip_float64_to_1e_6_mm(d: float) -> None:
    rng = np.random.default_rng(int(d * 10))
    u = rng.uniform(-d, d, size=(20, 2, 32, 32))
    u[0] = 0.0
    u[1, 0, 0, :2] = [-d, d]  # the ends of the range
    v = to_network(u, d)
    assert v.dtype == np.float64
    assert v.min() >= NETWORK_MIN and v.max() <= 1.0
    np.testing.assert_allclose(to_mm(v, d), u, rtol=0, atol=1e-6)
    assert np.abs(to_mm(v, d) - u).max() < 1e-12 * d * 100


@pytest.mark.parametrize("d", [1.5, 15.0])
def test_round_trip_float32_within_the_documented_bound(d: float) -> None:
    rng = np.random.default_rng(1)
    u = rng.uniform(-d, d, size=(20, 2, 64, 64)).astype(np.float32)
    v = to_network(u, d)
    back = to_mm(v, d)
    assert v.dtype == np.float32 and back.dtype == np.float32
    assert np.abs(back.astype(float) - u).max() <= 2.2 * 2.0**-24 * d


def test_end_points_centre_and_background() -> None:
    d = 3.0
    u = np.zeros((2, 2, 3, 3))
    u[1, :, 1, 1] = [-d, d]
    mask = np.zeros((2, 3, 3), bool)
    mask[:, 1, 1] = True
    mask[:, 0, 0] = True
    v = to_network(u, d, mask)
    assert v[1, 0, 1, 1] == pytest.approx(32 / 255) and v[1, 1, 1, 1] == pytest.approx(1.0)
    assert v[0, 0, 0, 0] == pytest.approx((32 + 223 / 2) / 255), "zero displacement mid-range"
    assert np.all(v[:, :, ~mask[0]] == 0.0), "background"
    assert np.all(v[:, :, mask[0]] >= NETWORK_MIN), "myocardium clearly apart from background"
    np.testing.assert_allclose(to_network(u, d, mask[:1]), v)  # an ED-only mask broadcasts


def test_values_beyond_d_are_clipped_and_counted() -> None:
    d = 2.0
    u = np.linspace(-4.0, 4.0, 2 * 2 * 10 * 10).reshape(2, 2, 10, 10)
    v = to_network(u, d)
    assert v.min() == pytest.approx(NETWORK_MIN) and v.max() == pytest.approx(1.0)
    np.testing.assert_allclose(to_mm(v, d), np.clip(u, -d, d), atol=1e-12)
    assert clipped_fraction(u, d) == pytest.approx(np.mean(np.abs(u) > d))
    mask = np.zeros((2, 10, 10), bool)
    mask[:, 5:, :] = True
    inside = np.broadcast_to(mask[:, None], u.shape)
    assert clipped_fraction(u, d, mask) == pytest.approx(np.mean(np.abs(u[inside]) > d))
    assert clipped_fraction(u, 10.0) == 0.0


def test_invalid_d_is_refused() -> None:
    for d in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="max_displacement_mm"):
            to_network(np.zeros((1, 2, 2, 2)), d)


def test_suggested_d_is_the_rounded_up_percentile(make_record: RecordFactory) -> None:
    records = [make_record(subject=f"s{i}", radii_mm=(10.0 + i, 20.0 + 2 * i)) for i in range(3)]
    values = np.concatenate(
        [
            np.abs(r.displacement)[
                np.broadcast_to(r.mask[:, None].astype(bool), r.displacement.shape)
            ]
            for r in records
        ]
    )
    for q, step in ((99.9, 0.5), (95.0, 0.25), (50.0, 0.1)):
        exact = np.percentile(values.astype(float), q, method="inverted_cdf")
        expected = np.ceil(exact / step - 1e-9) * step
        assert suggest_max_displacement(iter(records), q, step) == pytest.approx(expected)
    with pytest.raises(
        ValueError, match="^no displacement values: cannot suggest max_displacement_mm$"
    ):
        suggest_max_displacement([records[0].replace(displacement=None)])
