"""Image synthesis: cine and SPAMM-tagged series of one slice, with partial volume, blur and noise.

Why render by inverse mapping: each output sample asks the motion model which material point it
shows (``LVMotion.inverse_circular``, closed form), then takes that point's tissue, texture and tag
magnetisation from its reference position. Nothing is warped or interpolated, so tags and edges
move exactly with the truth displacement.

Anti-aliasing: every pixel is the mean of ``supersample^2`` samples on a regular sub-grid (the
partial-volume signal of a pixel with a box response); the myocardium mask is the majority vote
of the same samples. Points beyond the motion's static radius never move: their values are
computed once and only their tag relaxation changes per frame.

Realism (``myoflow.phantom.realism``): the motion is a ``SliceMotion`` (through-plane levels and
a heart translation; each frame labels its material with the radii of the level it came from),
papillary muscles and trabeculae image like myocardium and keep their tags (tissue T1), blood may
be brighter by inflow in the tagged series, textures may be stronger, and a coil-sensitivity
field multiplies both series before the noise.

Degradation, in acquisition order: an optional Gaussian k-space filter, then Rician noise (the
magnitude of the image plus complex white Gaussian noise). ``kspace_blur = b`` keeps k-space
weighted by ``exp(-|k|^2 / (2 sigma_k^2))`` with ``sigma_k = (1 - b) k_max`` (k_max the Nyquist
radius, 0.5 cycles/pixel): b = 0 means no filter at all, b = 0.5 a PSF of standard deviation
about 0.64 pixel, b = 0.8 about 1.6 pixels. The noise standard deviation is the mean myocardial
signal at ED over the configured SNR, per series.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from myoflow.phantom import anatomy as an
from myoflow.phantom.anatomy import Anatomy
from myoflow.phantom.heart import SliceMotion
from myoflow.phantom.tagging import TagGrid, relaxation

# Intensity (base, relative texture amplitude) per anatomy label, in label order:
# AIR, TISSUE, FAT, LUNG, LIVER, LV_BLOOD, MYOCARDIUM, RV_BLOOD, RV_WALL, PAPILLARY (papillary
# muscles and trabeculae image like myocardium).
# bSSFP: bright blood, dark myocardium (T2/T1 contrast); FLASH (spoiled GRE): blood bright only by
# inflow, less contrast; the tagged series (spoiled GRE, proton-density-like) keeps myocardium
# bright enough to carry visible tags.
CONTRASTS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "bssfp": (
        (0.0, 0.40, 0.85, 0.06, 0.35, 1.00, 0.30, 0.95, 0.30, 0.30),
        (0.0, 0.25, 0.05, 0.30, 0.10, 0.02, 0.05, 0.02, 0.05, 0.05),
    ),
    "flash": (
        (0.0, 0.35, 0.90, 0.05, 0.30, 0.75, 0.35, 0.70, 0.35, 0.35),
        (0.0, 0.25, 0.05, 0.30, 0.10, 0.03, 0.05, 0.03, 0.05, 0.05),
    ),
    "tagged": (
        (0.0, 0.35, 0.80, 0.05, 0.30, 0.55, 0.50, 0.50, 0.45, 0.50),
        (0.0, 0.25, 0.05, 0.30, 0.10, 0.03, 0.05, 0.03, 0.05, 0.05),
    ),
}


@dataclass(frozen=True)
class Imaging:
    """Acquisition of one slice: matrix, pixel size, contrast, degradation, tags and T1s."""

    matrix: int
    pixel_mm: float
    contrast: str = "bssfp"
    snr: float | None = 20.0
    kspace_blur: float = 0.0
    tags: TagGrid = field(default_factory=TagGrid)
    t1_tissue_ms: float = 1400.0
    t1_fat_ms: float = 450.0
    t1_blood_ms: float = 20.0
    readout_flip_deg: float = 0.0
    readouts_per_frame: int = 1
    #: Brightness of (untagged, inflowing) blood in the tagged series over the table's.
    inflow_gain: float = 1.0
    #: Peak-to-peak amplitude of the coil-sensitivity field (``realism.bias_field``).
    bias_field: float = 0.0
    #: Texture amplitudes of myocardium (and pool tissue) and of blood; None = the table's.
    myocardium_texture: float | None = None
    blood_texture: float | None = None
    supersample: int = 3

    def __post_init__(self) -> None:
        if self.contrast not in ("bssfp", "flash"):
            raise ValueError(f"unknown contrast {self.contrast!r}; choose bssfp or flash")
        if not 0.0 <= self.kspace_blur < 1.0:
            raise ValueError(f"kspace_blur must be in [0, 1), got {self.kspace_blur}")

    @property
    def t1_by_label(self) -> np.ndarray:
        """T1 (ms) per anatomy label; blood uses the short effective T1 of tag wash-out."""
        t1 = np.full(an.N_LABELS, self.t1_tissue_ms)
        t1[an.FAT] = self.t1_fat_ms
        t1[[an.LV_BLOOD, an.RV_BLOOD]] = self.t1_blood_ms
        return t1


def _tables(imaging: Imaging, table: str) -> tuple[np.ndarray, np.ndarray]:
    """``(base, texture amplitude)`` per label of one contrast, with the imaging's overrides."""
    base, amp = (np.array(v, dtype=np.float32) for v in CONTRASTS[table])
    if table == "tagged":
        base[[an.LV_BLOOD, an.RV_BLOOD]] *= imaging.inflow_gain
    if imaging.myocardium_texture is not None:
        amp[[an.MYOCARDIUM, an.PAPILLARY]] = imaging.myocardium_texture
    if imaging.blood_texture is not None:
        amp[[an.LV_BLOOD, an.RV_BLOOD]] = imaging.blood_texture
    return base, amp


def _intensity(tables: tuple[np.ndarray, np.ndarray], labels: np.ndarray, texture: np.ndarray):
    base, amp = tables
    return np.maximum(base[labels] * (1.0 + amp[labels] * texture), 0.0)


def _block_mean(values: np.ndarray, n: int, ss: int) -> np.ndarray:
    """Mean of each ss x ss block of the flattened fine grid (explicit strided sums: an order of
    magnitude faster than ``reshape(...).mean(axis=(1, 3))``)."""
    cols = values.reshape(n * ss * n, ss)
    rows = sum(cols[:, i] for i in range(1, ss)) + cols[:, 0]
    rows = rows.reshape(n, ss, n)
    return (sum(rows[:, j] for j in range(1, ss)) + rows[:, 0]) / np.float32(ss * ss)


def render(
    motion: SliceMotion,
    anatomy: Anatomy,
    imaging: Imaging,
    s_frames: np.ndarray,
    times_ms: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Noise-free ``(cine, tagged, mask)``: ``[T, H, W]`` float32, float32 and uint8."""
    n, ss, px = imaging.matrix, imaging.supersample, imaging.pixel_mm
    axis = ((np.arange(n * ss, dtype=np.float32) + 0.5) / ss - 0.5) * np.float32(px)
    yy, xx = (a.ravel() for a in np.meshgrid(axis, axis, indexing="ij"))
    xc, yc = motion.to_circular(xx, yy)
    psi = xc * xc + yc * yc
    moving = np.flatnonzero(psi < np.float32(motion.static_radius_mm**2))
    xm, ym = xx[moving], yy[moving]

    labels = anatomy.labels(xc, yc, psi, xx, yy)
    texture = anatomy.texture(xx, yy)
    cine_tables, tag_tables = _tables(imaging, imaging.contrast), _tables(imaging, "tagged")
    cine_fine = _intensity(cine_tables, labels, texture)
    tag_base = _intensity(tag_tables, labels, texture)
    mz0 = imaging.tags.mz0(xx, yy)
    offset, gain = (
        v.astype(np.float32)
        for v in relaxation(
            times_ms, imaging.t1_by_label, imaging.readout_flip_deg, imaging.readouts_per_frame
        )
    )

    n_t = len(s_frames)
    cine = np.empty((n_t, n, n), np.float32)
    tagged = np.empty((n_t, n, n), np.float32)
    mask = np.empty((n_t, n, n), np.uint8)
    for k, s in enumerate(s_frames):
        mxc, myc, mpsi = motion.inverse_circular(xm, ym, float(s))
        mx, my = motion.from_circular(mxc, myc)
        lab = anatomy.labels(mxc, myc, mpsi, mx, my, radii=motion.radii(float(s)))
        tex = anatomy.texture(mx, my)
        labels[moving] = lab
        cine_fine[moving] = _intensity(cine_tables, lab, tex)
        tag_base[moving] = _intensity(tag_tables, lab, tex)
        mz0[moving] = imaging.tags.mz0(mx, my)
        mz = offset[k][labels] + gain[k][labels] * mz0
        cine[k] = _block_mean(cine_fine, n, ss)
        tagged[k] = _block_mean(tag_base * np.abs(mz), n, ss)
        votes = _block_mean((labels == an.MYOCARDIUM).astype(np.float32), n, ss)
        mask[k] = votes > 0.5
    return cine, tagged, mask


def kspace_filter(images: np.ndarray, blur: float) -> np.ndarray:
    """Gaussian k-space weighting with sigma_k = (1 - blur) * Nyquist; ``blur = 0`` is a no-op."""
    if blur == 0.0:
        return images
    h, w = images.shape[-2:]
    ky, kx = np.meshgrid(np.fft.fftfreq(h), np.fft.fftfreq(w), indexing="ij")
    sigma = (1.0 - blur) * 0.5
    weight = np.exp(-(kx * kx + ky * ky) / (2.0 * sigma * sigma))
    out = np.fft.ifft2(np.fft.fft2(images, axes=(-2, -1)) * weight, axes=(-2, -1)).real
    return out.astype(np.float32)


def rician(images: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Magnitude of ``images + sigma (n1 + i n2)`` with independent standard normal n1, n2."""
    real = images + sigma * rng.standard_normal(images.shape, dtype=np.float32)
    imag = sigma * rng.standard_normal(images.shape, dtype=np.float32)
    return np.hypot(real, imag).astype(np.float32)


def degrade(
    images: np.ndarray,
    mask_ed: np.ndarray,
    imaging: Imaging,
    rng: np.random.Generator,
    coil: np.ndarray | None = None,
) -> np.ndarray:
    """Coil sensitivity ``coil`` (``[H, W]``), k-space blur, then Rician noise at ``imaging.snr``
    (mean ED myocardium signal / sigma, after the coil's weighting)."""
    out = kspace_filter(images if coil is None else images * coil, imaging.kspace_blur)
    if imaging.snr is None:
        return out
    sigma = float(out[0][mask_ed.astype(bool)].mean()) / imaging.snr
    return rician(out, sigma, rng)
