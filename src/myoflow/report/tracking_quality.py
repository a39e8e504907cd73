"""The tracked reference's quality in the report: one table and one figure per cohort and tracker.

Why: a tracker's failures on real scans are silent unless someone looks (a SinMod slice 10 mm
off was once logged "tracked"). The tracking stage scores every slice
(``myoflow.stages.tracking``: quality score, flagged fractions, tag contrast, status and the
reason of a rejection); here the per-shard tables are stacked and their distribution drawn, so
a reader of the report sees at a glance how many slices were rejected and how close the kept
ones came to the threshold.

The figure has three panels over the slices: (a) the quality score (1 = no point flagged up to
end-systole, 0 = at the threshold or rejected), (b) the fraction of points flagged up to
end-systole with the rejection threshold, (c) the tag contrast at end-systole with the fading
threshold (untagged myocardium measures about 1). The title counts tracked, rejected and
untrackable slices.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from myoflow.io.atomic import write_tsv
from myoflow.io.tables import read_tsv
from myoflow.report.figures_common import new_figure, require_columns, save_figure
from myoflow.stages.tracking import QUALITY_COLUMNS, SCORES
from myoflow.tracking.checks import CheckOptions

#: The statuses in the order the title counts them.
STATUSES = ("tracked", "failed", "not tracked")


def merge_quality(paths: Sequence[str | Path]) -> pd.DataFrame:
    """The per-shard quality tables stacked (identifiers as written, scores as numbers)."""
    tables = [read_tsv(p) for p in paths]
    if not tables:
        return pd.DataFrame(columns=QUALITY_COLUMNS)
    table = pd.concat(tables, ignore_index=True)[QUALITY_COLUMNS]
    for name in SCORES:
        table[name] = pd.to_numeric(table[name], errors="coerce")
    return table


def fig_tracking_quality(table: pd.DataFrame, stem: str | Path, title: str) -> None:
    """The three-panel distribution figure (module docstring), ``<stem>.{png,svg}``."""
    require_columns(table, ["status", "quality", "flagged_fraction_es", "contrast_es"], "quality")
    limits = CheckOptions()
    counts = ", ".join(f"{(table['status'] == s).sum()} {s}" for s in STATUSES)
    fig = new_figure(10.0, 3.2)
    axes = fig.subplots(1, 3)
    panels = [
        ("quality", "(a) quality score", None),
        ("flagged_fraction_es", "(b) points flagged up to ES", limits.max_flagged),
        ("contrast_es", "(c) tag contrast at ES", limits.min_contrast),
    ]
    for ax, (column, label, threshold) in zip(axes, panels, strict=True):
        for status, colour in (("tracked", "tab:blue"), ("failed", "tab:red")):
            values = table.loc[table["status"] == status, column].to_numpy(dtype=float)
            values = values[np.isfinite(values)]
            if len(values):
                ax.hist(values, bins=20, color=colour, alpha=0.7, label=status)
        if threshold is not None:
            ax.axvline(threshold, color="black", linestyle=":", label="threshold")
        ax.set_title(label, fontsize="medium", loc="left")
        ax.set_ylabel("slices")
    axes[0].legend(fontsize="small")
    fig.suptitle(f"{title}: {counts}", fontsize="medium")
    save_figure(fig, stem)


def write_tracking_quality(
    quality_paths: Sequence[str | Path], out_dir: str | Path, title: str
) -> list[Path]:
    """``quality.tsv`` and ``quality.{png,svg}`` under ``out_dir``, atomically; their paths."""
    out = Path(out_dir)
    table = merge_quality(quality_paths)
    write_tsv(table, out / "quality.tsv")
    fig_tracking_quality(table, out / "quality", title)
    return [out / "quality.tsv", out / "quality.png", out / "quality.svg"]
