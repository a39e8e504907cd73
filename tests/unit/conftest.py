"""Phantom data shared by the unit tests, written once per session: a tiny preprocessed cohort
and a tiny tagged shard."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.cohorts import write_tiny_cohort
from support.stage_records import tagged_records

from myoflow.io.shards import write_shard
from myoflow.record import SliceRecord


@pytest.fixture(scope="session")
def tagged_records_list() -> list[SliceRecord]:
    return tagged_records()


@pytest.fixture(scope="session")
def tagged_shard(
    tagged_records_list: list[SliceRecord], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    path = tmp_path_factory.mktemp("tagged") / "shard-000.h5"
    write_shard(path, tagged_records_list)
    return path


@pytest.fixture(scope="session")
def tiny_cohort(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``(shard, splits)`` of six phantom rats with train, val and test subjects."""
    return write_tiny_cohort(tmp_path_factory.mktemp("tiny_cohort"))
