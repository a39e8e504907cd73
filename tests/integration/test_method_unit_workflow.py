"""A method defined only in the test folder runs through the real workflow's generic stages.

The toy method (tests/support/toy_method.py: one convolution, an MSE loss, one metric) is named
in the config by module path. Nothing in the package or the workflow knows it: if adding a method
needed an edit outside its own unit, this run would fail.
"""

from __future__ import annotations

import copy
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from support.workflow import ROOT, TINY_MYONET, completed_run, read_tsv

pytestmark = pytest.mark.integration

SUPPORT = ROOT / "tests" / "support"


def _toy_config() -> dict:
    config = copy.deepcopy(TINY_MYONET)
    config["preprocess"]["fov"] = {"size": 96, "frames": 8}
    config["export_nifti"] = False
    config["experiments"] = {
        "toy": {
            "method": "toy_method:METHOD",
            "cohorts": ["rats"],
            "reference": "truth",
            "settings": {"epochs": 3},
        }
    }
    return config


def _tracked_files() -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    before = _tracked_files()
    path = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(SUPPORT), path) if p)
    try:
        run = completed_run(tmp_path_factory.mktemp("toy"), _toy_config())
    finally:
        os.environ["PYTHONPATH"] = path
    assert _tracked_files() == before, "the run changed a file of the repository"
    return run


def test_the_generic_stages_train_predict_and_evaluate_the_toy(toy_run: Path) -> None:
    res = toy_run / "results"
    history = read_tsv(res / "models" / "toy" / "tiny" / "history.tsv")
    assert list(history["epoch"]) == [1, 2, 3]
    assert {"train_loss", "val_loss", "train_epe", "val_epe"} <= set(history.columns)
    assert (res / "models" / "toy" / "tiny" / "best.pt").is_file()
    table = read_tsv(res / "experiments" / "toy" / "tables" / "toy_metrics.tsv")
    splits = read_tsv(res / "rats" / "splits.tsv")
    tested = set(splits.loc[splits["split"] == "test", "subject"])
    assert tested and set(table["subject"]) == tested
    assert set(table["method"]) == {"tiny", "zero"}
    assert np.isfinite(table["epe_mm"]).all() and (table["epe_mm"] > 0).all()


def test_the_profile_the_method_reads_is_written_for_its_cohort(toy_run: Path) -> None:
    """The config lists only the default profile: ``fov`` is there because the toy reads it."""
    index = read_tsv(toy_run / "results" / "rats" / "preprocessed" / "fov" / "index.tsv")
    assert len(index) > 0
    assert not (toy_run / "results" / "experiments" / "toy" / "figures").exists()
