"""Training samples from preprocessed shards: cine in, scaled displacement out, ED myocardium mask.

Why a lazy HDF5 dataset: a cohort may hold far more slices than fit in memory, so the dataset
keeps only ``(shard, key)`` pairs and reads one record per sample. Records are selected by the
subject-level split (``splits.tsv``), never by slice, so no subject is in two sets.

The displacement is Lagrangian on the end-diastolic pixel grid, so the loss mask is the ED
myocardium (``mask[ed_frame]``) for every frame. Targets are mapped to the sigmoid's range with
``preprocess.scaling.to_network`` (paper 000, section 2.1) here rather than at preprocessing, so
``max_displacement_mm`` is a training choice. The paper sets the background to 0, far below every
displacement value; a network cannot reproduce that step exactly, so the myocardium's edge
pixels come out pulled toward the background (measured: errors of 1-2 mm on the edge ring where
the interior is within 0.2 mm), and strain, a derivative, amplifies them. ``margin_px`` keeps the
reference displacement that many pixels beyond the myocardium (the ED mask dilated), moving the
step off the tissue that is evaluated; 0 reproduces the paper's target exactly.

Flips (augmentation) are applied in millimetres before the scaling: mirroring the columns maps a
material point at x to W-1-x, so its x displacement changes sign (and likewise rows and y). They
are drawn from ``(seed, epoch, index)``, so an epoch's samples do not depend on what ran before
it: a run resumed after a kill sees exactly the samples of an uninterrupted one.

With a tracker reference (``reference: harp`` or ``sinmod``) the target is not the record's own
displacement but the tracked one, read from the tracking shard named by the sample's ``target``
(``with_tracked`` matches them by cohort and ``subject/slice_id``); the cine and the ED mask still
come from the preprocessed record.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import h5py
import numpy as np
import pandas as pd
import torch
from scipy import ndimage
from torch.utils.data import Dataset

from myoflow.errors import InputError
from myoflow.io.shards import open_shard, read_record
from myoflow.io.tables import read_tsv
from myoflow.preprocess.scaling import to_network
from myoflow.record import SliceRecord

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


def flip(
    cine: np.ndarray, displacement: np.ndarray, mask: np.ndarray, flip_x: bool, flip_y: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mirror a sample: cine ``[T, H, W]``, displacement ``[T, 2, H, W]`` mm, mask ``[H, W]``.

    Mirroring columns negates the x component, mirroring rows the y component.
    """
    u = displacement
    if flip_x:
        cine, u, mask = cine[..., ::-1], u[..., ::-1].copy(), mask[..., ::-1]
        u[:, 0] *= -1.0
    if flip_y:
        cine, u, mask = cine[..., ::-1, :], u[..., ::-1, :].copy(), mask[..., ::-1, :]
        u[:, 1] *= -1.0
    return np.ascontiguousarray(cine), np.ascontiguousarray(u), np.ascontiguousarray(mask)


class DisplacementDataset(Dataset):
    """``(cine [1, T, H, W], target [2, T, H, W], mask [1, 1, H, W])`` float32 tensors per slice.

    ``epoch`` must be set (``set_epoch``) before each epoch when ``augment`` is on.
    """

    def __init__(
        self,
        refs: Sequence[SampleRef],
        max_displacement_mm: float,
        augment: bool = False,
        seed: int = 0,
        margin_px: int = 0,
    ) -> None:
        self.refs = list(refs)
        self.margin_px = margin_px
        self.max_displacement_mm = float(max_displacement_mm)
        self.augment = augment
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.refs)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        ref = self.refs[index]
        rec = read_record(ref.shard, ref.key)
        if rec.cine is None:
            raise rec.error("training needs a cine series (none in the preprocessed record)")
        source = ref.shard
        displacement = rec.displacement
        if ref.target is not None:
            source = ref.target
            displacement = read_record(ref.target, ref.key).displacement
        if displacement is None and ref.target is None:
            raise rec.error(
                "training needs a reference displacement (none in the preprocessed record)",
                "displacement",
            )
        if displacement is None:
            raise InputError(
                "the tracking shard's record holds no displacement",
                rec.cohort,
                rec.subject,
                source,
                rec.slice_id,
            )
        if displacement.shape != (rec.cine.shape[0], 2, *rec.cine.shape[1:]):
            raise InputError(
                f"displacement has shape {displacement.shape}, the cine {rec.cine.shape}",
                rec.cohort,
                rec.subject,
                source,
                rec.slice_id,
            )
        cine, u, mask = rec.cine, displacement, ed_mask(rec)
        if self.augment:
            rng = np.random.default_rng([self.seed, self.epoch, index])
            fx, fy = rng.random(2) < 0.5
            cine, u, mask = flip(cine, u, mask, bool(fx), bool(fy))
        support = (
            ndimage.binary_dilation(mask, iterations=self.margin_px) if self.margin_px else mask
        )
        target = to_network(u.astype(np.float32), self.max_displacement_mm, support[None])
        return (
            torch.from_numpy(np.ascontiguousarray(cine[None], dtype=np.float32)),
            torch.from_numpy(np.ascontiguousarray(np.moveaxis(target, 1, 0))),
            torch.from_numpy(mask[None, None].astype(np.float32)),
        )
