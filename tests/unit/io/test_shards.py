"""HDF5 shards: records round-trip exactly, and a failed write leaves nothing that looks complete."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from myoflow.io.shards import read_frame, read_record, read_shard, shard_keys, write_shard
from myoflow.record import SliceRecord


def _record(subject: str, slice_id: str, seed: int) -> SliceRecord:
    rng = np.random.default_rng(seed)
    t, h, w = 5, 12, 10
    mask = np.zeros((t, h, w), np.uint8)
    mask[:, 3:8, 2:7] = 1
    return SliceRecord(
        cohort="c",
        subject=subject,
        slice_id=slice_id,
        position="mid",
        group="sham",
        pixel_spacing_mm=(0.2, 0.25),
        frame_times_ms=np.arange(t) * 8.0,
        original_frames=t,
        cine=rng.random((t, h, w), dtype=np.float32),
        mask=mask,
        displacement=rng.normal(size=(t, 2, h, w)),
        landmarks=rng.normal(size=(t, 2, 168)),
        rv_insertion_mm=np.array([[1.0, 2.0], [3.0, 4.0]]),
        es_frame=2,
        covariates={"age": 12, "note": "x"},
        flags=["temporal_resampled:30->20"],
        source_files={"cine": "/data/s1/cine.nii.gz"},
        extras={"aha_segments": np.ones((h, w), np.int16)},
    )


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    records = [_record("s1", "mid", 0), _record("s1", "basal", 1), _record("s0", "mid", 2)]
    path = tmp_path / "shard-000.h5"
    assert write_shard(path, records) == [r.key for r in records]
    assert shard_keys(path) == [r.key for r in records], "file order is write order"
    for original, loaded in zip(records, read_shard(path)):
        for name in (
            "cine",
            "mask",
            "displacement",
            "landmarks",
            "rv_insertion_mm",
            "frame_times_ms",
        ):
            np.testing.assert_array_equal(getattr(loaded, name), getattr(original, name))
            assert getattr(loaded, name).dtype == np.asarray(getattr(original, name)).dtype
        assert loaded.tagged is None
        for name in (
            "cohort",
            "subject",
            "slice_id",
            "position",
            "group",
            "original_frames",
            "es_frame",
            "covariates",
            "flags",
            "source_files",
        ):
            assert getattr(loaded, name) == getattr(original, name)
        assert loaded.pixel_spacing_mm == original.pixel_spacing_mm
        np.testing.assert_array_equal(
            loaded.extras["aha_segments"], original.extras["aha_segments"]
        )
    np.testing.assert_array_equal(read_record(path, "s0/mid").cine, records[2].cine)
    partial = read_record(path, "s0/mid", only=("mask", "aha_segments"))
    assert partial.cine is None and partial.key == "s0/mid"
    np.testing.assert_array_equal(partial.mask, records[2].mask)
    assert list(partial.extras) == ["aha_segments"]
    np.testing.assert_array_equal(read_frame(path, "s0/mid", "mask", 1), records[2].mask[1])


def test_failed_write_leaves_no_shard(tmp_path: Path) -> None:
    def records():
        yield _record("s1", "mid", 0)
        raise RuntimeError("killed mid-shard")

    path = tmp_path / "shard-000.h5"
    with pytest.raises(RuntimeError):
        write_shard(path, records())
    assert list(tmp_path.iterdir()) == [], "no partial or temporary file is left behind"


def test_duplicate_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="duplicate record s1/mid"):
        write_shard(tmp_path / "x.h5", [_record("s1", "mid", 0), _record("s1", "mid", 1)])
    assert not (tmp_path / "x.h5").exists()


def test_truncated_shard_is_an_error_naming_the_file(tmp_path) -> None:
    path = tmp_path / "shard-007.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    with pytest.raises(OSError, match=r"shard-007\.h5: cannot read the record shard"):
        list(read_shard(path))
