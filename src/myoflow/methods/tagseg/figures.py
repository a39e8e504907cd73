"""Paper 001's figures: the cine -> tagged transforms (Fig. 5), example segmentations at the
quartiles of Dice (Figs. 6-7), the training curves (Fig. 8), Dice over the cardiac cycle (Fig. 9)
and per pathology group (Fig. 11).

The figures only draw. Their rows come from :data:`myoflow.tables.TAGSEG_SEGMENTATION` (one row
per tagged frame x model), the curves from the models' ``history.tsv``; :mod:`.examples`
chooses the frames of Figs. 6-7 deterministically and reads exactly those frames.

Table 3's models are the fine-tuned ``<architecture>_<strategy>`` (``settings.finetuned``). The
name, not the ``gamma`` column, tells them from Table 4's sweep (``<arch>_scratch_g<gamma>``): the
figures then need no settings, and no float comparison of weights can drop a model. Colour is
the strategy and line style the architecture in every figure, so a model reads the same in all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator
from matplotlib.typing import LineStyleType

from myoflow.methods.tagseg.examples import (
    EXAMPLE_COLUMNS,
    QUANTILES,
    FrameKey,
    PredictionKey,
    frame_key,
)
from myoflow.methods.tagseg.settings import ARCHITECTURES, STRATEGIES, finetuned
from myoflow.report.figures_common import (
    method_colour,
    new_figure,
    note_figure,
    require_columns,
    save_figure,
)

PathLike = str | Path

#: Strategy colours (tab10): fixed, so a strategy keeps its colour whichever others are drawn.
_STRATEGY_COLOURS = {
    "scratch": "#7f7f7f",
    "cine": "#1f77b4",
    "physics": "#ff7f0e",
    "cyclegan": "#9467bd",
}
#: Line style per architecture: (training, validation); validation is the dashed pair.
_ARCHITECTURE_STYLES: dict[str, tuple[LineStyleType, LineStyleType]] = {
    "dynunet": ("-", "--"),
    "segresnetvae": (":", "-."),
}
#: Violin colours of the pathology groups, in the groups' sorted order.
_GROUP_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2")
#: Contours of Figs. 6-7: a colour-blind-safe pair visible on a grey tagged frame.
_TRUTH_COLOUR = "#17becf"
_PREDICTED_COLOUR = "#ff7f0e"
_HISTORY = ["epoch", "train_dice", "val_dice", "train_loss", "val_loss"]
#: Table 3's model names -> (architecture, strategy), in the paper's order.
_TABLE3 = {finetuned(a, s): (a, s) for a in ARCHITECTURES for s in STRATEGIES}
_NO_CYCLEGAN = "no CycleGAN\nin this experiment"


def _colour(strategy: str) -> str:
    return _STRATEGY_COLOURS.get(strategy) or method_colour(strategy)


def _styles(architecture: str) -> tuple[LineStyleType, LineStyleType]:
    return _ARCHITECTURE_STYLES.get(architecture, ("-", "--"))


def _paper_order(architecture: str, strategy: str) -> tuple[int, str, int, str]:
    """Architectures, then strategies, in the settings' (the paper's) order; others after."""
    a = ARCHITECTURES.index(architecture) if architecture in ARCHITECTURES else len(ARCHITECTURES)
    s = STRATEGIES.index(strategy) if strategy in STRATEGIES else len(STRATEGIES)
    return a, architecture, s, strategy


def table3_models(models: Iterable[str]) -> list[str]:
    """The Table 3 models among ``models`` (``<architecture>_<strategy>``; not the pretrainings,
    the CycleGAN, the gamma sweep or the baseline), in the paper's order: what Figs. 6-9 draw."""
    return sorted(set(models) & set(_TABLE3), key=lambda name: _paper_order(*_TABLE3[name]))


def fig5_transforms(
    cine: np.ndarray,
    physics: np.ndarray,
    cyclegan: np.ndarray | None,
    tagged: np.ndarray | None,
    stem: PathLike,
) -> None:
    """Paper 001 Fig. 5: (A) a cine frame, (B) its physics-driven pseudo-tagged version, (C) its
    CycleGAN translation (a panel saying so when the experiment has no CycleGAN) and, beyond the
    paper where the cohort has both series (the phantom), the true tagged frame of the same heart.

    All ``[H, W]`` in [0, 1], drawn on one fixed grey scale: the contrast between myocardium,
    blood pool and lung is what the paper judges, so no panel is stretched to its own range."""
    panels: list[tuple[str, np.ndarray | None]] = [
        ("(A) cine", cine),
        ("(B) physics-driven", physics),
        ("(C) CycleGAN", cyclegan),
    ]
    if tagged is not None:
        panels.append(("true tagged, same heart", tagged))
    for title, image in panels:
        if image is not None and np.ndim(image) != 2:
            raise ValueError(f"fig5_transforms: {title} must be 2-D, got {np.shape(image)}")
    fig = new_figure(2.6 * len(panels), 2.9)
    for ax, (title, image) in zip(fig.subplots(1, len(panels)), panels, strict=True):
        if image is None:
            ax.text(0.5, 0.5, _NO_CYCLEGAN, ha="center", va="center", transform=ax.transAxes)
        else:
            ax.imshow(image, cmap="gray", vmin=0.0, vmax=1.0)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(title, fontsize="medium")
    save_figure(fig, stem)


def _contour(ax: Axes, mask: np.ndarray, colour: str) -> None:
    """The mask's boundary; none for an empty or full mask (``contour`` warns of no level)."""
    if mask.any() and not mask.all():
        ax.contour(mask.astype(float), levels=[0.5], colors=[colour], linewidths=1.0)


def _score(dice: float, hd95_mm: float) -> str:
    hd = f"{hd95_mm:.1f} mm" if np.isfinite(hd95_mm) else "n/a"
    return f"Dice {dice:.2f}, HD95 {hd}"


def fig6_examples(
    examples: pd.DataFrame,
    images: Mapping[FrameKey, np.ndarray],
    truths: Mapping[FrameKey, np.ndarray],
    predictions: Mapping[PredictionKey, np.ndarray],
    stem: PathLike,
) -> None:
    """Paper 001 Figs. 6-7: rows the models, columns the Q1, median and Q3 frames of each
    model's Dice (``examples`` from :func:`pick_examples`; the paper draws a figure per
    architecture: one architecture's examples per call match it). Each panel is the tagged frame
    with the reference contour and the predicted contour, titled with the frame's Dice and HD95;
    a model's worse and better cases side by side show what its typical errors look like."""
    require_columns(examples, EXAMPLE_COLUMNS, "fig6_examples examples")
    if examples.empty:
        note_figure("Figs. 6-7: no example frames (no model has a scored frame)", stem)
        return
    models = list(dict.fromkeys(examples["model"]))
    fig = new_figure(2.6 * len(QUANTILES) + 0.6, 2.7 * len(models) + 0.4)
    axes = fig.subplots(len(models), len(QUANTILES), squeeze=False)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    for _, row in examples.iterrows():
        key = frame_key(row)
        model = str(row["model"])
        top = models.index(model) == 0
        ax = axes[models.index(model), list(QUANTILES).index(row["quantile"])]
        for name, found in (("image", images), ("reference", truths)):
            if key not in found:
                raise ValueError(f"fig6_examples: no {name} of frame {key}")
        if (model, *key) not in predictions:
            raise ValueError(f"fig6_examples: no prediction of {model!r} for frame {key}")
        ax.imshow(images[key], cmap="gray", vmin=0.0, vmax=1.0)
        _contour(ax, np.asarray(truths[key]), _TRUTH_COLOUR)
        _contour(ax, np.asarray(predictions[(model, *key)]), _PREDICTED_COLOUR)
        title = _score(float(row["dice"]), float(row["hd95_mm"]))
        ax.set_title(f"{row['quantile']}\n{title}" if top else title, fontsize="small")
    for ax, model in zip(axes[:, 0], models, strict=True):
        ax.set_ylabel(model)
    handles = [
        Line2D([], [], color=_TRUTH_COLOUR, label="reference"),
        Line2D([], [], color=_PREDICTED_COLOUR, label="predicted"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=2, fontsize="small")
    save_figure(fig, stem)


def _style_legend(architectures: Sequence[str], strategies: Sequence[str]) -> list[Line2D]:
    """Legend entries: a colour per strategy, then the line style of each architecture."""
    handles = [Line2D([], [], color=_colour(s), label=s) for s in strategies]
    for arch in architectures:
        for split, style in zip(("train", "val"), _styles(arch), strict=True):
            handles.append(Line2D([], [], color="black", linestyle=style, label=f"{arch} {split}"))
    return handles


def fig8_training(histories: Mapping[str, pd.DataFrame], stem: PathLike) -> list[str]:
    """Paper 001 Fig. 8: Dice and loss per epoch of the tagged (Table 3) models' fine-tuning,
    training and validation (the dashed pair of each architecture's styles), colour per strategy:
    it shows which pretraining converges faster and to what. Histories of other models (the
    CycleGAN, the pretrainings, the gamma sweep) and any without these columns are skipped.
    Returns the models drawn, in the paper's order."""
    drawn = [n for n in table3_models(histories) if set(_HISTORY) <= set(histories[n].columns)]
    if not drawn:
        note_figure("Fig. 8: no tagged model's history has Dice and loss per epoch", stem)
        return drawn
    fig = new_figure(10.0, 3.8)
    ax_dice, ax_loss = fig.subplots(1, 2)
    for name in drawn:
        history, (arch, strategy) = histories[name], _TABLE3[name]
        for split, style in zip(("train", "val"), _styles(arch), strict=True):
            for ax, quantity in ((ax_dice, "dice"), (ax_loss, "loss")):
                ax.plot(
                    history["epoch"],
                    history[f"{split}_{quantity}"],
                    color=_colour(strategy),
                    linestyle=style,
                    linewidth=1.0,
                )
    for ax, quantity in ((ax_dice, "Dice"), (ax_loss, "loss")):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel(quantity)
        ax.set_title(f"Fine-tuning {quantity}", fontsize="medium")
    architectures = list(dict.fromkeys(_TABLE3[n][0] for n in drawn))
    strategies = sorted({_TABLE3[n][1] for n in drawn}, key=lambda s: _paper_order("", s))
    ax_loss.legend(handles=_style_legend(architectures, strategies), fontsize="x-small")
    save_figure(fig, stem)
    return drawn


def _table3_test(segmentation: pd.DataFrame, columns: Sequence[str], what: str) -> pd.DataFrame:
    """The test-split rows of Table 3's models (by name, see the module) with a finite Dice."""
    require_columns(segmentation, ["method", "kind", "split", "dice", *columns], what)
    rows = segmentation[(segmentation["kind"] == "tagged") & (segmentation["split"] == "test")]
    rows = rows[rows["method"].isin(list(_TABLE3))]
    return rows[np.isfinite(rows["dice"].to_numpy(float))]


def _panels(rows: pd.DataFrame) -> dict[str, list[tuple[str, str]]]:
    """Per architecture (a panel each), its models and their strategies in the paper's order."""
    panels: dict[str, list[tuple[str, str]]] = {}
    for model in table3_models(rows["method"]):
        arch, strategy = _TABLE3[model]
        panels.setdefault(arch, []).append((model, strategy))
    return panels


def fig9_dice_per_frame(segmentation: pd.DataFrame, stem: PathLike) -> None:
    """Paper 001 Fig. 9: test-split Dice per time frame (0 = end-diastole) of each Table 3
    model, mean line with an interquartile band over slices, one panel per architecture and the
    model's overall mean in the legend: it shows Dice fall as the tag lines fade in diastole.
    The empty-mask baseline is not drawn: its Dice is 0 in every frame."""
    rows = _table3_test(segmentation, ["frame"], "fig9_dice_per_frame segmentation")
    if rows.empty:
        note_figure("Fig. 9: no test-split Dice of a tagged (Table 3) model", stem)
        return
    panels = _panels(rows)
    fig = new_figure(5.0 * len(panels), 3.8)
    axes = fig.subplots(1, len(panels), squeeze=False, sharey=True)[0]
    for ax, (arch, models) in zip(axes, panels.items(), strict=True):
        for model, strategy in models:
            dice = rows[rows["method"] == model].groupby("frame")["dice"]
            band = dice.quantile([0.25, 0.75]).unstack()
            colour = _colour(strategy)
            ax.fill_between(band.index, band[0.25], band[0.75], color=colour, alpha=0.2, lw=0)
            mean, per_frame = rows.loc[rows["method"] == model, "dice"].mean(), dice.mean()
            ax.plot(
                per_frame.index,
                per_frame.to_numpy(),
                color=colour,
                linestyle=_styles(arch)[0],
                label=f"{strategy} (mean {mean:.2f})",
            )
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("frame (0 = end-diastole)")
        ax.set_ylabel("Dice (test)")
        ax.set_ylim(0.0, 1.0)
        ax.set_title(f"{arch} (band: interquartile range)", fontsize="medium")
        ax.legend(fontsize="x-small", loc="lower left")
    save_figure(fig, stem)


def fig11_groups(segmentation: pd.DataFrame, stem: PathLike) -> None:
    """Paper 001 Fig. 11: violins of test-split Dice per pathology group (e.g. healthy and DMD)
    for each Table 3 model, one panel per architecture: whether a model is as good on patients as
    on controls. A group with fewer than two distinct values has no density to draw and is
    drawn as points."""
    rows = _table3_test(segmentation, ["group"], "fig11_groups segmentation")
    if rows.empty:
        note_figure("Fig. 11: no test-split Dice of a tagged (Table 3) model", stem)
        return
    rows = rows.assign(group=rows["group"].fillna("no group").astype(str))
    groups = sorted(rows["group"].unique())
    colours = {g: _GROUP_COLOURS[i % len(_GROUP_COLOURS)] for i, g in enumerate(groups)}
    panels = _panels(rows)
    width = 0.8 / len(groups)
    fig = new_figure(max(4.0, 1.6 * max(map(len, panels.values())) * len(panels)), 3.8)
    axes = fig.subplots(1, len(panels), squeeze=False, sharey=True)[0]
    for ax, (arch, models) in zip(axes, panels.items(), strict=True):
        for i, (model, _) in enumerate(models):
            for j, group in enumerate(groups):
                values = rows.loc[(rows["method"] == model) & (rows["group"] == group), "dice"]
                x = i + (j - (len(groups) - 1) / 2) * width
                if values.nunique() < 2:
                    ax.scatter(np.full(len(values), x), values, s=12, color=colours[group])
                    continue
                parts = ax.violinplot(values.to_numpy(float), [x], widths=0.9 * width)
                for body in parts["bodies"]:
                    body.set(facecolor=colours[group], edgecolor=colours[group], alpha=0.5)
                for name in ("cmins", "cmaxes", "cbars"):
                    parts[name].set_color(colours[group])
        ax.set_xticks(range(len(models)), [strategy for _, strategy in models])
        ax.set_ylabel("Dice (test)")
        ax.set_title(arch, fontsize="medium")
    handles = [Patch(color=colours[g], alpha=0.5, label=g) for g in groups]
    axes[-1].legend(handles=handles, fontsize="x-small", loc="lower right")
    save_figure(fig, stem)
