"""The tracking stage on a tiny phantom shard: shapes and units, QC of untrackable slices, atomicity."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from stage_records import NO_TAGGED, UNTAGGED

from myoflow.errors import ConfigError
from myoflow.io.shards import read_shard, shard_keys
from myoflow.qc import QC_COLUMNS
from myoflow.record import SliceRecord
from myoflow.stages.myonet import read_predictions
from myoflow.stages.tracking import track_stage

ROOT = Path(__file__).resolve().parents[3]


def _epe(u: np.ndarray, v: np.ndarray, mask: np.ndarray) -> float:
    """Mean end-point error (mm) over the ED myocardium, frames 1..T-1."""
    return float(np.linalg.norm(u - v, axis=1)[1:, mask].mean())


@pytest.mark.parametrize("tracker", ["harp", "sinmod"])
def test_tracks_every_trackable_record_in_mm(
    tracker: str, tagged_records_list: list[SliceRecord], tagged_shard: Path, tmp_path: Path
) -> None:
    out, qc_path = tmp_path / "tracked.h5", tmp_path / "qc.tsv"
    keys = track_stage(tracker, {}, tagged_shard, out, qc_path)
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
        mask = rec.mask[0].astype(bool)
        # in mm: the tracked motion is close to the phantom's exact motion, far from zero motion
        error = _epe(out_rec.displacement, rec.displacement, mask)
        baseline = _epe(np.zeros_like(rec.displacement), rec.displacement, mask)
        assert baseline > 0.2, "the phantom moves by a fraction of a millimetre or more"
        assert error < 0.45 * baseline, (tracker, rec.key, error, baseline)
        np.testing.assert_array_equal(out_rec.displacement[0], 0.0)
        # landmarks are seeded from the record's own at ED and follow the exact landmarks (mm)
        np.testing.assert_allclose(out_rec.landmarks[0], rec.landmarks[0], atol=1e-4)
        landmark_error = np.linalg.norm(out_rec.landmarks - rec.landmarks, axis=1).mean()
        landmark_motion = np.linalg.norm(rec.landmarks - rec.landmarks[:1], axis=1).mean()
        assert landmark_error < 0.5 * landmark_motion
    assert read_predictions(out).keys() == {r.key for r in good}, "read like a prediction shard"


def test_untrackable_records_are_listed_in_qc_and_skipped(
    tagged_records_list: list[SliceRecord], tagged_shard: Path, tmp_path: Path
) -> None:
    out, qc_path = tmp_path / "tracked.h5", tmp_path / "qc.tsv"
    track_stage("harp", None, tagged_shard, out, qc_path)
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
        track_stage("harp", {"iteration": 3}, tagged_shard, out, qc_path)
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
        track_stage("sinmod", {}, tagged_shard, out, qc_path)
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
