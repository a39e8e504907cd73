"""HDF5 record shards: the file format between the cohort, preprocessing and later stages.

Layout of ``shard-NNN.h5``::

    /<subject>/<slice_id>/            one group per SliceRecord
        cine, tagged, mask,           datasets, present only when the record has them
        displacement, landmarks,
        rv_insertion_mm, frame_times_ms, extras/<name>
        attrs: meta (JSON: cohort, subject, slice_id, position, group, spacing, frames, flags,
               covariates, source_files)

Arrays are stored chunked per frame with byte-shuffle + LZF compression: measured on preprocessed
records, it writes about twice as fast as gzip level 1 for the same size (noisy float32 images
hardly compress; masks and smooth truth maps do), and LZF ships with h5py on every platform. A
shard is written atomically, so a reader never sees a partial shard. Beside each shard, the stage
that wrote it lists its records in ``index-NNN.tsv`` (``INDEX_COLUMNS``, one row per record).
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Iterable, Iterator
from typing import Any, Self

import h5py
import numpy as np

from myoflow.io.atomic import atomic_path
from myoflow.record import SliceRecord

_ARRAYS = ("cine", "tagged", "mask", "displacement", "landmarks", "rv_insertion_mm")


_FORMAT_VERSION = 1
#: Columns of a shard's index table (``index-NNN.tsv``): one row per record, beside every shard
#: of canonical records and of each preprocessing profile.
INDEX_COLUMNS = [
    "cohort",
    "subject",
    "slice_id",
    "position",
    "group",
    "n_frames",
    "original_frames",
    "spacing_row_mm",
    "spacing_col_mm",
    "flags",
    "shard",
]


def record_meta(rec: SliceRecord) -> dict[str, Any]:
    """A record's metadata: everything but its arrays, JSON-serialisable (the ``meta`` attr)."""
    return {
        "cohort": rec.cohort,
        "subject": rec.subject,
        "slice_id": rec.slice_id,
        "position": rec.position,
        "group": rec.group,
        "pixel_spacing_mm": [float(v) for v in rec.pixel_spacing_mm],
        "original_frames": int(rec.original_frames),
        "ed_frame": int(rec.ed_frame),
        "es_frame": None if rec.es_frame is None else int(rec.es_frame),
        "slice_location_mm": rec.slice_location_mm,
        "covariates": rec.covariates,
        "flags": list(rec.flags),
        "source_files": rec.source_files,
    }


def index_row(rec: SliceRecord, shard: str) -> dict[str, Any]:
    """The index row (``INDEX_COLUMNS``) of a record written to the shard file named ``shard``."""
    return {
        "cohort": rec.cohort,
        "subject": rec.subject,
        "slice_id": rec.slice_id,
        "position": rec.position,
        "group": rec.group,
        "n_frames": rec.n_frames,
        "original_frames": rec.original_frames,
        "spacing_row_mm": rec.pixel_spacing_mm[0],
        "spacing_col_mm": rec.pixel_spacing_mm[1],
        "flags": ";".join(rec.flags),
        "shard": shard,
    }


def _write_array(group: h5py.Group, name: str, arr: np.ndarray) -> None:
    arr = np.ascontiguousarray(arr)
    if arr.ndim >= 3 and arr.size > 4096:
        chunks = (1,) + arr.shape[1:]
        group.create_dataset(name, data=arr, chunks=chunks, shuffle=True, compression="lzf")
    else:
        group.create_dataset(name, data=arr)


def write_shard(path: str | os.PathLike[str], records: Iterable[SliceRecord]) -> list[str]:
    """Write records to one shard atomically; return their keys in order."""
    keys: list[str] = []
    with atomic_path(path) as tmp, h5py.File(tmp, "w", track_order=True) as h5:
        h5.attrs["myoflow_format"] = _FORMAT_VERSION
        for rec in records:
            if rec.key in h5:
                raise ValueError(f"duplicate record {rec.key} in shard {path}")
            if rec.subject not in h5:
                h5.create_group(rec.subject, track_order=True)
            g = h5[rec.subject].create_group(rec.slice_id)
            g.attrs["meta"] = json.dumps(record_meta(rec))
            g.create_dataset("frame_times_ms", data=np.asarray(rec.frame_times_ms, float))
            for name in _ARRAYS:
                value = getattr(rec, name)
                if value is not None:
                    _write_array(g, name, np.asarray(value))
            if rec.extras:
                ex = g.create_group("extras")
                for name, value in rec.extras.items():
                    _write_array(ex, name, np.asarray(value))
            keys.append(rec.key)
    return keys


def record_from_meta(
    meta: dict[str, Any], frame_times_ms: np.ndarray, **arrays: Any
) -> SliceRecord:
    """The record whose metadata ``record_meta`` wrote, with its frame times and ``arrays``
    (images, mask, motion, ``extras``): the one inverse of ``record_meta`` for every shard
    layout (record shards here, ``frames2d`` shards in ``myoflow.io.frames``)."""
    return SliceRecord(
        cohort=meta["cohort"],
        subject=meta["subject"],
        slice_id=meta["slice_id"],
        position=meta["position"],
        group=meta["group"],
        pixel_spacing_mm=tuple(meta["pixel_spacing_mm"]),
        frame_times_ms=frame_times_ms,
        original_frames=meta["original_frames"],
        ed_frame=meta["ed_frame"],
        es_frame=meta["es_frame"],
        slice_location_mm=meta["slice_location_mm"],
        covariates=meta["covariates"],
        flags=meta["flags"],
        source_files=meta["source_files"],
        **arrays,
    )


def _read_group(g: h5py.Group, only: Collection[str] | None = None) -> SliceRecord:
    meta = json.loads(g.attrs["meta"])
    wanted = None if only is None else set(only)

    def read(name: str) -> bool:
        return wanted is None or name in wanted

    arrays = {name: g[name][()] for name in _ARRAYS if name in g and read(name)}
    extras = {}
    if "extras" in g:
        extras = {name: ds[()] for name, ds in g["extras"].items() if read(name)}
    return record_from_meta(meta, g["frame_times_ms"][()], extras=extras, **arrays)


def open_shard(path: str | os.PathLike[str]) -> h5py.File:
    """Open a shard for reading; a missing, truncated or foreign file is an error naming it."""
    try:
        return h5py.File(path, "r")
    except OSError as error:
        raise OSError(f"{os.fspath(path)}: cannot read the record shard ({error})") from error


class SampleShard:
    """An open shard of flat samples of one ``layout`` (``myoflow.io.frames``,
    ``myoflow.io.volumes``): opened once per worker and kept open (``with ... as shard:``), its
    length the first axis of every array. A file of another layout is refused by name."""

    LAYOUT: str

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._h5 = open_shard(path)
        if self._h5.attrs.get("layout") != self.LAYOUT:
            self._h5.close()
            raise ValueError(f"{self.path}: not a {self.LAYOUT} shard")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._h5.close()

    def __len__(self) -> int:
        return int(self._h5["frame"].shape[0])


def shard_keys(path: str | os.PathLike[str]) -> list[str]:
    """Keys (``subject/slice_id``) of the records in a shard, in file order."""
    with open_shard(path) as h5:
        return [f"{s}/{sl}" for s in h5 for sl in h5[s]]


def read_shard(
    path: str | os.PathLike[str], only: Collection[str] | None = None
) -> Iterator[SliceRecord]:
    """Yield the records of a shard one at a time (memory stays at one record); ``only`` as
    for ``read_record``."""
    with open_shard(path) as h5:
        for subject in h5:
            for slice_id in h5[subject]:
                yield _read_group(h5[subject][slice_id], only)


def read_subjects(path: str | os.PathLike[str]) -> Iterator[list[SliceRecord]]:
    """Yield the records of a shard one subject at a time (a subject's slices are one HDF5 group,
    and the shard plan never splits a subject, so this is the whole subject)."""
    with open_shard(path) as h5:
        for subject in h5:
            yield [_read_group(g) for g in h5[subject].values()]


def read_record(
    path: str | os.PathLike[str], key: str, only: Collection[str] | None = None
) -> SliceRecord:
    """Read one record by key; ``only``: the arrays and extras to read (the others are ``None``
    or absent in the record; None reads all). A preprocessed record also holds the cine, the
    true displacement and strain maps, several times the bytes of what a tagged-image network
    reads per sample, so training reads only what it uses."""
    with open_shard(path) as h5:
        return _read_group(h5[key], only)


def read_frame(path: str | os.PathLike[str], key: str, name: str, frame: int) -> np.ndarray:
    """Frame ``frame`` of array ``name`` of record ``key``: arrays are chunked per frame, so this
    reads and decompresses that frame alone (a localisation network reads one frame of twenty)."""
    with open_shard(path) as h5:
        data: np.ndarray = h5[key][name][frame]
        return data


def read_displacements(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """``subject/slice_id -> displacement [T, 2, H, W] mm`` of a prediction or tracking shard
    (records without images whose displacement is the predicted or tracked motion)."""
    out = {}
    for rec in read_shard(path):
        if rec.displacement is None:
            raise ValueError(f"{path}: record {rec.key} holds no displacement")
        out[rec.key] = rec.displacement
    return out
