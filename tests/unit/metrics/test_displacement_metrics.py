"""Displacement metrics: exact on constant errors, blind to frame 0 and to the background."""

from __future__ import annotations

import numpy as np
import pytest

from myoflow.metrics.displacement import displacement_metrics
from myoflow.tables import DISPLACEMENT_METRICS

SHAPE = (40, 40)
D_MM = 3.0
FRAMES = 5


def _ring() -> np.ndarray:
    """A myocardium-like ring at least 8 pixels from the image edge (beyond the SSIM window)."""
    rows, cols = np.indices(SHAPE)
    r = np.hypot(rows - 20, cols - 20)
    return (r >= 6) & (r <= 12)


def _field() -> np.ndarray:
    """A smooth contraction-like field ``[T, 2, H, W]`` in mm, zero at frame 0, inside ``±D``."""
    rows, cols = np.indices(SHAPE, dtype=float)
    s = np.sin(np.linspace(0.0, np.pi, FRAMES))[:, None, None]
    ux = -0.08 * (cols - 20) + 0.5 * np.sin(rows / 5.0)
    uy = -0.06 * (rows - 20) + 0.4 * np.cos(cols / 7.0)
    u = np.stack([s * ux, s * uy], axis=1)
    u[0] = 0.0
    assert np.abs(u).max() < D_MM
    return u


def test_keys_are_the_table_columns() -> None:
    out = displacement_metrics(_field(), _field(), _ring(), D_MM)
    assert list(out) == DISPLACEMENT_METRICS[DISPLACEMENT_METRICS.index("ssim_x") :]


def test_identical_fields_are_perfect() -> None:
    ref = _field()
    out = displacement_metrics(ref.copy(), ref, _ring(), D_MM)
    assert out["rmse_x_mm"] == 0.0 and out["rmse_y_mm"] == 0.0 and out["epe_mm"] == 0.0
    assert out["ssim_x"] == pytest.approx(1.0, abs=1e-12)
    assert out["ssim_y"] == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("a, b", [(0.3, -0.4), (-1.2, 0.0), (0.05, 0.7)])
def test_constant_error_gives_exact_rmse_and_epe(a: float, b: float) -> None:
    ref = _field()
    pred = ref.copy()
    pred[1:, 0] += a
    pred[1:, 1] += b
    out = displacement_metrics(pred, ref, _ring(), D_MM)
    assert out["rmse_x_mm"] == pytest.approx(abs(a), rel=1e-12)
    assert out["rmse_y_mm"] == pytest.approx(abs(b), rel=1e-12, abs=1e-15)
    assert out["epe_mm"] == pytest.approx(np.hypot(a, b), rel=1e-12)


@pytest.mark.parametrize("wrong, right", [("x", "y"), ("y", "x")])
def test_an_error_in_one_component_scores_only_that_component(wrong: str, right: str) -> None:
    """Channel 0 is x and 1 is y: an error in x alone lowers SSIM x and leaves SSIM y perfect (and
    the other way round), so neither score reports the other component."""
    ref, mask = _field(), _ring()
    pred = ref.copy()
    channel = {"x": 0, "y": 1}[wrong]
    pred[1:, channel] += 0.3 * np.random.default_rng(3).standard_normal(pred[1:, channel].shape)
    out = displacement_metrics(pred, ref, mask, D_MM)
    # Identical images give SSIM 1 to round-off (1e-12, as in test_identical_fields_are_perfect).
    assert out[f"ssim_{right}"] == pytest.approx(1.0, abs=1e-12)
    assert out[f"rmse_{right}_mm"] == 0.0
    # Noise of 0.3 mm on a 3 mm scale: a clear drop, far beyond round-off.
    assert out[f"ssim_{wrong}"] < 1.0 - 1e-2
    assert out[f"rmse_{wrong}_mm"] == pytest.approx(0.3, rel=0.1)  # RMS of 1328 draws: ~2 % spread


def test_frame_zero_is_excluded() -> None:
    ref = _field()
    pred = ref.copy()
    pred[0] += 2.0
    assert displacement_metrics(pred, ref, _ring(), D_MM) == displacement_metrics(
        ref.copy(), ref, _ring(), D_MM
    )


def test_zero_prediction_scores_mean_displacement_and_imperfect_ssim() -> None:
    ref, mask = _field(), _ring()
    out = displacement_metrics(np.zeros_like(ref), ref, mask, D_MM)
    magnitude = np.hypot(ref[1:, 0], ref[1:, 1])[:, mask]
    assert out["epe_mm"] == pytest.approx(magnitude.mean(), rel=1e-12)
    # Identical fields give 1 to round-off (1e-12); SSIM is forgiving of small displacement
    # amplitudes (its constants dominate small variances), so only a clear drop is asserted.
    assert out["ssim_x"] < 1.0 - 1e-3 and out["ssim_y"] < 1.0 - 1e-3


def test_values_outside_the_mask_do_not_matter() -> None:
    ref, mask = _field(), _ring()
    pred = ref + 0.2 * np.random.default_rng(0).standard_normal(ref.shape)
    garbage = pred.copy()
    garbage[:, 0, ~mask] = 1e6
    garbage[:, 1, ~mask] = np.nan
    other_ref = ref.copy()
    other_ref[:, :, ~mask] = -50.0
    clean = displacement_metrics(pred, ref, mask, D_MM)
    assert displacement_metrics(garbage, other_ref, mask, D_MM) == pytest.approx(clean, rel=1e-12)


def test_larger_errors_score_worse() -> None:
    ref, mask = _field(), _ring()
    noise = np.random.default_rng(1).standard_normal(ref.shape)
    small = displacement_metrics(ref + 0.05 * noise, ref, mask, D_MM)
    large = displacement_metrics(ref + 0.5 * noise, ref, mask, D_MM)
    for key in ("ssim_x", "ssim_y"):
        assert 1.0 > small[key] > large[key]
    for key in ("rmse_x_mm", "rmse_y_mm", "epe_mm"):
        assert 0.0 < small[key] < large[key]


def test_ssim_does_not_depend_on_the_field_of_view() -> None:
    """Averaged over the myocardium, SSIM is unchanged by extra background around the slice (an
    image-wide mean would rise toward 1 with the background's share)."""
    ref, mask = _field(), _ring()
    pred = ref + 0.3 * np.random.default_rng(2).standard_normal(ref.shape)
    pad = ((0, 0), (0, 0), (24, 24), (24, 24))
    wide = displacement_metrics(np.pad(pred, pad), np.pad(ref, pad), np.pad(mask, pad[2:]), D_MM)
    assert wide == pytest.approx(displacement_metrics(pred, ref, mask, D_MM), rel=1e-12)


@pytest.mark.parametrize(
    "pred_shape, ref_shape, mask_shape, match",
    [
        ((5, 2, 40, 40), (5, 2, 40, 41), (40, 41), r"\(5, 2, 40, 40\).*\(5, 2, 40, 41\)"),
        ((4, 2, 40, 40), (5, 2, 40, 40), (40, 40), r"\(4, 2, 40, 40\)"),
        ((5, 2, 40, 40), (5, 2, 40, 40), (40, 39), r"\(40, 39\)"),
        ((5, 3, 40, 40), (5, 3, 40, 40), (40, 40), r"\(5, 3, 40, 40\)"),
        ((1, 2, 40, 40), (1, 2, 40, 40), (40, 40), r"\(1, 2, 40, 40\)"),
        ((2, 40, 40), (2, 40, 40), (40, 40), r"\(2, 40, 40\)"),
    ],
)
def test_bad_shapes_raise_naming_them(
    pred_shape: tuple[int, ...], ref_shape: tuple[int, ...], mask_shape: tuple[int, ...], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        displacement_metrics(
            np.zeros(pred_shape), np.zeros(ref_shape), np.ones(mask_shape, bool), D_MM
        )


def test_empty_mask_raises() -> None:
    with pytest.raises(ValueError, match="empty"):
        displacement_metrics(_field(), _field(), np.zeros(SHAPE, bool), D_MM)
