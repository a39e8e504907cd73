"""Paper 002's training volumes: which ``stack3d`` samples a model learns from, and how each is
read and augmented.

A sample is one subject's stack at one frame (``myoflow.io.volumes``). A model learns from the
annotated volumes of the training split and selects on the validation split; a volume whose mask
holds no myocardium teaches no boundary and is left out with a warning naming it, and a split with
no annotated volume at all is an error naming the cohorts (a configuration mistake, not a bad
scan).

``StackVolumes`` yields ``(image [1, D, S, S], (mask [1, D, S, S], distance weights [1, D, S,
S]))``: the image in [0, 1] as the profile scaled it, the binary mask, and Eq. 1's weight map of
the distance-derived loss computed on the augmented mask (a map warped with its mask would no
longer be the mask's). Augmentation (section III.B) is MONAI's dictionary transforms on image and
mask together, in plane only, since the planes are slices: a random shift of up to ``shift_px``
pixels, a rotation within ``rotate_deg`` about the slice axis, and horizontal and vertical flips
with probability ``flip_p``; seeded per (seed, epoch, sample), so a resumed run draws exactly what
the killed one would have.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from monai import transforms as mt
from torch.utils.data import Dataset

from myoflow.io.volumes import VolumeShard
from myoflow.methods.attmnet.losses import distance_weights
from myoflow.samples import split_of

log = logging.getLogger("myoflow.train")


@dataclass(frozen=True)
class Volume:
    """One sample of a ``stack3d`` shard: its file, row, subject and frame."""

    shard: str
    index: int
    cohort: str
    subject: str
    frame: int


def volume_table(shard: str | os.PathLike[str]) -> pd.DataFrame:
    """The samples of one shard with their cohort, myocardium voxel count and row."""
    with VolumeShard(shard) as volumes:
        table = volumes.table()
        cohorts = {s: volumes.meta(s)["cohort"] for s in dict.fromkeys(table["subject"])}
        table["voxels"] = [
            int(volumes.sample(i)["mask"].sum()) if known else 0
            for i, known in enumerate(table["has_mask"])
        ]
    table["cohort"] = table["subject"].map(cohorts)
    table["index"] = np.arange(len(table))
    table["shard"] = os.fspath(shard)
    return table


def select_volumes(
    shards: Sequence[str | os.PathLike[str]],
    splits: pd.DataFrame,
    split_names: Sequence[str],
    role: str,
) -> list[Volume]:
    """The annotated volumes with myocardium of ``split_names``, in shard order. Raises
    ValueError naming the files when the splits hold volumes but none annotated."""
    split = split_of(splits)
    tables = []
    for shard in shards:
        table = volume_table(shard)
        keep = [split.get((c, s)) in split_names for c, s in zip(table["cohort"], table["subject"])]
        tables.append(table[keep])
    chosen = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    if chosen.empty:
        return []
    usable = (chosen["has_mask"] == 1) & (chosen["voxels"] > 0)
    for row in chosen[(chosen["has_mask"] == 1) & ~usable].itertuples():
        log.warning(
            "%s: cohort %s, subject %s, frame %d: the mask holds no myocardium; volume left out "
            "of %s",
            row.shard,
            row.cohort,
            row.subject,
            row.frame,
            role,
        )
    if not usable.any():
        raise ValueError(
            f"{role}: no volume with a myocardium mask in splits {list(split_names)} "
            f"(files {sorted(set(chosen['shard']))})"
        )
    return [
        Volume(row.shard, int(row.index), row.cohort, row.subject, int(row.frame))
        for row in chosen[usable].itertuples()
    ]


def augmentation(shift_px: int, rotate_deg: float, flip_p: float) -> mt.Compose:
    """Section III.B's in-plane shift, rotation and flips, as MONAI dictionary transforms on
    ``image`` and ``mask`` (the mask resampled nearest, so it stays binary). Arrays are
    ``[1, D, H, W]``: MONAI's spatial axes 1 and 2 are the in-plane ones, and its first rotation
    angle turns the H-W plane about the slice axis."""
    both = ["image", "mask"]
    return mt.Compose(
        [
            mt.RandAffined(
                both,
                prob=1.0,
                rotate_range=(math.radians(rotate_deg), 0.0, 0.0),
                translate_range=(0.0, float(shift_px), float(shift_px)),
                mode=("bilinear", "nearest"),
                padding_mode="zeros",
            ),
            mt.RandFlipd(both, prob=flip_p, spatial_axis=1),
            mt.RandFlipd(both, prob=flip_p, spatial_axis=2),
        ]
    )


class StackVolumes(Dataset):
    """Annotated volumes for a 3-D segmentation network (module docstring); ``transform``: the
    augmentation, or None (validation)."""

    def __init__(
        self, volumes: Sequence[Volume], seed: int, transform: mt.Compose | None = None
    ) -> None:
        self.volumes = list(volumes)
        self.seed = seed
        self.epoch = 0
        self.transform = transform
        self._open: dict[str, VolumeShard] = {}

    def __len__(self) -> int:
        return len(self.volumes)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _shard(self, path: str) -> VolumeShard:
        if path not in self._open:
            self._open[path] = VolumeShard(path)
        return self._open[path]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        volume = self.volumes[i]
        sample = self._shard(volume.shard).sample(volume.index)
        data = {"image": sample["image"][None], "mask": sample["mask"][None].astype(np.float32)}
        if self.transform is not None:
            rng = np.random.default_rng([self.seed, self.epoch, i])
            self.transform.set_random_state(seed=int(rng.integers(2**31)))
            data = self.transform(data)
        image = torch.as_tensor(np.asarray(data["image"]), dtype=torch.float32)
        mask = np.asarray(data["mask"]) > 0.5
        weights = torch.from_numpy(distance_weights(mask[0])[None])
        return image, (torch.from_numpy(mask.astype(np.float32)), weights)
