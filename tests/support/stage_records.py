"""Tiny preprocessed phantom records whose tags survive the crop, two of them untrackable."""

from __future__ import annotations

from myoflow.phantom.cohort import generate, plan
from myoflow.preprocess.pipeline import preprocess_record
from myoflow.record import SliceRecord
from myoflow.tracking.spectrum import NoTagPeaksError, find_tag_peaks

#: Rats whose 2 mm tags are 3.6-3.9 pixels apart after the 32-pixel crop: resolvable (the
#: species default, 0.9 mm, would be under 2 pixels there).
TAGGED_RATS = {
    "species": "rat",
    "seed": 5,
    "subjects": 4,
    "slices": ["mid"],
    "frames": 8,
    "matrix": 96,
    "tagging": {"spacing_mm": 2.0},
}
PREPROCESS = {"size": 32, "frames": 8}
UNTAGGED = 1  # index of the record whose tagged series is replaced by its cine
NO_TAGGED = 2  # index of the record without any tagged series


def tagged_records() -> list[SliceRecord]:
    """Four preprocessed rats; record ``UNTAGGED`` carries its cine as the tagged series and
    record ``NO_TAGGED`` no tagged series at all."""
    recs = [preprocess_record(generate(s), PREPROCESS) for s in plan("rats", TAGGED_RATS)]
    for rec in recs:
        periods = find_tag_peaks(rec.tagged[0]).periods_px
        assert min(periods) >= 3.0, "the records' tags must be resolvable"
    recs[UNTAGGED] = recs[UNTAGGED].replace(tagged=recs[UNTAGGED].cine.copy())
    recs[NO_TAGGED] = recs[NO_TAGGED].replace(tagged=None)
    try:
        find_tag_peaks(recs[UNTAGGED].tagged[0])
    except NoTagPeaksError:
        return recs
    raise AssertionError("a cine must show no tag peaks")
