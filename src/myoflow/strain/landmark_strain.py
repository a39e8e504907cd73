"""Landmark strain of paper 003: radial and circumferential strain from inter-landmark distances.

Every method that yields landmarks (the phantom truth, the HARP and SinMod trackers, paper 003's
network) is scored with this one definition, so that their strains differ only by where the
landmarks are. Layout (:mod:`myoflow.record`): ``[T, 2, 168]`` in mm, channel 0 = x, index =
line x 7 + point, 24 radial lines (line 0 at the mid-septum), points 0 (endocardium) to 6
(epicardium); frame 0 is ED, the reference of every frame.

Segments ("segment" alone below means an AHA segment):

* radial segment of line ``k``: from its point 0 to its point 6 (paper 003's Delta R_k);
* circumferential segment ``k`` of ring ``p``: from point ``p`` of line ``k`` to point ``p`` of
  line ``k + 1``, closed (segment 23 joins line 23 to line 0), 24 per ring (Delta C_k). The rings
  are paper 003's "2nd, 4th and 6th rings from the center": ``endo`` = point 1, ``mid`` = point 3,
  ``epi`` = point 5.

Strain of a length ``L``: Green ``(L_t^2 - L_0^2) / (2 L_0^2)`` (paper 003, eqn 1), engineering
``L_t / L_0 - 1``; Green = eng + eng^2 / 2 for one length.

Averaging: a region's strain is the *mean of its radial or circumferential segments' strains*,
not the strain of their mean length. Paper 003 computes the strain of each Delta R_k and
Delta C_k and averages "over the slice" (its loss, eqn 2, and its reported values), and a mean
of strains weighs each segment equally whatever its ED length. It therefore differs from
:func:`myoflow.metrics.landmarks.midwall_strain` (a perimeter ratio, length-weighted), and the
Green and engineering means do not obey Green = eng + eng^2 / 2 unless the strain is uniform.
``ecc`` is the mean of the three rings' values (paper 003's "average" circumferential strain).

Tables (tidy, one row per frame x segment): ``frame``, ``segment`` (0 = the whole slice, else
the AHA number, as in :mod:`myoflow.tables`) and, per kind, :func:`strain_columns`:
``err_<kind>``, ``ecc_endo_<kind>``, ``ecc_mid_<kind>``, ``ecc_epi_<kind>``, ``ecc_<kind>``. The
kind sits before any later qualifier, as ``ecc_green`` / ``ecc_green_es`` do in
:mod:`myoflow.tables`, so ``ecc_green`` and ``err_green`` mean the same here as there. A
:func:`slice_strain` and a :func:`segment_strain` table concatenate into one.

AHA segments follow where the tissue is at ED, as :func:`myoflow.strain.aha.segment_map` does for
the dense strain: a radial segment goes to the segment of the mean direction, seen from the ED
centroid, of its line's seven ED points; a circumferential segment to that of its two ED
endpoints. The angle geometry is :mod:`myoflow.strain.aha`'s.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from myoflow.record import LANDMARK_LINES, LANDMARK_POINTS, N_LANDMARKS, SLICE_POSITIONS
from myoflow.strain.aha import orientation, segment_of_angle, segments_for_position

#: Strain kinds: ``green`` (Green-Lagrange, paper 003 eqn 1) and ``eng`` (engineering).
KINDS = ("green", "eng")
#: The radial segment's end points on each line.
ENDO_POINT, EPI_POINT = 0, LANDMARK_POINTS - 1
#: Ring name -> landmark point of the circumferential rings (paper 003's 2nd, 4th, 6th rings).
RINGS = {"endo": 1, "mid": 3, "epi": 5}
#: The design puts every 4th line (mid, basal) or 3rd line (apical) exactly on an AHA boundary;
#: nudging every angle this far in the AHA direction makes such a line go, whatever the rounding,
#: to the segment that starts there, so each mid segment gets 4 lines. Far below any real spread.
BOUNDARY_NUDGE_DEG = 1e-6

#: Per-segment strain names, in table order: the radial and the three rings' circumferential.
_PARTS = ("err", *(f"ecc_{ring}" for ring in RINGS))


def strain_columns(kinds: str | Sequence[str] = KINDS) -> list[str]:
    """The strain columns of the tables, in order, for ``kinds``."""
    return [f"{name}_{kind}" for kind in _kinds(kinds) for name in (*_PARTS, "ecc")]


def _kinds(kinds: str | Sequence[str]) -> tuple[str, ...]:
    chosen = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    unknown = [k for k in chosen if k not in KINDS]
    if unknown or not chosen:
        raise ValueError(f"strain kinds must be among {KINDS}, got {chosen}")
    return chosen


def _grid(landmarks_mm: ArrayLike) -> np.ndarray:
    """Checked landmarks as ``[T, 2, line, point]`` float64."""
    marks = np.asarray(landmarks_mm, dtype=np.float64)
    if marks.ndim != 3 or marks.shape[1:] != (2, N_LANDMARKS) or marks.shape[0] < 1:
        raise ValueError(f"landmarks must be [T, 2, {N_LANDMARKS}], got {marks.shape}")
    finite = np.isfinite(marks).all(axis=(1, 2))
    if not finite.all():
        raise ValueError(
            f"landmarks hold NaN or Inf in frame(s) {np.flatnonzero(~finite).tolist()}"
        )
    return marks.reshape(marks.shape[0], 2, LANDMARK_LINES, LANDMARK_POINTS)


def _radial(grid: np.ndarray) -> np.ndarray:
    d = grid[..., EPI_POINT] - grid[..., ENDO_POINT]
    return np.hypot(d[:, 0], d[:, 1])


def _ring(grid: np.ndarray, point: int) -> np.ndarray:
    ring = grid[..., point]  # [T, 2, line]
    d = np.roll(ring, -1, axis=-1) - ring  # segment k: line k -> line k + 1, 23 -> 0
    return np.hypot(d[:, 0], d[:, 1])


def radial_lengths(landmarks_mm: ArrayLike) -> np.ndarray:
    """``[T, 24]`` mm: the endocardium-to-epicardium distance (points 0 to 6) of each line."""
    return _radial(_grid(landmarks_mm))


def ring_lengths(landmarks_mm: ArrayLike, point: int) -> np.ndarray:
    """``[T, 24]`` mm: column ``k`` is the distance from point ``point`` of line ``k`` to that of
    line ``k + 1`` (column 23 closes the ring back to line 0)."""
    if not 0 <= point < LANDMARK_POINTS:
        raise ValueError(f"ring point must be in 0..{LANDMARK_POINTS - 1}, got {point}")
    return _ring(_grid(landmarks_mm), point)


def _strain(lengths: ArrayLike, kind: str, what: str = "column(s)") -> np.ndarray:
    lens = np.asarray(lengths, dtype=np.float64)
    if lens.ndim != 2 or lens.shape[0] < 1:
        raise ValueError(f"lengths must be [T, S], got {lens.shape}")
    if not np.all(np.isfinite(lens)) or np.any(lens < 0):
        raise ValueError("lengths must be finite and non-negative")
    zero = np.flatnonzero(lens[0] <= 0.0)
    if zero.size:
        raise ValueError(f"zero length at ED (frame 0), degenerate, in {what} {zero.tolist()}")
    ratio = lens / lens[0]
    if kind == "green":
        return (ratio**2 - 1.0) / 2.0
    if kind == "eng":
        return ratio - 1.0
    raise ValueError(f"strain kind must be one of {KINDS}, got {kind!r}")


def green_strain(lengths: ArrayLike) -> np.ndarray:
    """Green strain ``(L_t^2 - L_0^2) / (2 L_0^2)`` of ``[T, S]`` lengths against frame 0."""
    return _strain(lengths, "green")


def engineering_strain(lengths: ArrayLike) -> np.ndarray:
    """Engineering strain ``L_t / L_0 - 1`` of ``[T, S]`` lengths against frame 0."""
    return _strain(lengths, "eng")


def _segment_strains(grid: np.ndarray, kind: str) -> dict[str, np.ndarray]:
    """Per radial or circumferential segment ``[T, 24]`` strain, keyed by :data:`_PARTS`."""
    out = {"err": _strain(_radial(grid), kind, "radial line(s)")}
    for name, point in RINGS.items():
        out[f"ecc_{name}"] = _strain(_ring(grid, point), kind, f"ring {point} segment(s)")
    return out


def _table(
    grid: np.ndarray, kinds: tuple[str, ...], groups: dict[int, dict[str, np.ndarray]]
) -> pd.DataFrame:
    """Rows frame x group; ``groups`` maps a segment number to a bool ``[24]`` mask per part."""
    n_frames = grid.shape[0]
    per_kind = {kind: _segment_strains(grid, kind) for kind in kinds}
    blocks = []
    for segment, masks in groups.items():
        data = {"frame": np.arange(n_frames), "segment": np.full(n_frames, segment)}
        for kind, per in per_kind.items():
            for name in _PARTS:
                chosen = per[name][:, masks[name]]
                data[f"{name}_{kind}"] = (
                    chosen.mean(axis=1) if chosen.shape[1] else np.full(n_frames, np.nan)
                )
            data[f"ecc_{kind}"] = np.mean([data[f"ecc_{r}_{kind}"] for r in RINGS], axis=0)
        blocks.append(pd.DataFrame(data, columns=["frame", "segment", *strain_columns(kinds)]))
    return pd.concat(blocks, ignore_index=True)


def slice_strain(landmarks_mm: ArrayLike, kinds: str | Sequence[str] = KINDS) -> pd.DataFrame:
    """Slice-averaged strain of every frame against ED: one row per frame, ``segment`` 0.

    Columns ``frame``, ``segment`` and :func:`strain_columns` (``kinds``: ``"green"``,
    ``"eng"`` or both). Raises ``ValueError`` for another layout, a NaN or Inf anywhere, or a
    radial or used circumferential segment of zero length at ED.
    """
    grid = _grid(landmarks_mm)
    every = np.ones(LANDMARK_LINES, bool)
    return _table(grid, _kinds(kinds), {0: {name: every for name in _PARTS}})


def aha_assignment(
    landmarks_mm: ArrayLike,
    position: str,
    centroid_mm: ArrayLike | None = None,
    rv_insertion_mm: ArrayLike | None = None,
) -> dict[str, np.ndarray]:
    """AHA segment number ``[24]`` of each radial line (``"err"``) and of each circumferential
    segment of each ring (``"ecc_endo"``, ``"ecc_mid"``, ``"ecc_epi"``), from the ED landmarks.

    ``centroid_mm`` is the ED blood-pool centroid ``(x, y)``, by default the mean of the 168 ED
    landmarks (the centre of the ring they form); ``rv_insertion_mm`` is ``[2, 2]`` (anterior,
    inferior) or ``None`` for :mod:`myoflow.strain.aha`'s default orientation.
    """
    grid = _grid(landmarks_mm)
    if position not in SLICE_POSITIONS:
        raise ValueError(f"slice position must be one of {SLICE_POSITIONS}, got {position!r}")
    ed = grid[0]  # [2, line, point]
    if centroid_mm is None:
        centre = ed.reshape(2, -1).mean(axis=1)
    else:
        centre = np.asarray(centroid_mm, dtype=np.float64)
        if centre.shape != (2,) or not np.all(np.isfinite(centre)):
            raise ValueError(f"centroid must be a finite (x, y), got {centre.tolist()}")
    rv = None if rv_insertion_mm is None else np.asarray(rv_insertion_mm, dtype=np.float64)
    if rv is not None and (rv.shape != (2, 2) or not np.all(np.isfinite(rv))):
        raise ValueError(f"RV insertion points must be a finite [2, 2], got shape {rv.shape}")
    rel = ed - centre[:, None, None]
    norm = np.hypot(rel[0], rel[1])
    if np.any(norm == 0.0):
        raise ValueError("an ED landmark lies on the centroid: its direction is undefined")
    unit = rel / norm  # [2, line, point]
    anterior, direction = orientation(centre, rv)
    directions = {"err": unit.sum(axis=-1)}
    for name, point in RINGS.items():
        directions[f"ecc_{name}"] = unit[..., point] + np.roll(unit[..., point], -1, axis=-1)
    out = {}
    for name, vec in directions.items():
        angle = np.degrees(np.arctan2(vec[1], vec[0])) + direction * BOUNDARY_NUDGE_DEG
        out[name] = segment_of_angle(angle, position, anterior, direction)
    return out


def segment_strain(
    landmarks_mm: ArrayLike,
    position: str,
    centroid_mm: ArrayLike | None = None,
    rv_insertion_mm: ArrayLike | None = None,
    kinds: str | Sequence[str] = KINDS,
) -> pd.DataFrame:
    """Strain per AHA segment of every frame against ED: one row per frame x segment.

    The segments of ``position`` (``"basal"``, ``"mid"``, ``"apical"``), assigned by
    :func:`aha_assignment`, each averaging the strains of the radial and circumferential
    segments it holds; NaN where it holds none. Columns as :func:`slice_strain`, which raises
    the same errors.
    """
    assign = aha_assignment(landmarks_mm, position, centroid_mm, rv_insertion_mm)
    groups = {
        int(seg): {name: assign[name] == seg for name in _PARTS}
        for seg in segments_for_position(position)
    }
    return _table(_grid(landmarks_mm), _kinds(kinds), groups)
