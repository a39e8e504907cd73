#!/usr/bin/env python
"""Readable report of a mutmut run (``make mutants``): counts per module, every survivor's diff.

mutmut keeps its results in ``mutants/`` (``mutmut results`` lists each mutant's status, ``mutmut
show`` its diff). A survivor is a change to the code that no selected unit test notices:
either a missing test or an equivalent mutant (one that cannot change behaviour). This script puts
them side by side per module so each can be judged; it judges nothing itself.

Run from the repository root after ``mutmut run``:

    python benchmarks/mutants_report.py --out mutants/report.md
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from pathlib import Path

#: Statuses worth reading: the tests did not fail on the mutant.
NOT_KILLED = ("survived", "no tests", "timeout", "suspicious", "skipped")


def mutants() -> dict[str, tuple[str, Path]]:
    """Mutant name -> (status, mutated file), for every mutant of the last run.

    Reads mutmut's own records in-process through the API of the version ``make mutants`` pins
    (3.8.1): one ``mutmut show`` subprocess per survivor costs seconds each.
    """
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.stats import status_by_exit_code
    from mutmut.utils.file_utils import walk_mutatable_files

    out: dict[str, tuple[str, Path]] = {}
    for path in walk_mutatable_files():
        data = SourceFileMutationData(path=path)
        data.load()
        for name, exit_code in data.exit_code_by_key.items():
            out[name] = (status_by_exit_code[exit_code], Path(data.path))
    return out


def diff(name: str, path: Path) -> str:
    """The mutant's diff against the original function, as ``mutmut show`` prints it."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    return get_diff_for_mutant(name, path=path).strip()


def module_of(name: str) -> str:
    """``myoflow.strain.green.x_f__mutmut_3`` -> ``myoflow.strain.green``."""
    return name.split(".x", 1)[0] if ".x" in name else name.rsplit(".", 1)[0]


def report(results: dict[str, tuple[str, Path]]) -> str:
    by_module: dict[str, Counter[str]] = defaultdict(Counter)
    for name, (status, _) in results.items():
        by_module[module_of(name)][status] += 1
    lines = [
        "# Mutation testing: survivors",
        "",
        "| module | mutants | killed | " + " | ".join(NOT_KILLED) + " | not checked |",
        "|---|---|---|" + "---|" * (len(NOT_KILLED) + 1),
    ]
    for module, counts in sorted(by_module.items()):
        cells = [str(counts[s]) for s in (*NOT_KILLED, "not checked")]
        lines.append(
            f"| {module} | {sum(counts.values())} | {counts['killed']} | {' | '.join(cells)} |"
        )
    for module in sorted(by_module):
        names = sorted(
            (n for n, (s, _) in results.items() if module_of(n) == module and s in NOT_KILLED),
            key=lambda n: (n.rsplit("__mutmut_", 1)[0], int(n.rsplit("_", 1)[1])),
        )
        if not names:
            continue
        lines += ["", f"## {module}", ""]
        for name in names:
            status, path = results[name]
            lines += [f"### {name} ({status})", "", "```diff", diff(name, path), "```", ""]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("mutants/report.md"))
    args = parser.parse_args()
    results = mutants()
    if not results:
        sys.exit("no mutmut results here: run `mutmut run` first (make mutants)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report(results))
    survived = sum(s in NOT_KILLED for s, _ in results.values())
    print(f"{len(results)} mutants, {survived} not killed; report: {args.out}")


if __name__ == "__main__":
    main()
