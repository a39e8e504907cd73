"""Displacement metrics: what mutation testing (``make mutants``) found untested.

The SSIM of ``myoflow.metrics.displacement`` is documented as the usual one (Wang et al. 2004,
IEEE TIP 13:600: an 11 x 11 Gaussian window of sigma 1.5, population statistics, constants
``(0.01 L)^2`` and ``(0.03 L)^2`` for data range L = 1) computed on the network-scaled fields and
averaged over the ED myocardium. Nothing pinned that definition: a uniform window, sample
covariance or another data range all passed the other tests. Here the definition is written out
independently and compared. Also: two frames (ED and one more) are the fewest a field may have.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from myoflow.metrics.displacement import displacement_metrics
from myoflow.preprocess.scaling import to_network

SHAPE = (48, 48)
D_MM = 3.0
SIGMA = 1.5
RADIUS = 5  # 11 x 11 window


def _ring() -> np.ndarray:
    """Myocardium 12+ pixels from every edge, so the window never reaches the image border and
    the border handling of either implementation cannot matter."""
    rows, cols = np.indices(SHAPE)
    r = np.hypot(rows - 24, cols - 24)
    return (r >= 5) & (r <= 11)


def _fields(frames: int) -> tuple[np.ndarray, np.ndarray]:
    """A smooth reference and a prediction with a smooth, position-dependent error (mm)."""
    rows, cols = np.indices(SHAPE, dtype=float)
    s = np.linspace(0.0, 1.0, frames)[:, None, None]
    ref = np.stack(
        [s * (-0.05 * (cols - 24) + 0.3 * np.sin(rows / 4.0)), s * (-0.04 * (rows - 24))], axis=1
    )
    pred = ref + np.stack([s * 0.8 * np.cos(cols / 2.0), s * 0.6 * np.sin(rows / 2.5)], axis=1)
    return pred, ref


def _window() -> np.ndarray:
    offsets = np.arange(-RADIUS, RADIUS + 1)
    g = np.exp(-(offsets**2) / (2 * SIGMA**2))
    w = np.outer(g, g)
    return w / w.sum()


def _ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Wang et al.'s SSIM map with the window above, population statistics, data range 1."""
    w = _window()

    def mean(img: np.ndarray) -> np.ndarray:
        return ndimage.correlate(img, w, mode="constant")

    mu_a, mu_b = mean(a), mean(b)
    var_a = mean(a * a) - mu_a**2
    var_b = mean(b * b) - mu_b**2
    cov = mean(a * b) - mu_a * mu_b
    c1, c2 = 0.01**2, 0.03**2
    return ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    )


def test_ssim_is_the_gaussian_window_ssim_averaged_over_the_myocardium() -> None:
    pred, ref = _fields(frames=4)
    inside = _ring()
    out = displacement_metrics(pred, ref, inside, D_MM)
    net_pred, net_ref = to_network(pred[1:], D_MM, inside), to_network(ref[1:], D_MM, inside)
    for c, key in enumerate(("ssim_x", "ssim_y")):
        expected = np.mean(
            [_ssim_map(p[c], r[c])[inside].mean() for p, r in zip(net_pred, net_ref)]
        )
        assert expected < 0.999, "the error must be large enough for SSIM to see it"
        # two float64 evaluations of the same sums in different orders: agree to ~1e-15
        assert out[key] == pytest.approx(expected, abs=1e-10), key


def test_two_frames_are_enough_and_one_is_refused() -> None:
    pred, ref = _fields(frames=2)
    out = displacement_metrics(pred, ref, _ring(), D_MM)
    err = (pred[1] - ref[1])[:, _ring()]
    # frame 1 alone is scored; the same float64 sums, so equal to rounding
    assert out["rmse_x_mm"] == pytest.approx(np.sqrt(np.mean(err[0] ** 2)), rel=1e-12)
    with pytest.raises(ValueError, match="T >= 2"):
        displacement_metrics(pred[:1], ref[:1], _ring(), D_MM)
