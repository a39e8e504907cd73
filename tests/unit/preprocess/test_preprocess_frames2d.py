"""The frames2d profile: one 2-D sample per slice x frame, square pixels, mask on the image."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from preprocess_records import RecordFactory

from myoflow.io.frames import FrameShard, write_frames
from myoflow.io.shards import write_shard
from myoflow.io.tables import read_tsv
from myoflow.preprocess.frames2d import frames2d_record
from myoflow.preprocess.profiles import profile_shard
from myoflow.preprocess.spatial import CropTransform

SIZE = 64


def _ring(make_record: RecordFactory, **changes):
    # 50 x 90 pixels of 1.6 x 0.8 mm: an 80 x 72 mm field of view of non-square pixels.
    return make_record(
        shape=(50, 90), spacing=(1.6, 0.8), n_frames=5, center_mm=(40.0, 36.0), **changes
    )


def _extent_mm(mask: np.ndarray, spacing: tuple[float, float]) -> tuple[float, float]:
    rows, cols = np.nonzero(mask)
    return (cols.max() - cols.min() + 1) * spacing[1], (rows.max() - rows.min() + 1) * spacing[0]


def test_samples_keep_the_shape_and_position_of_the_myocardium(
    make_record: RecordFactory,
) -> None:
    rec = _ring(make_record)
    out = frames2d_record(rec, {"size": SIZE})
    assert out.image_shape == (SIZE, SIZE) and out.n_frames == 5
    step = out.pixel_spacing_mm[0]
    assert out.pixel_spacing_mm == (step, step) and step == pytest.approx(80.0 / SIZE)
    assert out.displacement is None and out.landmarks is None and not out.extras
    assert 0.0 <= out.cine.min() and out.cine.max() <= 1.0
    # The ring (outer radius 26 mm) keeps its size along both axes: no stretch from the
    # non-square pixels or field of view (one new pixel, 1.25 mm, of resampling slack).
    width, height = _extent_mm(out.mask[0], out.pixel_spacing_mm)
    assert width == pytest.approx(52.0, abs=step) and height == pytest.approx(52.0, abs=step)
    # ...and its centre maps back onto the source centre (half a new pixel).
    rows, cols = np.nonzero(out.mask[0])
    centre = CropTransform.from_covariates(out.covariates).to_source_mm(
        np.array([cols.mean(), rows.mean()]) * step
    )
    np.testing.assert_allclose(centre, [40.0, 36.0], atol=step / 2)


def test_a_shard_holds_one_sample_per_frame(make_record: RecordFactory, tmp_path: Path) -> None:
    full = _ring(make_record, subject="a")
    ed_only = _ring(make_record, subject="b").replace(tagged=None)
    ed_only = ed_only.replace(mask=ed_only.mask[:1])
    records = [frames2d_record(r, {"size": SIZE}) for r in (full, ed_only)]
    path = tmp_path / "shard-000.h5"
    assert write_frames(path, records, SIZE) == ["a/mid", "b/mid"]
    with FrameShard(path) as shard:
        assert len(shard) == 10 and shard.size == SIZE
        table = shard.table()
        assert table["subject"].tolist() == ["a"] * 5 + ["b"] * 5
        assert table["frame"].tolist() == [0, 1, 2, 3, 4] * 2
        assert table["has_mask"].tolist() == [1] * 5 + [1, 0, 0, 0, 0]
        assert table["has_tagged"].tolist() == [1] * 5 + [0] * 5
        assert table["is_ed"].tolist() == [1, 0, 0, 0, 0] * 2
        np.testing.assert_allclose(table["time_ms"], [0, 35, 70, 105, 140] * 2)
        assert (table["spacing_row_mm"] == records[0].pixel_spacing_mm[0]).all()
        for i, (k, t) in enumerate([(0, 3), (1, 0)]):
            sample = shard.sample(5 * i + t)
            np.testing.assert_array_equal(sample["cine"], records[k].cine[t])
            np.testing.assert_array_equal(sample["mask"], records[k].mask[t])
        assert not shard.sample(6)["mask"].any() and not shard.sample(6)["tagged"].any()
        assert shard.meta("b/mid")["subject"] == "b"


def test_profile_shards_with_ed_es_only_records(make_record: RecordFactory, tmp_path: Path) -> None:
    """ED/ES-only records are two frames: frames2d keeps them, fov (a whole cycle) skips them."""
    ring = {"shape": (40, 44), "center_mm": (26.0, 26.0), "radii_mm": (8.0, 14.0)}
    cycle = make_record(subject="s0", n_frames=12, **ring)
    pair = make_record(subject="s1", n_frames=2, **ring)
    pair = pair.replace(flags=["ed_es_only"])
    src = tmp_path / "records" / "shard-000.h5"
    write_shard(src, [cycle, pair])
    for profile, options, n_samples in (("fov", {"size": 48}, 1), ("frames2d", {"size": 32}, 2)):
        out = tmp_path / profile
        profile_shard(
            profile, src, out / "shard-000.h5", out / "qc-000.tsv", out / "index-000.tsv", options
        )
        index = read_tsv(out / "index-000.tsv")
        assert len(index) == n_samples and (index["shard"] == "shard-000.h5").all()
    fov_qc = read_tsv(tmp_path / "fov" / "qc-000.tsv").set_index("subject")
    assert set(fov_qc["stage"]) == {"preprocess-fov"}
    assert fov_qc.loc["s1", "status"] == "skipped"
    assert fov_qc.loc["s0", "reason"] == "frames_padded:12->20"
    assert read_tsv(tmp_path / "fov" / "index-000.tsv")["n_frames"].tolist() == [20]
    assert read_tsv(tmp_path / "frames2d" / "qc-000.tsv").empty, "nothing skipped or flagged"
    with FrameShard(tmp_path / "frames2d" / "shard-000.h5") as shard:
        assert len(shard) == 14 and shard.sample(0)["cine"].shape == (32, 32)


def test_a_shard_gives_its_slices_back_as_records(
    make_record: RecordFactory, tmp_path: Path
) -> None:
    full = frames2d_record(_ring(make_record, subject="NA"), {"size": SIZE})
    cine_only = frames2d_record(
        _ring(make_record, subject="b").replace(tagged=None), {"size": SIZE}
    )
    path = tmp_path / "shard-000.h5"
    write_frames(path, [full, cine_only], SIZE)
    with FrameShard(path) as shard:
        back = {rec.subject: rec for rec in shard.records()}
        assert [r.key for r in shard.records(["b/mid"])] == ["b/mid"]
    assert list(back) == ["NA", "b"] and back["b"].tagged is None
    for name in ("cine", "tagged", "mask"):
        np.testing.assert_array_equal(getattr(back["NA"], name), getattr(full, name))
    np.testing.assert_array_equal(back["NA"].frame_times_ms, full.frame_times_ms)
    assert back["NA"].pixel_spacing_mm == full.pixel_spacing_mm
    assert back["NA"].covariates == full.covariates and back["NA"].es_frame == full.es_frame
    # Written again, the rebuilt records make the same shard.
    again = tmp_path / "again.h5"
    write_frames(again, back.values(), SIZE)
    with FrameShard(path) as first, FrameShard(again) as second:
        pd.testing.assert_frame_equal(first.table(), second.table())


def test_a_mask_known_at_end_diastole_alone_comes_back_as_one_frame(
    make_record: RecordFactory, tmp_path: Path
) -> None:
    rec = _ring(make_record, subject="b")
    rec = frames2d_record(rec.replace(mask=rec.mask[:1]), {"size": SIZE})
    write_frames(tmp_path / "s.h5", [rec], SIZE)
    with FrameShard(tmp_path / "s.h5") as shard:
        (back,) = shard.records()
    assert back.mask.shape == (1, SIZE, SIZE)
    np.testing.assert_array_equal(back.mask, rec.mask)


def test_the_displacement_is_kept_on_request_in_mm(
    make_record: RecordFactory, tmp_path: Path
) -> None:
    rec = _ring(make_record, subject="a")
    t, (h, w) = rec.n_frames, rec.image_shape
    shift = np.zeros((t, 2, h, w), np.float32)
    shift[:, 0] = np.arange(t)[:, None, None] * 0.5  # x moves 0.5 mm per frame
    rec = rec.replace(displacement=shift)
    assert frames2d_record(rec, {"size": SIZE}).displacement is None  # the default drops it
    kept = frames2d_record(rec, {"size": SIZE, "displacement": True})
    inside = kept.mask[0].astype(bool)
    # the values stay millimetres whatever the new grid
    np.testing.assert_allclose(kept.displacement[3, 0][inside], 1.5, atol=1e-5)
    dropped = frames2d_record(rec.replace(subject="b"), {"size": SIZE})
    write_frames(tmp_path / "s.h5", [kept, dropped], SIZE)
    with FrameShard(tmp_path / "s.h5") as shard:
        assert shard.table()["has_displacement"].tolist() == [1] * t + [0] * t
        np.testing.assert_array_equal(shard.sample(3)["displacement"], kept.displacement[3])
        assert "displacement" not in shard.sample(t + 3)
        first, second = shard.records()
    np.testing.assert_array_equal(first.displacement, kept.displacement)
    assert second.displacement is None
