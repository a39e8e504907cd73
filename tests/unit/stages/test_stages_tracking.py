"""The tracking stage on a tiny phantom shard: shapes and units, QC of untrackable slices, atomicity."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support.stage_records import NO_TAGGED, UNTAGGED
from support.tagged import ramp_mm, ring_centre_mm, ring_record

from myoflow.errors import ConfigError
from myoflow.io.frames import FrameShard, write_frames
from myoflow.io.shards import read_displacements, read_shard, shard_keys, write_shard
from myoflow.io.tables import read_tsv
from myoflow.preprocess.frames2d import frames2d_record
from myoflow.preprocess.roi import RoiBox
from myoflow.preprocess.spatial import CropTransform, crop_record
from myoflow.qc import QC_COLUMNS
from myoflow.record import SliceRecord
from myoflow.stages.tracking import QUALITY_COLUMNS, predicted_ed_mask, track_stage
from myoflow.tracking.api import track_record

ROOT = Path(__file__).resolve().parents[3]


def _es_error_px(u: np.ndarray, rec: SliceRecord) -> float:
    """Mean end-point error at ES over the ED myocardium, in pixels (x over the column spacing,
    y over the row spacing)."""
    sy, sx = rec.pixel_spacing_mm
    diff = (u - rec.displacement)[rec.es_frame][:, rec.mask[0].astype(bool)]
    return float(np.hypot(diff[0] / sx, diff[1] / sy).mean())


#: Mean ES error (px) of the stage's tiny records: 32-pixel crops resampled to 8 frames with
#: 3.6-3.9 px tags, where docs/tracking.md's 0.3 px aim (160 px, 20 frames) does not apply. Measured
#: when written: HARP 0.254 / 0.301 px, SinMod 0.268 / 0.210 px on the two trackable records;
#: the bound is the worst plus 50 %. A tracker returning 0.6 x the motion errs by 0.67-0.92 px
#: here (measured), the zero baseline by 1.6-2.0 px.
STAGE_ES_ERROR_PX = 0.45


@pytest.mark.parametrize("tracker", ["harp", "sinmod"])
def test_tracks_every_trackable_record_in_mm(
    tracker: str, tagged_records_list: list[SliceRecord], tagged_shard: Path, tmp_path: Path
) -> None:
    out, qc_path = tmp_path / "tracked.h5", tmp_path / "qc.tsv"
    keys = track_stage(tracker, {}, tagged_shard, out, qc_path, tmp_path / "quality.tsv")
    good = [r for i, r in enumerate(tagged_records_list) if i not in (UNTAGGED, NO_TAGGED)]
    assert keys == [r.key for r in good] == shard_keys(out)
    tracked = {r.key: r for r in read_shard(out)}
    for rec in good:
        t, h, w = rec.tagged.shape
        out_rec = tracked[rec.key]
        assert out_rec.cine is None and out_rec.tagged is None, "no images in the tracked shard"
        assert out_rec.displacement.shape == (t, 2, h, w)
        assert out_rec.displacement.dtype == np.float32
        assert out_rec.landmarks.shape == (t, 2, 168)
        assert out_rec.pixel_spacing_mm == rec.pixel_spacing_mm
        np.testing.assert_array_equal(out_rec.mask, rec.mask)
        # the shard holds exactly what the record entry point returns (its accuracy in mm is
        # tested in tests/unit/tracking), and that is close to the phantom's exact motion
        direct = track_record(rec, tracker)
        np.testing.assert_array_equal(out_rec.displacement, direct.displacement)
        np.testing.assert_array_equal(out_rec.landmarks, direct.landmarks)
        error = _es_error_px(out_rec.displacement, rec)
        assert error <= STAGE_ES_ERROR_PX, f"{tracker} on {rec.key}: ES error {error:.3f} px"
        np.testing.assert_array_equal(out_rec.displacement[0], 0.0)
        # landmarks are seeded from the record's own at ED and follow the exact landmarks (mm)
        np.testing.assert_allclose(out_rec.landmarks[0], rec.landmarks[0], atol=1e-4)
        landmark_error = np.linalg.norm(out_rec.landmarks - rec.landmarks, axis=1).mean()
        landmark_motion = np.linalg.norm(rec.landmarks - rec.landmarks[:1], axis=1).mean()
        # measured 0.082-0.103 mm against 0.36-0.38 mm of motion: at most 0.29 of it
        assert landmark_error < 0.4 * landmark_motion
    assert read_displacements(out).keys() == {r.key for r in good}, "read like a prediction shard"


@pytest.mark.parametrize("tracker", ["harp", "sinmod"])
def test_non_square_pixels_are_tracked_in_mm(tracker: str, tmp_path: Path) -> None:
    """A shard of 1.0 x 1.4 mm (row x column) pixels with analytic motion in mm: the stage keeps
    the spacing and writes the motion in mm (x along the columns), not in swapped units."""
    f_end = np.array([[1.1, 0.05], [0.02, 0.92]])
    centre = ring_centre_mm((72, 56), (1.0, 1.4))
    rec = ring_record(ramp_mm(f_end, (2.8, -1.5), 6, centre)).record
    shard, out, qc_path = tmp_path / "in.h5", tmp_path / "tracked.h5", tmp_path / "qc.tsv"
    write_shard(shard, [rec])
    assert track_stage(tracker, {}, shard, out, qc_path, tmp_path / "quality.tsv") == [rec.key]
    (out_rec,) = read_shard(out)
    assert out_rec.pixel_spacing_mm == (1.0, 1.4)
    mask = rec.mask[0].astype(bool)
    diff = (out_rec.displacement - rec.displacement)[1:][:, :, mask]
    error = float(np.hypot(diff[:, 0], diff[:, 1]).mean())
    # 0.1 mm: the bound of tests/unit/tracking/test_non_square_pixels.py on the same kind of
    # series; measured 0.043 (HARP) and 0.057 mm (SinMod), swapped spacings 0.65 mm
    assert error <= 0.1, f"{tracker}: mean error {error:.3f} mm"


def test_untrackable_records_are_listed_in_qc_and_skipped(
    tagged_records_list: list[SliceRecord], tagged_shard: Path, tmp_path: Path
) -> None:
    out, qc_path = tmp_path / "tracked.h5", tmp_path / "qc.tsv"
    track_stage("harp", None, tagged_shard, out, qc_path, tmp_path / "quality.tsv")
    qc = pd.read_csv(qc_path, sep="\t", dtype=str)
    assert list(qc.columns) == QC_COLUMNS
    assert list(qc["subject"]) == [
        tagged_records_list[UNTAGGED].subject,
        tagged_records_list[NO_TAGGED].subject,
    ]
    assert set(qc["stage"]) == {"tracking-harp"} and set(qc["status"]) == {"excluded"}
    untagged, missing = qc["reason"]
    assert "no tag peaks" in untagged and "really tagged" in untagged
    assert "needs a tagged series" in missing
    assert set(qc["cohort"]) == {"rats"} and set(qc["slice_id"]) == {"mid"}
    assert (qc["file"] != "-").all(), "the QC row names a file"
    assert tagged_records_list[UNTAGGED].key not in shard_keys(out)


def test_unknown_option_fails_before_writing(tagged_shard: Path, tmp_path: Path) -> None:
    out, qc_path = tmp_path / "tracked.h5", tmp_path / "qc.tsv"
    with pytest.raises(ConfigError, match=r"config\.tracking\.harp: .*\['iteration'\]"):
        track_stage("harp", {"iteration": 3}, tagged_shard, out, qc_path, tmp_path / "quality.tsv")
    assert not out.exists() and not qc_path.exists()


def test_a_failing_job_leaves_no_output(
    tagged_shard: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug (not bad input) stops the job, and neither output looks complete."""
    from myoflow.tracking import api

    real = api.track_record
    calls = []

    def fails_on_second(rec, tracker, options=None):  # type: ignore[no-untyped-def]
        calls.append(rec.key)
        if len(calls) == 2:
            raise RuntimeError("boom")
        return real(rec, tracker, options)

    monkeypatch.setattr(api, "track_record", fails_on_second)
    out, qc_path = tmp_path / "tracked.h5", tmp_path / "qc.tsv"
    with pytest.raises(RuntimeError, match="boom"):
        track_stage("sinmod", {}, tagged_shard, out, qc_path, tmp_path / "quality.tsv")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_script_help() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "track_shard.py"), "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "--tracker" in run.stdout and "{harp,sinmod}" in run.stdout


def _faded(rec: SliceRecord, start: int = 1, seed: int = 0) -> SliceRecord:
    """``rec`` whose tags are gone from frame ``start`` on: each frame blurred past its tags,
    with fresh noise at the series' level (what an untagged image shows the tracker)."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    tagged = rec.tagged.astype(np.float32).copy()
    noise = 0.05 * float(tagged[0].std())
    for t in range(start, len(tagged)):
        blurred = ndimage.gaussian_filter(tagged[t], 2.5)
        tagged[t] = blurred + rng.normal(scale=noise, size=blurred.shape)
    return rec.replace(subject=f"{rec.subject}-faded{start}", tagged=tagged)


def test_quality_table_flags_and_a_rejected_slice(
    tagged_records_list: list[SliceRecord], tmp_path: Path
) -> None:
    """Every input slice gets a quality row; a kept slice carries the per-point flags; a slice
    whose tags fade before end-systole goes to QC with the reason and is not a reference."""
    good = [r for i, r in enumerate(tagged_records_list) if i not in (UNTAGGED, NO_TAGGED)]
    faded = _faded(good[0])
    late = _faded(good[0], start=int(good[0].es_frame) + 2)
    records = [*tagged_records_list, faded, late]
    shard, out = tmp_path / "in.h5", tmp_path / "tracked.h5"
    qc_path, quality_path = tmp_path / "qc.tsv", tmp_path / "quality.tsv"
    write_shard(shard, records)
    keys = track_stage("sinmod", {}, shard, out, qc_path, quality_path)
    assert keys == [r.key for r in [*good, late]]
    quality = read_tsv(quality_path)
    assert list(quality.columns) == QUALITY_COLUMNS
    assert list(quality["subject"]) == [r.subject for r in records]
    status = dict(zip(quality["subject"], quality["status"], strict=True))
    assert status[faded.subject] == "failed"
    assert [status[r.subject] for r in [*good, late]] == ["tracked"] * (len(good) + 1)
    assert status[tagged_records_list[UNTAGGED].subject] == "not tracked"
    qc = read_tsv(qc_path)
    row = qc[qc["subject"] == faded.subject].iloc[0]
    assert row["status"] == "excluded" and "tags faded at frame 1" in row["reason"]
    # tags gone after end-systole: kept, its late frames excluded, and a flagged QC row says so
    late_rows = qc[qc["subject"] == late.subject]
    assert set(late_rows["status"]) == {"flagged"} and (row["file"] != "-")
    assert f"tags_faded_from_frame:{int(good[0].es_frame) + 2}" in set(late_rows["reason"])
    for rec in read_shard(out):
        t, h, w = rec.displacement.shape[0], *rec.displacement.shape[2:]
        assert rec.extras["tracking_flags"].shape == (t, h, w)
        assert rec.extras["tracking_flags"].dtype == np.uint8
        assert rec.extras["landmark_flags"].shape == (t, 168)


def _profiles(rec: SliceRecord) -> tuple[SliceRecord, SliceRecord]:
    """The record on a crop of its ring (the trackers' profile) and on the frames2d grid."""
    centre = ring_centre_mm(rec.image_shape, rec.pixel_spacing_mm)
    box = RoiBox(center_mm=(float(centre[0]), float(centre[1])), side_mm=60.0)
    crop = crop_record(rec, CropTransform.from_box(box, 48, rec.image_shape, rec.pixel_spacing_mm))
    return crop.validate(), frames2d_record(rec.replace(cine=rec.tagged), {"size": 64})


@pytest.mark.parametrize("tracker", ["harp", "sinmod"])
def test_a_predicted_mask_replaces_the_drawn_one_and_its_landmarks(
    tracker: str, tmp_path: Path
) -> None:
    """The tracker starts from the ED myocardium of a frames2d prediction, resampled onto the
    crop: a prediction equal to the truth gives the drawn mask back (up to a boundary pixel) and
    the same motion; a slice without a prediction, or predicted empty, goes to QC."""
    f_end = np.array([[1.08, 0.0], [0.0, 0.93]])
    centre = ring_centre_mm((72, 56), (1.0, 1.4))
    base = ring_record(ramp_mm(f_end, (1.0, -0.5), 6, centre)).record
    crops, frames = zip(
        *(_profiles(base.replace(subject=s)) for s in ("a", "missing", "empty")), strict=True
    )
    empty = frames[2].replace(mask=np.zeros_like(frames[2].mask))
    predictions, shard = tmp_path / "pred.h5", tmp_path / "crop.h5"
    write_frames(predictions, [frames[0], empty], 64)
    write_shard(shard, crops)
    out, qc_path = tmp_path / "tracked.h5", tmp_path / "qc.tsv"
    keys = track_stage(
        tracker, {}, shard, out, qc_path, tmp_path / "quality.tsv", masks=predictions
    )
    assert keys == ["a/mid"]
    (tracked,) = read_shard(out)
    truth = crops[0].mask[0].astype(bool)
    got = tracked.mask[0].astype(bool)
    assert 2 * (got & truth).sum() / (got.sum() + truth.sum()) > 0.95
    assert tracked.source_files["mask"] == str(predictions)
    qc = read_tsv(qc_path)
    assert list(qc["subject"]) == ["missing", "empty"]
    assert "no predicted mask of this slice" in qc["reason"].iloc[0]
    assert "holds no myocardium" in qc["reason"].iloc[1]
    # same motion as from the drawn mask, within the stage's bound
    assert _es_error_px(tracked.displacement, crops[0]) <= STAGE_ES_ERROR_PX
    with FrameShard(predictions) as shard_frames:
        assert predicted_ed_mask(crops[0], shard_frames).landmarks is None
