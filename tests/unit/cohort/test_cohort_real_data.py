"""What real public files do to a cohort pipeline, and what the user sees in return.

Each test builds the small files of one trap found on real data (ACDC-style label masks, a stray
contour file in a DICOM folder, a perfusion series over many beats, a GE header in gauss, IDs
such as ``NA``) and asserts what reaches the user: the error text, the QC row, the record.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from myoflow.cohort.ingest import ingest_row, ingest_shard
from myoflow.errors import InputError
from myoflow.io.atomic import write_tsv
from myoflow.io.tables import read_tsv
from myoflow.preprocess.split import split_subjects

COHORT = "real"
OPTIONS = {"source": "manifest", "name": COHORT}


def _acdc_labels(h: int = 40, w: int = 44) -> np.ndarray:
    """[H, W] ACDC-style labels: 1 RV crescent on the left, 2 myocardial ring, 3 LV cavity."""
    yy, xx = np.mgrid[:h, :w]
    r = np.hypot(yy - 20, xx - 24)
    labels = np.zeros((h, w), np.uint8)
    labels[(np.hypot(yy - 20, xx - 9) < 10) & (r >= 11)] = 1
    labels[(r < 11) & (r >= 7)] = 2
    labels[r < 7] = 3
    return labels


def _labelled_row(tmp_path: Path, write, labels: np.ndarray, **columns) -> dict:
    frames = 6
    cine = np.random.default_rng(0).random((frames, *labels.shape)).astype(np.float32)
    write.nifti(tmp_path / "cine.nii.gz", cine, (1.5, 1.5), 40.0)
    write.nifti(tmp_path / "mask.nii.gz", labels[None], (1.5, 1.5), 40.0)
    return {
        "subject": "p01",
        "slice": "mid",
        "cine": str(tmp_path / "cine.nii.gz"),
        "mask": str(tmp_path / "mask.nii.gz"),
        **columns,
    }


# --------------------------------------------------------------------------- 1: multi-label masks


def test_a_multi_label_mask_without_mask_label_is_an_error_listing_the_labels(
    tmp_path: Path, write
) -> None:
    row = _labelled_row(tmp_path, write, _acdc_labels())
    with pytest.raises(InputError) as caught:
        ingest_row(row, COHORT, OPTIONS)
    text = str(caught.value)
    assert f"cohort={COHORT} subject=p01" in text and f"file={row['mask']}" in text
    assert "several labels [1, 2, 3]" in text
    assert "mask_label" in text and "mask_labels" in text


def test_a_declared_convention_picks_the_myocardium_and_is_recorded(tmp_path: Path, write) -> None:
    labels = _acdc_labels()
    row = _labelled_row(tmp_path, write, labels)
    rec = ingest_row(row, COHORT, {**OPTIONS, "mask_labels": "acdc"})
    np.testing.assert_array_equal(rec.mask[0], labels == 2)
    assert "mask_labels:acdc" in rec.flags
    # the convention's RV label places the RV insertion points, on the RV's side (left)
    assert "rv_insertion_estimated" in rec.flags
    assert np.all(rec.rv_insertion_mm[:, 0] < 24 * 1.5)
    assert not any(f.startswith("mask_not_a_ring") for f in rec.flags)


def test_a_myocardium_that_is_not_a_ring_is_flagged_in_qc(tmp_path: Path, write) -> None:
    """The RV picked as "myocardium" (a crescent around no cavity) is kept but flagged."""
    row = _labelled_row(tmp_path, write, _acdc_labels(), mask_label=1)
    records, qc = ingest_shard(pd.DataFrame([row]), COHORT, OPTIONS)
    assert len(records) == 1
    flagged = qc[qc["reason"].str.startswith("mask_not_a_ring")]
    assert flagged[["subject", "stage", "status"]].values.tolist() == [["p01", "ingest", "flagged"]]
    assert flagged["file"].iloc[0] == row["cine"]


def test_a_single_label_mask_of_255_uses_that_label(tmp_path: Path, write) -> None:
    ring = (_acdc_labels() == 2).astype(np.uint8) * 255
    rec = ingest_row(_labelled_row(tmp_path, write, ring), COHORT, OPTIONS)
    np.testing.assert_array_equal(rec.mask[0], ring == 255)
    assert "mask_label_inferred:255" in rec.flags


# -------------------------------------------------------------------- 2: identifiers kept exactly

AWKWARD_IDS = ["NA", "None", "null", "nan", "N/A", "NaN", "0012", "1e3"]


def test_identifiers_round_trip_through_tables_and_splits(tmp_path: Path) -> None:
    index = pd.DataFrame(
        {
            "cohort": "nan",
            "subject": AWKWARD_IDS,
            "slice_id": ["NA", "mid", "null", "None", "1", "2", "basal", "N/A"],
            "group": ["NA", "None"] * 4,
            "n_frames": 20,
        }
    )
    write_tsv(index, tmp_path / "index.tsv")
    back = read_tsv(tmp_path / "index.tsv")
    pd.testing.assert_frame_equal(back, index)
    splits = split_subjects(back, fractions=(0.5, 0.25, 0.25), seed=0)
    write_tsv(splits, tmp_path / "splits.tsv")
    again = read_tsv(tmp_path / "splits.tsv")
    assert sorted(again["subject"]) == sorted(AWKWARD_IDS), "no subject may vanish"
    assert set(again["cohort"]) == {"nan"} and set(again["group"]) == {"NA", "None"}


def test_a_numeric_column_still_reads_its_empty_cells_as_missing(tmp_path: Path) -> None:
    write_tsv(pd.DataFrame({"subject": ["NA", "x"], "ecc": [np.nan, -0.2]}), tmp_path / "t.tsv")
    back = read_tsv(tmp_path / "t.tsv")
    assert back["subject"].tolist() == ["NA", "x"]
    assert np.isnan(back["ecc"].iloc[0]) and back["ecc"].iloc[1] == -0.2


# ----------------------------------------------------------------- 3: stray files in DICOM folders


def test_a_stray_file_in_a_dicom_folder_is_skipped_and_named(tmp_path: Path, write) -> None:
    s = write.make_slice()
    folder = write.dicom_folder(tmp_path / "cine", s.stored, s.spacing, s.times)
    (folder / "contours.mat").write_bytes(b"MATLAB 5.0 MAT-file" + bytes(200))
    row = {"subject": "p02", "slice": "mid", "cine": str(folder)}
    records, qc = ingest_shard(pd.DataFrame([row]), COHORT, OPTIONS)
    assert len(records) == 1
    np.testing.assert_allclose(records[0].cine, s.cine)
    assert "files_skipped:cine:1" in records[0].flags
    stray = qc[qc["file"] == str(folder / "contours.mat")]
    assert stray["status"].tolist() == ["flagged"]
    assert re.search(r"skipped: not a DICOM file", stray["reason"].iloc[0])


def test_a_folder_of_nothing_but_strays_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "cine"
    folder.mkdir()
    (folder / "notes.txt").write_text("no images here")
    with pytest.raises(InputError, match=r"no DICOM image: all 1 file\(s\) skipped"):
        ingest_row({"subject": "p", "slice": "mid", "cine": str(folder)}, COHORT, OPTIONS)


# ------------------------------------------------------------------------- 4: one cardiac cycle


def _perfusion_folder(tmp_path: Path, write, times: np.ndarray, **tags) -> Path:
    s = write.make_slice(frames=len(times))
    folder = write.dicom_folder(tmp_path / "perf", s.stored, s.spacing, times)
    if tags:
        import pydicom

        for path in folder.iterdir():
            ds = pydicom.dcmread(path)
            for key, value in tags.items():
                setattr(ds, key, value)
            ds.save_as(path)
    return folder


def test_trigger_times_over_many_beats_are_refused(tmp_path: Path, write) -> None:
    """79 perfusion dynamics over 54 s, trigger time counting from the first beat."""
    folder = _perfusion_folder(tmp_path, write, np.linspace(0, 54000, 79))
    with pytest.raises(InputError) as caught:
        ingest_row({"subject": "p", "slice": "mid", "cine": str(folder)}, COHORT, OPTIONS)
    # 54 s plus one frame interval (~690 ms), whatever the rounding of TriggerTime's text
    assert re.search(r"span 54\d{3} ms over 79 frames, longer than any human", str(caught.value))
    assert "multi_cycle: first" in str(caught.value)


def test_a_trigger_time_restarting_every_beat_is_refused(tmp_path: Path, write) -> None:
    """One image per beat at a jittering trigger delay: sorted, it would pass as a 5 ms cycle."""
    times = np.array([150.0, 153.0, 149.0, 152.0, 151.0, 148.0])
    folder = _perfusion_folder(tmp_path, write, times)
    with pytest.raises(InputError, match=r"go backwards or repeat .*image 3 of 6 at 149 ms"):
        ingest_row({"subject": "p", "slice": "mid", "cine": str(folder)}, COHORT, OPTIONS)


def test_with_multi_cycle_first_the_first_cycle_is_taken_and_said(tmp_path: Path, write) -> None:
    beat = np.arange(6) * 150.0 + 10.0  # two beats of 6 frames, trigger restarting
    folder = _perfusion_folder(tmp_path, write, np.concatenate([beat, beat + 2.0]))
    row = {"subject": "p", "slice": "mid", "cine": str(folder)}
    rec = ingest_row(row, COHORT, {**OPTIONS, "multi_cycle": "first"})
    np.testing.assert_allclose(rec.frame_times_ms, beat)
    assert "first_cycle_taken:6_of_12_images:cine" in rec.flags


def test_a_span_beyond_the_nominal_interval_is_refused(tmp_path: Path, write) -> None:
    folder = _perfusion_folder(tmp_path, write, np.arange(6) * 300.0, NominalInterval=800)
    with pytest.raises(InputError, match=r"span 1800 ms .* NominalInterval of 800 ms"):
        ingest_row({"subject": "p", "slice": "mid", "cine": str(folder)}, COHORT, OPTIONS)


def test_a_rat_cine_longer_than_any_rat_cycle_is_refused(tmp_path: Path, write) -> None:
    s = write.make_slice()
    cine = write.nifti(tmp_path / "cine.nii.gz", s.cine, s.spacing, 400.0)  # 6 x 400 ms
    row = {"subject": "r", "slice": "mid", "cine": str(cine)}
    with pytest.raises(InputError, match=r"longer than any rat cardiac cycle \(at most 600 ms\)"):
        ingest_row(row, COHORT, {**OPTIONS, "species": "rat"})
    assert ingest_row(row, COHORT, OPTIONS).n_frames == 6, "a human heart may beat this slowly"


# -------------------------------------------------------------------------- 7: header units


def test_a_field_strength_in_gauss_becomes_tesla_and_nonsense_is_flagged(
    tmp_path: Path, write
) -> None:
    s = write.make_slice()
    folder = _perfusion_folder(tmp_path, write, s.times, MagneticFieldStrength=15000)
    rec = ingest_row({"subject": "p", "slice": "mid", "cine": str(folder)}, COHORT, OPTIONS)
    assert rec.covariates["cine_field_strength_t"] == pytest.approx(1.5)
    assert "field_strength_from_gauss:cine" in rec.flags
    folder = _perfusion_folder(tmp_path / "b", write, s.times, FlipAngle=720)
    rec = ingest_row({"subject": "p", "slice": "mid", "cine": str(folder)}, COHORT, OPTIONS)
    assert "cine_flip_angle_deg" not in rec.covariates
    assert "header_value_implausible:flip_angle_deg=720:cine" in rec.flags
