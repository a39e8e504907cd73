"""Shards of 3-D samples (the ``stack3d`` profile): one volume per (subject, frame), read by number.

Paper 002's networks take a whole stack per frame, so this shard holds flat arrays whose first
axis is the sample, like ``myoflow.io.frames`` for 2-D frames, plus per subject the data that
maps a volume back onto the acquired slices (``StackGrid``). Layout of ``shard-NNN.h5`` for
``N`` samples of ``D`` planes of ``S`` x ``S`` pixels::

    attrs: myoflow_format, layout = "stack3d", depth = D, size = S
    image               [N, D, S, S] float32  the stack at one frame, in [0, 1]
    mask                [N, D, S, S] uint8    myocardium (1); zeros where has_mask = 0
    has_mask            [N] uint8             whether the sample's mask is known
    subject             [N] str
    frame               [N] int32             frame index (0 = end-diastole)
    time_ms             [N] float64           the frame's time, mean over the slices
    is_ed, is_es        [N] uint8
    subjects/<subject>  attrs meta            JSON: cohort, group, series, slice ids and positions
                                              (mm), and the grid (planes of the acquired slices,
                                              window origin, spacing, factor, source shape)

A subject's samples are consecutive and in frame order; a mask known at end-diastole alone marks
frame 0 only. Chunked one volume per chunk, byte-shuffle + LZF; written atomically.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import h5py
import numpy as np
import pandas as pd

from myoflow.io.atomic import atomic_path
from myoflow.io.shards import SampleShard

LAYOUT = "stack3d"
_FORMAT_VERSION = 1
_COLUMNS: dict[str, Any] = {
    "has_mask": np.uint8,
    "subject": h5py.string_dtype(),
    "frame": np.int32,
    "time_ms": np.float64,
    "is_ed": np.uint8,
    "is_es": np.uint8,
}


@dataclass(frozen=True)
class StackGrid:
    """Where a subject's acquired slices sit in its volumes: ``planes[k]`` is the plane of
    acquired slice k, ``origin`` the (row, column) of the window's first pixel in the acquired
    image (negative: zero padding), ``spacing_mm`` the (plane, row, column) spacing."""

    planes: tuple[int, ...]
    origin: tuple[int, int]
    spacing_mm: tuple[float, float, float]
    factor: int
    source_shape: tuple[int, int]


@dataclass(frozen=True)
class SubjectVolumes:
    """One subject's volumes: ``images [T, D, S, S]``, ``masks [T or 1, D, S, S]`` or None."""

    cohort: str
    subject: str
    group: str
    series: str
    images: np.ndarray
    masks: np.ndarray | None
    grid: StackGrid
    slice_ids: tuple[str, ...]
    slice_positions_mm: tuple[float, ...]
    frame_times_ms: np.ndarray
    es_frame: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def meta(self) -> dict[str, Any]:
        """JSON-serialisable metadata of the subject (everything but the arrays)."""
        return {
            "cohort": self.cohort,
            "subject": self.subject,
            "group": self.group,
            "series": self.series,
            "slice_ids": list(self.slice_ids),
            "slice_positions_mm": list(self.slice_positions_mm),
            "es_frame": self.es_frame,
            "grid": asdict(self.grid),
            "extra": self.extra,
        }


def _grid(meta: dict[str, Any]) -> StackGrid:
    g = meta["grid"]
    return StackGrid(
        planes=tuple(int(p) for p in g["planes"]),
        origin=(int(g["origin"][0]), int(g["origin"][1])),
        spacing_mm=tuple(float(s) for s in g["spacing_mm"]),  # type: ignore[arg-type]
        factor=int(g["factor"]),
        source_shape=(int(g["source_shape"][0]), int(g["source_shape"][1])),
    )


def _rows(vol: SubjectVolumes) -> dict[str, np.ndarray]:
    t = vol.images.shape[0]
    frames = np.arange(t)
    mask = np.zeros(vol.images.shape, np.uint8)
    has_mask = np.zeros(t, np.uint8)
    if vol.masks is not None:
        known = frames if vol.masks.shape[0] == t else np.array([0])
        mask[known] = vol.masks
        has_mask[known] = 1
    return {
        "image": vol.images.astype(np.float32, copy=False),
        "mask": mask,
        "has_mask": has_mask,
        "subject": np.array([vol.subject] * t, dtype=object),
        "frame": frames.astype(np.int32),
        "time_ms": np.asarray(vol.frame_times_ms, np.float64),
        "is_ed": (frames == 0).astype(np.uint8),
        "is_es": (frames == (-1 if vol.es_frame is None else vol.es_frame)).astype(np.uint8),
    }


def write_volumes(
    path: str | os.PathLike[str], volumes: Iterable[SubjectVolumes], depth: int, size: int
) -> list[str]:
    """Write each subject's volumes (all ``depth`` x ``size`` x ``size``); return the subjects."""
    subjects: list[str] = []
    shape = (depth, size, size)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        h5.attrs.update(myoflow_format=_FORMAT_VERSION, layout=LAYOUT, depth=depth, size=size)
        for name, dtype in (("image", np.float32), ("mask", np.uint8)):
            h5.create_dataset(
                name,
                shape=(0, *shape),
                maxshape=(None, *shape),
                chunks=(1, *shape),
                dtype=dtype,
                shuffle=True,
                compression="lzf",
            )
        for name, dtype in _COLUMNS.items():
            h5.create_dataset(name, shape=(0,), maxshape=(None,), dtype=dtype, chunks=True)
        group = h5.create_group("subjects")
        for vol in volumes:
            if vol.images.shape[1:] != shape:
                raise ValueError(
                    f"{vol.subject}: {vol.images.shape[1:]} is not the shard's {shape}"
                )
            n = h5["frame"].shape[0]
            for name, rows in _rows(vol).items():
                h5[name].resize(n + len(rows), axis=0)
                h5[name][n:] = rows
            group.create_group(vol.subject).attrs["meta"] = json.dumps(vol.meta())
            subjects.append(vol.subject)
    return subjects


class VolumeShard(SampleShard):
    """Read access to a ``stack3d`` shard: ``len``, ``sample(i)``, the table, whole subjects."""

    LAYOUT = LAYOUT

    @property
    def depth(self) -> int:
        return int(self._h5.attrs["depth"])

    @property
    def size(self) -> int:
        return int(self._h5.attrs["size"])

    def sample(self, i: int) -> dict[str, np.ndarray]:
        """Sample ``i``: its ``image`` ``[D, S, S]`` float32 and ``mask`` uint8."""
        return {"image": self._h5["image"][i], "mask": self._h5["mask"][i]}

    def table(self) -> pd.DataFrame:
        """One row per sample: subject, frame, time, ED/ES, whether the mask is known."""
        columns = {name: self._h5[name][()] for name in _COLUMNS if name != "subject"}
        columns["subject"] = self._h5["subject"].asstr()[()]
        return pd.DataFrame(columns)

    def subject_names(self) -> list[str]:
        """The subjects of the shard, in order."""
        return list(dict.fromkeys(self._h5["subject"].asstr()[()]))

    def meta(self, subject: str) -> dict[str, Any]:
        return json.loads(self._h5["subjects"][subject].attrs["meta"])

    def subjects(self, names: Iterable[str] | None = None) -> Iterator[SubjectVolumes]:
        """The subjects ``names`` (default: all, in order) with their volumes."""
        table = self.table()
        for name in self.subject_names() if names is None else names:
            rows = np.flatnonzero(table["subject"].to_numpy() == name)
            start, stop = int(rows[0]), int(rows[-1]) + 1
            known = table["has_mask"].to_numpy()[start:stop].astype(bool)
            masks = None
            if known.all():
                masks = self._h5["mask"][start:stop]
            elif known.any():
                masks = self._h5["mask"][start : start + 1]
            meta = self.meta(name)
            yield SubjectVolumes(
                cohort=meta["cohort"],
                subject=name,
                group=meta["group"],
                series=meta["series"],
                images=self._h5["image"][start:stop],
                masks=masks,
                grid=_grid(meta),
                slice_ids=tuple(meta["slice_ids"]),
                slice_positions_mm=tuple(meta["slice_positions_mm"]),
                frame_times_ms=table["time_ms"].to_numpy()[start:stop],
                es_frame=meta["es_frame"],
                extra=meta["extra"],
            )
