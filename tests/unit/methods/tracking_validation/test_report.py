"""Tracking validation report: valid TSV and Markdown, a real PNG and SVG, the aims and pivots."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from myoflow.methods.tracking_validation.report import fig_tracking_validation, write_sweep
from myoflow.methods.tracking_validation.report_tables import (
    CONDITION_COLUMNS,
    aims_table,
    conditions_table,
    pivot,
    reference_condition,
    reference_snr,
    validation_markdown,
    write_validation_tables,
)
from myoflow.methods.tracking_validation.scoring import (
    FRAME_COLUMNS,
    SEGMENT_COLUMNS,
    SLICE_COLUMNS,
)
from myoflow.methods.tracking_validation.validation import CELL_COLUMNS, SweepResult, aggregate

matplotlib.use("Agg")

METHODS = ("harp", "sinmod", "zero")
#: (realism, mask error) of the made-up sweep: the reference condition and one a user meets.
CONDITIONS = (("ideal", "none"), ("realistic", "dilate2"))
SEGMENTS = {"mid": (0, 7, 8, 9, 10, 11, 12), "basal": (0, 1, 2, 3, 4, 5, 6)}


@pytest.fixture(autouse=True)
def _no_figure_left_open() -> Iterator[None]:
    before = plt.get_fignums()
    yield
    assert plt.get_fignums() == before


def _sweep() -> SweepResult:
    """Made-up scores for 3 methods x 2 species x 2 conditions x SNR 10, 20 x tags 4, 5 px x 2
    slices: the error falls with SNR and is 3x larger in the realistic condition; the zero
    baseline is large; one sinmod slice failed at SNR 10."""
    rng = np.random.default_rng(0)
    rows: list[dict[str, Any]] = []
    segments: list[dict[str, Any]] = []
    grid = [
        (method, species, realism, mask_error, snr, spacing)
        for method in METHODS
        for species in ("rat", "human")
        for realism, mask_error in CONDITIONS
        for snr in (10.0, 20.0)
        for spacing in (4.0, 5.0)
    ]
    for method, species, realism, mask_error, snr, spacing in grid:
        for i, position in enumerate(("mid", "basal")):
            keys: dict[str, Any] = {"method": method, "species": species, "realism": realism}
            keys.update({"mask_error": mask_error, "snr": snr, "spacing_px": spacing})
            keys.update({"subject": f"s{i}", "position": position, "pixel_mm": 0.2})
            keys["tag_spacing_mm"] = 0.2 * spacing
            row: dict[str, Any] = {name: np.nan for name in SLICE_COLUMNS}
            row.update(keys)
            failed = method == "sinmod" and snr == 10.0 and i == 1
            row["status"] = "failed: no tag peaks" if failed else "ok"
            if not failed:
                scale = 5.0 if method == "zero" else 2.0 / snr
                scale *= 3.0 if realism == "realistic" else 1.0
                for name in SLICE_COLUMNS[SLICE_COLUMNS.index("es_mean_mm") :]:
                    row[name] = scale * (1 + 0.1 * rng.random())
                for seg in SEGMENTS[position]:
                    seg_row: dict[str, Any] = {name: np.nan for name in SEGMENT_COLUMNS}
                    seg_row.update(keys)
                    bias = 0.15 if method == "zero" else 0.005
                    seg_row["segment"] = seg
                    seg_row["ecc_error"] = bias + 0.01 * rng.standard_normal()
                    seg_row["err_error"] = -2 * bias + 0.02 * rng.standard_normal()
                    segments.append(seg_row)
            if method == "zero":
                row["seconds_per_frame"] = np.nan
            rows.append(row)
    return SweepResult(
        slices=pd.DataFrame(rows, columns=SLICE_COLUMNS),
        segments=pd.DataFrame(segments, columns=SEGMENT_COLUMNS),
        frames=pd.DataFrame(columns=FRAME_COLUMNS),
    )


def test_tables_are_valid_tsv_and_markdown(tmp_path: Path) -> None:
    result = _sweep()
    cells = result.cells()
    write_validation_tables(cells, tmp_path / "validation")
    back = pd.read_csv(tmp_path / "validation.tsv", sep="\t")
    assert list(back.columns) == CELL_COLUMNS and len(back) == len(cells) == 3 * 2 * 2 * 2 * 2
    np.testing.assert_allclose(back["es_mean_px"], cells["es_mean_px"])
    sinmod_10 = back[(back["method"] == "sinmod") & (back["snr"] == 10)]
    assert (sinmod_10["failed"] == 1).all()
    text = (tmp_path / "validation.md").read_text(encoding="utf-8")
    assert text.startswith("# Tracking validation")
    tables = [block for block in text.split("\n\n") if block.startswith("|")]
    assert len(tables) == 6  # aims, two error pivots, the Ecc pivot, conditions, every cell
    for table in tables:
        lines = table.splitlines()
        widths = {line.count("|") for line in lines}
        assert len(widths) == 1, "every row of a Markdown table has the same number of cells"
        assert set(lines[1]) <= set("|-: ")
    assert "| zero   | rat     |" in text
    assert not list(tmp_path.glob(".tmp-*"))


def test_aims_and_pivots() -> None:
    cells = _sweep().cells()
    assert reference_snr([5, 10, 20, 40]) == 20
    assert reference_snr([5, 10]) == 10
    aims = aims_table(reference_condition(cells))
    assert set(aims["snr"]) == {20.0}
    assert list(aims["method"]) == ["harp", "harp", "sinmod", "sinmod", "zero", "zero"]
    assert set(aims.loc[aims["method"] == "zero", "es_aim_met"]) == {"no"}
    assert set(aims.loc[aims["method"] == "harp", "es_aim_met"]) == {"yes"}  # 0.1 px
    table = pivot(reference_condition(cells), "es_mean_px", "snr")
    assert list(table.columns) == ["method", "species", "SNR 10", "SNR 20"]
    assert (table["SNR 10"] > table["SNR 20"])[table["method"] != "zero"].all()
    assert "SNR 20" in validation_markdown(cells)


def test_reference_condition_and_conditions_table() -> None:
    cells = _sweep().cells()
    base = reference_condition(cells)
    assert set(base["realism"]) == {"ideal"} and set(base["mask_error"]) == {"none"}
    # without the ideal preset, the first realism of the grid stands in
    only_real = reference_condition(cells[cells["realism"] == "realistic"])
    assert set(only_real["mask_error"]) == {"dilate2"} and len(only_real) == len(base)
    table = conditions_table(cells)
    assert list(table.columns) == CONDITION_COLUMNS and set(table["snr"]) == {20.0}
    keys = ["method", "species", "realism", "mask_error"]
    # species in the cell table's order, then realism, mask error, trackers and zero
    assert list(table[keys].itertuples(index=False, name=None))[:6] == [
        ("harp", "human", "ideal", "none"),
        ("sinmod", "human", "ideal", "none"),
        ("zero", "human", "ideal", "any"),
        ("harp", "human", "realistic", "dilate2"),
        ("sinmod", "human", "realistic", "dilate2"),
        ("zero", "human", "realistic", "any"),
    ]
    assert len(table) == 12
    harp = table[table["method"] == "harp"].set_index(["species", "realism"])
    at_20 = cells[(cells["snr"] == 20) & (cells["method"] == "harp")]
    rat = at_20[(at_20["species"] == "rat") & (at_20["realism"] == "ideal")]
    assert harp.loc[("rat", "ideal"), "es_mean_px"] == pytest.approx(rat["es_mean_px"].mean())
    assert harp.loc[("rat", "ideal"), "es_max_px"] == rat["es_max_px"].max()
    assert harp.loc[("rat", "ideal"), "slices"] == 4  # 2 spacings x 2 slices
    real = harp.loc[("rat", "realistic"), "es_mean_px"]
    assert real > 2 * harp.loc[("rat", "ideal"), "es_mean_px"]


def test_figure_writes_png_and_svg(tmp_path: Path) -> None:
    result = _sweep()
    fig_tracking_validation(result.cells(), result.segments, tmp_path / "validation")
    png, svg = tmp_path / "validation.png", tmp_path / "validation.svg"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert "<svg" in svg.read_text(encoding="utf-8")


def test_figure_without_any_successful_tracker(tmp_path: Path) -> None:
    result = _sweep()
    slices = result.slices.copy()
    tracked = slices["method"] != "zero"
    slices.loc[tracked, "status"] = "failed: no tag peaks"
    slices.loc[tracked, SLICE_COLUMNS[SLICE_COLUMNS.index("es_mean_mm") :]] = np.nan
    segments = result.segments[result.segments["method"] == "zero"]
    fig_tracking_validation(aggregate(slices, segments), segments, tmp_path / "fig")
    assert (tmp_path / "fig.png").exists()


def test_write_sweep_writes_every_file(tmp_path: Path) -> None:
    paths = write_sweep(_sweep(), tmp_path / "out")
    assert [p.name for p in paths] == [
        "validation.tsv",
        "validation.md",
        "validation.png",
        "validation.svg",
        "validation_slices.tsv",
        "validation_segments.tsv",
        "validation_frames.tsv",
    ]
    assert all(p.stat().st_size > 0 for p in paths)
    slices = pd.read_csv(tmp_path / "out" / "validation_slices.tsv", sep="\t")
    assert list(slices.columns) == SLICE_COLUMNS


def test_missing_columns_are_named(tmp_path: Path) -> None:
    cells = _sweep().cells().drop(columns=["es_p95_px"])
    with pytest.raises(ValueError, match="es_p95_px"):
        write_validation_tables(cells, tmp_path / "validation")
