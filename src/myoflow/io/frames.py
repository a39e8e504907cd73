"""Shards of 2-D samples (the ``frames2d`` profile): one sample per (slice, frame), read by number.

A 2-D network trains on frames, not slices, so this shard holds flat arrays whose first axis is
the sample: a data loader opens the file once, takes ``len`` samples, and reads sample ``i`` of
each array (one chunk each), without walking one HDF5 group per slice. Layout of
``shard-NNN.h5`` for ``N`` samples of ``S`` x ``S`` pixels::

    attrs: myoflow_format, layout = "frames2d", size = S
    cine, tagged        [N, S, S] float32   the frame, scaled to [0, 1]; zeros where has_<series> = 0
    mask                [N, S, S] uint8     myocardium (1); zeros where has_mask = 0
    displacement        [N, 2, S, S] float32
                                            x then y (mm), Lagrangian from the slice's first
                                            frame; zeros where has_displacement = 0
    has_cine, has_tagged, has_mask, has_displacement
                        [N] uint8           whether the sample has that series / a known mask /
                                            a known displacement
    subject, slice_id   [N] str             the slice the sample comes from
    frame               [N] int32           frame index in the slice's series (0 = end-diastole)
    time_ms             [N] float64         frame time
    is_ed, is_es        [N] uint8           end-diastole / end-systole frame of its slice
    spacing_mm          [N, 2] float64      (row, column) spacing of the sample's grid
    records/<subject>/<slice_id>            attrs meta: the slice's metadata as in record shards
                                            (``myoflow.io.shards``), with the resampling in
                                            its covariates

A slice's samples are consecutive and in frame order. A mask known only at end-diastole
(``[1, H, W]``) gives ``has_mask = 1`` on frame 0 alone. The arrays grow as records stream in,
chunked one sample per chunk with byte-shuffle + LZF like the record shards (the zeros of a
missing series cost next to nothing), so memory stays at one record. The file is written
atomically.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from typing import Any

import h5py
import numpy as np
import pandas as pd

from myoflow.io.atomic import atomic_path
from myoflow.io.shards import SampleShard, record_from_meta, record_meta
from myoflow.record import SliceRecord

LAYOUT = "frames2d"
_FORMAT_VERSION = 1
_IMAGES = {"cine": np.float32, "tagged": np.float32, "mask": np.uint8}
_COLUMNS: dict[str, Any] = {
    "has_cine": np.uint8,
    "has_tagged": np.uint8,
    "has_mask": np.uint8,
    "has_displacement": np.uint8,
    "subject": h5py.string_dtype(),
    "slice_id": h5py.string_dtype(),
    "frame": np.int32,
    "time_ms": np.float64,
    "is_ed": np.uint8,
    "is_es": np.uint8,
}


def _samples(rec: SliceRecord, size: int) -> dict[str, np.ndarray]:
    """The rows a record adds, keyed like the datasets."""
    t = rec.n_frames
    frames = np.arange(t)
    out: dict[str, np.ndarray] = {}
    for kind in ("cine", "tagged"):
        series = getattr(rec, kind)
        out[f"has_{kind}"] = np.full(t, series is not None, np.uint8)
        out[kind] = np.zeros((t, size, size), np.float32) if series is None else series
    mask = np.zeros((t, size, size), np.uint8)
    has_mask = np.zeros(t, np.uint8)
    if rec.mask is not None:
        known = frames if rec.mask.shape[0] == t else np.array([rec.ed_frame])
        mask[known] = rec.mask
        has_mask[known] = 1
    out.update(mask=mask, has_mask=has_mask, frame=frames)
    known = rec.displacement is not None
    out["has_displacement"] = np.full(t, known, np.uint8)
    out["displacement"] = rec.displacement if known else np.zeros((t, 2, size, size), np.float32)
    out.update(subject=np.array([rec.subject] * t, dtype=object))
    out.update(slice_id=np.array([rec.slice_id] * t, dtype=object))
    out.update(time_ms=np.asarray(rec.frame_times_ms, np.float64))
    out.update(is_ed=(frames == rec.ed_frame).astype(np.uint8))
    out.update(is_es=(frames == (-1 if rec.es_frame is None else rec.es_frame)).astype(np.uint8))
    out.update(spacing_mm=np.tile(np.asarray(rec.pixel_spacing_mm, np.float64), (t, 1)))
    return out


def write_frames(
    path: str | os.PathLike[str], records: Iterable[SliceRecord], size: int
) -> list[str]:
    """Write the frames of ``records`` (all on a ``size`` x ``size`` grid) as 2-D samples;
    return the records' keys in order."""
    keys: list[str] = []
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        h5.attrs.update(myoflow_format=_FORMAT_VERSION, layout=LAYOUT, size=size)
        for name, dtype in _IMAGES.items():
            h5.create_dataset(
                name,
                shape=(0, size, size),
                maxshape=(None, size, size),
                chunks=(1, size, size),
                dtype=dtype,
                shuffle=True,
                compression="lzf",
            )
        h5.create_dataset(
            "displacement",
            shape=(0, 2, size, size),
            maxshape=(None, 2, size, size),
            chunks=(1, 2, size, size),
            dtype=np.float32,
            shuffle=True,
            compression="lzf",
        )
        for name, dtype in _COLUMNS.items():
            h5.create_dataset(name, shape=(0,), maxshape=(None,), dtype=dtype, chunks=True)
        h5.create_dataset("spacing_mm", shape=(0, 2), maxshape=(None, 2), dtype=np.float64)
        records_group = h5.create_group("records")
        for rec in records:
            if rec.image_shape != (size, size):
                raise ValueError(f"{rec.key}: {rec.image_shape} is not the shard's {size}x{size}")
            n = h5["frame"].shape[0]
            for name, rows in _samples(rec, size).items():
                h5[name].resize(n + len(rows), axis=0)
                h5[name][n:] = rows
            group = records_group.require_group(rec.subject).create_group(rec.slice_id)
            group.attrs["meta"] = json.dumps(record_meta(rec))
            keys.append(rec.key)
    return keys


class FrameShard(SampleShard):
    """Read access to a ``frames2d`` shard: ``len``, ``sample(i)``, the sample table, metadata.

    Open once per worker and keep it open (``with FrameShard(path) as shard: ...``); a torch
    ``Dataset`` wraps ``len`` and ``sample``.
    """

    LAYOUT = LAYOUT

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(path)
        self._table: tuple[pd.DataFrame, dict[str, tuple[int, int]]] | None = None

    @property
    def size(self) -> int:
        return int(self._h5.attrs["size"])

    def sample(self, i: int) -> dict[str, np.ndarray]:
        """Sample ``i``: its ``cine``, ``tagged`` (``[S, S]`` float32) and ``mask`` (uint8), and
        its ``displacement`` (``[2, S, S]`` mm) when known."""
        out = {name: self._h5[name][i] for name in _IMAGES}
        if self._has("has_displacement", i):
            out["displacement"] = self._h5["displacement"][i]
        return out

    def _has(self, column: str, i: int) -> bool:
        """Sample ``i``'s flag ``column``; False in a shard written before the column existed."""
        return column in self._h5 and bool(self._h5[column][i])

    def table(self) -> pd.DataFrame:
        """One row per sample: its slice, frame, time, ED/ES, which series it has, spacing."""
        n = len(self)
        columns = {
            name: self._h5[name][()] if name in self._h5 else np.zeros(n, dtype)
            for name, dtype in _COLUMNS.items()
        }
        for name in ("subject", "slice_id"):
            columns[name] = self._h5[name].asstr()[()]
        spacing = self._h5["spacing_mm"][()]
        columns.update(spacing_row_mm=spacing[:, 0], spacing_col_mm=spacing[:, 1])
        return pd.DataFrame(columns)

    def meta(self, key: str) -> dict[str, Any]:
        """The metadata (``myoflow.io.shards`` meta) of the slice ``subject/slice_id``."""
        return json.loads(self._h5["records"][key].attrs["meta"])

    def _slices(self) -> tuple[pd.DataFrame, dict[str, tuple[int, int]]]:
        """The sample table and each slice's sample range, read once per open shard."""
        if self._table is None:
            table = self.table()
            keys = (table["subject"] + "/" + table["slice_id"]).to_numpy()
            # a slice starts where the key changes; an empty shard has none
            starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])[: len(keys)]
            stops = np.r_[starts[1:], len(keys)][: len(starts)]
            ranges = {keys[a]: (int(a), int(b)) for a, b in zip(starts, stops, strict=True)}
            self._table = (table, ranges)
        return self._table

    def slice_keys(self) -> list[str]:
        """The slices ``subject/slice_id`` of the shard, in order."""
        return list(self._slices()[1])

    def records(self, keys: Iterable[str] | None = None) -> Iterator[SliceRecord]:
        """The slices ``keys`` (default: all, in order) rebuilt as records from their samples:
        a series or mask none of whose samples has it is None, a mask known at end-diastole
        alone is ``[1, H, W]`` as in the record written. Why: a prediction is
        written as a ``frames2d`` shard of the same slices (``write_frames``), and an evaluation
        compares two such shards slice by slice."""
        table, rows = self._slices()
        for key in rows if keys is None else keys:
            start, stop = rows[key]
            meta = self.meta(key)
            arrays = {
                name: self._h5[name][start:stop]
                for name in ("cine", "tagged")
                if table[f"has_{name}"].iloc[start:stop].any()
            }
            known = table["has_mask"].to_numpy()[start:stop].astype(bool)
            if known.all():
                arrays["mask"] = self._h5["mask"][start:stop]
            elif known.any():  # known at end-diastole alone: ``[1, H, W]`` as it was written
                ed = start + int(meta["ed_frame"])
                arrays["mask"] = self._h5["mask"][ed : ed + 1]
            if table["has_displacement"].iloc[start:stop].any():
                arrays["displacement"] = self._h5["displacement"][start:stop]
            times = table["time_ms"].to_numpy()[start:stop]
            yield record_from_meta(meta, times, **arrays)
