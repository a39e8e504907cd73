"""One entry point for every tracker: a record in, the canonical displacement and landmarks out.

The trackers themselves (``harp``, ``sinmod``) work in pixels on a bare image series; this module
checks the record, finds the tag peaks, seeds the 168 landmarks (the record's own at ED when it has
them, else from the ED mask), runs the tracker, checks and repairs every tracked point
(``myoflow.tracking.checks``: off the slice's smooth motion, out of the myocardium, beyond
physiology, faded tags), and converts to the record's millimetres. The result carries the
per-point flags and the slice's quality verdict; raising on a failed verdict is the caller's
choice (the tracking stage sends such a slice to QC).

The band. A tracker measures a point from the image around it, so at the mask's edge it sees
blood (tags washed out, bright inflow) or fat, liver and chest wall (tags that do not move with
the heart), and a mask drawn a pixel or two too wide hands it that tissue to follow. So the
trackers follow the mask's core, the ED mask eroded by as many pixels as ``EDGE_PX`` allows
(the deepest erosion that leaves at least half of the mask; kept whole where even the shallowest
would not), and the edge, the eroded rim and a band of ``BAND_PX`` pixels beyond the mask,
takes the slice's smooth field (``checks.Checked.field_at``), fitted to the core alone. The 168
landmarks lie on the endo- and epicardial edges too: they are tracked, checked and flagged like
every point, but take the field fitted to the core. Measured on the
realistic preset (docs/tracking.md, Quality control and regularisation): with the core, SinMod's
mean ES error fell by about half and its maximum from 11-12 px to about 1 px; a mask dilated by
2 px no longer moves the result much. Beyond the band the output holds the nearest value.
Why the deepest erosion that keeps half: a mask drawn too wide is thicker, so it can lose
another pixel and still hold half of itself, and that pixel is the one the mask error added
(measured on the realistic human preset with a mask dilated by 2 px, two slices: SinMod's
|ES Err error| 0.15-0.22 with a 2-px erosion, 0.02-0.04 with 3; docs/tracking.md has the sweep).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage

from myoflow import settings
from myoflow.record import SliceRecord
from myoflow.registry import TRACKERS, check_name, load
from myoflow.strain.aha import lv_centroid_mm
from myoflow.strain.green import radial_circumferential, strain_from_deformation
from myoflow.tracking.checks import Checked, CheckOptions, check_points
from myoflow.tracking.common import (
    TrackOutput,
    ed_region,
    extend_nearest,
    seed_landmarks,
    tagged_series,
)
from myoflow.tracking.quality import tag_contrast
from myoflow.tracking.spectrum import NoTagPeaksError, TagPeaks, find_tag_peaks
from myoflow.tracking.units import (
    deformation_px_to_mm,
    field_px_to_mm,
    points_mm_to_px,
    positions_px_to_mm,
)

#: The depths (px) of the mask's rim that the trackers may leave out, deepest first, and the
#: band (px) beyond the mask; rim and band take the slice's smooth field.
EDGE_PX, BAND_PX = (3, 2), 2


@dataclass
class TrackResult:
    """Tracked motion of one slice in the record's conventions.

    ``displacement`` ``[T, 2, H, W]`` mm, Lagrangian from ED (tracked on the ED myocardium's
    core, the slice's smooth field on its rim and a band around it, the nearest value beyond);
    ``landmarks`` ``[T, 2, 168]`` mm; ``region`` the ED myocardium mask; ``peaks`` the tag peaks found; ``diagnostics`` the tracker's own numbers;
    ``deformation`` the deformation gradient ``[T, 2, 2, H, W]`` in mm units where the tracker
    measures it (HARP, from phase gradients; not repaired by the checks), else None;
    ``flags`` the checks' bits of the tracked pixels ``[T, H, W]`` (the mask's core; 0 on its
    rim and outside, which take the smooth field) and ``landmark_flags`` ``[T, 168]``;
    ``checked`` the slice's scores and verdict.
    """

    displacement: np.ndarray
    landmarks: np.ndarray
    region: np.ndarray
    peaks: TagPeaks
    diagnostics: dict[str, float] = field(default_factory=dict)
    deformation: np.ndarray | None = None
    flags: np.ndarray | None = None
    landmark_flags: np.ndarray | None = None
    checked: Checked | None = None

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


def _frame_masks(rec: SliceRecord, n_frames: int) -> np.ndarray | None:
    """The record's myocardium mask of every frame when it has one per frame, else None."""
    if rec.mask is None or rec.mask.shape[0] != n_frames:
        return None
    return np.asarray(rec.mask, dtype=bool)


def _check(
    rec: SliceRecord,
    images: np.ndarray,
    ref: np.ndarray,
    out: TrackOutput,
    peaks: TagPeaks,
    checks: CheckOptions | None,
) -> Checked:
    """Every tracked point (region pixels ``ref[:n]``, then the landmarks) checked and repaired,
    with the tracker's forward-backward disagreement among the scores."""
    n_region = len(ref) - out.points.shape[1]
    rows, cols = ref[:n_region, 1].astype(int), ref[:n_region, 0].astype(int)
    pixels = ref[:n_region] + np.moveaxis(out.displacement[:, :, rows, cols], 1, -1)
    positions = np.concatenate([pixels, out.points], axis=1)
    if rec.es_frame is not None:
        es = int(rec.es_frame)
    else:  # the frame the tracked points moved furthest from ED
        es = int(np.argmax(np.hypot(*np.moveaxis(positions - ref, -1, 0)).mean(axis=1)))
    contrast = tag_contrast(images, peaks, positions)
    period = float(np.mean(peaks.periods_px))
    masks = _frame_masks(rec, len(images))
    core = np.zeros(len(ref), bool)
    core[:n_region] = True
    # the tracker's own consistency in time, where it measures one (SinMod's two paths)
    return check_points(
        ref,
        positions,
        period,
        contrast,
        es,
        masks,
        checks,
        fit_to=core,
        forward_backward_px=out.forward_backward_px,
    )


def core_of(region: np.ndarray) -> np.ndarray:
    """The part of the ED mask the trackers follow: the mask eroded by the first depth of
    ``EDGE_PX`` that leaves at least half of it, or the whole mask where none does (a wall only
    a few pixels thick)."""
    for depth in EDGE_PX:
        core = ndimage.binary_erosion(region, iterations=depth)
        if core.sum() >= 0.5 * region.sum():
            return core
    return region


def _field(checked: Checked, core: np.ndarray, region: np.ndarray, n_frames: int) -> np.ndarray:
    """The output displacement ``[T, 2, H, W]`` px: checked values on the core, the smooth field
    on the rim and the band beyond the mask, the nearest value further out (module docstring)."""
    rows, cols = np.nonzero(core)
    field = np.zeros((n_frames, 2) + region.shape, np.float32)
    ref = np.stack([cols, rows], axis=-1).astype(float)
    field[:, :, rows, cols] = np.moveaxis(checked.positions[:, : len(rows)] - ref, -1, 1)
    band = ndimage.binary_dilation(region, iterations=BAND_PX) & ~core
    b_rows, b_cols = np.nonzero(band)
    if len(b_rows):
        at_band = checked.field_at(np.stack([b_cols, b_rows], axis=-1).astype(float))
        field[:, :, b_rows, b_cols] = np.moveaxis(at_band, -1, 1)
    return extend_nearest(field, core | band)


def track_record(
    rec: SliceRecord,
    tracker: str,
    options: Mapping[str, Any] | None = None,
    checks: CheckOptions | None = None,
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
    if rec.landmarks is not None:
        seeds_mm = np.asarray(rec.landmarks[0], dtype=float)
    else:
        try:
            seeds_mm = seed_landmarks(region, rec.pixel_spacing_mm, rec.rv_insertion_mm)
        except ValueError as error:
            raise rec.error(f"cannot place the 168 landmarks: {error}", "mask") from error
    seeds_px = points_mm_to_px(seeds_mm, rec.pixel_spacing_mm)
    core = core_of(region)
    out = _run(tracker, images, core, seeds_px, peaks, options)
    rows, cols = np.nonzero(core)
    ref = np.concatenate([np.stack([cols, rows], axis=-1).astype(float), seeds_px])
    checked = _check(rec, images, ref, out, peaks, checks)
    flags = np.zeros((len(images),) + region.shape, np.uint8)
    flags[:, rows, cols] = checked.flags[:, : len(rows)]
    disp = field_px_to_mm(_field(checked, core, region, len(images)), rec.pixel_spacing_mm)
    landmarks = positions_px_to_mm(checked.positions[:, len(rows) :], rec.pixel_spacing_mm)
    deformation = None
    if out.deformation is not None:
        deformation = deformation_px_to_mm(out.deformation, rec.pixel_spacing_mm)
        # measured on the core; the rim holds its nearest core pixel's gradient
        shape = deformation.shape
        flat = deformation.reshape(shape[0], 4, *shape[3:])
        deformation = extend_nearest(flat, core).reshape(shape)
    return TrackResult(
        displacement=disp,
        landmarks=landmarks.astype(np.float32),
        region=region,
        peaks=peaks,
        diagnostics=dict(out.diagnostics),
        deformation=deformation,
        flags=flags,
        landmark_flags=checked.flags[:, len(rows) :],
        checked=checked,
    )
