"""The tiny tagged phantom shard of the stage tests, written once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from stage_records import tagged_records

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
