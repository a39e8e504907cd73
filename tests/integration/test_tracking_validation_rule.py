"""The tracking validation rules end to end: one job per cell and the merge, through Snakemake.

The sweep itself is unit-tested (tests/unit/methods/tracking_validation/); this checks that the
rules, their script and the config keys fit together, that the merged table is the in-process
sweep's, and that a grid grown by one value reruns that cell alone.
"""

from __future__ import annotations

import copy

import pandas as pd
import pytest
from support.workflow import TINY_MYONET, read_tsv, snakemake, write_config

from myoflow.methods.tracking_validation.grid import SweepConfig
from myoflow.methods.tracking_validation.validation import run_sweep

pytestmark = pytest.mark.integration

TWO_CELLS = copy.deepcopy(TINY_MYONET)
TWO_CELLS["tracking_validation"] = {
    "enabled": True,
    "trackers": ["harp", "sinmod"],
    "species": ["rat"],
    "realism": ["ideal"],
    "mask_error": ["none", "dilate2"],
    "snr": [20],
    "spacing_px": [5],
    "slices": 1,
}
CELL_IDS = ["rat-ideal-none-snr20-sp5", "rat-ideal-dilate2-snr20-sp5"]
#: Columns that time the run, so differ between two runs of the same cell.
TIMING = ["ms_per_frame", "frames_per_s"]


def test_cells_and_merge_give_the_in_process_sweep(tmp_path) -> None:
    write_config(tmp_path, TWO_CELLS)
    outputs = [f"results/tracking/validation.{ext}" for ext in ("tsv", "md", "png", "svg")]
    run = snakemake(tmp_path, *outputs)
    assert run.returncode == 0, (run.stdout + run.stderr)[-6000:]
    out = tmp_path / "results" / "tracking"
    for cell in CELL_IDS:
        for table in ("slices", "segments", "frames"):
            assert (out / "cells" / cell / f"{table}.tsv").stat().st_size > 0
    assert (out / "validation_frames.tsv").stat().st_size > 0

    cells = read_tsv(out / "validation.tsv")
    assert list(cells["method"]) == ["harp", "harp_phase", "sinmod", "zero"] * 2
    assert list(cells["mask_error"]) == ["none"] * 4 + ["dilate2"] * 4
    by_method = cells[cells["mask_error"] == "none"].set_index("method")
    for tracker in ("harp", "sinmod"):
        # the phantom's aims hold on this cell, far from the zero baseline
        assert by_method.loc[tracker, "es_mean_px"] < 0.3 < by_method.loc["zero", "es_mean_px"]
        assert abs(by_method.loc[tracker, "ecc_global_bias"]) < 0.02
    assert (out / "validation.png").stat().st_size > 10_000
    text = (out / "validation.md").read_text()
    assert "Aims at SNR 20" in text and "| dilate2" in text

    in_process = run_sweep(SweepConfig.from_dict(TWO_CELLS["tracking_validation"])).cells()
    pd.testing.assert_frame_equal(
        cells.drop(columns=TIMING), in_process.drop(columns=TIMING), check_dtype=False
    )

    # one more mask error: one more cell job and the merge, the finished cells stay
    grown = copy.deepcopy(TWO_CELLS)
    grown["tracking_validation"]["mask_error"].append("shift1")
    write_config(tmp_path, grown)
    dry = snakemake(tmp_path, "-n", *outputs)
    assert dry.returncode == 0, (dry.stdout + dry.stderr)[-6000:]
    jobs = dict(
        line.split()[:2]
        for line in (dry.stdout + dry.stderr).splitlines()
        if line.startswith("tracking_validation")
    )
    assert jobs == {"tracking_validation_cell": "1", "tracking_validation": "1"}, dry.stderr
