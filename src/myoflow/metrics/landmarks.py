"""Landmark position accuracy: RMSE and mean distance in mm, per frame, ring and radial line.

Paper 003 scores its landmark tracker by "the root mean squared position error of the 168
landmark coordinates" at ED and ES (mean over slices +/- SD over slices) and finds the error
mainly circumferential, in where the mid-septum is placed. So every score here is given for the
whole slice, for each ring (point ``p`` of every line: ring 0 endocardium .. ring 6 epicardium)
and for each radial line (line 0 at the mid-septum, then every 15 degrees): a septal shift shows
up line by line, a wall-thickness error ring by ring. The layout is the record's:
``[T, 2, 168]`` in mm, channel 0 = x, index = line x 7 + point (see :mod:`myoflow.record`).

Definitions, with ``d_i`` the Euclidean distance between landmark ``i`` of the prediction and of
the reference in one frame:

* ``rmse_mm`` = sqrt(mean d_i^2), the root mean squared *position* error. Paper 003's loss
  (eqn 2) sums the squared x and y errors of a landmark and averages over the 168 landmarks;
  this is its square root. It equals ``hypot(rmse_x_mm, rmse_y_mm)`` and is sqrt(2) times the
  RMSE of the 336 coordinates taken one by one, a convention that would read 29% lower.
* ``rmse_x_mm``, ``rmse_y_mm``: the same per component, so an error along one image axis shows.
* ``mean_distance_mm`` = mean d_i, which weighs an outlier landmark less than the RMSE does.

Frames. ED (frame 0) is scored like any other frame: unlike a Lagrangian displacement, whose ED
value is zero by definition, the ED landmarks are themselves placed by the method. A reference
may be known in some frames only (manual landmarks at ED and ES): ``valid_frames`` selects the
frames to score, and the others may hold NaN. Pooled scores weigh every landmark of every valid
frame equally (each frame has all 168).

Mid-wall strain (``midwall_strain``): the engineering Ecc and Err an expert reads off the
landmarks, without any displacement field or finite differences, so a tracker's landmarks can be
scored the way a user of its landmarks would use them.

Hand-written: a few numpy lines. MONAI's and scikit-learn's regression metrics treat each
coordinate as a separate value (the per-coordinate RMSE above), not a point's distance, and
know nothing of the ring and line layout.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from myoflow.record import LANDMARK_LINES, LANDMARK_POINTS, N_LANDMARKS
from myoflow.tables import LANDMARK_ERROR_COLUMNS


def _regions() -> tuple[list[tuple[str, int]], np.ndarray]:
    """The scored regions and their averaging weights ``[R, 168]`` (each row sums to 1)."""
    grid = np.arange(N_LANDMARKS).reshape(LANDMARK_LINES, LANDMARK_POINTS)  # [line, point]
    members = [np.arange(N_LANDMARKS)]
    members += [grid[:, point] for point in range(LANDMARK_POINTS)]
    members += [grid[line] for line in range(LANDMARK_LINES)]
    names = [("slice", 0)]
    names += [("ring", point) for point in range(LANDMARK_POINTS)]
    names += [("line", line) for line in range(LANDMARK_LINES)]
    weights = np.zeros((len(members), N_LANDMARKS))
    for row, indices in enumerate(members):
        weights[row, indices] = 1.0 / len(indices)
    return names, weights


#: The scored regions, in row order: ``("slice", 0)``, rings 0..6, lines 0..23.
REGIONS, _WEIGHTS = _regions()


def _frame_means(
    pred_mm: ArrayLike, ref_mm: ArrayLike, valid_frames: ArrayLike | None
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The valid frames' indices and, per frame x region ``[F, R]``, the means of dx^2, dy^2
    and d over the region's landmarks, after checking shapes and finiteness."""
    pred = np.asarray(pred_mm, dtype=np.float64)
    ref = np.asarray(ref_mm, dtype=np.float64)
    if ref.ndim != 3 or ref.shape[1:] != (2, N_LANDMARKS) or ref.shape[0] < 1:
        raise ValueError(f"reference landmarks must be [T, 2, {N_LANDMARKS}], got {ref.shape}")
    if pred.shape != ref.shape:
        raise ValueError(
            f"predicted landmarks have shape {pred.shape} but the reference {ref.shape}"
        )
    n_frames = ref.shape[0]
    valid = np.ones(n_frames, bool) if valid_frames is None else np.asarray(valid_frames)
    if valid.shape != (n_frames,) or valid.dtype != bool:
        raise ValueError(
            f"valid_frames must be a bool array of shape ({n_frames},), "
            f"got {valid.dtype} of shape {valid.shape}"
        )
    frames = np.flatnonzero(valid)
    if frames.size == 0:
        raise ValueError("no valid frame: nothing to score")
    err = pred[frames] - ref[frames]  # [F, 2, 168]
    if not np.all(np.isfinite(err)):
        bad = frames[~np.isfinite(err).all(axis=(1, 2))].tolist()
        raise ValueError(f"landmarks are not finite in valid frame(s) {bad}")
    means = {
        "dx2": err[:, 0] ** 2 @ _WEIGHTS.T,
        "dy2": err[:, 1] ** 2 @ _WEIGHTS.T,
        "d": np.hypot(err[:, 0], err[:, 1]) @ _WEIGHTS.T,
    }
    return frames, means


def _table(means: dict[str, np.ndarray]) -> pd.DataFrame:
    """Rows of :data:`LANDMARK_ERROR_COLUMNS` from region means ``[..., R]``, frame-major."""
    dx2, dy2, d = means["dx2"], means["dy2"], means["d"]
    n_rows = d.size
    repeats = n_rows // len(REGIONS)
    return pd.DataFrame(
        {
            "region": [name for name, _ in REGIONS] * repeats,
            "region_index": [index for _, index in REGIONS] * repeats,
            "rmse_mm": np.sqrt(dx2 + dy2).ravel(),
            "rmse_x_mm": np.sqrt(dx2).ravel(),
            "rmse_y_mm": np.sqrt(dy2).ravel(),
            "mean_distance_mm": d.ravel(),
        },
        columns=LANDMARK_ERROR_COLUMNS,
    )


def frame_errors(
    pred_mm: ArrayLike, ref_mm: ArrayLike, valid_frames: ArrayLike | None = None
) -> pd.DataFrame:
    """Position error of each valid frame, for the slice, each ring and each radial line.

    ``pred_mm`` and ``ref_mm`` are ``[T, 2, 168]`` landmarks in mm (channel 0 = x, index =
    line x 7 + point); ``valid_frames`` is a bool ``[T]`` (default: every frame). One row per
    valid frame x region (slice, rings 0..6, lines 0..23), columns ``frame`` and
    :data:`myoflow.tables.LANDMARK_ERROR_COLUMNS`.

    Raises:
        ValueError: shapes disagree or are not ``[T, 2, 168]``, ``valid_frames`` is not a bool
            ``[T]`` or selects no frame, or a valid frame holds a non-finite value.
    """
    frames, means = _frame_means(pred_mm, ref_mm, valid_frames)
    table = _table(means)
    table.insert(0, "frame", np.repeat(frames, len(REGIONS)))
    return table


def pooled_errors(
    pred_mm: ArrayLike, ref_mm: ArrayLike, valid_frames: ArrayLike | None = None
) -> pd.DataFrame:
    """Position error over all valid frames together, for the slice, each ring and each line.

    Same inputs and errors as :func:`frame_errors`. The RMSE is over every landmark of the
    region in every valid frame (not a mean of per-frame RMSEs). One row per region, columns
    ``n_frames`` and :data:`myoflow.tables.LANDMARK_ERROR_COLUMNS`.
    """
    frames, means = _frame_means(pred_mm, ref_mm, valid_frames)
    table = _table({key: value.mean(axis=0) for key, value in means.items()})
    table.insert(0, "n_frames", frames.size)
    return table


#: The landmark points of each radial line that mid-wall strain reads: endocardium, mid-wall
#: (the middle point) and epicardium.
ENDO_POINT, MIDWALL_POINT, EPI_POINT = 0, LANDMARK_POINTS // 2, LANDMARK_POINTS - 1


def midwall_strain(landmarks_mm: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Engineering mid-wall Ecc and Err ``[T]`` of every frame against frame 0 (ED).

    ``landmarks_mm`` is ``[T, 2, 168]`` (index = line x 7 + point). With ``m_l(t)`` the mid-wall
    point (point 3) of line ``l`` and ``d_l(t)`` the distance from its endocardial point (0) to
    its epicardial point (6) in frame ``t``:

    * ``Ecc(t) = P(t) / P(0) - 1``, ``P`` the perimeter of the closed polygon ``m_0 .. m_23``:
      the change of length of the mid-wall circumference;
    * ``Err(t) = mean_l d_l(t) / mean_l d_l(0) - 1``: the change of the mean wall thickness
      measured along the lines (a ratio of means, so a line whose ED thickness is small does not
      weigh more than the others).

    Scale-free (mm or pixels alike when the pixels are square). Raises ``ValueError`` for
    another layout, a non-finite landmark or a degenerate ED (zero perimeter or thickness).
    """
    marks = np.asarray(landmarks_mm, dtype=np.float64)
    if marks.ndim != 3 or marks.shape[1:] != (2, N_LANDMARKS) or marks.shape[0] < 1:
        raise ValueError(f"landmarks must be [T, 2, {N_LANDMARKS}], got {marks.shape}")
    if not np.all(np.isfinite(marks)):
        raise ValueError("landmarks hold NaN or Inf values")
    grid = marks.reshape(marks.shape[0], 2, LANDMARK_LINES, LANDMARK_POINTS)  # [T, 2, line, pt]
    mid = grid[..., MIDWALL_POINT]  # [T, 2, line]
    sides = mid - np.roll(mid, 1, axis=-1)  # closed polygon: line 23 back to line 0
    perimeter = np.hypot(sides[:, 0], sides[:, 1]).sum(axis=-1)
    across = grid[..., EPI_POINT] - grid[..., ENDO_POINT]
    thickness = np.hypot(across[:, 0], across[:, 1]).mean(axis=-1)
    if perimeter[0] <= 0.0 or thickness[0] <= 0.0:
        raise ValueError("the ED landmarks have no mid-wall perimeter or no wall thickness")
    return perimeter / perimeter[0] - 1.0, thickness / thickness[0] - 1.0
