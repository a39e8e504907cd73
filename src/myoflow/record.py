"""The canonical slice record: the one in-memory form every reader and the phantom converge on.

Conventions (shared by every stage, see docs/architecture.md):

* Image series are ``[T, H, W]`` float32, frames first; frame 0 is end-diastole (ED).
* ``pixel_spacing_mm`` is ``(row, column)`` spacing in millimetres, DICOM's PixelSpacing order.
* Positions (landmarks, RV insertion points, centroids) are in millimetres in image coordinates:
  ``x = column_index * column_spacing``, ``y = row_index * row_spacing``, pixel centres at
  integer indices.
* Displacement is ``[T, 2, H, W]`` in mm, channel 0 = x (along columns), 1 = y (along rows),
  Lagrangian from frame 0: the material point at pixel ``p`` at ED is at ``p + u[t, :, p]`` at
  frame ``t``. So ``u[0] == 0``.
* Landmarks are ``[T, 2, 168]`` positions in mm (channel 0 = x), 24 radial lines x 7 points from
  endocardium to epicardium, the first line at the mid-septum, the next lines 15 degrees apart in
  the AHA direction (septum -> inferior -> lateral -> anterior; see ``myoflow.strain.aha``).
  Landmark index = line * 7 + point.
* A myocardium mask is ``[T, H, W]`` uint8 (1 = myocardium) or ``[1, H, W]`` when only the ED mask
  is known.
* ``rv_insertion_mm`` is ``[2, 2]``: row 0 the anterior, row 1 the inferior RV insertion point,
  each ``(x, y)`` in mm; ``None`` when unknown (AHA segments then use a documented default).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from myoflow.errors import InputError

N_LANDMARKS = 168
LANDMARK_LINES = 24
LANDMARK_POINTS = 7
SLICE_POSITIONS = ("basal", "mid", "apical")


@dataclass
class SliceRecord:
    """One short-axis slice of one subject, with everything downstream needs and nothing to guess.

    Only ``cohort``, ``subject``, ``slice_id``, spacing and frame times are always present; image
    and truth arrays are ``None`` when the source does not have them.
    """

    cohort: str
    subject: str
    slice_id: str
    position: str
    group: str
    pixel_spacing_mm: tuple[float, float]
    frame_times_ms: np.ndarray
    original_frames: int
    cine: np.ndarray | None = None
    tagged: np.ndarray | None = None
    mask: np.ndarray | None = None
    displacement: np.ndarray | None = None
    landmarks: np.ndarray | None = None
    rv_insertion_mm: np.ndarray | None = None
    ed_frame: int = 0
    es_frame: int | None = None
    slice_location_mm: float | None = None
    covariates: dict[str, Any] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    source_files: dict[str, str] = field(default_factory=dict)
    extras: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Unique name of the record inside a cohort (``subject/slice_id``)."""
        return f"{self.subject}/{self.slice_id}"

    @property
    def n_frames(self) -> int:
        return len(self.frame_times_ms)

    @property
    def image_shape(self) -> tuple[int, int]:
        for arr in (self.cine, self.tagged, self.mask):
            if arr is not None:
                return int(arr.shape[-2]), int(arr.shape[-1])
        if self.displacement is not None:
            return int(self.displacement.shape[-2]), int(self.displacement.shape[-1])
        raise self.error("the record holds no image, mask or displacement")

    @property
    def primary_file(self) -> str:
        """The file a problem with the whole record is reported against: its image series."""
        kinds = ("cine", "tagged", "mask", "displacement", "landmarks")
        return next((self.source_files[k] for k in kinds if k in self.source_files), "-")

    def error(self, problem: str, kind: str | None = None) -> InputError:
        """An InputError naming this record and the source file of ``kind`` (default: the
        record's image series), so that every QC row says which file to look at."""
        file = self.source_files.get(kind, self.primary_file) if kind else self.primary_file
        return InputError(problem, self.cohort, self.subject, file, self.slice_id)

    def replace(self, **changes: Any) -> SliceRecord:
        return replace(self, **changes)

    def validate(self) -> SliceRecord:
        """Check shapes, finiteness and agreement between series; raise InputError on the first fault.

        Called by every reader and by the phantom before a record is written, so that nothing
        downstream sees an inconsistent record.
        """
        sy, sx = self.pixel_spacing_mm
        if not (np.isfinite(sy) and np.isfinite(sx) and sy > 0 and sx > 0):
            raise self.error(
                f"pixel spacing must be positive and finite, got {self.pixel_spacing_mm}"
            )
        times = np.asarray(self.frame_times_ms, dtype=float)
        if times.ndim != 1 or len(times) == 0:
            raise self.error("frame times must be a non-empty 1-D list")
        if not np.all(np.isfinite(times)):
            raise self.error("frame times contain NaN or Inf")
        if len(times) > 1 and np.any(np.diff(times) <= 0):
            raise self.error("frame times are not strictly increasing")
        n_t = len(times)
        shape: tuple[int, int] | None = None
        for kind in ("cine", "tagged", "mask"):
            arr = getattr(self, kind)
            if arr is None:
                continue
            if arr.ndim != 3:
                raise self.error(f"{kind} must be [T, H, W], got shape {arr.shape}", kind)
            expected_t = (1, n_t) if kind == "mask" else (n_t,)
            if arr.shape[0] not in expected_t:
                raise self.error(f"{kind} has {arr.shape[0]} frames but the series has {n_t}", kind)
            if shape is None:
                shape = arr.shape[1:]
            elif arr.shape[1:] != shape:
                raise self.error(
                    f"{kind} is {arr.shape[1]}x{arr.shape[2]} pixels but other series are "
                    f"{shape[0]}x{shape[1]}",
                    kind,
                )
            if kind != "mask" and not np.all(np.isfinite(arr)):
                raise self.error(f"{kind} contains NaN or Inf values", kind)
        if self.mask is not None:
            if not np.all(np.isin(np.unique(self.mask), (0, 1))):
                raise self.error("mask must be binary (0/1) after label selection", "mask")
            empty = [t for t in range(self.mask.shape[0]) if not self.mask[t].any()]
            if empty:
                raise self.error(f"myocardium mask is empty in frame(s) {empty[:5]}", "mask")
        if self.displacement is not None:
            d = self.displacement
            if d.ndim != 4 or d.shape[1] != 2 or d.shape[0] != n_t:
                raise self.error(
                    f"displacement must be [T={n_t}, 2, H, W], got shape {d.shape}", "displacement"
                )
            if shape is not None and d.shape[2:] != shape:
                raise self.error(
                    f"displacement is {d.shape[2]}x{d.shape[3]} but images are {shape[0]}x{shape[1]}",
                    "displacement",
                )
            if not np.all(np.isfinite(d)):
                raise self.error("displacement contains NaN or Inf values", "displacement")
        if self.landmarks is not None:
            lm = self.landmarks
            if lm.shape != (n_t, 2, N_LANDMARKS):
                raise self.error(
                    f"landmarks must be [T={n_t}, 2, {N_LANDMARKS}], got {lm.shape}", "landmarks"
                )
            if not np.all(np.isfinite(lm)):
                raise self.error("landmarks contain NaN or Inf values", "landmarks")
        if self.rv_insertion_mm is not None and np.shape(self.rv_insertion_mm) != (2, 2):
            raise self.error(
                f"RV insertion points must be [2, 2], got {np.shape(self.rv_insertion_mm)}"
            )
        if not 0 <= self.ed_frame < n_t:
            raise self.error(f"ED frame {self.ed_frame} outside 0..{n_t - 1}")
        if self.es_frame is not None and not 0 <= self.es_frame < n_t:
            raise self.error(f"ES frame {self.es_frame} outside 0..{n_t - 1}")
        return self
