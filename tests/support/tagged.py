"""Tagged series with exactly known motion, for tracker tests: affine maps of a SPAMM grid.

The image at frame t shows, at pixel x, the tag magnetisation of the material point X with
``x = A_t X + b_t`` (pixels), so the Lagrangian displacement of the ED pixel X is
``(A_t - I) X + b_t``, known exactly. The tissue is uniform (intensity 1) inside an annulus or
over the whole image; tags fade with T1 like the phantom's (``myoflow.phantom.tagging``).

``ring_record`` does the same in millimetres on pixels of any (row, column) spacing and returns a
whole SliceRecord, for the record entry point (``myoflow.tracking.api.track_record``), whose
pixel <-> mm conversion square pixels cannot check.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from myoflow.phantom.tagging import TagGrid, apply_tagging
from myoflow.record import LANDMARK_LINES, LANDMARK_POINTS, SliceRecord


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
        images = _rician(images, 1.0 / snr, seed)
    region = np.ones((size, size), bool)
    if annulus is not None:
        r0 = np.hypot(cols - centre, rows - centre)
        region = (r0 >= annulus[0] + 1) & (r0 <= annulus[1] - 1)
    return AffineSeries(images.astype(np.float32), np.stack(disp), region)


def _rician(images: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    """Magnitude of the images plus complex Gaussian noise of SD ``sigma`` (Rician), float32."""
    rng = np.random.default_rng(seed)
    return np.hypot(
        images + sigma * rng.standard_normal(images.shape),
        sigma * rng.standard_normal(images.shape),
    ).astype(np.float32)


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


# ------------------------------------------------------------------ non-square pixels, in mm


@dataclass
class RingRecord:
    """A tagged ring on a (row, column) pixel grid of any spacing, with exact motion in mm.

    ``record`` is a valid SliceRecord (tagged series, ED mask, exact displacement ``[T, 2, H, W]``
    and 168 landmarks ``[T, 2, 168]``, both in mm, x = columns); ``deformation`` ``[T, 2, 2]`` is
    the homogeneous deformation gradient of each frame in mm (``x = F X + b``); ``centre_mm`` the
    ring's centre (x, y), which is also the centroid of the mask's hole.
    """

    record: SliceRecord
    deformation: np.ndarray
    centre_mm: np.ndarray


def ramp_mm(
    f_end: np.ndarray, shift_mm: tuple[float, float], frames: int, centre_mm: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Affine maps in mm growing linearly from the identity to ``x = F (X - c) + c + shift``."""
    c = np.asarray(centre_mm, float)
    maps = []
    for s in np.linspace(0.0, 1.0, frames):
        f = np.eye(2) + s * (np.asarray(f_end, float) - np.eye(2))
        maps.append((f, c - f @ c + s * np.asarray(shift_mm, float)))
    return maps


def ring_centre_mm(shape: tuple[int, int], spacing_mm: tuple[float, float]) -> np.ndarray:
    """The image centre ``(x, y)`` in mm: the ring is centred on it, so its hole is symmetric on
    the pixel grid and the hole's pixel centroid is exactly this point."""
    return np.array([(shape[1] - 1) / 2.0 * spacing_mm[1], (shape[0] - 1) / 2.0 * spacing_mm[0]])


def ring_record(
    maps_mm: list[tuple[np.ndarray, np.ndarray]],
    shape: tuple[int, int] = (72, 56),
    spacing_mm: tuple[float, float] = (1.0, 1.4),
    tag_spacing_mm: float = 6.0,
    ring_mm: tuple[float, float] = (12.0, 24.0),
    snr: float | None = None,
    frame_ms: float = 20.0,
    seed: int = 0,
) -> RingRecord:
    """A record whose frame t shows, at the pixel centred at ``x`` (mm), the tag magnetisation
    of the material point ``X = A_t^-1 (x - b_t)`` for each ``(A_t, b_t)`` of ``maps_mm`` (the
    first the identity), so the displacement of the ED pixel X is ``(A_t - I) X + b_t`` mm.

    Why this and not the phantom: the phantom renders square pixels only, and a tracker that
    mixes up the (row, column) spacings is exact on square pixels. Here everything is defined in
    mm (tags ``tag_spacing_mm`` apart along x and y) and sampled on pixels ``spacing_mm`` =
    (row, column) apart, so the tag period in pixels differs along x and y and only a correct
    mm <-> pixel conversion recovers the motion. The tissue is uniform and tagged over the whole
    image (no dark edge for the band-passes to blur, so the check is tight); the ED mask, which
    the trackers follow, is the ring of radii ``ring_mm`` about the image centre (its hole is the
    LV centroid of the strain code); the landmarks are 24 rays x 7 points across that ring.
    """
    sy, sx = spacing_mm
    rows, cols = np.indices(shape, dtype=float)
    pos = np.stack([cols * sx, rows * sy])  # pixel centres (x, y), mm
    centre = ring_centre_mm(shape, spacing_mm)
    refs, disp = [], []
    for a, b in maps_mm:
        b_col = np.asarray(b, float)[:, None, None]
        refs.append(np.einsum("ij,jhw->ihw", np.linalg.inv(a), pos - b_col))
        disp.append(np.einsum("ij,jhw->ihw", np.asarray(a) - np.eye(2), pos) + b_col)
    refs_arr = np.stack(refs)
    tags = TagGrid(pattern="1-3-3-1", spacing_mm=tag_spacing_mm, offset_rad=(0.3, 1.1))
    times = np.arange(len(maps_mm)) * frame_ms
    images = apply_tagging(np.ones_like(refs_arr[:, 0]), refs_arr, times, tags, 1e9)
    if snr is not None:
        images = _rician(images, 1.0 / snr, seed)
    radius = np.hypot(pos[0] - centre[0], pos[1] - centre[1])
    mask = (radius >= ring_mm[0]) & (radius <= ring_mm[1])
    angles = np.radians(np.arange(LANDMARK_LINES) * 360.0 / LANDMARK_LINES)
    radii = np.linspace(ring_mm[0], ring_mm[1], LANDMARK_POINTS)
    unit = np.stack([np.cos(angles), np.sin(angles)])  # [2, lines]
    ed_marks = (centre[:, None, None] + unit[:, :, None] * radii[None, None, :]).reshape(2, -1)
    marks = np.stack([a @ ed_marks + np.asarray(b, float)[:, None] for a, b in maps_mm])
    record = SliceRecord(
        cohort="rings",
        subject="ring",
        slice_id="mid",
        position="mid",
        group="all",
        pixel_spacing_mm=(float(sy), float(sx)),
        frame_times_ms=times.astype(float),
        original_frames=len(maps_mm),
        tagged=images.astype(np.float32),
        mask=mask[None].astype(np.uint8),
        displacement=np.stack(disp).astype(np.float32),
        landmarks=marks.astype(np.float32),
        ed_frame=0,
        es_frame=len(maps_mm) - 1,
    ).validate()
    deformation = np.stack([np.asarray(a, float) for a, _ in maps_mm])
    return RingRecord(record=record, deformation=deformation, centre_mm=centre)


def analytic_strain(
    deformation: np.ndarray,
    shape: tuple[int, int],
    spacing_mm: tuple[float, float],
    centre_mm: np.ndarray,
) -> dict[str, np.ndarray]:
    """Green-Lagrange Err and Ecc ``[T, H, W]`` of homogeneous ``deformation`` ``[T, 2, 2]``
    (mm) at every ED pixel, about ``centre_mm``: ``e^T E e`` with ``E = (F^T F - I) / 2`` and e
    the radial or circumferential unit vector of the pixel's ED position (computed here, not
    with the package's strain code, so that a shared mistake cannot hide)."""
    rows, cols = np.indices(shape, dtype=float)
    angle = np.arctan2(rows * spacing_mm[0] - centre_mm[1], cols * spacing_mm[1] - centre_mm[0])
    e_r = np.stack([np.cos(angle), np.sin(angle)])
    e_c = np.stack([-np.sin(angle), np.cos(angle)])
    green = 0.5 * (np.einsum("tki,tkj->tij", deformation, deformation) - np.eye(2))
    return {
        "err_green": np.einsum("ihw,tij,jhw->thw", e_r, green, e_r),
        "ecc_green": np.einsum("ihw,tij,jhw->thw", e_c, green, e_c),
    }
