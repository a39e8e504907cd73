"""Evaluation against a tracked reference: rows against truth on a phantom, untracked slices named."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from stage_records import NO_TAGGED, UNTAGGED

from myoflow.io.shards import write_shard
from myoflow.record import SliceRecord
from myoflow.stages.myonet import evaluate_record, evaluate_stage
from myoflow.stages.tracking import track_stage


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
        _experiment("truth"), rec, "test", {"myonet": rec.displacement}
    )
    assert [(m["method"], m["against"]) for m in metrics] == [
        ("myonet", "reference"),
        ("zero", "reference"),
    ]
    assert set(pd.concat(summaries)["method"]) == {"reference", "myonet"}


def test_stage_uses_the_tracked_reference_and_names_untracked_slices(
    tagged_records_list: list[SliceRecord],
    tagged_shard: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tracked = tmp_path / "tracking" / "harp" / "shard-000.h5"
    track_stage("harp", {}, tagged_shard, tracked, tmp_path / "qc.tsv")
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
    out = {name: tmp_path / f"{name}.tsv" for name in ("metrics", "curves", "summary")}
    with caplog.at_level(logging.WARNING, logger="myoflow.stages"):
        evaluate_stage(
            _experiment("harp"),
            tagged_shard,
            splits,
            [perfect],
            out["metrics"],
            out["curves"],
            out["summary"],
            tracked=[tracked],
        )
    metrics = pd.read_csv(out["metrics"], sep="\t", dtype={"subject": str})
    untracked = {tagged_records_list[i].subject for i in (UNTAGGED, NO_TAGGED)}
    assert set(metrics["subject"]) == {r.subject for r in tagged_records_list} - untracked
    for key in (tagged_records_list[i].key for i in (UNTAGGED, NO_TAGGED)):
        assert key in caplog.text
    epe = metrics.pivot_table(index="subject", columns=["method", "against"], values="epe_mm")
    # the perfect network's error against the tracker is the tracker's error against truth
    np.testing.assert_allclose(epe["myonet", "reference"], epe["harp", "truth"])
    assert (epe["myonet", "truth"] < 1e-9).all()
    assert (epe["harp", "truth"] < 0.45 * epe["zero", "truth"]).all()
    summary = pd.read_csv(out["summary"], sep="\t", dtype={"subject": str})
    assert set(summary["method"]) == {"reference", "truth", "myonet"}


def test_stage_refuses_a_tracker_reference_without_its_shard(
    tagged_shard: Path, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="'harp' needs one tracking shard, got 0"):
        evaluate_stage(_experiment("harp"), tagged_shard, "-", ["x"], *(tmp_path / "o.tsv",) * 3)
