"""The tracking validation rule end to end: one cell of the sweep through Snakemake.

The sweep itself is unit-tested (tests/unit/tracking/test_validation.py); this checks that the
rule, its script and the config keys fit together and produce the files the report collects.
"""

from __future__ import annotations

import copy

import pandas as pd
import pytest
from support.workflow import TINY_MYONET, snakemake, write_config

pytestmark = pytest.mark.integration

ONE_CELL = copy.deepcopy(TINY_MYONET)
ONE_CELL["tracking_validation"] = {
    "enabled": True,
    "trackers": ["harp", "sinmod"],
    "species": ["rat"],
    "snr": [20],
    "spacing_px": [5],
    "slices": 1,
}


def test_one_cell_of_the_sweep(tmp_path) -> None:
    write_config(tmp_path, ONE_CELL)
    outputs = [f"results/tracking/validation.{ext}" for ext in ("tsv", "md", "png", "svg")]
    run = snakemake(tmp_path, *outputs)
    assert run.returncode == 0, (run.stdout + run.stderr)[-6000:]
    cells = pd.read_csv(tmp_path / "results" / "tracking" / "validation.tsv", sep="\t")
    assert list(cells["method"]) == ["harp", "harp_phase", "sinmod", "zero"]
    by_method = cells.set_index("method")
    for tracker in ("harp", "sinmod"):
        # the phantom's aims hold on this cell, far from the zero baseline
        assert by_method.loc[tracker, "es_mean_px"] < 0.3 < by_method.loc["zero", "es_mean_px"]
        assert abs(by_method.loc[tracker, "ecc_global_bias"]) < 0.02
    assert (tmp_path / "results" / "tracking" / "validation.png").stat().st_size > 10_000
    assert "Aims at SNR 20" in (tmp_path / "results" / "tracking" / "validation.md").read_text()
