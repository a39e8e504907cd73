"""Identifiers that look like missing values survive the whole workflow, exactly as written.

Subject IDs ``NA``, ``None``, ``null``, ``nan``, ``NaN``, groups ``NA`` and ``None`` and a cohort
named ``nan`` used to become missing values when merged tables were read back, so the subjects
vanished from the splits (and from everything after) while the run exited 0.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.workflow import completed_run, read_tsv
from support.writers import make_slice, write_manifest, write_nifti, write_nifti_displacement

pytestmark = pytest.mark.integration

SUBJECTS = ["NA", "None", "null", "nan", "NaN", "0042"]
GROUPS = ["NA", "None"]
COHORT = "nan"


def _manifest(data: Path) -> Path:
    """One mid slice per subject: NIfTI cine, mask and a provided displacement."""
    data.mkdir(parents=True)
    rows = []
    for i, subject in enumerate(SUBJECTS):
        sl = make_slice(frames=8, height=40, width=36)
        dt = float(sl.times[1] - sl.times[0])
        stem = f"s{i}"
        write_nifti(data / f"{stem}_cine.nii.gz", sl.cine, sl.spacing, dt)
        write_nifti(data / f"{stem}_mask.nii.gz", sl.mask, sl.spacing, dt)
        write_nifti_displacement(data / f"{stem}_u.nii.gz", sl.displacement, sl.spacing)
        rows.append(
            {
                "subject": subject,
                "slice": "mid",
                "group": GROUPS[i % 2],
                "cine": f"{stem}_cine.nii.gz",
                "mask": f"{stem}_mask.nii.gz",
                "displacement": f"{stem}_u.nii.gz",
            }
        )
    return write_manifest(data / "manifest.tsv", rows)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("identifiers")
    config = {
        "preprocess": {"size": 32, "frames": 8},
        "split": {"train": 0.5, "val": 0.25, "test": 0.25},
        "cohorts": {
            COHORT: {"source": "manifest", "manifest": str(_manifest(work / "data"))},
        },
        "experiments": {
            "ids": {
                "method": "myonet",
                "cohorts": [COHORT],
                "reference": "provided",
                "settings": {
                    "nets": ["myonet"],
                    "base_width": 2,
                    "epochs": 1,
                    "batch_size": 2,
                    "compile": False,
                    "evaluate_split": "all",
                },
            }
        },
        "tracking_validation": {"enabled": False},
    }
    return completed_run(work, config)


def test_every_subject_is_in_the_cohort_tables(run: Path) -> None:
    res = run / "results" / COHORT
    for name in ("index.tsv", "splits.tsv"):
        table = read_tsv(res / name)
        assert sorted(table["subject"]) == sorted(SUBJECTS), name
        assert set(table["cohort"]) == {COHORT}, name
        assert set(table["group"]) == set(GROUPS), name
    splits = read_tsv(res / "splits.tsv")
    assert set(splits["split"]) == {"train", "val", "test"}
    qc = read_tsv(res / "qc.tsv")
    assert not (qc["status"] == "excluded").any()
    assert set(qc["subject"]) <= set(SUBJECTS)


def test_every_subject_is_in_the_experiment_tables(run: Path) -> None:
    tables = run / "results" / "experiments" / "ids" / "tables"
    for name in ("metrics.tsv", "strain_curves.tsv", "strain_summary.tsv"):
        table = read_tsv(tables / name)
        assert sorted(set(table["subject"])) == sorted(SUBJECTS), name
        assert set(table["cohort"]) == {COHORT}, name
        assert set(table["group"]) == set(GROUPS), name
