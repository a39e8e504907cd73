"""Tagged series with exactly known motion, for tracker tests: affine maps of a SPAMM grid.

The image at frame t shows, at pixel x, the tag magnetisation of the material point X with
``x = A_t X + b_t`` (pixels), so the Lagrangian displacement of the ED pixel X is
``(A_t - I) X + b_t``, known exactly. The tissue is uniform (intensity 1) inside an annulus or
over the whole image; tags fade with T1 like the phantom's (``myoflow.phantom.tagging``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from myoflow.phantom.tagging import TagGrid, apply_tagging


@dataclass
class AffineSeries:
    images: np.ndarray  # [T, H, W] float32
    displacement: np.ndarray  # [T, 2, H, W] pixels, (x, y), Lagrangian on the ED grid
    region: np.ndarray  # [H, W] bool, where the tissue is at ED


def affine_series(
    maps: list[tuple[np.ndarray, np.ndarray]],
    size: int = 96,
    period_px: float = 5.0,
    pattern: str = "1-3-3-1",
    angle_deg: float = 0.0,
    t1_ms: float = 1e9,
    frame_ms: float = 20.0,
    snr: float | None = None,
    annulus: tuple[float, float] | None = None,
    seed: int = 0,
) -> AffineSeries:
    """Frames ``x = A X + b`` for each ``(A [2, 2], b [2])`` of ``maps`` (the first must be the
    identity), tags of ``period_px`` pixels, optional Rician noise at ``snr`` (tissue / sigma)
    and an annulus ``(r_in, r_out)`` (pixels, centred) outside which the image is dark."""
    rows, cols = np.indices((size, size), dtype=float)
    pix = np.stack([cols, rows])  # (x, y)
    centre = (size - 1) / 2.0
    refs, disp = [], []
    for a, b in maps:
        inv = np.linalg.inv(a)
        ref = np.einsum("ij,jhw->ihw", inv, pix - np.asarray(b, float)[:, None, None])
        refs.append(ref)
        disp.append(np.einsum("ij,jhw->ihw", a - np.eye(2), pix) + np.asarray(b)[:, None, None])
    refs_arr = np.stack(refs)
    if annulus is None:
        tissue = np.ones((len(maps), size, size))
    else:
        r = np.hypot(refs_arr[:, 0] - centre, refs_arr[:, 1] - centre)
        tissue = ((r >= annulus[0]) & (r <= annulus[1])).astype(float)
    tags = TagGrid(
        pattern=pattern, spacing_mm=period_px, angle_deg=angle_deg, offset_rad=(0.3, 1.1)
    )
    times = np.arange(len(maps)) * frame_ms
    images = apply_tagging(tissue, refs_arr, times, tags, t1_ms)
    if snr is not None:
        rng = np.random.default_rng(seed)
        sigma = 1.0 / snr
        images = np.hypot(
            images + sigma * rng.standard_normal(images.shape),
            sigma * rng.standard_normal(images.shape),
        ).astype(np.float32)
    region = np.ones((size, size), bool)
    if annulus is not None:
        r0 = np.hypot(cols - centre, rows - centre)
        region = (r0 >= annulus[0] + 1) & (r0 <= annulus[1] - 1)
    return AffineSeries(images.astype(np.float32), np.stack(disp), region)


def translation(shift_px: tuple[float, float], frames: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """A rigid translation growing linearly from zero to ``shift_px`` over ``frames`` frames."""
    steps = np.linspace(0.0, 1.0, frames)
    return [(np.eye(2), s * np.asarray(shift_px, float)) for s in steps]


def homogeneous(
    strain_xx: float, strain_yy: float, shear: float, frames: int, centre: float
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Homogeneous deformation about ``(centre, centre)`` growing linearly to
    ``F = [[1 + strain_xx, shear], [0, 1 + strain_yy]]``."""
    out = []
    c = np.array([centre, centre])
    for s in np.linspace(0.0, 1.0, frames):
        f = np.array([[1.0 + s * strain_xx, s * shear], [0.0, 1.0 + s * strain_yy]])
        out.append((f, c - f @ c))
    return out


def interior(series: AffineSeries, border: int = 12) -> np.ndarray:
    """Region pixels whose material stays well inside the image for the whole series."""
    inside = series.region.copy()
    inside[:border] = inside[-border:] = False
    inside[:, :border] = inside[:, -border:] = False
    return inside
