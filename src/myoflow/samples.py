"""Which slices an experiment uses, and where their targets live: the subject-level split.

Shared by every method. Records are selected by the subject-level split (``splits.tsv``), never
by slice, so no subject is in two sets; selection reads only HDF5 attributes, so choosing over
many shards stays cheap. With a tracker reference (``reference: harp`` or ``sinmod``) a sample's
target is the tracked motion in a tracking shard (``tracked_index``, ``with_tracked``), matched by
cohort and ``subject/slice_id``; the image and the ED mask still come from the preprocessed
record. Torch-free, so CPU jobs (evaluation, report) use it without importing torch.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import h5py
import numpy as np
import pandas as pd

from myoflow.io.shards import open_shard
from myoflow.io.tables import read_tsv
from myoflow.record import SliceRecord

log = logging.getLogger("myoflow.stages")

SPLIT_NAMES = ("train", "val", "test")


@dataclass(frozen=True)
class SampleRef:
    """Where one training slice lives; ``target``: the shard holding its target displacement
    when that is not the record's own (a tracking shard), else None."""

    shard: str
    key: str
    cohort: str
    target: str | None = None


def read_splits(paths: Iterable[str | os.PathLike[str]]) -> pd.DataFrame:
    """Concatenate split tables (``cohort, subject, group, split``) of one or more cohorts."""
    tables = [read_tsv(p) for p in paths]
    return pd.concat(tables, ignore_index=True)


def split_of(splits: pd.DataFrame) -> dict[tuple[str, str], str]:
    """``(cohort, subject) -> split`` lookup."""
    return {(r.cohort, r.subject): r.split for r in splits.itertuples()}


def select(
    shards: Sequence[str | os.PathLike[str]], splits: pd.DataFrame, wanted: Iterable[str]
) -> list[SampleRef]:
    """Records of the shards whose subject is in one of the ``wanted`` splits, in file order.

    Only attributes are read (no arrays), so selecting over many shards stays cheap.
    """
    wanted = set(wanted)
    lookup = split_of(splits)
    refs = []
    for shard in shards:
        with open_shard(shard) as h5:
            cohort = None
            for subject in h5:
                for slice_id in h5[subject]:
                    if cohort is None:
                        cohort = _cohort_of(h5[subject][slice_id])
                    if lookup.get((cohort, subject)) in wanted:
                        refs.append(SampleRef(str(shard), f"{subject}/{slice_id}", cohort))
    return refs


def tracked_index(shards: Iterable[str | os.PathLike[str]]) -> dict[tuple[str, str], str]:
    """``(cohort, subject/slice_id) -> tracking shard`` over the given tracking shards.

    Only attributes are read. A slice tracked twice (two shards listing it) is an error: which
    target it should learn would be ambiguous.
    """
    index: dict[tuple[str, str], str] = {}
    for shard in shards:
        with open_shard(shard) as h5:
            for subject in h5:
                for slice_id in h5[subject]:
                    key = (_cohort_of(h5[subject][slice_id]), f"{subject}/{slice_id}")
                    if key in index:
                        raise ValueError(
                            f"slice {key[1]} of cohort {key[0]} is in two tracking shards: "
                            f"{index[key]} and {shard}"
                        )
                    index[key] = str(shard)
    return index


def with_tracked(
    refs: Sequence[SampleRef], index: dict[tuple[str, str], str]
) -> tuple[list[SampleRef], list[SampleRef]]:
    """``(refs with their target set to their tracking shard, refs that have none)``.

    A slice the tracker could not follow (listed in the tracking QC) has no tracked displacement;
    the caller leaves it out and says so.
    """
    kept, missing = [], []
    for ref in refs:
        target = index.get((ref.cohort, ref.key))
        if target is None:
            missing.append(ref)
        else:
            kept.append(replace(ref, target=target))
    return kept, missing


def tracked_targets(
    experiment: Mapping[str, Any],
    tracked: Sequence[str | os.PathLike[str]],
    train: list[SampleRef],
    val: list[SampleRef],
) -> tuple[list[SampleRef], list[SampleRef]]:
    """The training and validation samples with their tracking shard as target when the
    experiment learns a tracker (``experiment["tracker"]``), unchanged otherwise. A slice the
    tracker could not follow is left out with a warning naming it (the tracking QC says why);
    tracking shards given to an experiment whose reference is not a tracker are an error."""
    tracker = experiment.get("tracker")
    if not tracker:
        if tracked:
            raise ValueError(
                f"{len(tracked)} tracking shard(s) given, but the reference of experiment "
                f"{experiment['name']} is {experiment['reference']!r}, not a tracker"
            )
        return train, val
    if not tracked:
        raise ValueError(
            f"experiment {experiment['name']}: reference {tracker!r} needs the tracking shards"
        )
    index = tracked_index(tracked)
    out = []
    for split, group in (("training", train), ("validation", val)):
        kept, missing = with_tracked(group, index)
        if missing:
            log.warning(
                "%s: %d %s slice(s) have no %s reference (not trackable, see the tracking "
                "QC) and are left out: %s",
                experiment["name"],
                len(missing),
                split,
                tracker,
                ", ".join(f"{r.cohort}:{r.key}" for r in missing),
            )
        out.append(kept)
    return out[0], out[1]


def _cohort_of(group: h5py.Group) -> str:
    return str(json.loads(group.attrs["meta"])["cohort"])


def ed_mask(rec: SliceRecord) -> np.ndarray:
    """The ED myocardium ``[H, W]`` bool: the material points the Lagrangian field describes."""
    if rec.mask is None:
        raise rec.error(
            "training needs a myocardium mask (none in the preprocessed record)", "mask"
        )
    frame = rec.ed_frame if rec.mask.shape[0] > 1 else 0
    return rec.mask[frame].astype(bool)


def slice_columns(experiment: Mapping[str, Any], rec: SliceRecord, split: str) -> dict[str, Any]:
    """The identifier columns (``myoflow.tables.SLICE_ID``) of an evaluation row about ``rec``,
    identifiers exactly as the record holds them."""
    return {
        "experiment": experiment["name"],
        "cohort": rec.cohort,
        "subject": rec.subject,
        "slice_id": rec.slice_id,
        "position": rec.position,
        "group": rec.group,
        "split": split,
    }


def evaluated_splits(experiment: Mapping[str, Any]) -> tuple[str, ...]:
    """The splits an experiment predicts and scores: its settings' ``evaluate_split`` (``all``:
    every split; ``auto``: ``test``, or every split for an experiment that applies models
    trained elsewhere, ``models:``, since no subject of its cohorts was trained on)."""
    chosen = experiment["settings"]["evaluate_split"]
    if chosen == "auto":
        applied = experiment.get("trained_by") or experiment.get("models_path")
        chosen = "all" if applied else "test"
    return SPLIT_NAMES if chosen == "all" else (chosen,)
