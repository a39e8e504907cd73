"""Method-neutral test tables: paired t-tests against the reference and Welch group tests.

Why here and not in a paper's module: paper 000's Table 1 (each AHA segment's ES strain of each
network against SinMod, Bonferroni-corrected) and paper 003's Table 2 (strain per slice level
against the manual analysis, Bonferroni over its tests) and Table 3 (disease groups against a
reference group by Welch's test with the 95% interval of the difference) are the same two
tables over different rows, so a paper module chooses the rows and composes from these.

Both start from the long form of :func:`myoflow.report.agreement_tables.strain_long`; the tests
and the Bonferroni families are :mod:`myoflow.stats.hypothesis`'s.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from myoflow.report.agreement_tables import method_order, per_strain, sort_by_method
from myoflow.stats.hypothesis import paired_tests, welch_tests


def paired_table(long: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Count, mean and SD of every method per strain x ``by`` group, and the paired t-test of
    each non-reference method against the reference over the group's slice x segment pairs.

    ``p_bonferroni`` corrects over the ``by`` groups of one method and strain (the family of
    :func:`myoflow.stats.hypothesis.paired_tests`); the reference's own rows have no test (NaN).
    ``by = ["segment"]`` gives paper 000's Table 1, ``["position"]`` paper 003's levels.
    Columns ``strain``, ``by``, ``method``, ``n``, ``mean``, ``sd``, ``p``, ``p_bonferroni``;
    rows sorted by strain, ``by`` and :func:`~myoflow.report.agreement_tables.method_order`.
    """
    keys = ["strain", *by, "method"]
    desc = long.groupby(keys, sort=True)["value"].agg(n="count", mean="mean", sd="std")
    tests = per_strain(paired_tests, long, by=by)[[*keys, "p", "p_bonferroni"]]
    table = desc.reset_index().merge(tests, on=keys, how="left")
    order = {m: i for i, m in enumerate(method_order(table["method"]))}
    return sort_by_method(table, keys, order).reset_index(drop=True)


def welch_group_table(long: pd.DataFrame, reference_group: str) -> pd.DataFrame:
    """Welch tests of every group against ``reference_group``, per method and strain.

    One value per subject, the mean of its rows in ``long`` (choose the rows first, e.g. the
    global segment), because slices of one heart are not independent observations. A method
    reproduces a group effect when its mean difference and 95% CI tell the same story as the
    reference's. Bonferroni corrects over the groups of one method and strain. Columns
    ``method``, ``strain`` and :data:`myoflow.stats.hypothesis.WELCH_COLUMNS`.

    Raises:
        ValueError: no subject of ``reference_group`` is in ``long``.
    """
    per_subject = (
        long.groupby(["cohort", "subject", "group", "method", "strain"], sort=True)["value"]
        .mean()
        .reset_index()
    )
    if reference_group not in set(per_subject["group"]):
        raise ValueError(
            f"reference group {reference_group!r} has no evaluated subject; groups present: "
            f"{sorted(set(per_subject['group']))}"
        )
    table = welch_tests(
        per_subject,
        value="value",
        group_col="group",
        reference_group=reference_group,
        by=["method", "strain"],
        family=("method", "strain"),
    )
    return table.reset_index(drop=True)
