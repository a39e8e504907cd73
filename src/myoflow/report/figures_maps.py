"""Spatial figures: displacement and error maps (paper 000 Fig. 4) and the AHA bullseye."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.patches import Wedge

from myoflow.report.figures_common import (
    method_order,
    new_figure,
    require_columns,
    save_figure,
    strain_label,
)
from myoflow.strain.aha import APICAL_SEGMENTS, BASAL_SEGMENTS, MID_SEGMENTS

#: Displacement is signed (diverging map centred on 0), an error magnitude is not (sequential).
DISPLACEMENT_CMAP = "RdBu_r"
ERROR_CMAP = "magma"
#: Smallest colour-scale limit: at the ED frame every displacement is 0, and a zero-width scale
#: cannot be drawn.
_MIN_SCALE = 1e-3
#: Margin (fraction of the mask's extent) kept around the myocardium when cropping the maps.
_CROP_MARGIN = 0.15


def _crop_box(mask: np.ndarray) -> tuple[slice, slice]:
    """Rows and columns of the mask's bounding box plus a margin.

    The myocardium fills a small part of a 128 x 128 crop; without cropping, the maps are mostly
    empty background and the motion is too small to read.
    """
    rows, cols = np.nonzero(mask)
    pad_r = max(2, int(_CROP_MARGIN * (rows.max() - rows.min() + 1)))
    pad_c = max(2, int(_CROP_MARGIN * (cols.max() - cols.min() + 1)))
    r0, r1 = max(rows.min() - pad_r, 0), min(rows.max() + pad_r + 1, mask.shape[0])
    c0, c1 = max(cols.min() - pad_c, 0), min(cols.max() + pad_c + 1, mask.shape[1])
    return slice(r0, r1), slice(c0, c1)


def _check_displacement_inputs(
    reference_mm: np.ndarray,
    predictions_mm: dict[str, np.ndarray],
    mask_ed: np.ndarray,
    frame: int,
) -> None:
    if reference_mm.ndim != 4 or reference_mm.shape[1] != 2:
        raise ValueError(f"reference_mm must be [T, 2, H, W], got shape {reference_mm.shape}")
    if "reference" in predictions_mm:
        raise ValueError("predictions_mm must not contain 'reference': it is the first row")
    for name, pred in predictions_mm.items():
        if pred.shape != reference_mm.shape:
            raise ValueError(
                f"prediction {name!r} has shape {pred.shape}, reference {reference_mm.shape}"
            )
    if mask_ed.shape != reference_mm.shape[2:]:
        raise ValueError(f"mask_ed shape {mask_ed.shape} != image shape {reference_mm.shape[2:]}")
    if not mask_ed.any():
        raise ValueError("mask_ed is empty: there is no myocardium to show")
    if not 0 <= frame < reference_mm.shape[0]:
        raise ValueError(f"frame {frame} outside 0..{reference_mm.shape[0] - 1}")


def _show(
    ax: Axes,
    image: np.ndarray,
    extent: tuple[float, float, float, float],
    cmap: str,
    norm: Normalize,
) -> None:
    colours = mpl.colormaps[cmap].with_extremes(bad="white")
    ax.set_aspect("equal")
    ax.imshow(image, cmap=colours, norm=norm, extent=extent, interpolation="nearest")


def fig_displacement(
    reference_mm: np.ndarray,
    predictions_mm: dict[str, np.ndarray],
    mask_ed: np.ndarray,
    frame: int,
    spacing_mm: tuple[float, float],
    stem: str | Path,
    title: str = "",
) -> None:
    """x and y displacement at ``frame`` per method, and each prediction's absolute error maps.

    Arrays are ``[T, 2, H, W]`` in mm (channel 0 = x); ``spacing_mm`` is (row, column) spacing as
    everywhere in the package. One row per method, the reference first; columns x, y, |x error|,
    |y error|. Displacements share one symmetric scale and errors one scale from 0, so colours
    compare across methods; pixels outside the ED myocardium are blank because the networks'
    output there is unconstrained and not evaluated. The maps are cropped to the myocardium and
    their axes are in mm. ``title`` is shown as given (name the frame in it); without one the
    title names the frame.
    """
    _check_displacement_inputs(reference_mm, predictions_mm, mask_ed, frame)
    inside = mask_ed.astype(bool)
    rows, cols = _crop_box(inside)
    # Pixel i is centred at i * spacing (the convention of myoflow.strain.aha), so its edges are
    # half a pixel either side.
    extent = (
        (cols.start - 0.5) * spacing_mm[1],
        (cols.stop - 0.5) * spacing_mm[1],
        (rows.stop - 0.5) * spacing_mm[0],
        (rows.start - 0.5) * spacing_mm[0],
    )

    def masked(field: np.ndarray) -> np.ndarray:
        return np.where(inside, field, np.nan)[rows, cols]

    names = ["reference", *predictions_mm]
    fields = {"reference": reference_mm[frame], **{n: p[frame] for n, p in predictions_mm.items()}}
    shown = {name: [masked(fields[name][c]) for c in (0, 1)] for name in names}
    errors = {
        name: [np.abs(shown[name][c] - shown["reference"][c]) for c in (0, 1)]
        for name in predictions_mm
    }
    disp_max = max(float(np.nanmax(np.abs(np.stack(v)))) for v in shown.values())
    err_max = max((float(np.nanmax(np.stack(v))) for v in errors.values()), default=0.0)
    disp_norm = Normalize(-max(disp_max, _MIN_SCALE), max(disp_max, _MIN_SCALE))
    err_norm = Normalize(0.0, max(err_max, _MIN_SCALE))

    fig = new_figure(10.0, 2.4 * len(names) + 0.6)
    axes = fig.subplots(len(names), 4, squeeze=False, sharex=True, sharey=True)
    headings = ("x displacement", "y displacement", "|x error|", "|y error|")
    for r, name in enumerate(names):
        for c in (0, 1):
            _show(axes[r, c], shown[name][c], extent, DISPLACEMENT_CMAP, disp_norm)
            if name in errors:
                _show(axes[r, c + 2], errors[name][c], extent, ERROR_CMAP, err_norm)
                axes[r, c + 2].set_title(headings[c + 2])
            else:
                axes[r, c + 2].set_visible(False)
        axes[r, 0].set_ylabel(f"{name}\ny (mm)")
    for c, heading in enumerate(headings):
        axes[-1, c].set_xlabel("x (mm)")
        if c < 2:
            axes[0, c].set_title(heading)
    fig.colorbar(
        ScalarMappable(disp_norm, DISPLACEMENT_CMAP),
        ax=axes[:, :2],
        label="displacement (mm)",
        shrink=0.8,
    )
    if errors:
        fig.colorbar(
            ScalarMappable(err_norm, ERROR_CMAP),
            ax=axes[:, 2:],
            label="|prediction − reference| (mm)",
            shrink=0.8,
        )
    fig.suptitle(title or f"Displacement at frame {frame}")
    save_figure(fig, stem)


class BullseyeCell(NamedTuple):
    """Where one AHA segment sits in the bullseye: radii and a counter-clockwise angular span.

    Angles are in degrees counter-clockwise from 3 o'clock (mathematical convention, y up);
    ``theta_end_deg`` exceeds ``theta_start_deg`` and may pass 360 for a span that wraps.
    """

    position: str
    r_inner: float
    r_outer: float
    theta_start_deg: float
    theta_end_deg: float


def bullseye_layout() -> dict[int, BullseyeCell]:
    """Segment number -> cell of the standard AHA 17-segment polar plot, without the apex cap.

    The AHA layout (Cerqueira et al., Circulation 2002) seen from the apex: basal segments 1-6 in
    the outer ring, mid 7-12 in the middle ring, apical 13-16 in the inner ring; anterior at the
    top, septum on the left, inferior at the bottom, lateral wall on the right. Numbers advance
    counter-clockwise: basal 1 anterior spans 60-120 degrees (centred at 12 o'clock), 2
    anteroseptal 120-180, 3 inferoseptal 180-240, 4 inferior 240-300, 5 inferolateral 300-360,
    6 anterolateral 0-60; mid 7-12 likewise; apical 13 anterior 45-135, 14 septal 135-225, 15
    inferior 225-315, 16 lateral 315-405. This matches the segment order of
    :mod:`myoflow.strain.aha` (anterior, through the septum, to inferior). The centre disc
    (segment 17, the apex cap) is left empty because the short-axis pipeline does not measure it.
    """
    layout: dict[int, BullseyeCell] = {}
    rings = (
        ("basal", BASAL_SEGMENTS, 3.0, 60.0),
        ("mid", MID_SEGMENTS, 2.0, 60.0),
        ("apical", APICAL_SEGMENTS, 1.0, 45.0),
    )
    for position, segments, r_inner, first_start in rings:
        span = 360.0 / len(segments)
        for i, segment in enumerate(segments):
            start = first_start + i * span
            layout[segment] = BullseyeCell(position, r_inner, r_inner + 1.0, start, start + span)
    return layout


def _text_colour(rgba: tuple[float, float, float, float]) -> str:
    """Black on light fills, white on dark ones, so every printed value stays legible."""
    luminance = 0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2]
    return "black" if luminance > 0.5 else "white"


def fig_bullseye(summary: pd.DataFrame, stem: str | Path, value: str = "ecc_green_es") -> None:
    """AHA 16-segment bullseye of the mean ``value`` per segment, one bullseye per method.

    Layout as in :func:`bullseye_layout`. All bullseyes share one diverging colour scale centred
    on 0 (Ecc shortens, Err thickens, so the sign matters); each segment shows its number and
    mean, and a segment without data is grey. Segment 0 (global) is not a bullseye cell.
    """
    require_columns(summary, ["method", "segment", value], "fig_bullseye summary")
    layout = bullseye_layout()
    means = summary[summary["segment"].isin(layout)].groupby(["method", "segment"])[value].mean()
    methods = method_order(summary["method"])
    if not methods:
        raise ValueError("fig_bullseye: the summary has no rows")
    finite = means[np.isfinite(means)]
    limit = max(float(np.abs(finite).max()) if len(finite) else 0.0, _MIN_SCALE)
    norm = Normalize(-limit, limit)
    cmap = mpl.colormaps["RdBu_r"]

    fig = new_figure(3.2 * len(methods) + 1.0, 3.8)
    axes = fig.subplots(1, len(methods), squeeze=False)[0]
    for ax, method in zip(axes, methods, strict=True):
        for segment, cell in layout.items():
            mean = means.get((method, segment), np.nan)
            face = cmap(norm(mean)) if np.isfinite(mean) else (0.8, 0.8, 0.8, 1.0)
            ax.add_patch(
                Wedge(
                    (0.0, 0.0),
                    cell.r_outer,
                    cell.theta_start_deg,
                    cell.theta_end_deg,
                    width=cell.r_outer - cell.r_inner,
                    facecolor=face,
                    edgecolor="white",
                    linewidth=1.5,
                )
            )
            mid_angle = np.radians(0.5 * (cell.theta_start_deg + cell.theta_end_deg))
            radius = 0.5 * (cell.r_inner + cell.r_outer)
            text = f"{segment}\n{mean:.2f}" if np.isfinite(mean) else f"{segment}\n–"
            ax.text(
                radius * np.cos(mid_angle),
                radius * np.sin(mid_angle),
                text,
                ha="center",
                va="center",
                fontsize=7,
                color=_text_colour(face),
            )
        ax.set_xlim(-4.1, 4.1)
        ax.set_ylim(-4.1, 4.1)
        ax.set_aspect("equal")
        ax.set_axis_off()
        ax.set_title(method)
    fig.colorbar(ScalarMappable(norm, cmap), ax=axes, label=strain_label(value), shrink=0.8)
    save_figure(fig, stem)
