"""MyoNet / ResMyoNet end to end on a tiny config: training, prediction, tables, figures, report."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from support.workflow import TINY_MYONET, completed_run, read_tsv, snakemake

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def myonet_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return completed_run(tmp_path_factory.mktemp("myonet"), TINY_MYONET)


def test_tables_are_filled(myonet_run: Path) -> None:
    tables = myonet_run / "results" / "experiments" / "tiny" / "tables"
    table1 = read_tsv(tables / "table1_segments.tsv")
    assert {"myonet", "resmyonet", "reference"} <= set(table1["method"])
    assert table1["mean"].notna().all()
    table2 = read_tsv(tables / "table2_agreement.tsv")
    assert {"myonet", "resmyonet", "zero"} <= set(table2["method"])
    rmse = table2[(table2["metric"] == "rmse_x_mm")].set_index("method")["value"]
    assert rmse.notna().all() and (rmse > 0).all()
    for name in ("table1_segments", "table2_agreement", "group_effects", "timing"):
        text = (tables / f"{name}.md").read_text()
        assert text.count("|") > 10, f"{name}.md is a Markdown table"
    timing = read_tsv(tables / "timing.tsv")
    assert set(timing["net"]) == {"myonet", "resmyonet"} and (timing["seconds"] > 0).all()


def test_only_test_subjects_are_evaluated(myonet_run: Path) -> None:
    res = myonet_run / "results"
    splits = read_tsv(res / "rats" / "splits.tsv")
    metrics = read_tsv(res / "experiments" / "tiny" / "tables" / "metrics.tsv")
    test_subjects = set(splits.loc[splits["split"] == "test", "subject"])
    assert set(metrics["subject"]) == test_subjects
    assert set(metrics["split"]) == {"test"}


def test_history_and_figures(myonet_run: Path) -> None:
    res = myonet_run / "results"
    for net in ("myonet", "resmyonet"):
        history = pd.read_csv(res / "models" / "tiny" / net / "history.tsv", sep="\t")
        assert list(history["epoch"]) == [1, 2]
        assert history["train_loss"].notna().all()
    figures = res / "experiments" / "tiny" / "figures"
    for name in (
        "fig4_displacement",
        "fig5_segments",
        "fig6_bland_altman",
        "fig7_training",
        "strain_curves",
        "bullseye",
    ):
        assert (figures / f"{name}.png").stat().st_size > 1000
        assert (figures / f"{name}.svg").stat().st_size > 1000


def test_report_collects_tables_and_figures(myonet_run: Path) -> None:
    run = snakemake(myonet_run, "--report", "report.html")
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    assert (myonet_run / "report.html").stat().st_size > 10_000


def test_rerun_is_a_no_op_and_tables_are_stable(myonet_run: Path) -> None:
    tables = myonet_run / "results" / "experiments" / "tiny" / "tables"
    before = (tables / "table2_agreement.tsv").read_text()
    run = snakemake(myonet_run, "-n")
    assert "Nothing to be done" in run.stdout + run.stderr
    assert (tables / "table2_agreement.tsv").read_text() == before
    assert yaml.safe_load((myonet_run / "config.yaml").read_text()) == TINY_MYONET
