"""The report's figures, one import away: paper 000 Figs. 4-7, strain curves and the bullseye.

Each ``fig_*`` function writes ``<stem>.png`` (150 dpi) and ``<stem>.svg`` atomically and closes
its figure. Methods are plain strings with one colour each across all figures
(:func:`method_colour`); strain labels name the kind (Green-Lagrange or engineering) and axes
carry units. The code lives in ``figures_common`` (shared writer, colours, labels),
``figures_maps`` (images and the bullseye) and ``figures_plots`` (plots of tidy tables), split
only to keep each module short.
"""

from __future__ import annotations

from myoflow.report.figures_common import (
    METHOD_COLOURS,
    method_colour,
    method_order,
    save_figure,
    strain_label,
)
from myoflow.report.figures_maps import (
    BullseyeCell,
    bullseye_layout,
    fig_bullseye,
    fig_displacement,
)
from myoflow.report.figures_plots import (
    fig_bland_altman,
    fig_segments,
    fig_strain_curves,
    fig_training,
    segment_label,
)

__all__ = [
    "METHOD_COLOURS",
    "BullseyeCell",
    "bullseye_layout",
    "fig_bland_altman",
    "fig_bullseye",
    "fig_displacement",
    "fig_segments",
    "fig_strain_curves",
    "fig_training",
    "method_colour",
    "method_order",
    "save_figure",
    "segment_label",
    "strain_label",
]
