"""The reference resolver: which motion a method is judged against, for each kind of reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from myoflow.io.shards import write_shard
from myoflow.record import SliceRecord
from myoflow.references import References


def _experiment(reference: str, synthetic: bool = True) -> dict:
    tracker = reference if reference in ("harp", "sinmod") else None
    return {"reference": reference, "tracker": tracker, "synthetic": {"rats": synthetic}}


def test_provided_and_truth_references_are_the_records_own(
    tagged_records_list: list[SliceRecord],
) -> None:
    rec = tagged_records_list[0]
    for reference in ("provided", "truth"):
        got, truth = References(_experiment(reference)).of(rec)
        assert got is rec.displacement and truth is None


def test_a_tracker_reference_is_the_tracked_motion_with_the_truth_beside_it(
    tagged_records_list: list[SliceRecord], tmp_path: Path
) -> None:
    first, second = tagged_records_list[:2]
    tracked = first.displacement * 0.5
    shard = tmp_path / "tracked.h5"
    write_shard(shard, [first.replace(cine=None, tagged=None, displacement=tracked)])
    refs = References(_experiment("harp"), [shard])
    reference, truth = refs.of(first)
    np.testing.assert_array_equal(reference, tracked)
    np.testing.assert_array_equal(truth, first.displacement)
    assert refs.of(second) == (None, None), "a slice the tracker lost has no reference"
    on_real_data = References(_experiment("harp", synthetic=False), [shard])
    assert on_real_data.of(first)[1] is None, "no truth off the phantom"


def test_the_tracking_shards_must_match_the_reference(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'sinmod' needs one tracking shard, got 0"):
        References(_experiment("sinmod"))
    with pytest.raises(ValueError, match="a tracking shard was given, but the reference is"):
        References(_experiment("truth"), [tmp_path / "x.h5"])
