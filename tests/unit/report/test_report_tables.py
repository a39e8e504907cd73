"""Markdown and TSV paper tables: structure, number formatting, and a lossless TSV."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from myoflow.report.tables import MISSING, is_p_column, markdown_table, write_table


def _cells(line: str) -> list[str]:
    """Cells of a Markdown row, splitting only at unescaped pipes."""
    assert line.startswith("|") and line.endswith("|")
    return [c.strip() for c in re.split(r"(?<!\\)\|", line[1:-1])]


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "segment": ["mid anterior", "mid inferior|septal", "global"],
            "n": [12, 9, 21],
            "ecc_green_es": [-0.18345, np.nan, -0.2],
            "p_bonferroni": [1.234e-5, 0.0456, 1.0],
            "peak_ecc": [0.0004, -0.1, 0.2],
        }
    )


def test_markdown_structure_header_separator_one_line_per_row() -> None:
    df = _table()
    lines = markdown_table(df).split("\n")
    assert len(lines) == 2 + len(df)
    assert _cells(lines[0]) == list(df.columns)
    assert all(len(_cells(line)) == df.shape[1] for line in lines)
    separator = _cells(lines[1])
    assert all(set(cell) <= {"-", ":"} and len(cell) >= 3 for cell in separator)
    # numeric columns right-aligned, the text column not
    assert [cell.endswith(":") for cell in separator] == [False, True, True, True, True]


def test_markdown_number_formatting() -> None:
    rows = [_cells(line) for line in markdown_table(_table(), digits=3).split("\n")[2:]]
    segment, n, ecc, p, peak = zip(*rows, strict=True)
    assert segment[1] == r"mid inferior\|septal"  # an escaped pipe does not split the cell
    assert n == ("12", "9", "21")
    assert ecc == ("-0.183", MISSING, "-0.200")
    assert p == ("1.23e-05", "0.046", "1.000")  # only p < 0.001 goes scientific
    assert peak[0] == "0.000"  # "peak" starts with p but holds no p-values


def test_markdown_explicit_p_columns_and_digits() -> None:
    df = pd.DataFrame({"pvalue_raw": [2e-4], "q": [3e-6]})
    auto = _cells(markdown_table(df, digits=2).split("\n")[2])
    explicit = _cells(markdown_table(df, digits=2, p_columns=["q"]).split("\n")[2])
    assert auto == ["2.0e-04", "0.00"]
    assert explicit == ["0.00", "3.0e-06"]


def test_is_p_column() -> None:
    assert all(is_p_column(c) for c in ("p", "p_value", "p-value", "ttest_p", "P_bonf", "pval"))
    assert not any(is_p_column(c) for c in ("peak_ecc", "position", "pearson_r", "split"))


def test_write_table_writes_both_files_and_tsv_round_trips(tmp_path: Path) -> None:
    df = _table()
    stem = tmp_path / "sub" / "table_1.v2"
    write_table(df, stem, title="Table 1: strain per segment", digits=2)
    md = Path(f"{stem}.md").read_text(encoding="utf-8")
    assert md.startswith("# Table 1: strain per segment\n\n| segment")
    assert md.endswith("|\n")
    back = pd.read_csv(f"{stem}.tsv", sep="\t")
    pd.testing.assert_frame_equal(back, df)  # full precision, NaN kept
    assert sorted(p.name for p in stem.parent.iterdir()) == ["table_1.v2.md", "table_1.v2.tsv"]


def test_write_table_without_title_starts_with_table(tmp_path: Path) -> None:
    write_table(pd.DataFrame({"a": [1.0]}), tmp_path / "t")
    assert (tmp_path / "t.md").read_text(encoding="utf-8").startswith("| ")
