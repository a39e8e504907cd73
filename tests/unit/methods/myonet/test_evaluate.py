"""Evaluation against a tracked reference: rows against truth on a phantom, untracked slices named."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support.stage_records import NO_TAGGED, UNTAGGED

from myoflow.io.shards import write_shard
from myoflow.methods.myonet.evaluate import evaluate_record, evaluate_stage
from myoflow.record import SliceRecord
from myoflow.stages.tracking import track_stage
from myoflow.tables import TRUTH


def _experiment(reference: str) -> dict:
    tracker = reference if reference in ("harp", "sinmod") else None
    return {
        "name": "e",
        "reference": reference,
        "tracker": tracker,
        "cohorts": ["rats"],
        "synthetic": {"rats": True},
        "settings": {"nets": ["myonet"], "evaluate_split": "test", "max_displacement_mm": 3.0},
    }


def test_record_with_truth_measures_every_method_against_it(
    tagged_records_list: list[SliceRecord],
) -> None:
    rec = tagged_records_list[0]
    truth = rec.displacement.astype(np.float64)
    tracked = 1.2 * truth  # a tracker that overestimates the motion by 20 %
    metrics, curves, summaries = evaluate_record(
        _experiment("harp"), rec, "test", {"myonet": truth}, reference=tracked, truth=truth
    )
    rows = pd.DataFrame(metrics).set_index(["method", "against"])
    assert list(rows.index) == [
        ("myonet", "reference"),
        ("zero", "reference"),
        ("myonet", "truth"),
        ("harp", "truth"),
        ("zero", "truth"),
    ]
    assert rows.loc[("myonet", "truth"), "epe_mm"] == pytest.approx(0.0, abs=1e-9)
    zero_vs_truth = rows.loc[("zero", "truth"), "epe_mm"]
    assert rows.loc[("harp", "truth"), "epe_mm"] == pytest.approx(0.2 * zero_vs_truth)
    assert rows.loc[("zero", "reference"), "epe_mm"] == pytest.approx(1.2 * zero_vs_truth)
    summary = pd.concat(summaries)
    assert list(dict.fromkeys(summary["method"])) == ["reference", "truth", "myonet"]
    by_method = {m: s.reset_index(drop=True) for m, s in summary.groupby("method")}
    pd.testing.assert_series_equal(
        by_method["truth"]["ecc_green_es"], by_method["myonet"]["ecc_green_es"]
    )
    assert (by_method["reference"]["ecc_green_es"] != by_method["truth"]["ecc_green_es"]).any()
    assert set(pd.concat(curves)["method"]) == {"reference", "truth", "myonet"}


def test_truth_reference_has_no_truth_rows(tagged_records_list: list[SliceRecord]) -> None:
    rec = tagged_records_list[0]
    metrics, _, summaries = evaluate_record(
        _experiment("truth"), rec, "test", {"myonet": rec.displacement}, rec.displacement
    )
    assert [(m["method"], m["against"]) for m in metrics] == [
        ("myonet", "reference"),
        ("zero", "reference"),
    ]
    assert set(pd.concat(summaries)["method"]) == {"reference", "myonet"}


# Contraction fractions s(t) of three homogeneous fields: each method's global Ecc is most
# negative at a different frame (reference 3, truth 5, network 6), and ED (frame 0) is at rest.
CONTRACTION = {
    "reference": np.array([0.0, 0.04, 0.08, 0.12, 0.09, 0.05, 0.02, 0.01]),
    TRUTH: np.array([0.0, 0.02, 0.04, 0.06, 0.08, 0.10, 0.07, 0.03]),
    "myonet": np.array([0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.11, 0.02]),
}
REFERENCE_PEAK_FRAME = 3  # the largest contraction of CONTRACTION["reference"]
SIDE, SPACING_MM = 32, (0.8, 0.8)


def _contraction_field(s: np.ndarray) -> np.ndarray:
    """``u(X, t) = -s(t) (X - X0)`` in mm, ``[T, 2, H, W]``: the deformation gradient is
    ``(1 - s) I`` everywhere, so Green Ecc = ((1 - s)^2 - 1) / 2 in every pixel and direction."""
    rows, cols = np.indices((SIDE, SIDE), dtype=float)
    x = (cols - SIDE / 2) * SPACING_MM[1]
    y = (rows - SIDE / 2) * SPACING_MM[0]
    return -s[:, None, None, None] * np.stack([x, y])[None]


def _record_without_es(es_frame: int | None) -> SliceRecord:
    """A mid slice with a ring of myocardium and the given ES annotation (``None``: none)."""
    rows, cols = np.indices((SIDE, SIDE))
    r = np.hypot(rows - SIDE / 2, cols - SIDE / 2)
    ring = ((r >= 5) & (r <= 10)).astype(np.uint8)
    n_t = len(CONTRACTION["reference"])
    return SliceRecord(
        cohort="rats",
        subject="s1",
        slice_id="mid",
        position="mid",
        group="all",
        pixel_spacing_mm=SPACING_MM,
        frame_times_ms=np.arange(n_t) * 20.0,
        original_frames=n_t,
        mask=ring[None],
        es_frame=es_frame,
    ).validate()


@pytest.mark.parametrize(
    ("annotated", "expected"),
    [(None, REFERENCE_PEAK_FRAME), (6, 6)],
    ids=["no-es-frame", "annotated-es-frame"],
)
def test_every_method_is_read_at_the_references_es_frame(
    annotated: int | None, expected: int
) -> None:
    """All methods' ES strain is read at one frame: the record's ES frame, else the frame of
    the reference's most negative global Ecc, never each method's own peak (evaluate_record)."""
    rec = _record_without_es(annotated)
    fields = {name: _contraction_field(s) for name, s in CONTRACTION.items()}
    _, curves, summaries = evaluate_record(
        _experiment("harp"),
        rec,
        "test",
        {"myonet": fields["myonet"]},
        reference=fields["reference"],
        truth=fields[TRUTH],
    )
    summary = pd.concat(summaries)
    assert set(summary["method"]) == set(CONTRACTION)
    for method, rows in summary.groupby("method"):
        assert (rows["es_frame"] == expected).all(), method
        s_es = CONTRACTION[str(method)][expected]
        # abs 1e-12: a linear field's finite differences are exact up to double rounding
        np.testing.assert_allclose(
            rows["ecc_green_es"], ((1 - s_es) ** 2 - 1) / 2, rtol=0, atol=1e-12, err_msg=method
        )
    # the methods' own peaks lie elsewhere, so reading each at its own peak would differ
    curve = pd.concat(curves, ignore_index=True)
    glob = curve[curve["segment"] == 0]
    own_peaks = glob.loc[glob.groupby("method")["ecc_green"].idxmin()]
    assert own_peaks.set_index("method")["frame"].to_dict() == {
        "reference": REFERENCE_PEAK_FRAME,
        TRUTH: 5,
        "myonet": 6,
    }


def test_stage_uses_the_tracked_reference_and_names_untracked_slices(
    tagged_records_list: list[SliceRecord],
    tagged_shard: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tracked = tmp_path / "tracking" / "harp" / "shard-000.h5"
    track_stage("harp", {}, tagged_shard, tracked, tmp_path / "qc.tsv", tmp_path / "quality.tsv")
    # a perfect "network": the phantom's exact motion
    perfect = tmp_path / "myonet.h5"
    write_shard(perfect, [r.replace(cine=None, tagged=None) for r in tagged_records_list])
    splits = tmp_path / "splits.tsv"
    pd.DataFrame(
        {
            "cohort": "rats",
            "subject": [r.subject for r in tagged_records_list],
            "group": "all",
            "split": "test",
        }
    ).to_csv(splits, sep="\t", index=False)
    with caplog.at_level(logging.WARNING, logger="myoflow.stages"):
        tables = evaluate_stage(
            _experiment("harp"), tagged_shard, splits, [perfect], tracked=[tracked]
        )
    metrics = tables["metrics"]
    untracked = {tagged_records_list[i].subject for i in (UNTAGGED, NO_TAGGED)}
    assert set(metrics["subject"]) == {r.subject for r in tagged_records_list} - untracked
    for key in (tagged_records_list[i].key for i in (UNTAGGED, NO_TAGGED)):
        assert key in caplog.text
    epe = metrics.pivot_table(index="subject", columns=["method", "against"], values="epe_mm")
    # the perfect network's error against the tracker is the tracker's error against truth
    np.testing.assert_allclose(epe["myonet", "reference"], epe["harp", "truth"])
    assert (epe["myonet", "truth"] < 1e-9).all()
    assert (epe["harp", "truth"] < 0.45 * epe["zero", "truth"]).all()
    summary = tables["strain_summary"]
    assert set(summary["method"]) == {"reference", "truth", "myonet"}


def test_stage_refuses_a_tracker_reference_without_its_shard(
    tagged_shard: Path, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="'harp' needs one tracking shard, got 0"):
        evaluate_stage(_experiment("harp"), tagged_shard, "-", ["x"])
