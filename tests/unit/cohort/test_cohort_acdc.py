"""The ACDC adapter turns an ACDC-shaped folder into records with the right labels and geometry."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from myoflow.cohort.acdc import acdc_manifest
from myoflow.cohort.ingest import ingest_shard

H, W, Z, T = 40, 44, 7, 8
CY, CX = 20, 24
SPACING = (1.5, 1.25)  # (row, col) mm
SLICE_MM = 10.0


def _labels(rank: int | None) -> np.ndarray:
    """[H, W] ACDC labels of a slice ``rank`` slices below the base (None: no heart)."""
    out = np.zeros((H, W), np.uint8)
    if rank is None:
        return out
    yy, xx = np.mgrid[:H, :W]
    outer = 12 - rank
    r = np.hypot(yy - CY, xx - CX)
    rv = (np.hypot(yy - CY, xx - (CX - outer - 3)) < outer) & (r >= outer) & (xx < CX)
    out[rv] = 1
    out[(r < outer) & (r >= outer - 4)] = 2
    out[r < outer - 4] = 3
    return out


def _volume(base_at_top: bool) -> np.ndarray:
    """[Z, H, W] labels: six myocardial slices, base at z=0 (or z=6), one empty slice."""
    ranks = [0, 1, 2, 3, 4, 5, None] if base_at_top else [None, 5, 4, 3, 2, 1, 0]
    return np.stack([_labels(r) for r in ranks])


def _save(path: Path, data_zhw: np.ndarray) -> None:
    """[Z, H, W] or [T, Z, H, W] -> (X, Y, Z) or (X, Y, Z, T)."""
    data = data_zhw.transpose(2, 1, 0) if data_zhw.ndim == 3 else data_zhw.transpose(3, 2, 1, 0)
    img = nib.Nifti1Image(
        np.ascontiguousarray(data), np.diag([SPACING[1], SPACING[0], SLICE_MM, 1])
    )
    img.header.set_zooms([SPACING[1], SPACING[0], SLICE_MM, 1.0][: data.ndim])
    nib.save(img, str(path))


def _patient(root: Path, name: str, ed: int, es: int, group: str, base_at_top: bool) -> np.ndarray:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "Info.cfg").write_text(
        f"ED: {ed}\nES: {es}\nGroup: {group}\nHeight: 180.0\nWeight: 80.5\nNbFrame: {T}\n"
    )
    labels = _volume(base_at_top)
    intensity = np.choose(labels, [20.0, 180.0, 60.0, 200.0]).astype(np.float32)
    cine = np.stack([intensity + t for t in range(T)])  # frame t is recognisable by its offset
    _save(folder / f"{name}_4d.nii.gz", cine)
    _save(folder / f"{name}_frame{ed:02d}_gt.nii.gz", labels)
    _save(folder / f"{name}_frame{es:02d}_gt.nii.gz", labels)
    _save(folder / f"{name}_frame{ed:02d}.nii.gz", cine[ed - 1])
    return labels


@pytest.fixture()
def acdc_root(tmp_path: Path) -> Path:
    root = tmp_path / "acdc"
    _patient(root, "patient001", ed=1, es=4, group="DCM", base_at_top=True)
    _patient(root, "patient002", ed=2, es=5, group="NOR", base_at_top=False)
    (root / "not_a_patient").mkdir()
    return root


def _excluded(qc) -> list[str]:
    return qc.loc[qc["status"] == "excluded", "subject"].tolist()


def _options(root: Path, slices="mid") -> dict:
    return {"source": "acdc", "path": str(root), "slices": slices, "name": "acdc"}


def test_mid_slices_become_records(acdc_root: Path) -> None:
    table = acdc_manifest(acdc_root, "acdc", "mid")
    assert table["subject"].tolist() == ["patient001", "patient002"]
    records, qc = ingest_shard(table, "acdc", _options(acdc_root))
    assert set(qc["status"]) == {"flagged"}, "kept, with how each value was obtained"
    first, second = records
    # the adapter declares ACDC's label convention, and the record says so
    assert "mask_labels:acdc" in first.flags
    assert {"mask_labels:acdc", "rv_insertion_estimated"} <= set(qc["reason"])
    assert (first.group, second.group) == ("DCM", "NOR")
    assert first.covariates == {"height_cm": 180.0, "weight_kg": 80.5}
    assert first.position == second.position == "mid" and first.slice_id == "mid"
    # Both stacks have six myocardial slices; the mid third is ranks 2-3, its middle rank 3 from
    # the base: z=3 in both orientations.
    expected = _labels(3) == 2
    for rec in records:
        assert rec.slice_location_mm == pytest.approx(3 * SLICE_MM)
        assert rec.mask.shape == (1, H, W)
        np.testing.assert_array_equal(rec.mask[0], expected)
        np.testing.assert_array_equal(rec.extras["mask_es"][0], expected)
        assert rec.pixel_spacing_mm == pytest.approx(SPACING)
        assert rec.n_frames == T and rec.ed_frame == 0
        assert "frame_times_assumed_rr:1000ms" in rec.flags
        np.testing.assert_allclose(rec.frame_times_ms, np.arange(T) * 1000.0 / T)


def test_ed_and_es_frames_are_zero_based_and_series_starts_at_ed(acdc_root: Path) -> None:
    records, _ = ingest_shard(acdc_manifest(acdc_root, "acdc"), "acdc", _options(acdc_root))
    first, second = records
    assert first.es_frame == 3 and not any(f.startswith("rotated") for f in first.flags)
    assert first.cine[0, 0, 0] == 20.0  # frame 0 of the file (ED: 1)
    assert second.es_frame == 3  # ES 5 -> 4 (0-based) -> 3 after rotating ED (1) to frame 0
    assert "rotated_to_ed:1" in second.flags
    assert second.cine[0, 0, 0] == 21.0 and second.cine[-1, 0, 0] == 20.0


def test_rv_insertion_points_lie_on_the_rv_side(acdc_root: Path) -> None:
    records, _ = ingest_shard(acdc_manifest(acdc_root, "acdc"), "acdc", _options(acdc_root))
    for rec in records:
        assert "rv_insertion_estimated" in rec.flags
        (ax, ay), (ix, iy) = rec.rv_insertion_mm
        cx, cy = CX * SPACING[1], CY * SPACING[0]
        assert ax < cx and ix < cx, "both insertion points on the RV (left) side"
        assert ay < cy < iy, "anterior above the centre, inferior below (standard view)"


def test_all_slices_get_positions_by_thirds(acdc_root: Path) -> None:
    table = acdc_manifest(acdc_root, "acdc", "all")
    assert len(table) == 12  # six myocardial slices per patient; the empty slice is left out
    by_subject = {
        s: dict(zip(g["slice_index"], g["position"])) for s, g in table.groupby("subject")
    }
    assert by_subject["patient001"] == {
        0: "basal",
        1: "basal",
        2: "mid",
        3: "mid",
        4: "apical",
        5: "apical",
    }
    assert by_subject["patient002"] == {
        6: "basal",
        5: "basal",
        4: "mid",
        3: "mid",
        2: "apical",
        1: "apical",
    }
    records, qc = ingest_shard(table, "acdc", _options(acdc_root, "all"))
    assert not _excluded(qc) and len(records) == 12
    assert {r.slice_id for r in records if r.subject == "patient002"} == {
        "1",
        "2",
        "3",
        "4",
        "5",
        "6",
    }


def test_list_of_positions(acdc_root: Path) -> None:
    table = acdc_manifest(acdc_root, "acdc", ["basal", "apical"])
    assert table["slice"].tolist() == ["basal", "apical"] * 2
    # Middle of each two-slice third, the one toward the apex when the count is even.
    assert table["slice_index"].tolist() == [1, 5, 5, 1]


def test_a_broken_subject_is_planned_and_then_excluded_with_the_reason(acdc_root: Path) -> None:
    broken = acdc_root / "patient003"
    broken.mkdir()
    (broken / "Info.cfg").write_text("ED: 1\nES: 9\nGroup: HCM\n")
    table = acdc_manifest(acdc_root, "acdc")
    assert table["subject"].tolist() == ["patient001", "patient002", "patient003"]
    records, qc = ingest_shard(table, "acdc", _options(acdc_root))
    assert [r.subject for r in records] == ["patient001", "patient002"]
    excluded = qc[qc["status"] == "excluded"]
    assert excluded[["subject", "reason"]].values.tolist() == [
        ["patient003", "ED ground truth not found"]
    ]
    assert excluded["file"].iloc[0].endswith("patient003_frame01_gt.nii.gz")


def test_a_folder_without_the_4d_file_gives_an_ed_es_pair(acdc_root: Path) -> None:
    """Redistributions with only the ED and ES frames: a two-frame record, flagged, not lost."""
    folder = acdc_root / "patient001"
    cine = np.asarray(nib.load(folder / "patient001_4d.nii.gz").dataobj).transpose(3, 2, 1, 0)
    _save(folder / "patient001_frame04.nii.gz", cine[3])
    (folder / "patient001_4d.nii.gz").unlink()
    records, qc = ingest_shard(acdc_manifest(acdc_root, "acdc"), "acdc", _options(acdc_root))
    assert not _excluded(qc)
    pair = next(r for r in records if r.subject == "patient001")
    assert "ed_es_only" in pair.flags and pair.n_frames == 2 and pair.es_frame == 1
    # ED is frame 1 (offset 0 in the fixture's intensities), ES frame 4 (offset 3)
    z = 3
    np.testing.assert_array_equal(pair.cine[0], cine[0, z])
    np.testing.assert_array_equal(pair.cine[1], cine[3, z])
    assert pair.mask.shape == (2, H, W) and "mask_es" not in pair.extras
    # ES at frame 4 of NbFrame 8 after ED at frame 1: 3/8 of the assumed 1000 ms cycle
    np.testing.assert_allclose(pair.frame_times_ms, [0.0, 375.0])
    assert "frame_times_assumed_rr:1000ms" in pair.flags
    full = next(r for r in records if r.subject == "patient002")
    assert "ed_es_only" not in full.flags and full.n_frames == T


def test_an_empty_es_mask_is_a_flag_not_an_exclusion(acdc_root: Path) -> None:
    """The apical slice whose ES myocardium label is absent keeps its ED mask and its record."""
    folder = acdc_root / "patient001"
    es_gt = folder / "patient001_frame04_gt.nii.gz"
    labels = np.asarray(nib.load(es_gt).dataobj).transpose(2, 1, 0).copy()
    labels[labels == 2] = 3  # the ring closed at ES: no myocardium label left
    _save(es_gt, labels)
    records, qc = ingest_shard(acdc_manifest(acdc_root, "acdc"), "acdc", _options(acdc_root))
    assert not _excluded(qc)
    rec = next(r for r in records if r.subject == "patient001")
    assert "mask_es_empty" in rec.flags and "mask_es" not in rec.extras
    flagged = qc[(qc["subject"] == "patient001") & (qc["reason"] == "mask_es_empty")]
    assert len(flagged) == 1 and flagged["status"].iloc[0] == "flagged"
