"""Paper 002's evaluation of one shard on hand-built stacks whose every expected value is counted
by hand: square myocardial rings of known area and cavity on 3 acquired slices 1 mm apart
(planes 0, 5 and 10 of an 11-plane volume, pixels 0.5 mm), a prediction that misses the last
acquired slice, and the subjects and predictions that must become QC rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from myoflow.io.volumes import StackGrid, SubjectVolumes, write_volumes
from myoflow.methods.attmnet.evaluate import disc_volumes, evaluate_stage
from myoflow.methods.attmnet.paper002 import EMPTY, SEGMENTATION, VOLUMES
from myoflow.methods.attmnet.settings import MYOCARDIAL_DENSITY

D, S = 11, 16
PLANES = (0, 5, 10)
GRID = StackGrid(PLANES, (0, 0), (0.2, 0.5, 0.5), 5, (S, S))
#: One pixel of one acquired slice, in ml: 0.5 mm x 0.5 mm x 1 mm gap.
PIXEL_ML = 0.25e-3
#: The ED ring (cavity 4 x 4) and the ES ring (cavity 2 x 2): 48 and 60 pixels.
ED_RING, ES_RING = 48, 60
ED_CAVITY, ES_CAVITY = 16, 4
ACQUIRED_PIXELS = 3 * S * S
SPLITS = {"s1": "test", "s2": "test", "s3": "test", "s4": "train", "s6": "test"}


def ring(inner: int) -> np.ndarray:
    """An 8 x 8 square with an ``inner`` x ``inner`` hole in its middle, ``[S, S]`` uint8."""
    mask = np.zeros((S, S), np.uint8)
    mask[4:12, 4:12] = 1
    start = 8 - inner // 2
    mask[start : start + inner, start : start + inner] = 0
    return mask


def stack(frames: int = 2) -> np.ndarray:
    """The reference: the ED ring in every plane at frame 0, the ES ring at frame 1."""
    masks = np.zeros((frames, D, S, S), np.uint8)
    masks[0] = ring(4)
    if frames > 1:
        masks[1] = ring(2)
    return masks


def subject(name: str, masks: np.ndarray | None, **extra: Any) -> SubjectVolumes:
    return SubjectVolumes(
        cohort="ph",
        subject=name,
        group="control",
        series="cine",
        images=np.full((2, D, S, S), 0.5, np.float32),
        masks=masks,
        grid=GRID,
        slice_ids=("0", "1", "2"),
        slice_positions_mm=(0.0, 1.0, 2.0),
        frame_times_ms=np.array([0.0, 50.0]),
        es_frame=1,
        extra={"covariates": extra},
    )


def missing_apex() -> np.ndarray:
    """The reference without the last acquired slice (plane 10) at every frame."""
    masks = stack()
    masks[:, PLANES[-1]] = 0
    return masks


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, pd.DataFrame], Path]:
    folder = tmp_path_factory.mktemp("attmnet_eval")
    truth = [
        subject("s1", stack(), stack_myocardial_volume_ml=0.04),
        subject("s2", stack()),
        subject("s3", None),
        subject("s4", stack()),
        subject("s5", stack()),
        subject("s6", stack(frames=1)),
    ]
    write_volumes(folder / "truth.h5", truth, D, S)
    pd.DataFrame(
        [{"cohort": "ph", "subject": s, "group": "control", "split": v} for s, v in SPLITS.items()]
    ).to_csv(folder / "splits.tsv", sep="\t", index=False)
    predictions = {
        "attmnet": [subject(s, stack()) for s in ("s1", "s2", "s6")],
        "unet2d": [subject("s1", missing_apex()), subject("s6", stack())],
        "unet3d": [subject("s1", stack(frames=1)), subject("s2", stack()), subject("s6", stack())],
    }
    paths = {}
    for model, subjects in predictions.items():
        paths[model] = folder / f"{model}.h5"
        write_volumes(paths[model], subjects, D, S)
    experiment = {"name": "e", "settings": {"evaluate_split": "auto"}}
    return evaluate_stage(experiment, folder / "truth.h5", folder / "splits.tsv", paths), folder


def _row(table: pd.DataFrame, **keys: Any) -> pd.Series:
    chosen = table
    for column, value in keys.items():
        chosen = chosen[chosen[column] == value]
    assert len(chosen) == 1, keys
    return chosen.iloc[0]


def test_tables_have_their_columns_and_only_the_evaluated_masked_subjects(
    evaluated: tuple[dict[str, pd.DataFrame], Path],
) -> None:
    tables, _ = evaluated
    seg, vols = tables["segmentation"], tables["volumes"]
    assert list(seg.columns) == SEGMENTATION and list(vols.columns) == VOLUMES
    assert set(seg["subject"]) == {"s1", "s2", "s6"} == set(vols["subject"])
    assert set(seg["split"]) == {"test"} and set(seg["experiment"]) == {"e"}
    # s1: empty, attmnet, unet2d (unet3d's s1 is excluded); 2 frames x 2 grids each
    assert sorted(seg.loc[seg["subject"] == "s1", "method"].unique()) == [
        "attmnet",
        EMPTY,
        "unet2d",
    ]
    assert len(seg[seg["subject"] == "s1"]) == 3 * 2 * 2
    # s6 has a reference at ED alone: only frame 0 is scored
    assert set(seg.loc[seg["subject"] == "s6", "frame"]) == {0}
    assert len(seg[seg["subject"] == "s6"]) == 4 * 2


def test_a_prediction_missing_one_acquired_slice_scores_as_counted(
    evaluated: tuple[dict[str, pd.DataFrame], Path],
) -> None:
    seg = evaluated[0]["segmentation"]
    acquired = _row(seg, subject="s1", method="unet2d", grid="acquired", frame=0)
    # 2 of 3 rings found, nothing extra: Dice 2 * 96 / (96 + 144)
    assert acquired["n_truth"] == 3 * ED_RING and acquired["n_pred"] == 2 * ED_RING
    assert acquired["dice"] == pytest.approx(0.8)
    assert acquired["jaccard"] == pytest.approx(2 / 3)
    assert acquired["sensitivity"] == pytest.approx(2 / 3)
    assert acquired["ppv"] == pytest.approx(1.0) and acquired["specificity"] == pytest.approx(1.0)
    negatives = ACQUIRED_PIXELS - 3 * ED_RING
    assert acquired["npv"] == pytest.approx(negatives / (negatives + ED_RING))
    # the missed slice is one gap (1 mm, one slice step) from the nearest found one
    assert acquired["hd_mm"] == pytest.approx(1.0) and acquired["hd_px"] == pytest.approx(1.0)
    interpolated = _row(seg, subject="s1", method="unet2d", grid="interpolated", frame=0)
    assert interpolated["dice"] == pytest.approx(2 * 10 / 21)  # 10 of 11 planes
    assert interpolated["hd_mm"] == pytest.approx(0.2) and interpolated["hd_px"] == 1.0
    es = _row(seg, subject="s1", method="unet2d", grid="acquired", frame=1)
    assert es["n_truth"] == 3 * ES_RING and es["dice"] == pytest.approx(0.8)
    assert bool(es["is_es"]) and not bool(es["is_ed"]) and es["time_ms"] == 50.0


def test_a_perfect_prediction_and_the_empty_baseline(
    evaluated: tuple[dict[str, pd.DataFrame], Path],
) -> None:
    seg = evaluated[0]["segmentation"]
    perfect = seg[seg["method"] == "attmnet"]
    assert np.allclose(perfect["dice"], 1.0) and np.allclose(perfect["hd_mm"], 0.0)
    empty = seg[seg["method"] == EMPTY]
    assert np.allclose(empty["dice"], 0.0) and (empty["n_pred"] == 0).all()
    assert empty["hd_px"].isna().all() and np.allclose(empty["sensitivity"], 0.0)


def test_volumes_by_disc_summation_and_the_ejection_fraction(
    evaluated: tuple[dict[str, pd.DataFrame], Path],
) -> None:
    vols = evaluated[0]["volumes"]
    assert EMPTY not in set(vols["method"])
    ref = _row(vols, subject="s1", method="reference", frame=0)
    assert ref["myocardial_volume_ml"] == pytest.approx(3 * ED_RING * PIXEL_ML)
    assert ref["myocardial_mass_g"] == pytest.approx(3 * ED_RING * PIXEL_ML * MYOCARDIAL_DENSITY)
    assert ref["cavity_volume_ml"] == pytest.approx(3 * ED_CAVITY * PIXEL_ML)
    assert ref["myocardium_slices"] == 3 and ref["open_slices"] == 0
    assert ref["edv_ml"] == pytest.approx(3 * ED_CAVITY * PIXEL_ML)
    assert ref["esv_ml"] == pytest.approx(3 * ES_CAVITY * PIXEL_ML)
    assert ref["ef"] == pytest.approx(1 - ES_CAVITY / ED_CAVITY)
    assert ref["truth_myocardial_volume_ml"] == pytest.approx(0.04)
    ref_es = _row(vols, subject="s1", method="reference", frame=1)
    assert ref_es["cavity_volume_ml"] == pytest.approx(3 * ES_CAVITY * PIXEL_ML)
    ed_only = ["edv_ml", "esv_ml", "ef", "truth_myocardial_volume_ml"]
    assert np.isnan(ref_es[ed_only].astype(float)).all()
    missed = _row(vols, subject="s1", method="unet2d", frame=0)
    assert missed["myocardial_volume_ml"] == pytest.approx(2 * ED_RING * PIXEL_ML)
    assert missed["edv_ml"] == pytest.approx(2 * ED_CAVITY * PIXEL_ML)
    assert missed["ef"] == pytest.approx(0.75) and missed["myocardium_slices"] == 2
    assert missed["truth_myocardial_volume_ml"] == pytest.approx(0.04)
    # no truth covariate on s2; the reference of s6 is at ED alone: no ESV, no EF
    assert np.isnan(_row(vols, subject="s2", method="reference", frame=0)[ed_only[-1]])
    s6 = vols[vols["subject"] == "s6"]
    assert set(s6.loc[s6["method"] == "reference", "frame"]) == {0}
    assert np.isnan(_row(s6, method="reference", frame=0)["ef"])
    assert _row(s6, method="attmnet", frame=0)["ef"] == pytest.approx(0.75)


def test_qc_rows_name_subject_file_and_problem(
    evaluated: tuple[dict[str, pd.DataFrame], Path],
) -> None:
    tables, folder = evaluated
    qc = tables["qc"].set_index(["subject", "file"])
    assert len(qc) == 4
    missing = qc.loc[("s2", str(folder / "unet2d.h5"))]
    assert missing["status"] == "excluded" and "no prediction" in missing["reason"]
    shape = qc.loc[("s1", str(folder / "unet3d.h5"))]
    assert shape["status"] == "excluded" and "shape" in shape["reason"]
    no_masks = qc.loc[("s3", str(folder / "truth.h5"))]
    assert no_masks["status"] == "skipped" and "no reference masks" in no_masks["reason"]
    assert "split table" in qc.loc[("s5", str(folder / "truth.h5")), "reason"]
    assert set(tables["qc"]["cohort"]) == {"ph"}


def test_an_open_ring_encloses_no_cavity_and_is_counted() -> None:
    masks = np.zeros((1, D, S, S), np.uint8)
    masks[0, PLANES[0]] = ring(4)
    masks[0, PLANES[1]] = ring(4)
    masks[0, PLANES[1], 4:6, 7:9] = 0  # a gap through the wall: the cavity opens
    masks[0, 3] = ring(4)  # not an acquired plane: not counted
    table = disc_volumes(masks, GRID)
    assert table.loc[0, "myocardial_volume_ml"] == pytest.approx((2 * ED_RING - 4) * PIXEL_ML)
    assert table.loc[0, "cavity_volume_ml"] == pytest.approx(ED_CAVITY * PIXEL_ML)
    assert table.loc[0, "myocardium_slices"] == 2 and table.loc[0, "open_slices"] == 1
