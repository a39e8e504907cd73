"""Rendered images: tags move with the tissue, fade by T1, noise has the configured SNR."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from myoflow.phantom.cohort import generate, plan
from myoflow.phantom.images import kspace_filter, rician
from myoflow.phantom.tagging import relaxation

HARP_WIDTH = 1.0 / 3.0  # band-pass sigma as a fraction of the tag frequency


def _harp(image: np.ndarray, k: tuple[float, float]) -> np.ndarray:
    """Complex harmonic image: a Gaussian band-pass around the tag peak at k (cycles/pixel)."""
    h, w = image.shape
    ky, kx = np.meshgrid(np.fft.fftfreq(h), np.fft.fftfreq(w), indexing="ij")
    sigma = HARP_WIDTH * np.hypot(*k)
    window = np.exp(-((kx - k[0]) ** 2 + (ky - k[1]) ** 2) / (2 * sigma**2))
    return np.fft.ifft2(np.fft.fft2(image) * window)


def _sample(c: np.ndarray, pts_mm: np.ndarray, px: float) -> np.ndarray:
    coords = [pts_mm[:, 1] / px, pts_mm[:, 0] / px]
    return ndimage.map_coordinates(c.real, coords, order=1) + 1j * ndimage.map_coordinates(
        c.imag, coords, order=1
    )


def _grid_mm(shape: tuple[int, int], px: float) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.indices(shape, dtype=float)
    return cols * px, rows * px


# Harmonic phase error budget at mid-wall (radians; 2 pi = one tag period):
# * the band-pass (sigma = k0 / 3) averages the complex image over ~half a tag period around the
#   point, so strain gradients and the neighbouring blood (tags washed out, different signal)
#   bias the phase by a small fraction of the local phase change over that distance;
# * tags compressed/stretched by up to ~30 % shift their spectral peak by up to ~0.3 k0, i.e.
#   about one band-pass sigma: amplitude is lost, the phase of a locally linear pattern is kept;
# * partial volume (pixel box average) and leakage of the DC anatomy edges add small errors.
# Measured on these phantoms the median is 0.06-0.13 rad; we allow 0.2 rad (3 % of a period:
# 0.03 mm in a rat, 0.2 mm in a human) and 0.6 rad at the 95th percentile. Tags fixed in space
# instead (the control below) give median errors over 1 rad, so the test discriminates.
PHASE_MEDIAN_TOL = 0.2
PHASE_P95_TOL = 0.6


@pytest.mark.parametrize("species", ["rat", "human"])
def test_tag_phase_is_constant_at_material_points(species: str) -> None:
    cfg = {
        "species": species,
        "seed": 3,
        "subjects": 1,
        "slices": ["mid"],
        "snr": None,
        "twist_deg": [4, 6],
        "groups": {
            "x": {
                "fraction": 1.0,
                "global_scale": 0.9,
                "sectors": [{"center_deg": 0, "width_deg": 90, "severity": 0.5}],
            }
        },
    }
    spec = plan("harp", cfg)[0]
    rec = generate(spec)
    motion, px = spec.motion, rec.pixel_spacing_mm[0]
    x, y = _grid_mm(rec.mask.shape[1:], px)
    xc, yc = motion.to_circular(x, y)
    mid = np.abs(np.hypot(xc, yc) - motion.r_mid_mm) < 0.2 * (motion.r_epi_mm - motion.r_endo_mm)
    p0 = np.stack([x[mid], y[mid]], axis=-1)
    k0 = px / spec.imaging.tags.spacing_mm
    s = spec.timing.frames(rec.n_frames)
    for k in ((k0, 0.0), (0.0, k0)):
        phase0 = np.angle(_sample(_harp(rec.tagged[0], k), p0, px))
        moving_err, fixed_err = [], []
        for t in range(1, rec.n_frames):
            harp_t = _harp(rec.tagged[t], k)
            phase_t = np.angle(_sample(harp_t, motion.forward(p0, float(s[t])), px))
            phase_fixed = np.angle(_sample(harp_t, p0, px))
            moving_err.append(np.abs(np.angle(np.exp(1j * (phase_t - phase0)))))
            fixed_err.append(np.abs(np.angle(np.exp(1j * (phase_fixed - phase0)))))
        errs = np.array(moving_err)
        assert np.max(np.median(errs, axis=1)) < PHASE_MEDIAN_TOL
        assert np.max(np.percentile(errs, 95, axis=1)) < PHASE_P95_TOL
        assert np.median(np.array(fixed_err)[int(np.argmax(s)) - 1]) > 1.0


def test_tags_fade_monotonically_by_t1() -> None:
    """Where tissue is at rest, tag contrast falls every frame, and every pixel of tissue (T1 of
    tissue, not fat or blood) follows Mz(t) = offset(t) + gain(t) Mz0 exactly."""
    spec = plan(
        "fade", {"species": "human", "seed": 4, "subjects": 1, "slices": ["mid"], "snr": None}
    )[0]
    rec = generate(spec)
    px = rec.pixel_spacing_mm[0]
    x, y = _grid_mm(rec.mask.shape[1:], px)
    xc, yc = spec.motion.to_circular(x, y)
    static = (np.hypot(xc, yc) > spec.motion.static_radius_mm + 2 * px) & (rec.tagged[0] > 0.05)
    k0 = px / spec.imaging.tags.spacing_mm
    contrast = []
    for t in range(rec.n_frames):
        amplitude = np.abs(_harp(rec.tagged[t], (k0, 0.0)))[static].mean()
        contrast.append(amplitude / rec.tagged[t][static].mean())
    assert np.all(np.diff(contrast) < 0)

    offset, gain = relaxation(rec.frame_times_ms, spec.imaging.t1_tissue_ms)
    design = np.stack([offset, gain], axis=1)  # [T, 2]; per pixel I_t = B offset_t + B P gain_t
    values = rec.tagged[:, static].astype(float)
    coef, *_ = np.linalg.lstsq(design, values, rcond=None)
    residual = np.abs(design @ coef - values).max(axis=0) / values.max(axis=0)
    assert np.median(residual) < 1e-4


def test_rician_noise_has_the_configured_snr(default_rat) -> None:
    spec, rec = default_rat
    n = rec.cine.shape[-1]
    corners = np.zeros(rec.cine.shape[1:], bool)
    c = n // 12
    for rs in (slice(0, c), slice(n - c, n)):
        for cs in (slice(0, c), slice(n - c, n)):
            corners[rs, cs] = True
    for series in (rec.cine, rec.tagged):
        air = series[:, corners].astype(float)
        sigma = np.sqrt(np.mean(air**2) / 2.0)  # Rayleigh in air: E[M^2] = 2 sigma^2
        signal = series[0][rec.mask[0].astype(bool)].mean()
        assert signal / sigma == pytest.approx(spec.imaging.snr, rel=0.05)


def test_rician_on_a_flat_image() -> None:
    rng = np.random.default_rng(0)
    flat = np.full((200, 200), 2.0, np.float32)
    noisy = rician(flat, 0.1, rng)
    assert noisy.dtype == np.float32 and np.all(noisy >= 0)
    assert noisy.mean() == pytest.approx(np.sqrt(4.0 + 0.01), rel=2e-3)  # high-SNR Rician mean
    assert noisy.std() == pytest.approx(0.1, rel=0.03)


def test_kspace_blur_keeps_the_mean_and_removes_detail() -> None:
    img = np.random.default_rng(1).random((2, 64, 64)).astype(np.float32)
    assert kspace_filter(img, 0.0) is img
    detail = []
    for blur in (0.2, 0.5, 0.8):
        out = kspace_filter(img, blur)
        assert out.mean() == pytest.approx(img.mean(), rel=1e-5)
        detail.append(np.abs(np.diff(out, axis=-1)).mean())
    assert detail[0] > detail[1] > detail[2]


def test_generation_is_deterministic_and_seeded(default_rat) -> None:
    spec, rec = default_rat
    again = generate(spec)
    for name in ("cine", "tagged", "mask", "displacement", "landmarks"):
        assert np.array_equal(getattr(rec, name), getattr(again, name)), name
    other = generate(
        plan("rat_default", {"species": "rat", "seed": 6, "subjects": 1, "slices": ["mid"]})[0]
    )
    assert not np.allclose(rec.cine, other.cine)


def test_images_look_like_cmr(default_rat) -> None:
    """bSSFP contrast: bright LV blood, dark myocardium, air at zero (up to noise)."""
    spec, rec = default_rat
    x, y = _grid_mm(rec.mask.shape[1:], rec.pixel_spacing_mm[0])
    xc, yc = spec.motion.to_circular(x, y)
    pool = np.hypot(xc, yc) < 0.7 * spec.motion.r_endo_mm
    myo = rec.cine[0][rec.mask[0].astype(bool)].mean()
    assert rec.cine[0][pool].mean() > 2.5 * myo
    assert 0.2 < myo < 0.4
