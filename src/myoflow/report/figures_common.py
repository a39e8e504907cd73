"""What every figure shares: the atomic PNG + SVG writer, method colours and order, axis labels.

Figures are built on :class:`matplotlib.figure.Figure` directly rather than through ``pyplot``:
pyplot keeps every figure in a global registry until it is closed, so a stage that draws many
figures leaks memory the moment one path forgets to close, and it needs a backend chosen before
import. A bare ``Figure`` needs neither; :func:`save_figure` still closes a pyplot figure that a
caller hands it, so both kinds end the same way.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from pathlib import Path

import matplotlib as mpl
import pandas as pd
from matplotlib.figure import Figure

from myoflow.io.atomic import atomic_path

DPI = 150

#: Fixed colours for the methods that the pipeline knows, so a method looks the same in every
#: figure of every experiment: the reference black (the thing compared against), the phantom's
#: exact truth grey, the networks from the colour-blind-friendly tab10 cycle.
METHOD_COLOURS = {
    "reference": "#000000",
    "truth": "#7f7f7f",
    "zero": "#bcbd22",
    "myonet": "#1f77b4",
    "resmyonet": "#ff7f0e",
    "harp": "#d62728",
    "harp_phase": "#9467bd",
    "sinmod": "#2ca02c",
}
#: Colours for methods not listed above, picked by a checksum of the name. A checksum (not the
#: order of appearance, not Python's salted ``hash``) gives a method the same colour in every
#: figure and every process, whichever other methods share the plot.
_FALLBACK_COLOURS = (
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#aec7e8",
    "#98df8a",
    "#c5b0d5",
    "#c49c94",
)
#: Methods drawn first, in this order; the rest follow alphabetically, then ``zero`` last.
_LEADING_METHODS = ("reference", "truth")

_STRAIN = re.compile(r"^(ecc|err)_(green|eng)(?:_(es|peak))?$")
_KIND = {"green": "Green-Lagrange", "eng": "engineering"}
_WHEN = {"es": " at ES", "peak": " peak", None: ""}


def method_colour(method: str) -> str:
    """The colour of ``method`` in every figure (a hex string)."""
    if method in METHOD_COLOURS:
        return METHOD_COLOURS[method]
    return _FALLBACK_COLOURS[zlib.crc32(method.encode("utf-8")) % len(_FALLBACK_COLOURS)]


def method_order(methods: Iterable[str]) -> list[str]:
    """Distinct methods in drawing order: reference, truth, the others alphabetically, zero.

    A fixed order keeps rows, bars and legends in the same place in every figure; the reference
    comes first because everything else is read against it.
    """

    def rank(method: str) -> tuple[int, str]:
        if method in _LEADING_METHODS:
            return _LEADING_METHODS.index(method), ""
        return (len(_LEADING_METHODS) + (method == "zero"), method)

    return sorted(set(methods), key=rank)


def strain_label(column: str) -> str:
    """Axis label for a strain column, naming the strain kind and the unit.

    ``ecc_green_es`` -> ``Ecc at ES, Green-Lagrange (fraction)``; other columns are returned as
    they are, so a figure of any other quantity still gets a (plain) label.
    """
    match = _STRAIN.match(column)
    if match is None:
        return column
    component, kind, when = match.groups()
    return f"{component.capitalize()}{_WHEN[when]}, {_KIND[kind]} (fraction)"


def require_columns(table: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """Raise ValueError naming every column of ``columns`` that ``table`` lacks."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {missing}; has {list(table.columns)}")


def new_figure(width_in: float, height_in: float) -> Figure:
    """A pyplot-free figure with constrained layout (labels and colourbars never overlap)."""
    return Figure(figsize=(width_in, height_in), layout="constrained")


def note_figure(text: str, stem: str | Path) -> None:
    """A figure that says why it has nothing to draw (a cohort without the reference a plot
    compares with), so that the report shows the reason where the plot would be."""
    fig = new_figure(5.0, 1.6)
    fig.text(0.5, 0.5, text, ha="center", va="center", wrap=True, fontsize="medium")
    save_figure(fig, stem)


def save_figure(fig: Figure, stem: str | Path) -> None:
    """Write ``<stem>.png`` (150 dpi) and ``<stem>.svg`` atomically, then close ``fig``.

    The SVG is made reproducible (no date, fixed id salt) so that rerunning a rule on the same
    inputs gives the same bytes and a diff of two runs shows only real changes. The figure is
    closed even when writing fails, so an error never leaves a figure open in pyplot.
    """
    try:
        with atomic_path(f"{stem}.png") as tmp:
            fig.savefig(tmp, format="png", dpi=DPI)
        with mpl.rc_context({"svg.hashsalt": "myoflow"}), atomic_path(f"{stem}.svg") as tmp:
            fig.savefig(tmp, format="svg", metadata={"Date": None})
    finally:
        # Only a figure made through pyplot has a manager, and then pyplot is already imported,
        # so importing it here selects no backend for the pyplot-free figures of this package.
        if fig.canvas.manager is not None:
            import matplotlib.pyplot as plt

            plt.close(fig)
