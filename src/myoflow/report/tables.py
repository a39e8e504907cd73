"""Paper tables as a tidy TSV (for machines) and GitHub-flavoured Markdown (for people).

``pandas.DataFrame.to_markdown`` needs the optional ``tabulate`` package, which is not a
dependency; the few lines below avoid adding one for a table writer. The Markdown is a view for
reading (rounded, NaN as an en dash); the TSV next to it keeps full precision, so nothing is
lost to rounding and later analyses read the TSV, never the Markdown.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Collection
from pathlib import Path

import pandas as pd

from myoflow.io.atomic import atomic_path, write_tsv

#: Shown for a missing value (NaN, None): visibly "no value", where an empty cell reads as a bug.
MISSING = "–"
#: p-values below this are written in scientific notation: fixed decimals would show them as 0.
P_SCIENTIFIC_BELOW = 1e-3
_P_TOKENS = {"p", "pval", "pvalue"}


def is_p_column(name: object) -> bool:
    """Whether a column holds p-values, judged from its name.

    The name is split at non-alphanumeric characters and any token ``p``, ``pval`` or ``pvalue``
    counts (``p``, ``p_value``, ``p_bonferroni``, ``ttest_p``, ``p-value``), while names that
    merely start with the letter (``peak_ecc``, ``position``) do not: those are not p-values, and
    formatting a small peak strain as ``5.0e-04`` would be wrong.
    """
    tokens = re.split(r"[^0-9a-z]+", str(name).lower())
    return any(token in _P_TOKENS for token in tokens)


def _format_cell(value: object, digits: int, p_value: bool) -> str:
    """One cell as text: floats to ``digits`` decimals, small p-values in scientific notation."""
    if value is None or value is pd.NA or value is pd.NaT:
        return MISSING
    if isinstance(value, numbers.Real) and math.isnan(float(value)):
        return MISSING
    if isinstance(value, bool):
        text = str(value)
    elif isinstance(value, numbers.Integral):
        text = str(int(value))
    elif isinstance(value, numbers.Real):
        number = float(value)
        if p_value and abs(number) < P_SCIENTIFIC_BELOW:
            text = f"{number:.{max(digits - 1, 0)}e}"
        else:
            text = f"{number:.{digits}f}"
    else:
        text = str(value)
    # A pipe would split the cell and a newline would end the row.
    return text.replace("|", r"\|").replace("\n", " ")


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def markdown_table(
    df: pd.DataFrame, digits: int = 3, p_columns: Collection[str] | None = None
) -> str:
    """``df`` as a GitHub-flavoured Markdown table (no trailing newline).

    Floats get ``digits`` decimals; p-value columns (``p_columns``, or by default those that
    :func:`is_p_column` recognises) switch to scientific notation below 0.001 so that a strong
    effect is not printed as ``0.000``. Numeric columns are right-aligned so that decimal points
    line up; cells are padded to the column width so the raw text reads as a table too. The index
    is not written: tidy tables carry their identifiers as columns (``reset_index`` first if not).
    """
    if df.shape[1] == 0:
        raise ValueError("markdown_table: the table has no columns")
    if digits < 0:
        raise ValueError(f"markdown_table: digits must be >= 0, got {digits}")
    names = [str(c) for c in df.columns]
    p_set = {str(c) for c in p_columns} if p_columns is not None else None
    columns: list[list[str]] = []
    numeric: list[bool] = []
    for position, name in enumerate(names):
        series = df.iloc[:, position]
        p_value = name in p_set if p_set is not None else is_p_column(name)
        columns.append([_format_cell(v, digits, p_value) for v in series.tolist()])
        numeric.append(_is_numeric(series))
    header = [name.replace("|", r"\|") for name in names]
    widths = [
        max([len(header[i]), 3, *(len(cell) for cell in columns[i])]) for i in range(len(names))
    ]

    def line(cells: list[str]) -> str:
        padded = [
            cell.rjust(width) if right else cell.ljust(width)
            for cell, width, right in zip(cells, widths, numeric, strict=True)
        ]
        return "| " + " | ".join(padded) + " |"

    separator = [
        "-" * (width - 1) + ":" if right else "-" * width
        for width, right in zip(widths, numeric, strict=True)
    ]
    rows = [line([column[r] for column in columns]) for r in range(len(df))]
    return "\n".join([line(header), line(separator), *rows])


def write_table(
    df: pd.DataFrame,
    stem: str | Path,
    title: str | None = None,
    digits: int = 3,
    p_columns: Collection[str] | None = None,
) -> None:
    """Write ``<stem>.tsv`` (full precision) and ``<stem>.md`` (optional ``# title``), atomically.

    The suffixes are appended to ``stem`` rather than substituted, so a stem containing a dot
    (``table_1.v2``) keeps its whole name.
    """
    write_tsv(df, f"{stem}.tsv")
    text = markdown_table(df, digits=digits, p_columns=p_columns)
    if title:
        text = f"# {title}\n\n{text}"
    with atomic_path(f"{stem}.md") as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")
