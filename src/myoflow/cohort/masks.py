"""Myocardium masks from label files: which label is the myocardium, and is the result plausible.

A multi-label mask (ACDC: 1 RV, 2 myocardium, 3 LV cavity; M&Ms: 1 LV, 2 myocardium, 3 RV) read
with the wrong label gives a "myocardium" that is the RV or the blood pool, and every later number
is silently wrong. So the label is never guessed between several: it comes from the row's
``mask_label``, the cohort's ``mask_label``, or a label convention the cohort declares
(``mask_labels: acdc | mnms``, recorded as a flag); a mask with several non-zero labels and none
of these is an error that lists the labels found. A mask with a single non-zero label (0/1, 0/255)
is unambiguous.

The chosen label is then checked for what a short-axis myocardium looks like: a ring around a
blood pool, in one piece. A crescent (an RV picked by mistake, an open basal ring) or scattered
pieces are flagged for the QC table, not excluded: apical caps and LVOT slices are real.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from myoflow.cohort.series import Series
from myoflow.errors import InputError


@dataclass(frozen=True)
class LabelConvention:
    """The labels of a published data set's masks."""

    myocardium: int
    rv: int
    description: str


LABEL_CONVENTIONS: dict[str, LabelConvention] = {
    "acdc": LabelConvention(myocardium=2, rv=1, description="1 RV, 2 myocardium, 3 LV cavity"),
    "mnms": LabelConvention(myocardium=2, rv=3, description="1 LV cavity, 2 myocardium, 3 RV"),
}
#: The blood pool enclosed by the ring must be at least this share of the ring's own area; an
#: apical slice of the phantom and of ACDC keeps about 15-40 %, a crescent has none.
MIN_CAVITY_FRACTION = 0.05
#: A second piece counts as a fragment when it holds at least this share of the mask.
MIN_FRAGMENT_FRACTION = 0.05


def integer_labels(data: np.ndarray, path: str) -> np.ndarray:
    """The mask's values as integer labels; raise when they are not integers."""
    labels = np.rint(data)
    if not np.array_equal(labels, data):
        raise InputError("mask values are not integer labels", file=path)
    return labels.astype(np.int64)


def convention(options: Mapping[str, Any]) -> tuple[str, LabelConvention] | None:
    """The cohort's declared label convention, if any."""
    name = options.get("mask_labels")
    return None if name is None else (str(name), LABEL_CONVENTIONS[str(name)])


def myocardium_label(
    labels: np.ndarray, fields: Mapping[str, Any], options: Mapping[str, Any], path: str
) -> tuple[int, str | None]:
    """The myocardium's label, and a flag saying how it was chosen when that is worth recording.

    Order: the row's ``mask_label``, the cohort's ``mask_label``, the cohort's convention, the one
    non-zero label of a single-label mask. Raises InputError for a multi-label mask otherwise.
    """
    if "mask_label" in fields:
        return int(fields["mask_label"]), None
    if options.get("mask_label") is not None:
        return int(options["mask_label"]), None
    declared = convention(options)
    if declared is not None:
        return declared[1].myocardium, f"mask_labels:{declared[0]}"
    present = [int(v) for v in np.unique(labels) if v != 0]
    if len(present) == 1:
        label = present[0]
        return label, None if label == 1 else f"mask_label_inferred:{label}"
    if not present:
        raise InputError("the mask is empty: every value is 0", file=path)
    known = "; ".join(f"{name}: {c.description}" for name, c in LABEL_CONVENTIONS.items())
    raise InputError(
        f"the mask holds several labels {present} and nothing says which is the myocardium: "
        "give the row's mask_label column, the cohort option mask_label, or the cohort's label "
        f"convention mask_labels ({known})",
        file=path,
    )


def rv_label(fields: Mapping[str, Any], options: Mapping[str, Any]) -> int | None:
    """The RV's label: the row's ``rv_label``, else the declared convention's."""
    if "rv_label" in fields:
        return int(fields["rv_label"])
    declared = convention(options)
    return None if declared is None else declared[1].rv


def binary(labels: np.ndarray, label: int, what: str, path: str) -> np.ndarray:
    """``labels == label`` as uint8; raise when a frame has none of it."""
    mask = (labels == label).astype(np.uint8)
    empty = [t for t in range(mask.shape[0]) if not mask[t].any()]
    if empty:
        present = np.unique(labels).tolist()[:10]
        raise InputError(
            f"{what} is empty: no pixels with label {label} in frame(s) {empty[:5]} "
            f"(labels present: {present})",
            file=path,
        )
    return mask


def shape_flags(myocardium: np.ndarray) -> list[str]:
    """QC flags for an ED myocardium that is not one ring around a blood pool."""
    ring = myocardium.astype(bool)
    area = int(ring.sum())
    flags = []
    cavity = int((ndimage.binary_fill_holes(ring) & ~ring).sum())
    if cavity < MIN_CAVITY_FRACTION * area:
        flags.append(f"mask_not_a_ring:cavity_{cavity}px_of_{area}px")
    pieces, n = ndimage.label(ring, structure=np.ones((3, 3)))
    sizes = np.bincount(pieces.ravel())[1:]
    fragments = int((sizes >= MIN_FRAGMENT_FRACTION * area).sum())
    if n > 1 and fragments > 1:
        flags.append(f"mask_fragmented:{fragments}_pieces")
    return flags


def row_masks(
    series: Mapping[str, Series],
    paths: Mapping[str, str],
    fields: Mapping[str, Any],
    options: Mapping[str, Any],
    mask_frames: str | None,
    ed: int,
) -> tuple[np.ndarray | None, np.ndarray | None, int | None, dict[str, np.ndarray], list[str]]:
    """``(binary mask, ED label image, myocardium label, extras, flags)`` of a row.

    The mask keeps all frames (``mask_frames: all``) or becomes the ED frame alone (``ed``); the
    ED label image is kept for estimating the RV insertion points. An optional end-systolic mask
    without myocardium (the apical slice whose ES ring has closed) is flagged and left out, never
    a reason to lose the slice.
    """
    if "mask" not in series:
        return None, None, None, {}, []
    labels = integer_labels(series["mask"].data, paths["mask"])
    label, how = myocardium_label(labels, fields, options, paths["mask"])
    flags = [how] if how else []
    if mask_frames == "ed" and len(labels) > 1:
        labels = labels[ed : ed + 1]
    mask = binary(labels, label, "myocardium mask", paths["mask"])
    ed_labels = labels[0 if mask_frames == "ed" else ed]
    flags += shape_flags(ed_labels == label)
    extras = {}
    if "mask_es" in series:
        es_labels = integer_labels(series["mask_es"].data, paths["mask_es"])
        if (es_labels == label).any():
            extras["mask_es"] = binary(es_labels, label, "end-systolic mask", paths["mask_es"])
        else:
            flags.append("mask_es_empty")
    return mask, ed_labels, label, extras, flags
