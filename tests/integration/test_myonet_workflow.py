"""MyoNet / ResMyoNet end to end on a tiny config: training, prediction, tables, figures, report."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from support.workflow import TINY_MYONET, completed_run, read_tsv, snakemake, write_config

pytestmark = pytest.mark.integration

#: The experiment's tables: MyoNet.report_tables (myoflow.methods.myonet.method) and the merged ones.
MYONET_TABLES = ("table1_segments", "table2_agreement", "group_effects", "timing")
MERGED_TABLES = ("metrics", "strain_curves", "strain_summary")
#: Every table of the experiment and its cohort (the paper tables' TSVs come with the Markdown);
#: the intermediate tables they depend on are made on the way. Figures are not tables: left out.
TABLE_TARGETS = [
    *(f"results/experiments/tiny/tables/{name}.md" for name in MYONET_TABLES),
    *(f"results/experiments/tiny/tables/{name}.tsv" for name in MERGED_TABLES),
    *(f"results/rats/{name}.tsv" for name in ("index", "splits", "qc", "truth_strain")),
]


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


def _tables(results: Path) -> dict[str, Path]:
    """Every TSV and Markdown file under ``results`` (logs aside), by its path inside it."""
    return {
        p.relative_to(results).as_posix(): p
        for p in results.rglob("*")
        if p.suffix in (".tsv", ".md") and "logs" not in p.relative_to(results).parts
    }


def _without_seconds(path: Path) -> pd.DataFrame:
    """A table as text, less its wall-clock columns (``seconds``, ``median_epoch_seconds``)."""
    table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    return table.drop(columns=[c for c in table.columns if "seconds" in c])


#: Tables holding wall-clock seconds, which no two runs share: timing.md prints them in its text
#: (left out); timing.tsv and the training histories are compared without their seconds columns.
TIMED = {"experiments/tiny/tables/timing.md"}
WITH_SECONDS = {
    "experiments/tiny/tables/timing.tsv",
    "models/tiny/myonet/history.tsv",
    "models/tiny/resmyonet/history.tsv",
}


def _assert_same(first: dict[str, Path], second: dict[str, Path], names: set[str]) -> None:
    for name in sorted(names - TIMED):
        if name in WITH_SECONDS:
            pd.testing.assert_frame_equal(
                _without_seconds(second[name]), _without_seconds(first[name]), obj=name
            )
        else:
            assert second[name].read_bytes() == first[name].read_bytes(), f"{name} differs"


@pytest.fixture(scope="module")
def rerun(myonet_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture's config run again in a fresh directory: every job (phantom, preprocessing,
    split, training, prediction, evaluation, statistics) executes again from the same inputs.

    A forced rerun in place would prove less: ``train_model`` resumes from the ``last.pt`` it finds
    (a finished one: zero epochs). Training on the CPU is deterministic by design (every epoch
    seeds from ``(seed, epoch)``), so nothing but wall-clock time may differ.
    """
    again = tmp_path_factory.mktemp("again")
    write_config(again, yaml.safe_load((myonet_run / "config.yaml").read_text()))
    run = snakemake(again, *TABLE_TARGETS)
    assert run.returncode == 0, (run.stdout + run.stderr)[-6000:]
    return again


def test_a_finished_run_has_nothing_to_redo(myonet_run: Path) -> None:
    dry = snakemake(myonet_run, "-n")
    assert dry.returncode == 0, (dry.stdout + dry.stderr)[-3000:]
    assert "Nothing to be done" in dry.stdout + dry.stderr


def test_rerun_makes_every_table(myonet_run: Path, rerun: Path) -> None:
    first, second = _tables(myonet_run / "results"), _tables(rerun / "results")
    paper = {f"experiments/tiny/tables/{n}.{x}" for n in MYONET_TABLES for x in ("tsv", "md")}
    assert paper | {t.removeprefix("results/") for t in TABLE_TARGETS} <= set(second)
    assert set(second) <= set(first), "the rerun made tables the first run did not"


def test_rerun_reproduces_cohort_tables_and_training_exactly(myonet_run: Path, rerun: Path) -> None:
    """Phantom, preprocessing, split and training: byte for byte (histories and timing without
    their seconds)."""
    first, second = _tables(myonet_run / "results"), _tables(rerun / "results")
    upstream = {n for n in second if not n.startswith("experiments/")} | {
        "experiments/tiny/tables/timing.tsv"
    }
    assert any(n.endswith("history.tsv") for n in upstream) and "rats/splits.tsv" in upstream
    _assert_same(first, second, upstream)


@pytest.mark.xfail(
    reason="CPU inference is not always bitwise reproducible between runs: in 2 of 3 runs of "
    "this test on a loaded 2-core machine, the first slice of a ResMyoNet prediction shard came "
    "out different in the last float32 bits (up to 2e-6 mm; same best.pt, same input shard), "
    "which reaches every table computed from predictions (relative differences up to 2e-4 on "
    "near-zero strains). Remove this mark once prediction is deterministic.",
    strict=False,
)
def test_rerun_reproduces_the_experiment_tables_exactly(myonet_run: Path, rerun: Path) -> None:
    """Prediction, evaluation and statistics: byte for byte."""
    first, second = _tables(myonet_run / "results"), _tables(rerun / "results")
    downstream = {n for n in second if n.startswith("experiments/")}
    _assert_same(first, second, downstream)
