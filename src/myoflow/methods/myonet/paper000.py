"""Paper 000's tables (1, 2, group effects, timing) from the tidy evaluation tables.

Why here and not in the stage: the tables are pure functions of tidy tables, so they are tested
on small hand-made frames. The builders are method-neutral and live in
:mod:`myoflow.report.agreement_tables` and :mod:`myoflow.report.hypothesis_tables`; this module
only chooses paper 000's rows and columns (end-systolic Green-Lagrange strains, the AHA
segments, the displacement metrics) and composes its tables from them.

Units of analysis, stated because they change the statistics:

* Table 1 and the strain agreement of Table 2 pair the network's and the reference's
  end-systolic strain of the same slice and AHA segment (segment 0, the slice's global value,
  is reported in Table 1 but not pooled into Table 2 with the segments).
* Displacement metrics are per slice, shown as mean and SD over slices.
* Group effects use one value per subject (the mean global ES strain over its slices), because
  slices of one heart are not independent observations.

Truth. When the reference is a tagged-image tracker and the cohort is a phantom, the evaluation
adds the exact motion as the method ``truth`` (and metrics rows ``against: truth``). Table 1
then shows truth like any method (tested against the reference); Table 2 keeps its rows of each
network against the reference and adds rows of every method against truth, the reference named
by its tracker (``reference_name``). With ``reference: truth`` there is no ``truth`` method and
the tables are unchanged.
"""

from __future__ import annotations

import pandas as pd

from myoflow.report import agreement_tables as agree
from myoflow.report.agreement_tables import GLOBAL, REFERENCE
from myoflow.report.hypothesis_tables import paired_table, welch_group_table
from myoflow.strain.aha import SEGMENT_NAMES

#: End-systolic Green-Lagrange strains compared in the paper's tables.
ES_STRAINS = ("ecc_green_es", "err_green_es")
DISPLACEMENT_COLUMNS = ("rmse_x_mm", "rmse_y_mm", "ssim_x", "ssim_y", "epe_mm")
AGREEMENT_COLUMNS = (
    "icc_a1",
    "icc_c1",
    "pearson_r",
    "cv",
    "ba_bias",
    "ba_sd",
    "ba_loa_low",
    "ba_loa_high",
)


def segment_name(segment: int) -> str:
    return "global" if segment == GLOBAL else SEGMENT_NAMES[int(segment)]


def _segments(summary: pd.DataFrame) -> pd.DataFrame:
    """The long ES strains of the AHA segments, pooled in Table 2 and Figure 6 (no global)."""
    long = agree.strain_long(summary, ES_STRAINS)
    return long[long["segment"] != GLOBAL]


def segment_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Table 1: ES Ecc/Err per AHA segment (and global) for every method, paired t vs reference.

    p is the paired t-test of a network against the reference over the slices of the segment;
    p_bonferroni corrects over the segments of one network and strain.
    """
    table = paired_table(agree.strain_long(summary, ES_STRAINS), by=["segment"])
    table.insert(2, "segment_name", table["segment"].map(segment_name))
    return table


def agreement_rows(summary: pd.DataFrame, reference_name: str = REFERENCE) -> pd.DataFrame:
    """Strain agreement over slice x AHA segment values: each network with the reference and,
    when the summary holds ``truth``, every other method with truth (see
    :func:`myoflow.report.agreement_tables.agreement_rows`)."""
    return agree.agreement_rows(_segments(summary), reference_name)


def agreement_table_rows(
    summary: pd.DataFrame, metrics: pd.DataFrame, reference_name: str = REFERENCE
) -> pd.DataFrame:
    """Table 2: displacement accuracy and strain agreement, one row per metric x method x against.

    Columns: ``metric, strain, method, against, value, sd, ci_low, ci_high, n``. Displacement
    metrics are the mean (and SD) over slices, the zero-displacement baseline included; strain
    rows carry the 95% CI where the statistic has one. Rows ``against: reference`` come first;
    when the tables hold the phantom's truth, rows ``against: truth`` follow (every method, the
    reference named ``reference_name``).
    """
    parts = [
        agree.metric_rows(metrics, DISPLACEMENT_COLUMNS),
        agree.agreement_long(agreement_rows(summary, reference_name), AGREEMENT_COLUMNS),
    ]
    kept = [part for part in parts if not part.empty] or parts[:1]
    return pd.concat(kept, ignore_index=True)


def group_table(summary: pd.DataFrame, reference_group: str) -> pd.DataFrame:
    """Welch tests of every group against ``reference_group`` for the reference and each network,
    on each subject's mean global ES strain over its slices (see
    :func:`myoflow.report.hypothesis_tables.welch_group_table`)."""
    glob = agree.strain_long(summary[summary["segment"] == GLOBAL], ES_STRAINS)
    return welch_group_table(glob, reference_group)


def timing_table(
    histories: dict[str, pd.DataFrame], models: dict[str, pd.DataFrame]
) -> pd.DataFrame:
    """Training seconds for 10 and 100 epochs per network.

    ``measured`` when the run trained that many epochs (the sum of their epoch times), otherwise
    ``projected`` as the median epoch time times the count; the basis is always stated.
    """
    rows = []
    for net, history in histories.items():
        info = models[net].iloc[0].to_dict()
        median = float(history["seconds"].median())
        for epochs in (10, 100):
            measured = len(history) >= epochs
            rows.append(
                {
                    "net": net,
                    "epochs": epochs,
                    "seconds": float(history["seconds"].iloc[:epochs].sum())
                    if measured
                    else median * epochs,
                    "basis": "measured" if measured else f"projected from {len(history)} epoch(s)",
                    "median_epoch_seconds": median,
                    "parameters": int(info["parameters"]),
                    "device": info["device"],
                    "train_slices": int(info["train_slices"]),
                }
            )
    return pd.DataFrame(rows)


def strain_pairs(summary: pd.DataFrame) -> pd.DataFrame:
    """Network vs reference ES strain per slice x AHA segment (the points of Fig. 6).

    Columns ``method, strain, value_method, value_reference``, the same pairs as Table 2's rows
    against the reference (truth, where present, is not a network and is left out).
    """
    return agree.reference_pairs(_segments(summary))
