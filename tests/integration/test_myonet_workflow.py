"""MyoNet / ResMyoNet end to end on a tiny config: training, prediction, tables, figures, report."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from support.workflow import TINY_MYONET, completed_run, read_tsv, snakemake, write_config

pytestmark = pytest.mark.integration

#: The experiment's tables: workflow/rules/common.smk MYONET_TABLES and the merged per-slice ones.
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


def test_rerun_from_scratch_reproduces_every_table(myonet_run: Path, tmp_path: Path) -> None:
    """Rerunning the experiment reproduces its numbers exactly, not just approximately.

    The fixture's config runs again in a fresh directory, so every job (phantom, preprocessing,
    split, training, prediction, evaluation, statistics) executes again from the same inputs. A
    forced rerun in place would prove less: ``train_net`` resumes from the ``last.pt`` it finds.
    Training on the CPU is deterministic by design (``myoflow.train.loop``: every epoch seeds from
    ``(seed, epoch)``), so nothing but wall-clock time may differ.
    """
    dry = snakemake(myonet_run, "-n")
    assert dry.returncode == 0, (dry.stdout + dry.stderr)[-3000:]
    assert "Nothing to be done" in dry.stdout + dry.stderr, "a finished run has nothing to redo"

    again = tmp_path / "again"
    write_config(again, yaml.safe_load((myonet_run / "config.yaml").read_text()))
    run = snakemake(again, *TABLE_TARGETS)
    assert run.returncode == 0, (run.stdout + run.stderr)[-6000:]

    first, second = _tables(myonet_run / "results"), _tables(again / "results")
    paper = {f"experiments/tiny/tables/{n}.{x}" for n in MYONET_TABLES for x in ("tsv", "md")}
    assert paper | {t.removeprefix("results/") for t in TABLE_TARGETS} <= set(second)
    assert set(second) <= set(first), "the rerun made tables the first run did not"
    # Wall-clock seconds differ between any two runs: timing.md shows them in its text;
    # timing.tsv and the histories are compared without their seconds columns.
    timed = {"experiments/tiny/tables/timing.md"}
    with_seconds = {"experiments/tiny/tables/timing.tsv"} | {
        name for name in second if name.endswith("/history.tsv")
    }
    for name in sorted(set(second) - timed):
        if name in with_seconds:
            pd.testing.assert_frame_equal(
                _without_seconds(second[name]), _without_seconds(first[name]), obj=name
            )
        else:
            assert second[name].read_bytes() == first[name].read_bytes(), f"{name} differs"
