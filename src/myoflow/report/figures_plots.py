"""Plots of tidy tables: AHA bars (paper 000 Fig. 5), Bland-Altman (Fig. 6), training (Fig. 7),
and strain curves over the cardiac cycle."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.typing import LineStyleType

from myoflow.report.figures_common import (
    method_colour,
    method_order,
    new_figure,
    require_columns,
    save_figure,
    strain_label,
)
from myoflow.strain.aha import SEGMENT_NAMES

#: Line style per group in the strain curves; a fifth group reuses the first style.
_GROUP_STYLES: tuple[LineStyleType, ...] = ("-", "--", ":", "-.")
#: Line style per split in the training curves.
_SPLIT_STYLES: dict[str, LineStyleType] = {"train": "-", "val": "--"}
#: Bland-Altman lines: stats column, line style, label.
_BA_LINES = (
    ("ba_bias", "-", "bias"),
    ("ba_loa_low", "--", "lower LoA"),
    ("ba_loa_high", "--", "upper LoA"),
)


def segment_label(segment: int) -> str:
    """``global`` for segment 0, the AHA name otherwise (a number the model lacks as itself)."""
    return "global" if segment == 0 else SEGMENT_NAMES.get(segment, str(segment))


def fig_segments(
    summary: pd.DataFrame,
    stem: str | Path,
    value_columns: Sequence[str] = ("ecc_green_es", "err_green_es"),
) -> None:
    """Grouped bars per AHA segment: per method the mean over slices with SD error bars.

    One panel per value column (paper 000 Fig. 5 shows Ecc and Err at ES). Segments appear in AHA
    order with ``global`` (segment 0) last, after the regional bars it summarises. The SD is the
    sample SD (ddof 1) across the rows of a method and segment, i.e. across slices; a single
    slice has no SD and gets no error bar.
    """
    columns = list(value_columns)
    require_columns(summary, ["method", "segment", *columns], "fig_segments summary")
    if summary.empty or not columns:
        raise ValueError("fig_segments: needs rows and at least one value column")
    present = {int(s) for s in summary["segment"].unique()}
    segments = sorted(present - {0}) + ([0] if 0 in present else [])
    methods = method_order(summary["method"])
    stats = summary.groupby(["method", "segment"])[columns].agg(["mean", "std"])

    width = 0.8 / len(methods)
    x = np.arange(len(segments))
    fig = new_figure(max(6.0, 0.35 * len(segments) * (len(methods) + 1)), 2.8 * len(columns) + 1.2)
    axes = fig.subplots(len(columns), 1, squeeze=False, sharex=True)[:, 0]
    for ax, column in zip(axes, columns, strict=True):
        for i, method in enumerate(methods):
            per_segment = stats.loc[method].reindex(segments)
            ax.bar(
                x + (i - (len(methods) - 1) / 2) * width,
                per_segment[(column, "mean")].to_numpy(),
                width,
                yerr=per_segment[(column, "std")].to_numpy(),
                capsize=2,
                color=method_colour(method),
                label=method,
                error_kw={"elinewidth": 0.8},
            )
        ax.axhline(0.0, color="black", linewidth=0.6)
        ax.set_ylabel(strain_label(column))
    axes[-1].set_xticks(x, [segment_label(s) for s in segments], rotation=30, ha="right")
    axes[0].legend(ncols=len(methods), fontsize="small", loc="best")
    save_figure(fig, stem)


def _bland_altman_stats(pairs: pd.DataFrame, stats: pd.DataFrame) -> pd.DataFrame:
    """``stats`` indexed by (method, strain), checked to cover every panel exactly once.

    The lines come from the statistics stage rather than being recomputed here, so the figure
    shows the same numbers as the table; a panel without its row would silently lose them.
    """
    require_columns(
        pairs, ["method", "strain", "value_method", "value_reference"], "fig_bland_altman pairs"
    )
    require_columns(
        stats,
        ["method", "strain", "ba_bias", "ba_loa_low", "ba_loa_high"],
        "fig_bland_altman stats",
    )
    keyed = stats.set_index(["method", "strain"])
    duplicated = keyed.index[keyed.index.duplicated()].unique().tolist()
    if duplicated:
        raise ValueError(f"fig_bland_altman: several stats rows for (method, strain) {duplicated}")
    panels = pairs[["method", "strain"]].drop_duplicates().itertuples(index=False, name=None)
    missing = [panel for panel in panels if panel not in keyed.index]
    if missing:
        raise ValueError(
            f"fig_bland_altman: no Bland-Altman statistics for (method, strain) {missing}; "
            f"stats has {keyed.index.tolist()}"
        )
    return keyed


def fig_bland_altman(pairs: pd.DataFrame, stats: pd.DataFrame, stem: str | Path) -> None:
    """Bland-Altman panels, one per method (rows) x strain (columns), against the reference.

    x is the mean of method and reference, y their difference (method − reference), the sign
    convention of ``ba_bias``. The bias (solid) and limits of agreement (dashed) are drawn from
    ``stats`` and labelled with their values. Raises ValueError if a (method, strain) in
    ``pairs`` has no row in ``stats``.
    """
    keyed = _bland_altman_stats(pairs, stats)
    if pairs.empty:
        raise ValueError("fig_bland_altman: pairs has no rows")
    methods = method_order(pairs["method"])
    strains = list(dict.fromkeys(pairs["strain"]))
    fig = new_figure(4.2 * len(strains), 3.4 * len(methods))
    axes = fig.subplots(len(methods), len(strains), squeeze=False)
    for r, method in enumerate(methods):
        for c, strain in enumerate(strains):
            ax = axes[r, c]
            rows = pairs[(pairs["method"] == method) & (pairs["strain"] == strain)]
            if rows.empty:
                ax.set_axis_off()
                continue
            values = rows["value_method"].to_numpy(float)
            reference = rows["value_reference"].to_numpy(float)
            colour = method_colour(method)
            ax.scatter(0.5 * (values + reference), values - reference, s=10, alpha=0.6, c=colour)
            line = keyed.loc[(method, strain)]
            for column, style, label in _BA_LINES:
                level = float(line[column])
                ax.axhline(level, color=colour, linestyle=style, linewidth=1.0)
                ax.text(
                    0.98,
                    level,
                    f"{label} {level:+.3f}",
                    transform=ax.get_yaxis_transform(),
                    ha="right",
                    va="bottom",
                    fontsize="x-small",
                )
            ax.margins(y=0.12)  # room for the labels of the outermost lines
            ax.set_title(f"{strain_label(strain)}\n{method} vs reference", fontsize="medium")
            ax.set_xlabel(f"mean of {method} and reference (fraction)")
            ax.set_ylabel(f"{method} − reference (fraction)")
    save_figure(fig, stem)


def fig_training(histories: dict[str, pd.DataFrame], stem: str | Path) -> None:
    """Accuracy and loss against epoch (paper 000 Fig. 7): a colour per network, a style per split.

    Colours are those of the networks' strain results in the other figures, so a reader matches
    a network's training curve to its results at a glance.
    """
    if not histories:
        raise ValueError("fig_training: no histories")
    needed = ["epoch", "train_loss", "val_loss", "train_accuracy", "val_accuracy"]
    for name, history in histories.items():
        require_columns(history, needed, f"fig_training history {name!r}")
    networks = method_order(histories)
    fig = new_figure(10.0, 3.8)
    ax_acc, ax_loss = fig.subplots(1, 2)
    for network in networks:
        history = histories[network]
        for split, style in _SPLIT_STYLES.items():
            for ax, quantity in ((ax_acc, "accuracy"), (ax_loss, "loss")):
                ax.plot(
                    history["epoch"],
                    history[f"{split}_{quantity}"],
                    linestyle=style,
                    color=method_colour(network),
                )
    for ax, quantity in ((ax_acc, "accuracy"), (ax_loss, "loss")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(quantity)
        ax.set_title(quantity.capitalize())
    handles = [Line2D([], [], color=method_colour(n), label=n) for n in networks] + [
        Line2D([], [], color="black", linestyle=style, label=split)
        for split, style in _SPLIT_STYLES.items()
    ]
    ax_loss.legend(handles=handles, fontsize="small")
    save_figure(fig, stem)


def fig_strain_curves(curves: pd.DataFrame, stem: str | Path, segment: int = 0) -> None:
    """Green-Lagrange Ecc and Err over the cycle for one segment: mean ± SD band over slices.

    Slices are aligned by frame index (preprocessing resamples every slice to the same frame
    count). The x axis is time in ms (the mean frame time across slices) when ``time_ms`` is
    present and finite for every row, otherwise the frame index. With more than one ``group``
    (e.g. control and irradiated) each group gets its own line style and band.
    """
    require_columns(
        curves, ["method", "segment", "frame", "ecc_green", "err_green"], "fig_strain_curves"
    )
    data = curves[curves["segment"] == segment]
    if "group" in data.columns:
        # A slice without a group still belongs in the plot; grouping would drop a NaN key.
        data = data.assign(group=data["group"].fillna("no group"))
    if data.empty:
        raise ValueError(
            f"fig_strain_curves: no rows for segment {segment}; "
            f"segments present: {sorted(curves['segment'].unique().tolist())}"
        )
    use_time = "time_ms" in data.columns and bool(np.isfinite(data["time_ms"].to_numpy()).all())
    groups = list(data["group"].unique()) if "group" in data.columns else []
    by_group = len(groups) > 1
    keys = ["method", "group", "frame"] if by_group else ["method", "frame"]
    aggregations = {
        f"{name}_{stat}": (name, stat)
        for name in ("ecc_green", "err_green")
        for stat in ("mean", "std")
    }
    if use_time:
        aggregations["time_ms"] = ("time_ms", "mean")
    agg = data.groupby(keys).agg(**aggregations).reset_index()

    methods = method_order(data["method"])
    styles = {g: _GROUP_STYLES[i % len(_GROUP_STYLES)] for i, g in enumerate(groups)}
    fig = new_figure(10.0, 3.8)
    axes = fig.subplots(1, 2, sharex=True)
    for method in methods:
        for group in groups if by_group else [None]:
            rows = agg[agg["method"] == method]
            if by_group:
                rows = rows[rows["group"] == group]
            x = rows["time_ms" if use_time else "frame"].to_numpy(float)
            for ax, name in zip(axes, ("ecc_green", "err_green"), strict=True):
                mean = rows[f"{name}_mean"].to_numpy(float)
                sd = rows[f"{name}_std"].to_numpy(float)
                colour = method_colour(method)
                ax.plot(x, mean, color=colour, linestyle=styles.get(group, "-"))
                ax.fill_between(x, mean - sd, mean + sd, color=colour, alpha=0.15, linewidth=0)
    for ax, name in zip(axes, ("ecc_green", "err_green"), strict=True):
        ax.axhline(0.0, color="black", linewidth=0.6)
        ax.set_xlabel("time (ms)" if use_time else "frame")
        ax.set_ylabel(strain_label(name))
    handles = [Line2D([], [], color=method_colour(m), label=m) for m in methods]
    if by_group:
        handles += [Line2D([], [], color="black", linestyle=styles[g], label=g) for g in groups]
    axes[1].legend(handles=handles, fontsize="small")
    fig.suptitle(f"Strain over the cycle, {segment_label(segment)} (mean ± SD over slices)")
    save_figure(fig, stem)
