"""Paper 003's HDF5 files (``source: tagging_h5``) become records unchanged: identifiers as
written, padding dropped and flagged, landmarks in mm, ED first, bad rows as QC rows only."""

from __future__ import annotations

import copy
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from myoflow.cohort.ingest import iter_ingest
from myoflow.cohort.tagging_h5 import (
    DEFAULT_FRAME_INTERVAL_MS,
    read_tagging_h5_row,
    tagging_h5_manifest,
)
from myoflow.config import check_config, cohort_json, cohort_plan, load_schema
from myoflow.errors import ConfigError, InputError
from myoflow.experiment import resolve
from myoflow.io.shards import read_shard
from myoflow.io.tables import read_tsv
from myoflow.stages.cohort import cohort_shard, shard_rows

ROOT = Path(__file__).resolve().parents[3]
T, SIZE = 20, 32
SPACING = [1.5, 1.25, 1.75]


def _series(rng: np.random.Generator, acquired: int) -> tuple[np.ndarray, np.ndarray]:
    """[T, SIZE, SIZE] images and [T, 2, 168] pixel landmarks, zero after ``acquired`` frames."""
    images = np.zeros((T, SIZE, SIZE), np.float32)
    coords = np.zeros((T, 2, 168), np.float32)
    images[:acquired] = rng.uniform(0.1, 1.0, (acquired, SIZE, SIZE))
    coords[:acquired] = rng.uniform(4.0, SIZE - 4.0, (acquired, 2, 168))
    return images, coords


def write_file(path: Path, rows: list[dict], drop: tuple[str, ...] = ()) -> Path:
    """An HDF5 file in prepare_data.py's layout (32 x 32 images instead of 256 x 256)."""
    rng = np.random.default_rng(0)
    series = [_series(rng, r.get("acquired", T)) for r in rows]
    text = h5py.special_dtype(vlen=str)
    data = {
        "_patients": np.array([r["subject"] for r in rows], dtype=object),
        "_models": np.array([r.get("model", "m") for r in rows], dtype=object),
        "_slices": np.array([r["slice"] for r in rows], dtype=object),
        "image_seqs": np.stack([s[0] for s in series]),
        "landmark_coords": np.stack([s[1] for s in series]),
        "px_spaces": np.resize(np.float32(SPACING), len(rows)),
        "bbox_corners": np.tile(np.float32([4, 4, 28, 28]), (len(rows), 1)),
        "ed_frame_idx": np.array([r.get("ed", 0) for r in rows]),
        "es_frame_idx": np.array([r.get("es", 7) for r in rows]),
        "regions": np.ones((len(rows), T, 168), np.int64),
    }
    for mutate in (r["mutate"] for r in rows if "mutate" in r):
        mutate(data)
    with h5py.File(path, "w") as h5:
        for name, value in data.items():
            if name not in drop:
                dtype = text if name.startswith("_") else None
                h5.create_dataset(name, data=value, dtype=dtype)
    return path


def _nan_landmarks(data: dict) -> None:
    data["landmark_coords"][1, 3, 0, 5] = np.nan


ROWS = [
    {"subject": "007", "slice": "series_1_slice_1", "es": 8},
    {"subject": "NA", "slice": "series_1_slice_2", "acquired": 14, "es": 5},
    {"subject": "007", "slice": "series_1_slice_3", "ed": 2, "es": 9},
]


@pytest.fixture()
def h5_file(tmp_path: Path) -> Path:
    return write_file(tmp_path / "ukb tags.h5", ROWS)


def _cohort(path: Path, **options) -> dict:
    return {"name": "ukb", "source": "tagging_h5", "path": str(path), "shard_size": 200, **options}


def test_manifest_keeps_identifiers_as_written_and_groups_subjects(h5_file: Path) -> None:
    table = tagging_h5_manifest(h5_file, "ukb")
    assert table["subject"].tolist() == ["007", "007", "NA"]
    assert table["slice"].tolist() == ["series_1_slice_1", "series_1_slice_3", "series_1_slice_2"]
    assert table["h5_row"].tolist() == [0, 2, 1]
    assert set(table["tagged"]) == {str(h5_file)}
    assert set(table["group"]) == {"all"}
    plan, series = cohort_plan("ukb", _cohort(h5_file), h5_file.parent)
    assert plan.n_slices == 3 and series == {"tagged"}


def test_shared_slice_names_are_told_apart_by_model_then_row(tmp_path: Path) -> None:
    rows = [
        {"subject": "s1", "slice": "series_1_slice_1", "model": "EL"},
        {"subject": "s1", "slice": "series_1_slice_1", "model": "AB"},
        {"subject": "s2", "slice": "series_1_slice_1", "model": "EL"},
        {"subject": "s2", "slice": "series_1_slice_1", "model": "EL"},
        {"subject": "s3", "slice": "series_1_slice_1", "model": "EL"},
    ]
    table = tagging_h5_manifest(write_file(tmp_path / "d.h5", rows), "c")
    assert table["slice"].tolist() == [
        "series_1_slice_1@EL",
        "series_1_slice_1@AB",
        "series_1_slice_1@row2",
        "series_1_slice_1@row3",
        "series_1_slice_1",
    ]


def test_groups_table_gives_groups_and_positions(h5_file: Path, tmp_path: Path) -> None:
    groups = tmp_path / "groups.tsv"
    groups.write_text(
        "subject\tgroup\tslice\tposition\n"
        "007\tHCM\tseries_1_slice_1\tBasal\n"
        "007\tHCM\tseries_1_slice_3\tmid\n"
    )
    table = tagging_h5_manifest(h5_file, "ukb", groups)
    assert table["group"].tolist() == ["HCM", "HCM", "all"]
    assert table["position"].tolist()[:2] == ["basal", "mid"]
    records = list(iter_ingest(table, "ukb", _cohort(h5_file), []))
    assert [(r.subject, r.position, r.group) for r in records] == [
        ("007", "basal", "HCM"),
        ("007", "mid", "HCM"),
        ("NA", "series_1_slice_2", "all"),
    ]
    groups.write_text("subject\tgroup\n007\tHCM\n007\tDCM\n")
    with pytest.raises(ConfigError, match=r"duplicate subject on line\(s\) 3"):
        tagging_h5_manifest(h5_file, "ukb", groups)
    groups.write_text("subject\tgroup\tage\n007\tHCM\t50\n")
    with pytest.raises(ConfigError, match=r"groups table .*groups.tsv: columns \[.*'age'\]"):
        tagging_h5_manifest(h5_file, "ukb", groups)


def test_rows_become_records_in_mm_without_padding_and_from_ed(h5_file: Path) -> None:
    qc: list[dict] = []
    records = {
        r.key: r
        for r in iter_ingest(
            shard_rows(_cohort(h5_file), 0),
            "ukb",
            {"source": "tagging_h5", "frame_interval_ms": 40.0},
            qc,
        )
    }
    with h5py.File(h5_file) as h5:
        images, coords = h5["image_seqs"][()], h5["landmark_coords"][()].astype(float)

    full = records["007/series_1_slice_1"]
    assert full.n_frames == 20 and full.mask is None and full.cine is None
    np.testing.assert_array_equal(full.tagged, images[0])
    np.testing.assert_allclose(full.landmarks, (coords[0] - 0.5) * 1.5, rtol=1e-6)
    assert full.pixel_spacing_mm == (1.5, 1.5)
    np.testing.assert_allclose(full.frame_times_ms, np.arange(20) * 40.0)
    assert full.flags == ["frame_times_assumed:40ms"] and full.es_frame == 8

    padded = records["NA/series_1_slice_2"]
    assert padded.n_frames == padded.original_frames == 14
    assert padded.flags[0] == "h5_padded_frames:6"
    np.testing.assert_array_equal(padded.tagged, images[1, :14])
    np.testing.assert_allclose(padded.landmarks, (coords[1, :14] - 0.5) * 1.25, rtol=1e-6)

    rotated = records["007/series_1_slice_3"]
    assert "rotated_to_ed:2" in rotated.flags and rotated.ed_frame == 0 and rotated.es_frame == 7
    np.testing.assert_array_equal(rotated.tagged[0], images[2, 2])
    np.testing.assert_array_equal(rotated.tagged[-2:], images[2, :2])
    np.testing.assert_allclose(rotated.landmarks[0], (coords[2, 2] - 0.5) * 1.75, rtol=1e-6)
    assert {row["status"] for row in qc} == {"flagged"}
    assert {row["file"] for row in qc} == {str(h5_file)}


def test_optional_datasets_may_be_missing(tmp_path: Path) -> None:
    optional = ("_models", "_slices", "bbox_corners", "regions", "ed_frame_idx", "es_frame_idx")
    path = write_file(tmp_path / "lean.h5", ROWS, drop=optional)
    table = tagging_h5_manifest(path, "ukb")
    assert table["slice"].tolist() == ["row0", "row2", "row1"] and "model" not in table
    records = list(iter_ingest(table, "ukb", _cohort(path), []))
    assert [r.es_frame for r in records] == [None, None, None]
    assert all("ed_frame_assumed:0" in r.flags for r in records)


def test_a_file_without_landmarks_names_the_file_and_dataset(tmp_path: Path) -> None:
    path = write_file(tmp_path / "no_landmarks.h5", ROWS, drop=("landmark_coords",))
    with pytest.raises(ConfigError) as caught:
        tagging_h5_manifest(path, "ukb")
    message = str(caught.value)
    assert "cohort ukb" in message and str(path) in message and "landmark_coords" in message
    assert "image_seqs" in message  # what the file holds


def test_a_bad_row_is_a_qc_row_and_the_others_go_on(tmp_path: Path) -> None:
    rows = copy.deepcopy(ROWS)
    rows[1]["mutate"] = _nan_landmarks
    path = write_file(tmp_path / "nan.h5", rows)
    out = tmp_path / "records"
    out.mkdir()
    cohort_shard(_cohort(path), 0, out / "shard-000.h5", out / "qc-000.tsv", out / "index-000.tsv")
    assert sorted(r.key for r in read_shard(out / "shard-000.h5")) == [
        "007/series_1_slice_1",
        "007/series_1_slice_3",
    ]
    qc = read_tsv(out / "qc-000.tsv")
    bad = qc[qc["status"] == "excluded"]
    assert len(bad) == 1
    row = bad.iloc[0]
    assert (row["cohort"], row["subject"], row["slice_id"]) == ("ukb", "NA", "series_1_slice_2")
    assert row["file"] == str(path) and "NaN" in row["reason"] and "frame(s) [3]" in row["reason"]


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda d: d["landmark_coords"].__setitem__((0, 2, 0, 7), 40.0), "outside the 32x32"),
        (lambda d: d["image_seqs"].__setitem__((0, 5), 0.0), r"frame\(s\) \[5\] are empty"),
        (lambda d: d["image_seqs"].__setitem__((0, slice(1, None)), 0.0), "1 acquired"),
        (lambda d: d["es_frame_idx"].__setitem__(0, 25), "es_frame_idx 25 is outside"),
    ],
)
def test_bad_rows_raise_input_errors_naming_the_row(tmp_path: Path, mutate, problem) -> None:
    path = write_file(tmp_path / "bad.h5", [{**ROWS[0], "mutate": mutate}])
    fields = tagging_h5_manifest(path, "ukb").iloc[0].to_dict()
    with pytest.raises(InputError, match=problem) as caught:
        read_tagging_h5_row(path, 0, fields, "ukb")
    error = caught.value
    assert (error.cohort, error.subject, error.slice_id, error.file) == (
        "ukb",
        "007",
        "series_1_slice_1",
        str(path),
    )


def test_a_tagging_h5_cohort_passes_the_config_schema(tmp_path: Path) -> None:
    with open(ROOT / "config.yaml") as fh:
        config = yaml.safe_load(fh)
    config["cohorts"]["ukb"] = {"source": "tagging_h5", "path": "ukb.h5", "groups": "g.tsv"}
    checked = check_config(config)["cohorts"]["ukb"]
    assert checked["frame_interval_ms"] == DEFAULT_FRAME_INTERVAL_MS
    assert (checked["species"], checked["shard_size"], checked["on_bad_input"]) == (
        "human",
        200,
        "fail",
    )
    schema = load_schema()["$defs"]["tagging_h5_cohort"]["properties"]
    assert schema["frame_interval_ms"]["default"] == DEFAULT_FRAME_INTERVAL_MS
    resolved = cohort_json({**config, "cohorts": {"ukb": checked}}, "ukb", tmp_path)
    assert str(tmp_path / "g.tsv") in resolved and str(tmp_path / "ukb.h5") in resolved
    bad = copy.deepcopy(config)
    bad["cohorts"]["ukb"]["slices"] = "mid"
    with pytest.raises(ConfigError, match=r"config.cohorts.ukb: unknown key\(s\) \['slices'\]"):
        check_config(bad)
    # tagged series, so a tracker can be the reference; the group is not read from the path
    config = check_config(config)
    config["experiments"]["myonet_rat"].update(cohorts=["ukb"], reference="harp")
    resolved_exp = resolve(config, "myonet_rat")
    assert resolved_exp["tracker"] == "harp" and resolved_exp["first_group"] == {"ukb": None}
