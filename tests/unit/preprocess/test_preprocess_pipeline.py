"""The preprocessing stage end to end: one record, one shard, bad records, atomic outputs."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from preprocess_records import RecordFactory

from myoflow.errors import ConfigError, InputError
from myoflow.io.shards import read_shard, write_shard
from myoflow.io.tables import read_tsv
from myoflow.preprocess import pipeline
from myoflow.preprocess.pipeline import (
    INDEX_COLUMNS,
    PreprocessOptions,
    preprocess_record,
    preprocess_shard,
)
from myoflow.preprocess.roi import locate_roi
from myoflow.preprocess.spatial import CropTransform
from myoflow.qc import QC_COLUMNS


def test_record_reaches_the_network_grid(make_record: RecordFactory) -> None:
    rec = make_record(n_frames=30)
    out = preprocess_record(rec, {"size": 96, "frames": 20})
    assert out.cine.shape == out.tagged.shape == out.mask.shape == (20, 96, 96)
    assert out.displacement.shape == (20, 2, 96, 96) and out.landmarks.shape == (20, 2, 168)
    side = locate_roi(rec).side_mm
    assert out.pixel_spacing_mm == pytest.approx((side / 96, side / 96))
    assert out.original_frames == 30 and out.flags == ["temporal_resampled:30->20"]
    assert 0.0 <= out.cine.min() and out.cine.max() <= 1.0
    assert out.cine.dtype == np.float32 and out.mask.dtype == np.uint8
    assert CropTransform.from_covariates(out.covariates).size == 96
    assert np.all(out.displacement[0] == 0)


def test_displacement_stays_in_mm(make_record: RecordFactory) -> None:
    # The fixture's field is u = a(t) (p - c) in mm, linear in position, so bilinear resampling
    # reproduces it exactly at the crop pixels' source positions.
    centre = np.array([120.0, 80.0])
    rec = make_record(n_frames=20, center_mm=tuple(centre))
    out = preprocess_record(rec, {"size": 64})
    t = CropTransform.from_covariates(out.covariates)
    r, c = np.indices((64, 64))
    pos = t.to_source_mm(np.stack([c, r], axis=-1) * t.spacing_mm)  # [64, 64, (x, y)] source mm
    a = -0.12 * np.sin(np.pi * 10 / 19)
    np.testing.assert_allclose(out.displacement[10, 0], a * (pos[..., 0] - centre[0]), atol=1e-4)
    np.testing.assert_allclose(out.displacement[10, 1], a * (pos[..., 1] - centre[1]), atol=1e-4)


def test_clipping_against_max_displacement_is_flagged(make_record: RecordFactory) -> None:
    rec = make_record(n_frames=20)
    assert not any(f.startswith("displacement_clipped") for f in preprocess_record(rec, {}).flags)
    out = preprocess_record(rec, {"max_displacement_mm": 1.0})
    flag = [f for f in out.flags if f.startswith("displacement_clipped:")]
    assert len(flag) == 1 and 0 < float(flag[0].split(":")[1]) < 1
    assert not any(
        "clipped" in f for f in preprocess_record(rec, {"max_displacement_mm": 50.0}).flags
    )


def test_options_are_checked() -> None:
    assert PreprocessOptions.from_dict({}) == PreprocessOptions()
    opts = PreprocessOptions.from_dict({"percentiles": [2, 98], "min_side_mm": None})
    assert opts.percentiles == (2.0, 98.0)
    with pytest.raises(ConfigError, match="unknown option"):
        PreprocessOptions.from_dict({"sise": 128})
    with pytest.raises(ConfigError, match="temporal"):
        PreprocessOptions.from_dict({"temporal": "stretch"})
    for bad in ([99, 1], [5], [1, 101]):
        with pytest.raises(ConfigError, match="percentiles"):
            PreprocessOptions.from_dict({"percentiles": bad})
    with pytest.raises(ConfigError, match="max_displacement_mm"):
        PreprocessOptions.from_dict({"max_displacement_mm": 0})


def _shard(tmp_path: Path, make_record: RecordFactory) -> Path:
    good = [make_record(subject=f"s{i}", n_frames=24 + i) for i in range(3)]
    bad = make_record(subject="nomask", with_mask=False)
    flat = make_record(subject="flat")
    flat = flat.replace(cine=np.full_like(flat.cine, 3.0))
    path = tmp_path / "records" / "shard-000.h5"
    write_shard(path, [good[0], bad, good[1], flat, good[2]])
    return path


def _outputs(tmp_path: Path) -> tuple[Path, Path, Path]:
    out = tmp_path / "pre"
    return out / "shard-000.h5", out / "qc-000.tsv", out / "index-000.tsv"


def test_shard_with_bad_records(
    tmp_path: Path, make_record: RecordFactory, caplog: pytest.LogCaptureFixture
) -> None:
    src = _shard(tmp_path, make_record)
    shard, qc, index = _outputs(tmp_path)
    with caplog.at_level(logging.ERROR, logger="myoflow.preprocess"):
        preprocess_shard(src, shard, qc, index, {"frames": 20, "size": 64})
    written = list(read_shard(shard))
    assert [r.subject for r in written] == ["s0", "s1", "s2"]
    assert all(r.cine.shape == (20, 64, 64) for r in written)

    qc_table = pd.read_csv(qc, sep="\t", dtype=str)
    assert list(qc_table.columns) == QC_COLUMNS
    excluded = qc_table[qc_table["status"] == "excluded"].set_index("subject")
    assert set(excluded.index) == {"nomask", "flat"}
    assert "no myocardium mask" in excluded.loc["nomask", "reason"]
    assert "image is constant" in excluded.loc["flat", "reason"]
    assert (excluded["stage"] == "preprocess").all() and (excluded["cohort"] == "c1").all()
    flagged = qc_table[qc_table["status"] == "flagged"]
    assert sorted(flagged["reason"]) == [f"temporal_resampled:{n}->20" for n in (24, 25, 26)]
    assert (
        sum("nomask" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR) == 1
    )

    idx = pd.read_csv(index, sep="\t", dtype={"subject": str, "slice_id": str})
    assert list(idx.columns) == INDEX_COLUMNS
    assert idx["subject"].tolist() == ["s0", "s1", "s2"]
    assert idx["n_frames"].tolist() == [20] * 3 and idx["original_frames"].tolist() == [24, 25, 26]
    assert (idx["shard"] == "shard-000.h5").all()
    np.testing.assert_allclose(idx["spacing_row_mm"], [r.pixel_spacing_mm[0] for r in written])
    assert idx["flags"].tolist() == [f"temporal_resampled:{n}->20" for n in (24, 25, 26)]


def test_one_bad_record_does_not_change_the_others(
    tmp_path: Path, make_record: RecordFactory
) -> None:
    src = _shard(tmp_path, make_record)
    shard, qc, index = _outputs(tmp_path)
    preprocess_shard(src, shard, qc, index, {"size": 64})
    alone = preprocess_record(make_record(subject="s1", n_frames=25), {"size": 64})
    from_shard = next(r for r in read_shard(shard) if r.subject == "s1")
    np.testing.assert_array_equal(from_shard.cine, alone.cine)
    np.testing.assert_array_equal(from_shard.displacement, alone.displacement)


def test_a_crash_leaves_no_output(
    tmp_path: Path, make_record: RecordFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = _shard(tmp_path, make_record)
    shard, qc, index = _outputs(tmp_path)
    real = pipeline.preprocess_record
    calls = []

    def crash_on_third(rec, opts):
        calls.append(rec.key)
        if len(calls) == 3:
            raise RuntimeError("simulated bug")
        return real(rec, opts)

    monkeypatch.setattr(pipeline, "preprocess_record", crash_on_third)
    with pytest.raises(RuntimeError, match="simulated bug"):
        preprocess_shard(src, shard, qc, index, {"size": 64})
    assert len(calls) == 3
    assert not shard.exists() and not qc.exists() and not index.exists()
    assert list(shard.parent.iterdir()) == [], "no temporary files left behind"


def test_bad_options_fail_before_anything_is_written(
    tmp_path: Path, make_record: RecordFactory
) -> None:
    src = _shard(tmp_path, make_record)
    shard, qc, index = _outputs(tmp_path)
    with pytest.raises(ConfigError):
        preprocess_shard(src, shard, qc, index, {"roi": "guess"})
    assert not shard.parent.exists()


def test_roi_center_handles_records_without_masks(make_record: RecordFactory) -> None:
    rec = make_record(with_mask=False, n_frames=20)
    with pytest.raises(InputError):
        preprocess_record(rec, {})
    out = preprocess_record(rec, {"roi": "center", "center_side_mm": 150.0, "size": 64})
    assert out.mask is None and out.pixel_spacing_mm[0] == pytest.approx(150.0 / 64)
    assert out.flags == [], "a 150 mm box fits in the 208 x 211 mm image"
    wide = preprocess_record(rec, {"roi": "center", "center_side_mm": 250.0, "size": 64})
    assert wide.flags == ["roi_padded"]


def test_single_frame_and_ed_es_records_name_their_file_in_qc(
    tmp_path: Path, make_record: RecordFactory
) -> None:
    """An exclusion names the file to look at; an ED/ES pair is skipped, not called bad."""
    single = make_record(subject="one", n_frames=1)
    pair = make_record(subject="pair", n_frames=2)
    pair = pair.replace(flags=[*pair.flags, "ed_es_only"])
    good = make_record(subject="good", n_frames=20)
    src = tmp_path / "records" / "shard-000.h5"
    write_shard(src, [single, pair, good])
    shard, qc, index = _outputs(tmp_path)
    preprocess_shard(src, shard, qc, index, {"frames": 20, "size": 64})
    rows = read_tsv(qc).set_index("subject")
    assert rows.loc["one", "status"] == "excluded"
    assert rows.loc["one", "file"] == single.source_files["cine"]
    assert "single-frame" in rows.loc["one", "reason"]
    assert rows.loc["pair", "status"] == "skipped"
    assert rows.loc["pair", "file"] == pair.source_files["cine"]
    assert "ED/ES-only" in rows.loc["pair", "reason"]
    assert [r.subject for r in read_shard(shard)] == ["good"]
