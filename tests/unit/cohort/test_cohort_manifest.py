"""Manifest structure checks: fast, vectorised, no image file touched, messages that say what to fix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from myoflow.cohort.manifest import load_manifest
from myoflow.errors import ConfigError


def test_paths_groups_slices_and_covariates(tmp_path: Path, write) -> None:
    rows = [
        {
            "subject": "b",
            "slice": "MID",
            "cine": "b/cine.nii.gz",
            "group": " DCM ; HCM ",
            "cov_age": 54,
            "cov_sex": "F",
        },
        {
            "subject": "a",
            "slice": "03",
            "cine": "/data/a.nii",
            "group": None,
            "cov_age": None,
            "cov_sex": "NA",
        },
        {
            "subject": "b",
            "slice": "basal",
            "tagged": "~/t.h5",
            "group": "DCM",
            "cov_age": 54.5,
            "cov_sex": "M",
        },
    ]
    table = load_manifest(write.manifest(tmp_path / "m.csv", rows), "c")
    assert table["subject"].tolist() == ["a", "b", "b"], "sorted by subject, stable"
    assert table["slice"].tolist() == ["3", "mid", "basal"]
    assert table["group"].tolist() == ["all", "DCM;HCM", "DCM"]
    assert table["cine"].tolist()[:2] == ["/data/a.nii", f"{tmp_path}/b/cine.nii.gz"]
    assert table["tagged"].iloc[2] == str(Path("~/t.h5").expanduser())
    assert table["cov_age"].dtype == float and np.isnan(table["cov_age"].iloc[0])
    assert table["cov_sex"].isna().tolist() == [True, False, False]


def test_subject_na_is_a_name_not_a_missing_value(tmp_path: Path, write) -> None:
    table = load_manifest(
        write.manifest(tmp_path / "m.tsv", [{"subject": "NA", "slice": 1, "cine": "x.npy"}]), "c"
    )
    assert table["subject"].tolist() == ["NA"]


def test_unknown_column_names_it_and_lists_allowed(tmp_path: Path, write) -> None:
    path = write.manifest(
        tmp_path / "m.tsv", [{"subject": "a", "slice": "mid", "cine": "x", "maks": "y"}]
    )
    with pytest.raises(
        ConfigError,
        match=r"^cohort c: manifest .*m\.tsv: unknown column\(s\) \['maks'\]; allowed: subject, "
        r"slice.*mask.*cov_<name>",
    ):
        load_manifest(path, "c")


def test_duplicate_subject_slice_names_subjects_and_file(tmp_path: Path, write) -> None:
    rows = [
        {"subject": s, "slice": sl, "cine": "x"}
        for s, sl in [("p1", "mid"), ("p2", "mid"), ("p1", "MID"), ("p3", "2"), ("p3", "02")]
    ]
    path = write.manifest(tmp_path / "m.csv", rows)
    with pytest.raises(ConfigError) as err:
        load_manifest(path, "c")
    message = str(err.value)
    assert message.startswith(f"cohort c: manifest {path}: duplicate (subject, slice)")
    # each clash with the file's line numbers (header = line 1), the cohort named once
    assert "p1 mid on lines 2, 4" in message and "p3 2 on lines 5, 6" in message
    assert "p2" not in message and message.count("cohort c") == 1


def test_a_cohort_error_at_workflow_start_names_the_cohort_once(tmp_path: Path, write) -> None:
    from myoflow.config import cohort_plan

    rows = [{"subject": "p1", "slice": "mid", "cine": "x"}] * 2
    path = write.manifest(tmp_path / "m.tsv", rows)
    with pytest.raises(ConfigError) as err:
        cohort_plan("c", {"source": "manifest", "manifest": str(path), "shard_size": 5}, tmp_path)
    assert str(err.value).count("cohort c") == 1
    with pytest.raises(ConfigError, match=r"^cohort c: ACDC slices: unknown position"):
        cohort_plan("c", {"source": "acdc", "path": str(tmp_path), "slices": ["top"]}, tmp_path)


@pytest.mark.parametrize(
    ("rows", "pattern"),
    [
        ([{"slice": "mid", "cine": "x"}], r"missing required column\(s\) \['subject'\]"),
        ([{"subject": "a", "slice": "mid", "mask": "x"}], r"needs a `cine` or a `tagged` column"),
        ([{"subject": "", "slice": "mid", "cine": "x"}], r"empty `subject` on line\(s\) 2"),
        ([{"subject": "a/b", "slice": "mid", "cine": "x"}], r"may not contain '/': a/b"),
        (
            [{"subject": "a", "slice": "middle", "cine": "x"}],
            r"bad `slice` value\(s\) \(a: 'middle'\)",
        ),
        ([{"subject": "a", "slice": "-1", "cine": "x"}], r"bad `slice`"),
        (
            [{"subject": "a", "slice": "mid", "cine": None, "tagged": None}],
            r"without a cine or tagged path for subject\(s\) a",
        ),
    ],
)
def test_structure_errors(tmp_path: Path, write, rows, pattern) -> None:
    with pytest.raises(ConfigError, match=pattern):
        load_manifest(write.manifest(tmp_path / "m.tsv", rows), "c")


def test_missing_manifest_and_unknown_extension(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cohort c: manifest .*nope.tsv not found"):
        load_manifest(tmp_path / "nope.tsv", "c")
    (tmp_path / "m.xlsx").write_text("x")
    with pytest.raises(ConfigError, match="use .tsv"):
        load_manifest(tmp_path / "m.xlsx", "c")


def test_loads_1e5_rows_without_touching_images(tmp_path: Path) -> None:
    """The image paths do not exist: parse-time loading must not open (or stat) them."""
    n = 100_000
    subjects = np.repeat([f"sub{i:05d}" for i in range(n // 4)], 4)
    table = pd.DataFrame(
        {
            "subject": subjects[::-1],
            "slice": np.tile(["basal", "mid", "apical", "5"], n // 4),
            "group": np.where(np.arange(n) % 3, "ctrl", "dcm;hcm"),
            "cine": [f"cine/{s}.nii.gz" for s in subjects],
            "mask": [f"mask/{s}.nii.gz" for s in subjects],
            "ed_frame": "0",
            "cov_age": np.arange(n) % 80,
        }
    )
    path = tmp_path / "big.tsv"
    table.to_csv(path, sep="\t", index=False)
    loaded = load_manifest(path, "big")
    assert len(loaded) == n and loaded["subject"].is_monotonic_increasing
