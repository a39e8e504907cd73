"""The workflow end to end on tiny configs: phantom and user cohorts, bad input, privacy, scale.

Each test runs Snakemake in its own working directory (``-d``) with its own config.yaml, exactly
as a user would run the repository's Snakefile on their data.
"""

from __future__ import annotations

import re
from pathlib import Path

import h5py
import nibabel as nib
import numpy as np
import pytest
import yaml
from support.workflow import ROOT, completed_run, read_tsv, snakemake, write_config
from support.writers import IDENTITY, make_slice, write_dicom_folder, write_manifest, write_nifti

from myoflow.io.frames import FrameShard
from myoflow.io.shard_plan import synthetic_plan
from myoflow.io.shards import read_shard
from myoflow.preprocess.fov import FovTransform

pytestmark = pytest.mark.integration

TINY_SYNTHETIC = {
    "preprocess": {"profiles": ["crop", "fov", "frames2d"], "frames2d": {"size": 64}},
    "cohorts": {
        "rats": {
            "source": "synthetic",
            "species": "rat",
            "seed": 3,
            "subjects": 4,
            "slices": ["mid", "apical"],
            "frames": 20,
            "groups": {"sham": {"fraction": 0.5}, "rt": {"fraction": 0.5, "global_scale": 0.8}},
            "shard_size": 3,
        }
    },
}


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return completed_run(tmp_path_factory.mktemp("synthetic"), TINY_SYNTHETIC)


def test_synthetic_cohort_runs_through_preprocessing(synthetic_run: Path) -> None:
    res = synthetic_run / "results" / "rats"
    index = read_tsv(res / "index.tsv")
    assert len(index) == 8, "4 subjects x 2 slices, none lost"
    assert set(index["n_frames"]) == {20}
    # Two slices per subject and at most three per shard: one subject per shard.
    plan = synthetic_plan(TINY_SYNTHETIC["cohorts"]["rats"])
    assert sorted(index["shard"].unique()) == [f"shard-{n}.h5" for n in plan.names]
    assert (index.groupby("subject")["shard"].nunique() == 1).all(), "a subject in two shards"
    crop = read_tsv(res / "preprocessed" / "crop" / "index.tsv")
    assert crop[["subject", "slice_id", "shard"]].equals(index[["subject", "slice_id", "shard"]])
    splits = read_tsv(res / "splits.tsv")
    assert splits["subject"].is_unique and set(splits["subject"]) == set(index["subject"])
    truth = read_tsv(res / "truth_strain.tsv")
    assert set(truth["subject"]) == set(index["subject"])
    qc = read_tsv(res / "qc.tsv")
    assert not (qc["status"] == "excluded").any()
    with h5py.File(res / "preprocessed" / "crop" / "shard-000.h5") as h5:
        subject = next(iter(h5))
        group = h5[subject][next(iter(h5[subject]))]
        assert group["cine"].shape == (20, 128, 128)
        assert group["displacement"].shape == (20, 2, 128, 128)
        assert group["landmarks"].shape == (20, 2, 168)


def test_every_profile_is_written(synthetic_run: Path) -> None:
    res = synthetic_run / "results" / "rats"
    records = {
        r.key: r for path in sorted(res.glob("records/shard-*.h5")) for r in read_shard(path)
    }
    fov = [r for path in sorted(res.glob("preprocessed/fov/shard-*.h5")) for r in read_shard(path)]
    assert sorted(r.key for r in fov) == sorted(records)
    for rec in fov:
        source = records[rec.key]
        assert rec.cine.shape == (20, 256, 256) and rec.pixel_spacing_mm == source.pixel_spacing_mm
        back = FovTransform.from_record(rec).to_source_mm(rec.landmarks, axis=1)
        assert np.max(np.abs(back - source.landmarks)) <= 1e-6  # the profile's round trip, mm
    samples = 0
    for path in sorted(res.glob("preprocessed/frames2d/shard-*.h5")):
        with FrameShard(path) as shard:
            samples += len(shard)
            assert shard.sample(0)["cine"].shape == (64, 64)
    assert samples == 8 * 20, "one 2-D sample per slice and frame"
    for profile in ("fov", "frames2d"):
        assert len(read_tsv(res / "preprocessed" / profile / "index.tsv")) == 8


def test_nifti_exports_keep_spacing(synthetic_run: Path) -> None:
    res = synthetic_run / "results" / "rats"
    index = read_tsv(res / "preprocessed" / "crop" / "index.tsv")
    row = index.iloc[0]
    shard = row["shard"].removesuffix(".h5")
    folder = res / "nifti" / "preprocessed" / "crop" / shard / row["subject"]
    cine = nib.load(folder / f"{row['slice_id']}_cine.nii.gz")
    assert cine.shape[0] == 128 and cine.shape[-1] == 20
    zooms = cine.header.get_zooms()
    assert zooms[0] == pytest.approx(row["spacing_col_mm"], rel=1e-5)
    assert zooms[1] == pytest.approx(row["spacing_row_mm"], rel=1e-5)
    assert (folder / f"{row['slice_id']}_mask.nii.gz").exists()
    assert (folder / f"{row['slice_id']}_displacement_x.nii.gz").exists()


def test_rerun_has_nothing_to_do(synthetic_run: Path) -> None:
    run = snakemake(synthetic_run, "-n")
    assert run.returncode == 0
    assert "Nothing to be done" in run.stdout + run.stderr


def _manifest_cohort(work: Path) -> Path:
    """Three subjects as NIfTI and DICOM (carrying identifying tags); one of them broken."""
    data = work / "data"
    data.mkdir(parents=True)
    rows = []
    for i, fmt in enumerate(["nifti", "dicom", "nifti"]):
        sl = make_slice(frames=8, height=40, width=36)
        subject = f"sub{i}"
        dt = float(sl.times[1] - sl.times[0])
        if fmt == "nifti":
            cine = write_nifti(data / f"{subject}_cine.nii.gz", sl.cine, sl.spacing, dt)
        else:
            cine = write_dicom_folder(
                data / f"{subject}_dicom", sl.stored, sl.spacing, sl.times, identity=True
            )
        mask = write_nifti(data / f"{subject}_mask.nii.gz", sl.mask, sl.spacing, dt)
        rows.append(
            {
                "subject": subject,
                "slice": "mid",
                "group": "a" if i % 2 else "b",
                "cine": cine.relative_to(data).as_posix(),
                "mask": mask.relative_to(data).as_posix(),
            }
        )
    rows[2]["cine"] = "sub2_missing.nii.gz"
    return write_manifest(data / "manifest.tsv", rows)


def test_bad_subject_is_listed_and_others_finish(tmp_path: Path) -> None:
    manifest = _manifest_cohort(tmp_path)
    write_config(
        tmp_path,
        {
            "cohorts": {
                "mine": {
                    "source": "manifest",
                    "manifest": str(manifest),
                    "species": "rat",
                    "shard_size": 10,
                }
            }
        },
    )
    run = snakemake(tmp_path, "--keep-going")
    assert run.returncode != 0, "on_bad_input: fail stops the run"
    log = (tmp_path / "results" / "logs" / "mine" / "check_inputs.log").read_text()
    assert "subject=sub2" in log and "sub2_missing.nii.gz" in log and "cohort=mine" in log
    res = tmp_path / "results" / "mine"
    qc = read_tsv(res / "qc.tsv")
    bad = qc[qc["status"] == "excluded"]
    assert list(bad["subject"]) == ["sub2"]
    assert "sub2_missing.nii.gz" in bad["file"].iloc[0]
    assert set(read_tsv(res / "index.tsv")["subject"]) == {"sub0", "sub1"}
    assert not (res / "splits.tsv").exists(), "nothing downstream of the failed check"
    assert not (res / "inputs.ok").exists()

    # the same cohort with `on_bad_input: exclude` completes without the bad subject
    cfg = yaml.safe_load((tmp_path / "config.yaml").read_text())
    cfg["cohorts"]["mine"]["on_bad_input"] = "exclude"
    write_config(tmp_path, cfg)
    run = snakemake(tmp_path)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    assert set(read_tsv(res / "splits.tsv")["subject"]) == {"sub0", "sub1"}

    # privacy: no identifying DICOM value anywhere in results, logs or Snakemake's own logs
    texts = []
    for path in [*(tmp_path / "results").rglob("*"), *(tmp_path / ".snakemake" / "log").rglob("*")]:
        if path.is_file():
            data = path.read_bytes()
            if path.suffix == ".gz":
                import gzip

                data = gzip.decompress(data)
            texts.append((path, data))
    texts.append((Path("stdout"), (run.stdout + run.stderr).encode()))
    for value in IDENTITY.values():
        for path, data in texts:
            assert value.encode() not in data, f"{value!r} leaked into {path}"


def test_unknown_config_key_stops_at_start(tmp_path: Path) -> None:
    cfg = yaml.safe_load(yaml.safe_dump(TINY_SYNTHETIC))
    cfg["cohorts"]["rats"]["sbjects"] = 3
    write_config(tmp_path, cfg)
    run = snakemake(tmp_path, "-n")
    assert run.returncode != 0
    assert "config.cohorts.rats: unknown key(s) ['sbjects']" in run.stdout + run.stderr
    assert not (tmp_path / "results").exists()


def test_dry_run_of_ten_thousand_slices_lists_jobs_per_shard(tmp_path: Path) -> None:
    cfg = {
        "cohorts": {
            "big": {
                "source": "synthetic",
                "species": "human",
                "subjects": 3334,
                "slices": ["basal", "mid", "apical"],
                "shard_size": 250,
            }
        }
    }
    write_config(tmp_path, cfg)
    run = snakemake(tmp_path, "-n", "--quiet", "rules")
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", run.stdout, re.MULTILINE))
    shards = synthetic_plan(cfg["cohorts"]["big"]).n_shards
    assert int(counts["phantom_shard"]) == shards == 41  # 83 subjects (249 slices) per shard
    assert int(counts["preprocess_shard"]) == shards
    assert int(counts["total"]) < 6 * shards, "job count grows with shards, not subjects"


def test_the_workflow_is_lint_clean(tmp_path: Path) -> None:
    """`snakemake --lint` on the built-in config: logs, resources, no globals in shell commands."""
    write_config(tmp_path, yaml.safe_load((ROOT / "config.yaml").read_text()))
    run = snakemake(tmp_path, "--lint")
    output = run.stdout + run.stderr
    assert "Lints for" not in output, output[-4000:]
    assert "your workflow is in a good condition" in output
