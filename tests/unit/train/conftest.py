"""The tiny preprocessed phantom cohort, written once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.cohorts import write_tiny_cohort


@pytest.fixture(scope="session")
def tiny_cohort(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``(shard, splits)`` of six phantom rats with train, val and test subjects."""
    return write_tiny_cohort(tmp_path_factory.mktemp("tiny_cohort"))
