"""One entry point for every tracker: a record in, the canonical displacement and landmarks out.

The trackers themselves (``harp``, ``sinmod``) work in pixels on a bare image series; this module
checks the record, finds the tag peaks, seeds the 168 landmarks (the record's own at ED when it has
them, else from the ED mask), runs the tracker and converts to the record's millimetres.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from myoflow import settings
from myoflow.record import SliceRecord
from myoflow.registry import TRACKERS, check_name, load
from myoflow.strain.aha import lv_centroid_mm
from myoflow.strain.green import radial_circumferential, strain_from_deformation
from myoflow.tracking.common import (
    TrackOutput,
    ed_region,
    extend_nearest,
    seed_landmarks,
    tagged_series,
)
from myoflow.tracking.spectrum import NoTagPeaksError, TagPeaks, find_tag_peaks


@dataclass
class TrackResult:
    """Tracked motion of one slice in the record's conventions.

    ``displacement`` ``[T, 2, H, W]`` mm, Lagrangian from ED (tracked on the ED myocardium,
    nearest-tracked extension elsewhere); ``landmarks`` ``[T, 2, 168]`` mm; ``region`` the tracked
    ED pixels; ``peaks`` the tag peaks found; ``diagnostics`` the tracker's own numbers;
    ``deformation`` the deformation gradient ``[T, 2, 2, H, W]`` in mm units where the tracker
    measures it (HARP, from phase gradients), else None.
    """

    displacement: np.ndarray
    landmarks: np.ndarray
    region: np.ndarray
    peaks: TagPeaks
    diagnostics: dict[str, float] = field(default_factory=dict)
    deformation: np.ndarray | None = None

    def strain_maps(self, spacing_mm: tuple[float, float]) -> dict[str, np.ndarray]:
        """Per-pixel Err/Ecc maps ``[T, H, W]`` (Green and engineering) on the ED myocardium.

        From the measured deformation gradient when there is one (HARP strain), else from the
        displacement's finite differences, about the ED blood-pool centroid.
        """
        centroid = lv_centroid_mm(self.region.astype(np.uint8), spacing_mm)
        if self.deformation is not None:
            return strain_from_deformation(self.deformation, spacing_mm, centroid)
        return radial_circumferential(
            self.displacement.astype(np.float64), spacing_mm, centroid, self.region
        )


def parse_options(tracker: str, options: Mapping[str, Any] | None) -> Any:
    """The tracker's checked options object (``HarpOptions`` or ``SinModOptions``).

    The tracker's module is imported only here, so that reading a config without trackers stays
    cheap. Raises ConfigError naming an unknown tracker, an unknown option or a bad value
    (``tracking.<tracker>.<option>: ...``).
    """
    check_name(TRACKERS, tracker, "tracking", "tracker")
    return settings.parse(load(TRACKERS[tracker][0]), options, f"tracking.{tracker}")


def _run(
    tracker: str,
    images: np.ndarray,
    region: np.ndarray,
    points: np.ndarray,
    peaks: TagPeaks,
    options: Mapping[str, Any] | None,
) -> TrackOutput:
    track = load(TRACKERS[tracker][1])
    output: TrackOutput = track(images, region, points, peaks, parse_options(tracker, options))
    return output


def track_record(
    rec: SliceRecord, tracker: str, options: Mapping[str, Any] | None = None
) -> TrackResult:
    """Track the tagged series of ``rec`` with ``tracker`` ('harp' or 'sinmod').

    Raises the record's InputError (naming cohort, subject, slice and file) when the record has no
    usable tagged series, no ED mask, or no tag peaks.
    """
    parse_options(tracker, options)  # an unknown tracker or option fails before any work
    images = tagged_series(rec)
    region = ed_region(rec)
    try:
        peaks = find_tag_peaks(images[0])
    except NoTagPeaksError as error:
        raise rec.error(str(error), "tagged") from error
    sy, sx = rec.pixel_spacing_mm
    if rec.landmarks is not None:
        seeds_mm = np.asarray(rec.landmarks[0], dtype=float)
    else:
        try:
            seeds_mm = seed_landmarks(region, rec.pixel_spacing_mm, rec.rv_insertion_mm)
        except ValueError as error:
            raise rec.error(f"cannot place the 168 landmarks: {error}", "mask") from error
    seeds_px = np.stack([seeds_mm[0] / sx, seeds_mm[1] / sy], axis=-1)
    out = _run(tracker, images, region, seeds_px, peaks, options)
    scale = np.array([sx, sy])
    disp = extend_nearest(out.displacement.astype(np.float32), region)
    disp *= scale.astype(np.float32)[None, :, None, None]
    landmarks = np.moveaxis(out.points * scale, -1, 1)
    deformation = None
    if out.deformation is not None:
        # F in mm: x_mm = S x_px with S = diag(sx, sy), so F_mm[i, j] = F_px[i, j] s_i / s_j
        ratio = scale[:, None] / scale[None, :]
        deformation = out.deformation * ratio.astype(np.float32)[None, :, :, None, None]
    return TrackResult(
        displacement=disp,
        landmarks=landmarks.astype(np.float32),
        region=region,
        peaks=peaks,
        diagnostics=dict(out.diagnostics),
        deformation=deformation,
    )
