"""Logging set-up shared by every entry point.

Scripts log to stderr, which each Snakemake rule sends to its ``log:`` file; one format everywhere
makes a cohort's logs greppable by subject.
"""

from __future__ import annotations

import logging


def setup_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%Y-%m-%d %H:%M:%S",
        force=True,
    )
