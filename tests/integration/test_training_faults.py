"""A training job killed mid-run (scancel's SIGTERM, or SIGKILL) resumes to the same result.

The job is the real entry script in its own process, as Snakemake and SLURM run it; the kill
lands right after the first epoch's checkpoint, i.e. inside the second epoch. The settings put
the best validation epoch first (see ``SETTINGS``), before the kill, so the resumed job must
remember it rather than select among the epochs it ran itself.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from support.cohorts import write_tiny_cohort
from support.workflow import ROOT

from myoflow.methods.myonet.settings import MyoNetSettings
from myoflow.settings import defaults

pytestmark = pytest.mark.integration

EPOCHS = 5
SETTINGS = {
    **defaults(MyoNetSettings),
    "base_width": 2,
    "epochs": EPOCHS,
    "batch_size": 1,
    # Adam at lr 0.1 (a hundred times the default rate): validation loss is lowest after epoch
    # 1 and several times higher in every later epoch (measured: 0.40, 1.19, 1.47, 1.51, 1.38),
    # so the best epoch lies before the kill (the test checks it does). With a falling
    # validation loss it would be the last epoch, and a resume that forgot the best one would
    # still select it.
    "optimizer": "adam",
    "lr": 0.1,
    "compile": False,
    "channels_last": False,
    "max_displacement_mm": 3.0,
}
EXPERIMENT = {
    "name": "faults",
    "method": "myonet",
    "cohorts": ["tiny"],
    "reference": "truth",
    "synthetic": {"tiny": True},
    "first_group": {"tiny": "sham"},
    "settings": SETTINGS,
}


def _command(cohort: tuple[Path, Path], out: Path) -> list[str]:
    shard, splits = cohort
    return [
        sys.executable,
        str(ROOT / "scripts" / "train_model.py"),
        "--experiment",
        json.dumps(EXPERIMENT),
        "--model",
        "myonet",
        "--shards",
        str(shard),
        "--splits",
        str(splits),
        "--out-dir",
        str(out),
        "--threads",
        "1",
        "--device",
        "cpu",
    ]


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_tiny_cohort(tmp_path_factory.mktemp("faults_cohort"))


@pytest.fixture(scope="module")
def uninterrupted(cohort: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("uninterrupted")
    subprocess.run(_command(cohort, out), check=True, capture_output=True)
    return out


def _kill_after_first_epoch(command: list[str], out: Path, sig: signal.Signals) -> int:
    """Start the job, send ``sig`` as soon as epoch 1's checkpoint exists; return its status."""
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (out / "last.pt").exists():
        assert proc.poll() is None, "training ended before its first checkpoint"
        assert time.monotonic() < deadline, "no checkpoint within 120 s"
        time.sleep(0.005)
    proc.send_signal(sig)
    return proc.wait(timeout=60)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_killed_training_resumes_to_the_uninterrupted_result(
    cohort: tuple[Path, Path], uninterrupted: Path, tmp_path: Path, sig: signal.Signals
) -> None:
    status = _kill_after_first_epoch(_command(cohort, tmp_path), tmp_path, sig)
    assert status == -sig, f"the job was not killed by {sig.name} (exit status {status})"
    killed_at = torch.load(tmp_path / "last.pt", weights_only=True)["epoch"]
    assert 1 <= killed_at < EPOCHS
    for output in ("best.pt", "history.tsv", "model.tsv"):
        assert not (tmp_path / output).exists(), f"an unfinished job left its {output}"
    # pandas writes floats in full (repr) and reads them back bit for bit.
    expected = pd.read_csv(uninterrupted / "history.tsv", sep="\t").drop(columns="seconds")
    best_epoch = int(expected.loc[expected["val_loss"].idxmin(), "epoch"])
    after_best = expected.loc[expected["epoch"] > best_epoch, "val_loss"]
    assert best_epoch <= killed_at and len(after_best) > 0, (
        f"the scenario needs the best epoch ({best_epoch}) at or before the kill (after epoch "
        f"{killed_at}) and epochs after it; validation losses: {list(expected['val_loss'])}"
    )
    subprocess.run(_command(cohort, tmp_path), check=True, capture_output=True)
    resumed = pd.read_csv(tmp_path / "history.tsv", sep="\t").drop(columns="seconds")
    # Exact: the resumed epochs are the uninterrupted run's epochs, not epochs close to them.
    pd.testing.assert_frame_equal(resumed, expected, check_exact=True)
    a = torch.load(tmp_path / "best.pt", weights_only=True)
    b = torch.load(uninterrupted / "best.pt", weights_only=True)
    assert a["epoch"] == b["epoch"] == best_epoch
    assert a["val_loss"] == resumed["val_loss"].min()
    for key, value in b["state_dict"].items():
        torch.testing.assert_close(a["state_dict"][key], value, rtol=0, atol=0)
