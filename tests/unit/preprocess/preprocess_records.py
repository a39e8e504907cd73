"""Synthetic slice records with analytic content, built directly from numpy arrays.

A uniquely named module (not ``conftest``) so that test modules can import its names whatever other
conftest files pytest has loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from myoflow.record import LANDMARK_LINES, LANDMARK_POINTS, SliceRecord

RecordFactory = Callable[..., SliceRecord]


def ring_record(
    shape: tuple[int, int] = (160, 176),
    spacing: tuple[float, float] = (1.3, 1.2),
    n_frames: int = 24,
    center_mm: tuple[float, float] = (120.0, 80.0),
    radii_mm: tuple[float, float] = (16.0, 26.0),
    frame_ms: float = 35.0,
    subject: str = "s01",
    slice_id: str = "mid",
    with_mask: bool = True,
    **changes: Any,
) -> SliceRecord:
    """An LV-like ring off the image centre, with a smooth cine, a tag grid, a radial contraction
    displacement (zero at frame 0) and landmarks moving with it."""
    sy, sx = spacing
    cx, cy = center_mm
    times = np.arange(n_frames) * frame_ms
    rows, cols = np.indices(shape)
    x, y = cols * sx, rows * sy
    r = np.hypot(x - cx, y - cy)
    ring = ((r >= radii_mm[0]) & (r <= radii_mm[1])).astype(np.uint8)
    phase = np.sin(np.pi * np.arange(n_frames) / max(n_frames - 1, 1))
    cine = np.stack(
        [
            100 + 80 * np.exp(-(((r - 21) / 6) ** 2)) + 10 * np.sin(x / 9) * (1 + 0.2 * p)
            for p in phase
        ]
    ).astype(np.float32)
    tagged = np.stack(
        [
            (1.5 + np.cos(2 * np.pi * x / 7) * np.cos(2 * np.pi * y / 7)) * (1 - 0.3 * k / n_frames)
            for k in range(n_frames)
        ]
    ).astype(np.float32)
    a = -0.12 * phase
    disp = np.stack([np.stack([a_t * (x - cx), a_t * (y - cy)]) for a_t in a]).astype(np.float32)
    theta = np.radians(180.0 - 15.0 * np.arange(LANDMARK_LINES))
    rad = np.linspace(radii_mm[0], radii_mm[1], LANDMARK_POINTS)
    px = (cx + rad[None, :] * np.cos(theta[:, None])).ravel()
    py = (cy + rad[None, :] * np.sin(theta[:, None])).ravel()
    lm = np.stack([np.stack([px + a_t * (px - cx), py + a_t * (py - cy)]) for a_t in a])
    rec = SliceRecord(
        cohort="c1",
        subject=subject,
        slice_id=slice_id,
        position="mid",
        group="control",
        pixel_spacing_mm=spacing,
        frame_times_ms=times,
        original_frames=n_frames,
        cine=cine,
        tagged=tagged,
        mask=np.repeat(ring[None], n_frames, axis=0) if with_mask else None,
        displacement=disp,
        landmarks=lm,
        rv_insertion_mm=np.array([[cx - 20.0, cy - 15.0], [cx - 20.0, cy + 15.0]]),
        source_files={"cine": f"{subject}_{slice_id}_cine.nii.gz"},
    )
    return rec.replace(**changes).validate()
