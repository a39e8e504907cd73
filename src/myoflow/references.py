"""The reference motion of an evaluated slice, resolved once for every method.

An experiment's ``reference`` says what a method learns from and is judged against:
``provided`` (the record's own displacement, from the cohort's files), ``truth`` (the phantom's
exact motion, which is the record's displacement on a synthetic cohort) or a tagged-image tracker
(``harp``, ``sinmod``: the displacement of the slice's tracking shard). On a phantom cohort with
a tracker reference the exact motion is known as well, and every method is then also scored
against it: the tracker's own error is part of what the user must see.

A slice the tracker could not follow (listed in the tracking QC) has no reference: the caller
leaves it out and names it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from myoflow.io.shards import read_displacements
from myoflow.record import SliceRecord


class References:
    """The references of one evaluated shard; ``tracked``: its tracking shard when a tracker
    computes the reference (exactly one), else none."""

    def __init__(
        self, experiment: Mapping[str, Any], tracked: Sequence[str | os.PathLike[str]] = ()
    ) -> None:
        self.tracker = experiment.get("tracker")
        self.synthetic = dict(experiment["synthetic"])
        if self.tracker and len(tracked) != 1:
            raise ValueError(
                f"reference {self.tracker!r} needs one tracking shard, got {len(tracked)}"
            )
        if not self.tracker and tracked:
            raise ValueError(
                f"a tracking shard was given, but the reference is {experiment['reference']!r}"
            )
        self.tracked = read_displacements(tracked[0]) if self.tracker else {}

    def of(self, rec: SliceRecord) -> tuple[np.ndarray | None, np.ndarray | None]:
        """``(reference, truth)`` displacements ``[T, 2, H, W]`` mm of ``rec``.

        ``reference`` is None when the tracker could not follow the slice; ``truth`` is the
        exact motion when it is known and not itself the reference, else None.
        """
        if not self.tracker:
            if rec.displacement is None:
                raise rec.error("the reference displacement is missing", "displacement")
            return rec.displacement, None
        reference = self.tracked.get(rec.key)
        if reference is None:
            return None, None
        truth = rec.displacement if self.synthetic.get(rec.cohort) else None
        return reference, truth
