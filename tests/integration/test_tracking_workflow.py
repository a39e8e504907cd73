"""A MyoNet experiment whose reference is HARP, end to end on a tiny phantom cohort.

The phantom's exact motion is known, so the evaluation measures every method against it too: the
networks, the tracker itself and the zero baseline.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd
import pytest
from support.workflow import TINY_MYONET, completed_run, read_tsv

pytestmark = pytest.mark.integration

#: TINY_MYONET with 2 mm tags (3.6-3.9 pixels after the 32-pixel crop, so HARP resolves them)
#: and HARP as the reference; one network and no NIfTI export keep it quick.
TINY_HARP = copy.deepcopy(TINY_MYONET)
TINY_HARP["cohorts"]["rats"]["tagging"] = {"spacing_mm": 2.0}
TINY_HARP["experiments"]["tiny"]["reference"] = "harp"
TINY_HARP["experiments"]["tiny"]["settings"]["nets"] = ["myonet"]
TINY_HARP["export_nifti"] = False


@pytest.fixture(scope="module")
def harp_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return completed_run(tmp_path_factory.mktemp("harp"), TINY_HARP)


def test_every_slice_is_tracked(harp_run: Path) -> None:
    res = harp_run / "results"
    qc = pd.read_csv(res / "rats" / "tracking" / "harp" / "qc-000.tsv", sep="\t")
    assert qc.empty, qc.to_string()
    index = read_tsv(res / "rats" / "preprocessed" / "crop" / "index.tsv")
    from myoflow.io.shards import read_shard

    tracked = list(read_shard(res / "rats" / "tracking" / "harp" / "shard-000.h5"))
    assert [r.key for r in tracked] == [f"{s}/{sl}" for s, sl in zip(index.subject, index.slice_id)]
    assert all(r.cine is None and r.displacement.shape == (8, 2, 32, 32) for r in tracked)
    log = (res / "logs" / "models" / "tiny" / "myonet" / "train.log").read_text()
    assert "no harp displacement" not in log
    # every slice passed the quality check, carries its per-point flags, and the report's
    # quality summary lists it
    quality = read_tsv(res / "rats" / "tracking" / "harp" / "quality.tsv")
    assert list(zip(quality["subject"], quality["slice_id"])) == list(
        zip(index.subject, index.slice_id)
    )
    assert set(quality["status"]) == {"tracked"}
    assert (res / "rats" / "tracking" / "harp" / "quality.png").stat().st_size > 1000
    assert all(r.extras["tracking_flags"].shape == (8, 32, 32) for r in tracked)


def test_metrics_against_truth_show_harp_far_better_than_zero(harp_run: Path) -> None:
    metrics = read_tsv(harp_run / "results" / "experiments" / "tiny" / "tables" / "metrics.tsv")
    truth = metrics[metrics["against"] == "truth"]
    assert set(truth["method"]) == {"myonet", "harp", "zero"}
    assert set(metrics[metrics["against"] == "reference"]["method"]) == {"myonet", "zero"}
    epe = truth.groupby("method")["epe_mm"].mean()
    print(f"EPE against truth (mm): {epe.round(4).to_dict()}")
    assert epe["harp"] < 0.4 * epe["zero"], epe.to_dict()
    # every evaluated slice has a row per method and comparison
    per_slice = metrics.groupby(["subject", "slice_id"]).size()
    assert (per_slice == 5).all()


def test_tables_show_truth(harp_run: Path) -> None:
    tables = harp_run / "results" / "experiments" / "tiny" / "tables"
    summary = read_tsv(tables / "strain_summary.tsv")
    assert set(summary["method"]) == {"reference", "truth", "myonet"}
    table1 = read_tsv(tables / "table1_segments.tsv")
    assert {"reference", "truth", "myonet"} <= set(table1["method"])
    table2 = read_tsv(tables / "table2_agreement.tsv")
    epe = table2[table2["metric"] == "epe_mm"]
    assert set(zip(epe["method"], epe["against"])) == {
        ("myonet", "reference"),
        ("zero", "reference"),
        ("myonet", "truth"),
        ("harp", "truth"),
        ("zero", "truth"),
    }
    strain_truth = table2[(table2["strain"].notna()) & (table2["against"] == "truth")]
    assert {"harp", "myonet"} <= set(strain_truth["method"])
    assert "truth" in (tables / "table2_agreement.md").read_text()
    figures = harp_run / "results" / "experiments" / "tiny" / "figures"
    assert (figures / "fig4_displacement.png").stat().st_size > 1000
