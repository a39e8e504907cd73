"""Paper 003's jobs on tiny phantom slices: both networks train and resume, the fully automatic
prediction reads the tagged series alone, and the evaluation's tables hold what they say."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from myoflow.io.shards import read_shard, write_shard
from myoflow.io.tables import read_tsv
from myoflow.methods.tagstrain.boxes import box_of_points
from myoflow.methods.tagstrain.data import RoiDataset, TrackerDataset, _shift_image
from myoflow.methods.tagstrain.evaluate import BOX_EXTRA, UNSCORED, evaluate_stage
from myoflow.methods.tagstrain.inputs import usable
from myoflow.methods.tagstrain.method import METHOD
from myoflow.methods.tagstrain.settings import ROI, TRACKER
from myoflow.methods.tagstrain.slices import motion_image, target_box
from myoflow.methods.tagstrain.stages import predict_stage, train_stage, usable_box
from myoflow.metrics.landmarks import frame_errors
from myoflow.phantom.cohort import generate, plan
from myoflow.preprocess.fov import fov_profile_record
from myoflow.preprocess.pipeline import preprocess_record
from myoflow.samples import select, tracked_targets
from myoflow.strain.landmark_strain import slice_strain

FRAMES = 8
SETTINGS = {
    "roi": {"epochs": 2, "batch_size": 2, "filters": [4, 4, 4, 4, 4], "dense": 8},
    "tracker": {
        "epochs": 2,
        "batch_size": 2,
        "crop_size": 32,
        "width": 0.125,
        "dense": 16,
        "lstm_units": 16,
    },
}


def _experiment() -> dict[str, Any]:
    config = {"experiments": {"t": {"method": "tagstrain", "settings": SETTINGS}}}
    return {
        "name": "t",
        "method": "tagstrain",
        "reference": "truth",
        "tracker": None,
        "settings": METHOD.settings(config, "t"),
    }


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Four human phantom subjects (one mid slice each) in the fov profile at 128 x 128 x 8,
    split 2 / 1 / 1."""
    root = tmp_path_factory.mktemp("tagstrain")
    cfg = {"species": "human", "seed": 4, "subjects": 4, "slices": ["mid"], "frames": FRAMES}
    records = [
        fov_profile_record(generate(s), {"size": 128, "frames": FRAMES}) for s in plan("h", cfg)
    ]
    shard = root / "shard-000.h5"
    write_shard(shard, records)
    splits = root / "splits.tsv"
    pd.DataFrame(
        {
            "cohort": "h",
            "subject": [r.subject for r in records],
            "group": "all",
            "split": ["train", "train", "val", "test"],
        }
    ).to_csv(splits, sep="\t", index=False)
    return shard, splits


@pytest.fixture(scope="module")
def trained(cohort: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    shard, splits = cohort
    models = tmp_path_factory.mktemp("models")
    for model in (ROI, TRACKER):
        train_stage(_experiment(), model, [shard], [splits], models / model, device="cpu")
    return models


def test_both_networks_train_with_their_papers_metrics(trained: Path) -> None:
    roi = read_tsv(trained / ROI / "history.tsv")
    tracker = read_tsv(trained / TRACKER / "history.tsv")
    assert list(roi["epoch"]) == [1, 2] and list(tracker["epoch"]) == [1, 2]
    assert {"train_iou", "val_iou"} <= set(roi.columns)
    assert {"val_radial", "val_circumferential", "val_rmse_px"} <= set(tracker.columns)
    assert roi["val_iou"].between(0, 1).all()
    # the tracker's rmse is the square root of its position term
    assert np.allclose(tracker["val_rmse_px"] ** 2, tracker["val_position"], rtol=1e-5)


def test_the_motion_channel_is_shifted_with_the_ed_frame(cohort: tuple[Path, Path]) -> None:
    """A shifted training sample moves both input channels, and its box, by one offset."""
    shard, splits = cohort
    refs = usable(select([shard], read_tsv(splits), ["train"]), need_landmarks=True)
    still = RoiDataset(refs, 0.6, motion_channel=True)
    moved = RoiDataset(refs, 0.6, augment_shift=0.2, motion_channel=True)
    (x0, _), (x, _) = still[0], moved[0]
    assert x.shape == (2, 128, 128)
    np.testing.assert_array_equal(x0[1].numpy(), motion_image(still.record(0)))
    reach = int(0.2 * 128)
    offsets = [
        (dy, dx)
        for dy in range(-reach, reach + 1)
        for dx in range(-reach, reach + 1)
        if np.array_equal(_shift_image(x0[0].numpy(), dy, dx), x[0].numpy())
    ]
    assert len(offsets) == 1 and offsets != [(0, 0)]
    np.testing.assert_array_equal(_shift_image(x0[1].numpy(), *offsets[0]), x[1].numpy())


def test_the_prediction_needs_the_tagged_series_alone(
    cohort: tuple[Path, Path], trained: Path, tmp_path: Path
) -> None:
    shard, splits = cohort
    bare = tmp_path / "bare.h5"
    write_shard(
        bare,
        [
            r.replace(mask=None, landmarks=None, rv_insertion_mm=None, cine=None)
            for r in read_shard(shard)
        ],
    )
    outs = {}
    for name, source in (("full", shard), ("bare", bare)):
        outs[name] = tmp_path / f"{name}.h5"
        predict_stage(
            _experiment(),
            trained / ROI / "best.pt",
            trained / TRACKER / "best.pt",
            source,
            splits,
            outs[name],
            device="cpu",
        )
    full, bare_pred = list(read_shard(outs["full"])), list(read_shard(outs["bare"]))
    assert [r.key for r in full] == ["h-s0004/mid"]  # the test split only
    assert full[0].landmarks.shape == (FRAMES, 2, 168)
    assert full[0].tagged is None and full[0].mask is None  # no image copied
    np.testing.assert_array_equal(full[0].landmarks, bare_pred[0].landmarks)
    x1, y1, x2, y2 = full[0].extras[BOX_EXTRA]
    assert -0.5 <= x1 < x2 <= 127.5 and -0.5 <= y1 < y2 <= 127.5


def test_the_roi_prediction_holds_boxes_and_no_landmarks(
    cohort: tuple[Path, Path], trained: Path, tmp_path: Path
) -> None:
    shard, splits = cohort
    out = tmp_path / "roi.h5"
    predict_stage(_experiment(), trained / ROI / "best.pt", None, shard, splits, out, "cpu")
    (rec,) = read_shard(out)
    assert rec.landmarks is None and rec.extras[BOX_EXTRA].shape == (4,)


def test_evaluation_scores_every_method_against_the_reference(
    cohort: tuple[Path, Path], trained: Path, tmp_path: Path
) -> None:
    shard, splits = cohort
    exp = _experiment()
    roi, tracker = tmp_path / "roi.h5", tmp_path / "tracker.h5"
    predict_stage(exp, trained / ROI / "best.pt", None, shard, splits, roi, "cpu")
    predict_stage(
        exp, trained / ROI / "best.pt", trained / TRACKER / "best.pt", shard, splits, tracker, "cpu"
    )
    tables = evaluate_stage(exp, shard, splits, roi, tracker)
    (rec,) = [r for r in read_shard(shard) if r.subject == "h-s0004"]
    (pred,) = read_shard(tracker)

    curves = tables["strain_curves"]
    ref = curves[(curves["method"] == "reference") & (curves["segment"] == 0)]
    expected = slice_strain(rec.landmarks.astype(np.float64))
    np.testing.assert_allclose(ref["ecc_mid_green"], expected["ecc_mid_green"], atol=1e-12)
    zero = curves[curves["method"] == "zero"]
    assert (zero.filter(like="green").abs().max().max()) == 0.0
    assert set(curves["es_frame"]) == {rec.es_frame}

    errors = tables["landmark_errors"]
    by = errors.set_index(["method", "frame"])["rmse_mm"]
    assert by[("zero", 0)] == 0.0  # the ED landmarks held still are exact at ED
    direct = frame_errors(pred.landmarks, rec.landmarks)
    assert by[("rnncnn", rec.es_frame)] == pytest.approx(
        direct[(direct["region"] == "slice") & (direct["frame"] == rec.es_frame)]["rmse_mm"].item()
    )

    boxes = tables["boxes"]
    assert len(boxes) == 1 and 0.0 <= boxes["iou"].item() <= 1.0
    assert list(boxes[["pred_x1", "pred_y1", "pred_x2", "pred_y2"]].iloc[0]) == pytest.approx(
        list(pred.extras[BOX_EXTRA])
    )


def test_a_slice_without_tags_is_a_qc_row_and_not_a_failure(
    cohort: tuple[Path, Path], trained: Path, tmp_path: Path
) -> None:
    shard, splits = cohort
    bad = tmp_path / "bad.h5"
    write_shard(
        bad,
        [r.replace(tagged=r.cine) if r.subject == "h-s0004" else r for r in read_shard(shard)],
    )
    exp = _experiment()
    roi, tracker = tmp_path / "roi.h5", tmp_path / "tracker.h5"
    predict_stage(exp, trained / ROI / "best.pt", None, bad, splits, roi, "cpu")
    predict_stage(
        exp, trained / ROI / "best.pt", trained / TRACKER / "best.pt", bad, splits, tracker, "cpu"
    )
    assert list(read_shard(tracker)) == []  # not predicted
    tables = evaluate_stage(exp, bad, splits, roi, tracker)
    assert tables["boxes"].empty
    (row,) = tables["qc"].to_dict("records")
    assert (row["subject"], row["slice_id"], row["status"]) == ("h-s0004", "mid", "excluded")
    assert "no tag pattern" in row["reason"]


def test_a_compared_trackers_landmarks_come_back_onto_the_field_of_view(
    cohort: tuple[Path, Path], trained: Path, tmp_path: Path
) -> None:
    """A "tracker" whose landmarks on the crop profile are the truth scores zero error once
    mapped onto the field of view; a slice it did not track is a flagged QC row."""
    shard, splits = cohort
    tracked = _shifted_tracker(tmp_path, (0.0, 0.0), leave_out="")
    untracked = tmp_path / "sinmod" / "shard-000.h5"
    untracked.parent.mkdir()
    write_shard(untracked, [])
    exp = _experiment()
    roi, tracker = tmp_path / "roi.h5", tmp_path / "tracker.h5"
    predict_stage(exp, trained / ROI / "best.pt", None, shard, splits, roi, "cpu")
    predict_stage(
        exp, trained / ROI / "best.pt", trained / TRACKER / "best.pt", shard, splits, tracker, "cpu"
    )
    tables = evaluate_stage(exp, shard, splits, roi, tracker, [tracked, untracked])
    errors = tables["landmark_errors"]
    assert errors.loc[errors["method"] == "harp", "rmse_mm"].max() < 1e-4
    assert "sinmod" not in set(errors["method"])
    (row,) = tables["qc"].to_dict("records")
    assert row["status"] == "flagged" and row["reason"].startswith("sinmod_not_compared:")


@pytest.mark.parametrize(
    ("corners", "expected"),
    [
        ([10.0, 20.0, 50.0, 60.0], [10.0, 20.0, 50.0, 60.0]),  # kept as predicted
        ([50.0, 60.0, 10.0, 20.0], [10.0, 20.0, 50.0, 60.0]),  # swapped corners put in order
        ([30.0, 30.0, 30.0, 30.0], [30.0, 30.0, 32.0, 32.0]),  # collapsed: 2 pixels
        ([200.0, 200.0, 300.0, 300.0], [125.5, 125.5, 127.5, 127.5]),  # off the image
        ([-9.0, -9.0, 400.0, 400.0], [-0.5, -0.5, 127.5, 127.5]),  # larger than the image
    ],
)
def test_a_predicted_box_is_made_usable(corners: list[float], expected: list[float]) -> None:
    assert list(usable_box(np.array(corners), 128).corners) == pytest.approx(expected)


def _shifted_tracker(tmp_path: Path, shift_mm: tuple[float, float], leave_out: str) -> Path:
    """A "harp" tracking shard whose landmarks are the truth moved by ``shift_mm`` (x, y) in
    every frame, without the slice of subject ``leave_out`` (not trackable)."""
    cfg = {"species": "human", "seed": 4, "subjects": 4, "slices": ["mid"], "frames": FRAMES}
    crops = [preprocess_record(generate(s), {"size": 64, "frames": FRAMES}) for s in plan("h", cfg)]
    moved = [
        r.replace(landmarks=r.landmarks + np.array(shift_mm, np.float32)[None, :, None])
        for r in crops
        if r.subject != leave_out
    ]
    tracked = tmp_path / "harp" / "shard-000.h5"
    tracked.parent.mkdir()
    write_shard(tracked, moved)
    return tracked


def test_a_tracker_reference_is_learnt_and_scored_with_the_truth_beside_it(
    cohort: tuple[Path, Path], trained: Path, tmp_path: Path
) -> None:
    """``reference: harp``: the tracker's landmarks (here the truth moved by 3, 4 mm) are what
    the tracker learns and every method is scored against; the phantom's own landmarks become
    the method ``truth``, 5 mm from the reference in every frame with the same strain (a
    translation strains nothing), and every method is scored against them too."""
    shard, splits = cohort
    tracked = _shifted_tracker(tmp_path, (3.0, 4.0), leave_out="h-s0001")
    exp = {**_experiment(), "reference": "harp", "tracker": "harp", "synthetic": {"h": True}}

    train, val = tracked_targets(
        exp,
        [tracked],
        select([shard], read_tsv(splits), ["train"]),
        select([shard], read_tsv(splits), ["val"]),
    )
    assert [r.key for r in train] == ["h-s0002/mid"] and len(val) == 1  # s0001: not tracked
    data = TrackerDataset(usable(train, need_landmarks=True), 0.6, 32)
    (own,) = [r for r in read_shard(shard) if r.subject == "h-s0002"]
    np.testing.assert_allclose(
        data.record(0).landmarks - own.landmarks,
        np.broadcast_to([[3.0], [4.0]], own.landmarks.shape),
        atol=1e-4,
    )
    # trackers seeded by a predicted mask (``mask:``): the box is the tracked landmarks', not
    # the drawn mask's
    kept = usable(train, need_landmarks=True)
    automatic, drawn = RoiDataset(kept, 0.6, own_mask=False), RoiDataset(kept, 0.6)
    from_landmarks = target_box(data.record(0).replace(mask=None), 0.6)
    assert automatic.targets[0][0] == from_landmarks != drawn.targets[0][0]

    roi, tracker = tmp_path / "roi.h5", tmp_path / "tracker.h5"
    evaluated = {**exp, "settings": {**exp["settings"], "evaluate_split": "all"}}
    predict_stage(evaluated, trained / ROI / "best.pt", None, shard, splits, roi, "cpu")
    predict_stage(
        evaluated,
        trained / ROI / "best.pt",
        trained / TRACKER / "best.pt",
        shard,
        splits,
        tracker,
        "cpu",
    )
    tables = evaluate_stage(evaluated, shard, splits, roi, tracker, [tracked])
    errors = tables["landmark_errors"]
    truth = errors[(errors["method"] == "truth") & (errors["against"] == "reference")]
    assert len(truth) == 3 * FRAMES and np.allclose(truth["rmse_mm"], 5.0, atol=1e-4)
    assert set(errors.loc[errors["against"] == "truth", "method"]) == {
        "reference",
        "rnncnn",
        "zero",
    }
    curves = tables["strain_curves"].set_index(["subject", "segment", "frame", "method"])
    whole = curves.xs(0, level="segment")["ecc_green"].unstack("method")
    np.testing.assert_allclose(whole["truth"], whole["reference"], atol=1e-5)
    (row,) = tables["qc"].to_dict("records")  # the untracked slice: left out, with the reason
    assert (row["subject"], row["status"]) == ("h-s0001", "excluded")
    assert "no tracker reference: not tracked" in row["reason"]


def test_scans_without_landmarks_or_masks_get_strain_and_say_what_is_not_measured(
    cohort: tuple[Path, Path], trained: Path, tmp_path: Path
) -> None:
    """A model applied to new scans (tagged series alone): every slice is predicted and its
    strain kept for Table 3, nothing is scored, a flagged QC row says so, and the report's
    tables and figures are written with the reason where a comparison would be."""
    shard, splits = cohort
    bare = tmp_path / "bare.h5"
    write_shard(
        bare,
        [r.replace(mask=None, landmarks=None, rv_insertion_mm=None) for r in read_shard(shard)],
    )
    exp = {**_experiment(), "reference": "provided", "cohorts": ["h"], "first_group": {"h": "all"}}
    exp["settings"] = {**exp["settings"], "evaluate_split": "all"}
    roi, tracker = tmp_path / "roi.h5", tmp_path / "tracker.h5"
    predict_stage(exp, trained / ROI / "best.pt", None, bare, splits, roi, "cpu")
    predict_stage(
        exp, trained / ROI / "best.pt", trained / TRACKER / "best.pt", bare, splits, tracker, "cpu"
    )
    tables = evaluate_stage(exp, bare, splits, roi, tracker)
    assert tables["landmark_errors"].empty and tables["boxes"]["iou"].isna().all()
    curves = tables["strain_curves"]
    assert set(curves["method"]) == {"rnncnn"} and curves["subject"].nunique() == 4
    (pred,) = [r for r in read_shard(tracker) if r.subject == "h-s0004"]
    mine = curves[(curves["subject"] == "h-s0004") & (curves["segment"] == 0)]
    expected = slice_strain(pred.landmarks.astype(np.float64))
    np.testing.assert_allclose(mine["ecc_green"], expected["ecc_green"], atol=1e-12)
    assert set(tables["qc"]["reason"]) == {UNSCORED} and len(tables["qc"]) == 4

    paths = {}
    for name in ("boxes", "landmark_errors", "strain_curves"):
        paths[name] = tmp_path / f"{name}.tsv"
        tables[name].to_csv(paths[name], sep="\t", index=False)
    out = tmp_path / "report"
    out.mkdir()
    METHOD.report(
        "tables",
        exp,
        {
            k: [str(paths[v])]
            for k, v in (
                ("boxes", "boxes"),
                ("errors", "landmark_errors"),
                ("curves", "strain_curves"),
            )
        },
        out,
    )
    assert read_tsv(out / "table2_strain.tsv").empty
    assert read_tsv(out / "localisation.tsv")["n"].item() == 0
    METHOD.report(
        "figures",
        exp,
        {
            "boxes": [str(paths["boxes"])],
            "curves": [str(paths["strain_curves"])],
            "histories": [str(trained / m / "history.tsv") for m in (ROI, TRACKER)],
            "shards": [str(bare)],
            "predictions": [str(roi), str(tracker)],
        },
        out,
    )
    for name in ("fig4_localisation", "fig5_bland_altman", "fig6_example"):
        assert (out / f"{name}.png").stat().st_size > 1000


def test_a_refined_crop_is_the_box_of_the_first_pass_ed_landmarks(
    cohort: tuple[Path, Path], trained: Path, tmp_path: Path
) -> None:
    """``tracker.refine: 1`` tracks again in the box of the first pass's ED landmarks (enlarged
    like the target); without it the crop is the localisation network's box."""
    shard, splits = cohort
    exp = _experiment()
    outs = {}
    for refine in (0, 1):
        settings = {**exp["settings"], "tracker": {**exp["settings"]["tracker"], "refine": refine}}
        outs[refine] = tmp_path / f"refine{refine}.h5"
        predict_stage(
            {**exp, "settings": settings},
            trained / ROI / "best.pt",
            trained / TRACKER / "best.pt",
            shard,
            splits,
            outs[refine],
            "cpu",
        )
    (single,), (refined,) = read_shard(outs[0]), read_shard(outs[1])
    np.testing.assert_array_equal(single.extras["crop_box"], single.extras[BOX_EXTRA])
    np.testing.assert_array_equal(refined.extras[BOX_EXTRA], single.extras[BOX_EXTRA])
    sy, sx = single.pixel_spacing_mm
    ed_px = single.landmarks[0].astype(np.float64) / np.array([[sx], [sy]])
    expected = usable_box(box_of_points(ed_px, 0.6).corners, 128)
    np.testing.assert_allclose(refined.extras["crop_box"], expected.corners, atol=1e-4)
    assert not np.allclose(refined.landmarks, single.landmarks)
