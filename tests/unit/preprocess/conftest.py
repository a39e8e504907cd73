"""The ``make_record`` fixture: synthetic records from ``preprocess_records``."""

from __future__ import annotations

import pytest
from preprocess_records import RecordFactory, ring_record


@pytest.fixture()
def make_record() -> RecordFactory:
    return ring_record
