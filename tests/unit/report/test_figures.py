"""Report figures: each writes a real PNG and SVG atomically, closes its figure, checks inputs."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from myoflow.report.figures import (
    METHOD_COLOURS,
    bullseye_layout,
    fig_bland_altman,
    fig_bullseye,
    fig_displacement,
    fig_segments,
    fig_strain_curves,
    fig_training,
    method_colour,
    method_order,
    save_figure,
    strain_label,
)

matplotlib.use("Agg")

METHODS = ("reference", "myonet", "resmyonet")


@pytest.fixture(autouse=True)
def _no_figure_left_open() -> Iterator[None]:
    before = plt.get_fignums()
    yield
    assert plt.get_fignums() == before


def _assert_written(stem: Path) -> None:
    png = stem.parent / f"{stem.name}.png"
    svg = stem.parent / f"{stem.name}.svg"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 1024
    assert "<svg" in svg.read_text(encoding="utf-8")
    assert not list(stem.parent.glob(".tmp-*"))


def _summary(segments: tuple[int, ...] = (0, 7, 8, 9, 10, 11, 12)) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = [
        {
            "slice_id": f"s{s}",
            "method": method,
            "segment": segment,
            "ecc_green_es": -0.15 + 0.02 * rng.standard_normal(),
            "err_green_es": 0.30 + 0.05 * rng.standard_normal(),
        }
        for s in range(3)
        for method in METHODS
        for segment in segments
    ]
    return pd.DataFrame(rows)


def test_method_colours_are_fixed_distinct_and_deterministic() -> None:
    known = [method_colour(m) for m in METHOD_COLOURS]
    assert len(set(known)) == len(known)
    assert method_colour("attention_mnet") == method_colour("attention_mnet")
    assert method_colour("attention_mnet") not in known
    assert method_order(["zero", "myonet", "truth", "reference", "myonet"]) == [
        "reference",
        "truth",
        "myonet",
        "zero",
    ]


def test_strain_labels_name_the_kind() -> None:
    assert strain_label("ecc_green_es") == "Ecc at ES, Green-Lagrange (fraction)"
    assert "engineering" in strain_label("err_eng_peak")
    assert strain_label("epe_mm") == "epe_mm"


def test_save_figure_closes_a_pyplot_figure(tmp_path: Path) -> None:
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    assert fig.number in plt.get_fignums()
    save_figure(fig, tmp_path / "line")
    assert fig.number not in plt.get_fignums()
    assert (tmp_path / "line.png").exists() and (tmp_path / "line.svg").exists()


def _ring(size: int = 32) -> np.ndarray:
    rows, cols = np.indices((size, size))
    r = np.hypot(rows - size / 2, cols - size / 2)
    return (r > 6) & (r < 11)


def test_fig_displacement(tmp_path: Path) -> None:
    mask = _ring()
    rows, cols = np.indices(mask.shape)
    inward = np.stack([16.0 - cols, 16.0 - rows]) * 0.05  # contraction toward the centre, in mm
    reference = np.stack([t * inward for t in range(3)])
    rng = np.random.default_rng(1)
    predictions = {
        m: reference + 0.1 * rng.standard_normal(reference.shape) for m in ("myonet", "resmyonet")
    }
    fig_displacement(reference, predictions, mask, 2, (0.5, 0.5), tmp_path / "fig4", title="Rat")
    _assert_written(tmp_path / "fig4")
    with pytest.raises(ValueError, match="shape"):
        fig_displacement(
            reference, {"myonet": reference[:2]}, mask, 2, (0.5, 0.5), tmp_path / "bad"
        )
    assert not (tmp_path / "bad.png").exists()


def test_fig_segments(tmp_path: Path) -> None:
    fig_segments(_summary(), tmp_path / "fig5")
    _assert_written(tmp_path / "fig5")


def _bland_altman_inputs() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(2)
    pairs = pd.DataFrame(
        [
            {
                "method": method,
                "strain": strain,
                "value_method": base + 0.02 * rng.standard_normal(),
                "value_reference": base,
            }
            for method in ("myonet", "resmyonet")
            for strain, base in (("ecc_green_es", -0.15), ("err_green_es", 0.3))
            for _ in range(12)
        ]
    )
    diff = pairs["value_method"] - pairs["value_reference"]
    grouped = diff.groupby([pairs["method"], pairs["strain"]])
    stats = pd.DataFrame({"ba_bias": grouped.mean(), "sd": grouped.std()}).reset_index()
    stats["ba_loa_low"] = stats["ba_bias"] - 1.96 * stats["sd"]
    stats["ba_loa_high"] = stats["ba_bias"] + 1.96 * stats["sd"]
    return pairs, stats


def test_fig_bland_altman(tmp_path: Path) -> None:
    pairs, stats = _bland_altman_inputs()
    fig_bland_altman(pairs, stats, tmp_path / "fig6")
    _assert_written(tmp_path / "fig6")
    svg = (tmp_path / "fig6.svg").read_text(encoding="utf-8")
    assert "bias" in svg and "upper LoA" in svg  # the lines are labelled


def test_fig_bland_altman_method_missing_from_stats(tmp_path: Path) -> None:
    pairs, stats = _bland_altman_inputs()
    with pytest.raises(ValueError, match="resmyonet"):
        fig_bland_altman(pairs, stats[stats["method"] != "resmyonet"], tmp_path / "fig6")
    assert not list(tmp_path.iterdir())


def test_fig_training(tmp_path: Path) -> None:
    epochs = np.arange(1, 11)
    histories = {
        net: pd.DataFrame(
            {
                "epoch": epochs,
                "train_loss": 1.0 / (rate * epochs),
                "val_loss": 1.2 / (rate * epochs),
                "train_accuracy": 1.0 - 0.5 / (rate * epochs),
                "val_accuracy": 1.0 - 0.6 / (rate * epochs),
            }
        )
        for net, rate in (("myonet", 1.0), ("resmyonet", 3.0))
    }
    fig_training(histories, tmp_path / "fig7")
    _assert_written(tmp_path / "fig7")


def test_fig_strain_curves_with_groups_and_time(tmp_path: Path) -> None:
    frames = np.arange(8)
    shape = np.sin(np.pi * frames / 7)
    rows = [
        {
            "slice_id": f"{group}{s}",
            "group": group,
            "method": method,
            "segment": segment,
            "frame": f,
            "time_ms": 12.5 * f,
            "ecc_green": -0.18 * shape[f] + 0.01 * s,
            "err_green": 0.35 * shape[f] - 0.01 * s,
        }
        for group in ("control", "irradiated")
        for s in range(2)
        for method in METHODS
        for segment in (0, 7)
        for f in frames
    ]
    curves = pd.DataFrame(rows)
    fig_strain_curves(curves, tmp_path / "curves", segment=7)
    _assert_written(tmp_path / "curves")
    assert "time (ms)" in (tmp_path / "curves.svg").read_text(encoding="utf-8")
    with pytest.raises(ValueError, match="segment 3"):
        fig_strain_curves(curves, tmp_path / "none", segment=3)


def test_bullseye_layout_is_the_standard_aha_plot() -> None:
    layout = bullseye_layout()
    assert sorted(layout) == list(range(1, 17))
    rings = {"basal": range(1, 7), "mid": range(7, 13), "apical": range(13, 17)}
    for position, segments in rings.items():
        assert {layout[s].position for s in segments} == {position}
    # basal outermost, apical innermost, rings nested without overlap
    assert min(layout[s].r_inner for s in range(1, 7)) >= max(
        layout[s].r_outer for s in range(7, 13)
    )
    assert min(layout[s].r_inner for s in range(7, 13)) >= max(
        layout[s].r_outer for s in range(13, 17)
    )
    for segments in rings.values():
        widths = [layout[s].theta_end_deg - layout[s].theta_start_deg for s in segments]
        assert sum(widths) == pytest.approx(360.0)
        # consecutive numbers are adjacent counter-clockwise: each starts where the previous ends,
        # so with the widths summing to 360 the ring is tiled without gap or overlap
        for a, b in itertools.pairwise(segments):
            assert layout[b].theta_start_deg == pytest.approx(layout[a].theta_end_deg)
    centre = {s: 0.5 * (layout[s].theta_start_deg + layout[s].theta_end_deg) % 360 for s in layout}
    assert centre[1] == centre[7] == centre[13] == pytest.approx(90.0)  # anterior at the top
    assert centre[14] == pytest.approx(180.0)  # septum on the left
    assert 90.0 < centre[2] < 180.0 < centre[3] < 270.0  # septal segments left of centre


def test_fig_bullseye_with_missing_segments_grey(tmp_path: Path) -> None:
    fig_bullseye(_summary(segments=(0, 7, 8, 9)), tmp_path / "bullseye")
    _assert_written(tmp_path / "bullseye")
    assert "#cccccc" in (tmp_path / "bullseye.svg").read_text(encoding="utf-8")
