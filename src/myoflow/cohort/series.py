"""What every reader returns, and the checks all readers share.

Readers differ in file format only; they all hand back an array already in the canonical layout of
``myoflow.record`` plus whatever geometry and timing the file itself states. Keeping "what the file
says" (``None`` when it says nothing) apart from the manifest's overrides lets ingest decide
precedence in one place and tell the user which source a value came from.

Readers raise ``InputError`` naming only the path the user gave; the cohort, subject and slice are
filled in by ingest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from myoflow.errors import InputError
from myoflow.record import N_LANDMARKS

ArrayKind = Literal["image", "displacement", "landmarks"]


@dataclass
class Series:
    """One file's content in canonical layout.

    ``data`` is ``[T, H, W]`` for images and masks, ``[T, 2, H, W]`` (mm) for displacement and
    ``[T, 2, 168]`` (mm) for landmarks. Spacing is ``(row, col)`` in mm. ``metadata`` holds
    non-identifying acquisition numbers worth keeping as covariates, ``notes`` assumptions the
    reader had to make (they become record flags), ``skipped`` the files it passed over as
    ``(file, reason)`` (they become flagged QC rows naming the file).
    """

    data: np.ndarray
    spacing_mm: tuple[float, float] | None = None
    frame_times_ms: np.ndarray | None = None
    slice_location_mm: float | None = None
    metadata: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def n_frames(self) -> int:
        return int(self.data.shape[0])


def unreadable(fmt: str, path: str | Path, error: BaseException) -> InputError:
    """The error for a file its library cannot parse, with the library's reason in plain words."""
    return InputError(
        f"not a readable {fmt} file (truncated or corrupt): {type(error).__name__}: {error}",
        file=str(path),
    )


def check_canonical(data: np.ndarray, kind: ArrayKind, path: str | Path) -> np.ndarray:
    """Return ``data`` (booleans as 0/1) if it has the canonical shape of ``kind`` and only finite
    values; raise otherwise."""
    if data.dtype == bool:
        data = data.astype(np.uint8)
    if kind == "image":
        ok, expected = data.ndim == 3, "[T, H, W]"
    elif kind == "displacement":
        ok, expected = data.ndim == 4 and data.shape[1] == 2, "[T, 2, H, W]"
    else:
        ok = data.ndim == 3 and data.shape[1:] == (2, N_LANDMARKS)
        expected = f"[T, 2, {N_LANDMARKS}]"
    if not ok:
        raise InputError(
            f"wrong dimensions: expected {kind} {expected}, got {data.shape}", file=str(path)
        )
    if min(data.shape) == 0:
        raise InputError(f"the {kind} array is empty (shape {data.shape})", file=str(path))
    if not np.issubdtype(data.dtype, np.number) or np.issubdtype(data.dtype, np.complexfloating):
        raise InputError(
            f"the {kind} array holds {data.dtype} values, not real numbers", file=str(path)
        )
    finite = np.isfinite(data)
    if not finite.all():
        bad = np.argwhere(~finite)[0]
        raise InputError(
            f"the {kind} contains {int((~finite).sum())} NaN or Inf value(s), the first at index "
            f"{tuple(int(i) for i in bad)}",
            file=str(path),
        )
    return data


def spacing_pair(values: Any, path: str | Path, what: str = "pixel spacing") -> tuple[float, float]:
    """``(row, col)`` mm from one number (square pixels) or two; raise unless positive and finite."""
    arr = np.asarray(values, dtype=float).ravel()
    if arr.size == 1:
        arr = np.repeat(arr, 2)
    if arr.size != 2 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise InputError(
            f"{what} must be one or two positive numbers, got {values!r}", file=str(path)
        )
    return float(arr[0]), float(arr[1])
