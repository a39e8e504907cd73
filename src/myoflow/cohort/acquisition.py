"""Acquisition numbers kept from DICOM headers: a whitelist, vendor units, plausible ranges.

Only non-identifying numeric parameters are kept (``SAFE_TAGS``), so no free text, where names
hide, can reach a covariate. Header values are not trusted blindly: some vendors store
MagneticFieldStrength in gauss (GE: 15000 for 1.5 T), and a wrong value kept as a covariate would
corrupt every table grouped or adjusted by it. So each value is converted to its documented unit
where the vendor convention is known, then range-checked; an implausible value is left out and the
record says so with a flag (``header_value_implausible:<name>=<value>``), never kept silently.
"""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset

#: Non-identifying acquisition parameters that may be kept, with the name and unit they get.
SAFE_TAGS: dict[str, str] = {
    "SliceThickness": "slice_thickness_mm",
    "SpacingBetweenSlices": "spacing_between_slices_mm",
    "MagneticFieldStrength": "field_strength_t",
    "RepetitionTime": "repetition_time_ms",
    "EchoTime": "echo_time_ms",
    "FlipAngle": "flip_angle_deg",
    "NominalInterval": "nominal_interval_ms",
    "CardiacNumberOfImages": "cardiac_number_of_images",
}
#: Plausible ranges (inclusive) of the kept values in their units, wide enough for clinical and
#: preclinical scanners (0.05-21.1 T systems, 0.01 mm preclinical slices, 30-600 bpm hearts).
PLAUSIBLE: dict[str, tuple[float, float]] = {
    "slice_thickness_mm": (0.01, 50.0),
    "spacing_between_slices_mm": (0.01, 100.0),
    "field_strength_t": (0.05, 25.0),
    "repetition_time_ms": (0.1, 20000.0),
    "echo_time_ms": (0.01, 1000.0),
    "flip_angle_deg": (0.1, 180.0),
    "nominal_interval_ms": (50.0, 3000.0),
    "cardiac_number_of_images": (1.0, 1000.0),
}
#: A field strength at or above this is in gauss (1 T = 10 000 G); no magnet reaches 1000 T.
GAUSS_THRESHOLD = 1000.0
GAUSS_PER_TESLA = 10000.0


def acquisition_metadata(ds: Dataset) -> tuple[dict[str, float], list[str]]:
    """Whitelisted acquisition numbers of ``ds`` in their units, and flags for what was changed
    (``field_strength_from_gauss``) or left out (``header_value_implausible:<name>=<value>``)."""
    out: dict[str, float] = {}
    notes: list[str] = []
    for keyword, name in SAFE_TAGS.items():
        try:
            number = float(ds.get(keyword))
        except (TypeError, ValueError):
            continue
        if not np.isfinite(number):
            continue
        if name == "field_strength_t" and number >= GAUSS_THRESHOLD:
            number /= GAUSS_PER_TESLA
            notes.append("field_strength_from_gauss")
        lo, hi = PLAUSIBLE[name]
        if not lo <= number <= hi:
            notes.append(f"header_value_implausible:{name}={number:g}")
            continue
        out[name] = number
    return out, notes
