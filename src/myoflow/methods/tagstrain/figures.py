"""Paper 003's figures from the evaluation's tidy tables: localisation (Fig. 4), Bland-Altman of
the ES strains per slice level (Fig. 5) and one example slice, landmarks and curves (Fig. 6).

The figures only draw: the rows come from :data:`myoflow.tables.ROI_BOXES` and
:data:`myoflow.tables.LANDMARK_STRAIN_CURVES`, the Bland-Altman statistics from
:func:`myoflow.stats.agreement.agreement` (the numbers of the agreement tables, so a figure and
a table never disagree), and the images from whoever loads the chosen slices. The ``pick_*``
helpers choose those slices deterministically, so a rerun shows the same cases.

Pixel convention (as :mod:`myoflow.methods.tagstrain.boxes`): x along columns, pixel ``j``
covers ``[j - 0.5, j + 0.5]``. ``imshow``'s default extent, ``(-0.5, W - 0.5, H - 0.5, -0.5)``,
puts pixel centres at integer data coordinates, so boxes and landmarks are drawn in pixel
coordinates exactly, with no half-pixel shift.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.patches import Rectangle

from myoflow.record import SLICE_POSITIONS
from myoflow.report.figures_common import (
    method_colour,
    new_figure,
    require_columns,
    save_figure,
    strain_label,
)
from myoflow.stats.agreement import METHOD_VALUE, REFERENCE_VALUE, agreement, pair_with_reference
from myoflow.tables import REFERENCE

Box4 = tuple[float, float, float, float]
#: The slice's identity across methods; what pairs a method's value with the reference's.
_PAIR_ON = ["cohort", "subject", "slice_id"]
#: Fig. 5's rows: strain column and the paper's symbol.
_BA_STRAINS = {"ecc_green": "εC", "err_green": "εR"}
#: Box colours: a colour-blind-safe pair that stays visible on a grey tagged image (the method
#: colours' black reference would vanish in the dark myocardium).
_TARGET_COLOUR = "#17becf"
_PREDICTED_COLOUR = "#ff7f0e"
_BOX_CORNERS = ("x1", "y1", "x2", "y2")


@dataclass(frozen=True)
class BoxExample:
    """One Fig. 4 example: the ED image ``[H, W]`` and the two boxes ``(x1, y1, x2, y2)`` in its
    pixels (centres at integers)."""

    title: str
    image: np.ndarray
    target: Box4
    predicted: Box4

    def __post_init__(self) -> None:
        if np.ndim(self.image) != 2:
            raise ValueError(f"BoxExample image must be 2-D, got shape {np.shape(self.image)}")
        for name in ("target", "predicted"):
            if len(getattr(self, name)) != 4:
                raise ValueError(f"BoxExample {name} must be (x1, y1, x2, y2)")

    @classmethod
    def from_row(cls, name: str, row: pd.Series, image: np.ndarray) -> BoxExample:
        """The example of a boxes-table row (as :func:`pick_examples` returns), titled
        ``"<name>: subject/slice, IoU 0.62"``."""
        return cls(
            title=f"{name}: {row['subject']}/{row['slice_id']}, IoU {float(row['iou']):.2f}",
            image=np.asarray(image),
            target=_row_box(row, "target"),
            predicted=_row_box(row, "pred"),
        )


def _row_box(row: pd.Series, prefix: str) -> Box4:
    x1, y1, x2, y2 = (float(row[f"{prefix}_{corner}"]) for corner in _BOX_CORNERS)
    return x1, y1, x2, y2


def _lower_median_row(table: pd.DataFrame, value: str) -> pd.Series:
    """The row at the lower median of ``value`` (an actual row, never an average of two), ties
    broken by the slice identity so the choice does not depend on the table's order."""
    ordered = _sorted_by(table, value)
    return ordered.iloc[(len(ordered) - 1) // 2]


def _sorted_by(table: pd.DataFrame, value: str) -> pd.DataFrame:
    keys = table[_PAIR_ON].astype(str).add_prefix("_key_")
    joined = pd.concat([table, keys], axis=1)
    ordered = joined.sort_values([value, *keys.columns], kind="mergesort")
    return ordered.drop(columns=keys.columns)


def pick_examples(boxes: pd.DataFrame) -> list[tuple[str, pd.Series]]:
    """The worst-IoU slice and a typical one (the lower-median IoU), as Fig. 4 shows the worst
    and typical cases: ``[("worst", row), ("typical", row)]``. Rows with a NaN IoU are skipped."""
    require_columns(boxes, [*_PAIR_ON, "iou"], "pick_examples boxes")
    scored = boxes[np.isfinite(boxes["iou"].to_numpy(float))]
    if scored.empty:
        raise ValueError("pick_examples: no slice has a finite IoU")
    return [
        ("worst", _sorted_by(scored, "iou").iloc[0]),
        ("typical", _lower_median_row(scored, "iou")),
    ]


def _draw_box(ax: Axes, box: Box4, colour: str, style: str, label: str) -> None:
    x1, y1, x2, y2 = box
    ax.add_patch(
        Rectangle(
            (x1, y1),
            x2 - x1,
            y2 - y1,
            fill=False,
            edgecolor=colour,
            linestyle=style,
            linewidth=1.5,
            label=label,
        )
    )


def fig_localisation(boxes: pd.DataFrame, examples: Sequence[BoxExample], stem: str | Path) -> None:
    """Paper 003 Fig. 4: the IoU histogram over slices (mean ± SD, ddof 1, and the worst value
    written on it), then each example's ED image with the target box (solid) and the predicted
    box (dashed). IoU is a fraction, as in the boxes table."""
    require_columns(boxes, ["iou"], "fig_localisation boxes")
    iou = boxes["iou"].to_numpy(float)
    iou = iou[np.isfinite(iou)]
    if iou.size == 0:
        raise ValueError("fig_localisation: no slice has a finite IoU")
    fig = new_figure(3.0 * (1 + len(examples)), 3.2)
    axes = fig.subplots(1, 1 + len(examples), squeeze=False)[0]
    hist = axes[0]
    hist.hist(iou, bins=int(np.clip(np.sqrt(iou.size), 5, 30)), color="#7f7f7f")
    sd = float(np.std(iou, ddof=1)) if iou.size > 1 else float("nan")
    hist.text(
        0.03,
        0.97,
        f"mean {iou.mean():.3f} ± {sd:.3f}\nworst {iou.min():.3f}\nn = {iou.size}",
        transform=hist.transAxes,
        ha="left",
        va="top",
        fontsize="small",
    )
    hist.set_xlabel("IoU (fraction)")
    hist.set_ylabel("slices")
    hist.set_title("Localisation IoU", fontsize="medium")
    for ax, example in zip(axes[1:], examples, strict=True):
        ax.imshow(example.image, cmap="gray")  # default extent: pixel centres at integers
        _draw_box(ax, example.target, _TARGET_COLOUR, "-", "target")
        _draw_box(ax, example.predicted, _PREDICTED_COLOUR, "--", "predicted")
        ax.set_title(example.title, fontsize="small")
        ax.set_axis_off()
    if examples:
        axes[1].legend(loc="lower left", fontsize="x-small")
    save_figure(fig, stem)


def _es_whole_slice(curves: pd.DataFrame, method: str) -> pd.DataFrame:
    """The whole slice's (segment 0) rows at each slice's ES frame of the reference and
    ``method``; ValueError if either has none."""
    require_columns(
        curves,
        [*_PAIR_ON, "position", "method", "segment", "frame", "es_frame", *_BA_STRAINS],
        "tagstrain figure curves",
    )
    es = curves[(curves["segment"] == 0) & (curves["frame"] == curves["es_frame"])]
    es = es[es["method"].isin([REFERENCE, method])]
    for needed in (REFERENCE, method):
        if not (es["method"] == needed).any():
            raise ValueError(
                f"no ES whole-slice rows for method {needed!r}; "
                f"methods present: {sorted(curves['method'].unique().tolist())}"
            )
    return es


def _panel_stats(rows: pd.DataFrame) -> tuple[float, float, float]:
    """(bias, lower limit, upper limit) of one panel from :func:`agreement`, the function of the
    agreement tables: bias = mean of method − reference, limits bias ± 1.96 SD (ddof 1), all
    NaN below 3 pairs. Calling it rather than re-deriving keeps figure and table identical.
    Its ICC and correlation are discarded here, so their warnings (near-constant input) are
    silenced: they say nothing about the Bland-Altman lines."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = agreement(rows[METHOD_VALUE].to_numpy(float), rows[REFERENCE_VALUE].to_numpy(float))
    return stats["ba_bias"], stats["ba_loa_low"], stats["ba_loa_high"]


def _level_pairs(curves: pd.DataFrame, method: str) -> dict[tuple[str, str], pd.DataFrame]:
    es = _es_whole_slice(curves, method)
    levels = [p for p in SLICE_POSITIONS if (es["position"] == p).any()]
    if not levels:
        raise ValueError(f"no slice at a level among {SLICE_POSITIONS}")
    out: dict[tuple[str, str], pd.DataFrame] = {}
    for strain in _BA_STRAINS:
        paired = pair_with_reference(es, strain, "method", REFERENCE, _PAIR_ON, by=["position"])
        paired = paired.dropna(subset=[METHOD_VALUE, REFERENCE_VALUE])
        for level in levels:
            out[strain, level] = paired[paired["position"] == level]
    return out


def fig_bland_altman_levels(
    curves: pd.DataFrame, method: str, stem: str | Path
) -> dict[tuple[str, str], tuple[float, float, float]]:
    """Paper 003 Fig. 5: ES Bland-Altman of ``method`` against the reference, rows εC, εR,
    columns the levels present (basal, mid, apical). Returns the drawn (bias, lower limit, upper
    limit) per (strain column, level), NaN for a panel of fewer than 3 pairs (drawn as points
    with "n < 3")."""
    pairs = _level_pairs(curves, method)
    levels = list(dict.fromkeys(level for _, level in pairs))
    colour = method_colour(method)
    fig = new_figure(3.3 * len(levels), 2.9 * len(_BA_STRAINS))
    axes = fig.subplots(len(_BA_STRAINS), len(levels), squeeze=False)
    drawn: dict[tuple[str, str], tuple[float, float, float]] = {}
    for r, (strain, symbol) in enumerate(_BA_STRAINS.items()):
        for c, level in enumerate(levels):
            ax, rows = axes[r, c], pairs[strain, level]
            values = rows[METHOD_VALUE].to_numpy(float)
            reference = rows[REFERENCE_VALUE].to_numpy(float)
            ax.scatter(0.5 * (values + reference), values - reference, s=10, alpha=0.6, c=colour)
            bias, low, high = drawn[strain, level] = _panel_stats(rows)
            if np.isfinite(bias):
                for level_value, style, label in (
                    (bias, "-", "bias"),
                    (low, "--", "−1.96 SD"),
                    (high, "--", "+1.96 SD"),
                ):
                    ax.axhline(level_value, color=colour, linestyle=style, linewidth=1.0)
                    ax.text(
                        0.98,
                        level_value,
                        f"{label} {level_value:+.3f}",
                        ha="right",
                        va="bottom",
                        transform=ax.get_yaxis_transform(),
                        fontsize="x-small",
                    )
                ax.margins(y=0.15)
            else:
                ax.text(0.5, 0.5, "n < 3", transform=ax.transAxes, ha="center", va="center")
            ax.set_title(f"{symbol} at ES, {level} (n = {len(rows)})", fontsize="medium")
            ax.set_xlabel(f"mean of {method} and reference")
            ax.set_ylabel(f"{method} − reference")
    save_figure(fig, stem)
    return drawn


@dataclass(frozen=True)
class SliceExample:
    """One Fig. 6 slice: ED and ES images ``[H, W]``, landmarks ``[2, N]`` (x, y in pixels,
    centres at integers) of the reference and the method, and the slice's segment-0 curves."""

    title: str
    image_ed: np.ndarray
    image_es: np.ndarray
    reference_ed: np.ndarray | None
    reference_es: np.ndarray | None
    predicted_ed: np.ndarray
    predicted_es: np.ndarray
    curves: pd.DataFrame
    method: str
    es_time_ms: float

    def __post_init__(self) -> None:
        for name in ("image_ed", "image_es"):
            if np.ndim(getattr(self, name)) != 2:
                raise ValueError(f"SliceExample {name} must be 2-D")
        if (self.reference_ed is None) != (self.reference_es is None):
            raise ValueError("SliceExample: give both reference frames or neither")
        for name in ("reference_ed", "reference_es", "predicted_ed", "predicted_es"):
            if getattr(self, name) is None:
                continue
            shape = np.shape(getattr(self, name))
            if len(shape) != 2 or shape[0] != 2:
                raise ValueError(f"SliceExample {name} must be [2, N], got {shape}")
        require_columns(self.curves, ["method", "time_ms", *_BA_STRAINS], "SliceExample curves")
        for needed in self.methods:
            if not (self.curves["method"] == needed).any():
                raise ValueError(f"SliceExample curves have no rows for {needed!r}")

    @property
    def methods(self) -> tuple[str, ...]:
        """The methods drawn: the reference (when the slice has one) and the method."""
        return (self.method,) if self.reference_ed is None else (REFERENCE, self.method)


def pick_example_slice(curves: pd.DataFrame, method: str) -> tuple[str, str, str]:
    """``(cohort, subject, slice_id)`` of a typical slice for Fig. 6: among mid-ventricular
    slices (all slices if none is mid), the one at the lower median of the ES ``ecc_green``
    error |method − reference|, ties broken by the slice identity; without a reference (a
    cohort that brought no landmarks), at the lower median of the method's own ES εC."""
    if not (curves["method"] == REFERENCE).any():
        es = curves[
            (curves["method"] == method)
            & (curves["segment"] == 0)
            & (curves["frame"] == curves["es_frame"])
        ]
        if es.empty:
            raise ValueError(f"pick_example_slice: no ES whole-slice rows for {method!r}")
        mid = es[es["position"] == "mid"]
        row = _lower_median_row(mid if not mid.empty else es, "ecc_green")
        return str(row["cohort"]), str(row["subject"]), str(row["slice_id"])
    es = _es_whole_slice(curves, method)
    paired = pair_with_reference(es, "ecc_green", "method", REFERENCE, _PAIR_ON, by=["position"])
    paired = paired.assign(error=(paired[METHOD_VALUE] - paired[REFERENCE_VALUE]).abs())
    paired = paired[np.isfinite(paired["error"].to_numpy(float))]
    if paired.empty:
        raise ValueError(f"pick_example_slice: no slice has both {method!r} and reference at ES")
    mid = paired[paired["position"] == "mid"]
    row = _lower_median_row(mid if not mid.empty else paired, "error")
    return str(row["cohort"]), str(row["subject"]), str(row["slice_id"])


def fig_example_slice(example: SliceExample, stem: str | Path) -> None:
    """Paper 003 Fig. 6: ED and ES images with the reference and predicted landmarks (top), the
    whole-slice εC and εR over time of both with a dotted line at ES (bottom); the method's
    alone on a slice without reference landmarks."""
    methods = example.methods
    fig = new_figure(8.0, 7.0)
    axes = fig.subplots(2, 2)
    frames = (
        ("ED", example.image_ed, example.reference_ed, example.predicted_ed),
        ("ES", example.image_es, example.reference_es, example.predicted_es),
    )
    for ax, (name, image, reference, predicted) in zip(axes[0], frames, strict=True):
        ax.imshow(image, cmap="gray")  # default extent: pixel centres at integers
        drawn = (predicted,) if reference is None else (reference, predicted)
        for method, points in zip(methods, drawn, strict=True):
            ax.plot(
                points[0],
                points[1],
                "o",
                markersize=3,
                color=method_colour(method),
                markeredgecolor="white",
                markeredgewidth=0.4,
                label=method,
            )
        ax.set_title(f"{name}", fontsize="medium")
        ax.set_axis_off()
    axes[0, 0].legend(loc="lower left", fontsize="x-small")
    curves = example.curves
    if "segment" in curves.columns:
        curves = curves[curves["segment"] == 0]
    for ax, strain in zip(axes[1], ("ecc_green", "err_green"), strict=True):
        for method in methods:
            rows = curves[curves["method"] == method].sort_values("time_ms")
            ax.plot(rows["time_ms"], rows[strain], color=method_colour(method), label=method)
        ax.axvline(example.es_time_ms, color="black", linestyle=":", linewidth=1.0)
        ax.axhline(0.0, color="black", linewidth=0.5)
        ax.set_xlabel("time (ms)")
        ax.set_ylabel(strain_label(strain))
        ax.set_title(f"{_BA_STRAINS[strain]} over the cycle (dotted: ES)", fontsize="medium")
    axes[1, 1].legend(fontsize="x-small")
    fig.suptitle(example.title, fontsize="medium")
    save_figure(fig, stem)


#: The second quantity of each network's training history: the localisation network's IoU and
#: the tracker's landmark RMSE (pixels of a 128-pixel crop).
_TRAINING_METRIC = {"roi": ("iou", "IoU"), "rnncnn": ("rmse_px", "landmark RMSE (px of 128)")}


def fig_training_curves(histories: Mapping[str, pd.DataFrame], stem: str | Path) -> None:
    """Loss and accuracy per epoch of each network, training solid and validation dashed: the
    two networks have different losses and accuracies, so each gets its own pair of panels."""
    if not histories:
        raise ValueError("fig_training_curves: no histories")
    fig = new_figure(8.0, 3.0 * len(histories))
    axes = fig.subplots(len(histories), 2, squeeze=False)
    for row, (name, history) in zip(axes, histories.items()):
        metric, label = _TRAINING_METRIC.get(name, ("loss", "loss"))
        require_columns(history, ["epoch", "train_loss", "val_loss"], f"history {name!r}")
        for ax, column, title in ((row[0], "loss", "loss"), (row[1], metric, label)):
            for split, style in (("train", "-"), ("val", "--")):
                if f"{split}_{column}" in history:
                    ax.plot(history["epoch"], history[f"{split}_{column}"], style, label=split)
            ax.set_xlabel("epoch")
            ax.set_title(f"{name}: {title}", fontsize="medium")
            ax.legend(fontsize="small")
    save_figure(fig, stem)
