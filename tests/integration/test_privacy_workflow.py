"""No identifying DICOM value reaches any file of a run: results, logs, models or the report.

A manifest cohort of phantom slices, stored as DICOM carrying names, dates, IDs, institution and
UIDs (tests/support/writers.py IDENTITY), goes through a whole MyoNet experiment (ingest,
preprocessing, NIfTI exports, training, prediction, evaluation, tables, figures) and the HTML and
zip reports. Then every byte written is searched for every identifying value and its pieces, in
every container a reader could open (tests/support/dicom_cohort.py).
"""

from __future__ import annotations

import base64
import gzip
import io
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from support.dicom_cohort import (
    IDENTITY,
    files_under,
    find_leaks,
    identifying_needles,
    write_dicom_cohort,
)
from support.workflow import read_tsv, snakemake, write_config

pytestmark = pytest.mark.integration

EXPERIMENT = "private"
#: As small as an experiment gets: one (the faster) network, one epoch, 32 x 32 x 8 crops.
CONFIG = {
    "preprocess": {"size": 32, "frames": 8},
    "tracking_validation": {"enabled": False},
    "experiments": {
        EXPERIMENT: {
            "method": "myonet",
            "cohorts": ["clinic"],
            "reference": "provided",
            "settings": {
                "nets": ["resmyonet"],
                "base_width": 2,
                "epochs": 1,
                "batch_size": 2,
                "compile": False,
            },
        }
    },
}
#: The needles of IDENTITY alone (the workflow test adds the written files' instance UIDs).
NEEDLES = identifying_needles(IDENTITY)


def test_scanner_finds_values_hidden_in_every_container() -> None:
    """The search itself: a piece of a value inside gzip, zip, HDF5, base64 or a reformatted
    date is found, so a clean result of the workflow test below means something."""
    family = IDENTITY["PatientName"].split("^")[0]
    institution_word = IDENTITY["InstitutionName"].split()[1]
    h5 = io.BytesIO()
    with h5py.File(h5, "w") as f:
        # compressed, so the raw bytes do not show the value; only reading through h5py does
        notes = np.array([f"seen by {family}".encode()] * 500)  # fixed-length, so compressible
        f.create_dataset("notes", data=notes, compression="gzip")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("inner.txt", f"at {institution_word.upper()}")
    birth = IDENTITY["PatientBirthDate"]
    iso = f"{birth[:4]}-{birth[4:6]}-{birth[6:]}"
    sources = {
        "hdf5": h5.getvalue(),
        "zip": archive.getvalue(),
        "gzip": gzip.compress(family.lower().encode()),
        "html": b'<img src="data:text/plain;base64,' + base64.b64encode(iso.encode()) + b'">',
    }
    assert family.encode() not in sources["hdf5"], "the HDF5 control must be compressed"
    found = {where.split("!")[0] for _, _, where in find_leaks(sources.items(), NEEDLES)}
    assert found == set(sources)
    # digits are matched only as a whole number: inside a longer number is no leak
    assert not find_leaks([("float", f"0.3{birth}5".encode())], NEEDLES)


def test_no_identifying_value_in_any_output(tmp_path: Path) -> None:
    manifest, dicom_files = write_dicom_cohort(tmp_path / "data")
    needles = identifying_needles(IDENTITY, dicom_files)
    # the inputs do carry every identifying value (else a clean scan below proves nothing)
    found_in_inputs = {text for text, _, _ in find_leaks(files_under(*dicom_files), needles)}
    assert {n.text for n in needles if n.text in IDENTITY.values()} <= found_in_inputs
    assert {n.tag for n in needles if n.text in found_in_inputs} >= {*IDENTITY, "SOPInstanceUID"}

    config = {
        **CONFIG,
        "cohorts": {"clinic": {"source": "manifest", "manifest": str(manifest), "species": "rat"}},
    }
    work = tmp_path / "run"
    write_config(work, config)
    run = snakemake(work)
    assert run.returncode == 0, (run.stdout + run.stderr)[-6000:]
    reports = [snakemake(work, "--report", name) for name in ("report.html", "report.zip")]
    for report in reports:
        assert report.returncode == 0, (report.stdout + report.stderr)[-3000:]

    # the run did use the DICOM data: every subject ingested, the test split evaluated
    index = read_tsv(work / "results" / "clinic" / "index.tsv")
    assert set(index["subject"]) == set(read_tsv(manifest)["subject"])
    metrics = read_tsv(work / "results" / "experiments" / EXPERIMENT / "tables" / "metrics.tsv")
    assert not metrics.empty

    console = [
        (f"console of run {i}", (r.stdout + r.stderr).encode())
        for i, r in enumerate([run, *reports])
    ]
    outputs = [
        *files_under(work / "results", work / "report.html", work / "report.zip"),
        *console,
    ]
    leaks = find_leaks(outputs, needles)
    assert not leaks, "identifying values leaked:\n" + "\n".join(map(str, leaks[:30]))
