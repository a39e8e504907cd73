"""Paper 001's training frames: which ``frames2d`` samples a model learns from, and how each is
read, made pseudo-tagged and augmented.

A model learns from single frames (``Frame``) of one role's cohorts and one split: annotated cine
for pretraining, annotated tagged frames for training on tagged images, the unlabelled frames of
either series for the CycleGAN. A frame whose mask holds no myocardium cannot teach a myocardium
boundary, so it is left out with a warning naming it; a role whose cohort has no usable frame at
all is an error naming the cohort, since that is a configuration mistake (a tagged cohort without
masks named for fine-tuning), not a bad scan.

``SegmentationFrames`` yields ``(image [1, S, S], (mask [1, S, S], distance map [1, S, S]))``:
the image (the cine frame as it is or made pseudo-tagged by physics, or the tagged frame) scaled
to [0, 1] by the profile and normalised with the paper's mean 0.456 and SD 0.224 (a CycleGAN
source is normalised after its translation, in the trainer); the distance map is the shape-aware
loss's, computed on the augmented mask (a map warped with its mask would no longer be the mask's).
Augmentation is MONAI's dictionary transforms on image and mask together (section 2.2.4), seeded
per (seed, epoch, sample) so that a resumed run draws exactly what the killed one would have.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from monai import transforms as mt
from torch.utils.data import Dataset

from myoflow.io.frames import FrameShard
from myoflow.methods.tagseg.losses import signed_distance_map
from myoflow.methods.tagseg.pseudotag import PseudoTagSettings, pseudo_tagged
from myoflow.samples import split_of

log = logging.getLogger("myoflow.train")

#: The paper's input normalisation of [0, 1] images (ImageNet's green channel).
NORM_MEAN, NORM_SD = 0.456, 0.224


def normalise(image: torch.Tensor | np.ndarray) -> Any:
    """A [0, 1] image in the networks' input scale."""
    return (image - NORM_MEAN) / NORM_SD


@dataclass(frozen=True)
class Frame:
    """One 2-D sample of a ``frames2d`` shard, with what its transform needs: the time since its
    slice's first frame (tagging time) and the pixel spacing of the profile's grid."""

    shard: str
    index: int
    cohort: str
    subject: str
    slice_id: str
    frame: int
    since_tagging_ms: float
    spacing_mm: tuple[float, float]


def frame_table(shard: str | os.PathLike[str]) -> pd.DataFrame:
    """The samples of one shard, with their cohort and the time since their slice's first frame."""
    with FrameShard(shard) as frames:
        table = frames.table()
        cohorts = {
            key: frames.meta(key)["cohort"]
            for key in dict.fromkeys(table["subject"] + "/" + table["slice_id"])
        }
    keys = table["subject"] + "/" + table["slice_id"]
    table["cohort"] = keys.map(cohorts)
    table["since_tagging_ms"] = table["time_ms"] - table.groupby(keys)["time_ms"].transform("min")
    table["index"] = np.arange(len(table))
    table["shard"] = os.fspath(shard)
    return table


def select_frames(
    shards: Sequence[str | os.PathLike[str]],
    splits: pd.DataFrame,
    cohorts: Sequence[str],
    split_names: Sequence[str],
    series: str,
    annotated: bool,
    role: str,
) -> list[Frame]:
    """The frames of ``cohorts`` in splits ``split_names`` that have ``series`` (and, when
    ``annotated``, a mask with myocardium), in shard order. Raises ValueError naming the
    cohort when one of ``cohorts`` has frames in those splits but none usable for ``role``."""
    split = split_of(splits)
    chosen: list[pd.DataFrame] = []
    for shard in shards:
        table = frame_table(shard)
        keys = list(zip(table["cohort"], table["subject"], strict=True))
        table = table[
            [
                c in cohorts and split.get(k) in split_names
                for c, k in zip(table["cohort"], keys, strict=True)
            ]
        ]
        if len(table):
            chosen.append(table)
    frames = pd.concat(chosen, ignore_index=True) if chosen else pd.DataFrame()
    if frames.empty:
        return []
    usable = frames[f"has_{series}"] == 1
    if annotated:
        usable &= frames["has_mask"] == 1
        usable &= _myocardium_pixels(frames) > 0
        empty = frames[(frames["has_mask"] == 1) & ~usable & (frames[f"has_{series}"] == 1)]
        for _, row in empty.iterrows():
            log.warning(
                "%s: cohort %s, subject %s, slice %s, frame %d: the mask holds no myocardium; "
                "frame left out of %s",
                row["shard"],
                row["cohort"],
                row["subject"],
                row["slice_id"],
                row["frame"],
                role,
            )
    for cohort in cohorts:
        mine = frames["cohort"] == cohort
        if mine.any() and not (usable & mine).any():
            need = f"{series} frames with a myocardium mask" if annotated else f"{series} frames"
            raise ValueError(
                f"cohort {cohort!r} ({role}): no {need} in splits {list(split_names)} "
                f"(files {sorted(set(frames.loc[mine, 'shard']))})"
            )
    return [
        Frame(
            row.shard,
            int(row.index),
            row.cohort,
            row.subject,
            row.slice_id,
            int(row.frame),
            float(row.since_tagging_ms),
            (float(row.spacing_row_mm), float(row.spacing_col_mm)),
        )
        for row in frames[usable].itertuples()
    ]


def _myocardium_pixels(frames: pd.DataFrame) -> np.ndarray:
    """Myocardium pixels of each sample's mask (0 without one), read shard by shard."""
    counts = np.zeros(len(frames), np.int64)
    for shard, rows in frames.groupby("shard", sort=False).groups.items():
        with FrameShard(str(shard)) as source:
            for position in rows:
                at = frames.index.get_loc(position)
                if frames.at[position, "has_mask"]:
                    counts[at] = int(source.sample(int(frames.at[position, "index"]))["mask"].sum())
    return counts


def augmentation(size: int) -> mt.Compose:
    """Section 2.2.4's "stochastic combination of random flips, additive random noise and
    blurring, and both affine and elastic transformations", as MONAI dictionary transforms on
    ``image`` and ``mask`` (the mask resampled nearest, so it stays binary)."""
    both = ["image", "mask"]
    return mt.Compose(
        [
            mt.RandFlipd(both, prob=0.5, spatial_axis=0),
            mt.RandFlipd(both, prob=0.5, spatial_axis=1),
            mt.RandAffined(
                both,
                prob=0.5,
                rotate_range=math.pi / 12,
                scale_range=0.1,
                translate_range=0.05 * size,
                mode=("bilinear", "nearest"),
                padding_mode="zeros",
            ),
            mt.Rand2DElasticd(
                both,
                spacing=max(size // 8, 2),
                magnitude_range=(0.5, 1.5),
                prob=0.3,
                mode=("bilinear", "nearest"),
                padding_mode="zeros",
            ),
            mt.RandGaussianNoised("image", prob=0.3, std=0.03),
            mt.RandGaussianSmoothd("image", prob=0.3, sigma_x=(0.25, 1.0), sigma_y=(0.25, 1.0)),
        ]
    )


class SegmentationFrames(Dataset):
    """Annotated frames of one series for a segmentation network (module docstring).

    ``source``: ``cine`` (as it is), ``physics`` (the cine made pseudo-tagged, its grid's angle
    and phase drawn per sample and epoch, moved by the frame's displacement with
    ``physics.moving_tags`` where the shard keeps it), ``cyclegan`` (the cine, translated by the trainer;
    not normalised here) or ``tagged``.
    """

    def __init__(
        self,
        frames: Sequence[Frame],
        source: str,
        size: int,
        augment: bool,
        seed: int,
        physics: PseudoTagSettings | None = None,
    ) -> None:
        if source not in ("cine", "physics", "cyclegan", "tagged"):
            raise ValueError(f"unknown image source {source!r}")
        self.frames = list(frames)
        self.source = source
        self.series = "tagged" if source == "tagged" else "cine"
        self.physics = physics or PseudoTagSettings()
        self.seed = seed
        self.epoch = 0
        self.transform = augmentation(size) if augment else None
        self._open: dict[str, FrameShard] = {}

    def __len__(self) -> int:
        return len(self.frames)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _shard(self, path: str) -> FrameShard:
        if path not in self._open:
            self._open[path] = FrameShard(path)
        return self._open[path]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        frame = self.frames[i]
        sample = self._shard(frame.shard).sample(frame.index)
        rng = np.random.default_rng([self.seed, self.epoch, i])
        image = sample[self.series].astype(np.float32)
        if self.source == "physics":
            moving = sample.get("displacement") if self.physics.moving_tags else None
            image = pseudo_tagged(
                image[None],
                frame.spacing_mm,
                self.physics,
                rng,
                np.array([frame.since_tagging_ms]),
                None if moving is None else moving[None],
            )[0][0]
        data = {"image": image[None], "mask": sample["mask"][None].astype(np.float32)}
        if self.transform is not None:
            self.transform.set_random_state(seed=int(rng.integers(2**31)))
            data = self.transform(data)
        image_t = torch.as_tensor(np.asarray(data["image"]), dtype=torch.float32)
        mask = np.asarray(data["mask"]) > 0.5
        distance = torch.from_numpy(signed_distance_map(mask))
        if self.source != "cyclegan":
            image_t = normalise(image_t)
        return image_t, (torch.from_numpy(mask.astype(np.int64)), distance)


class UnpairedFrames(Dataset):
    """The CycleGAN's samples: cine frame ``i`` and a tagged frame drawn for ``(epoch, i)``, both
    in [0, 1] ``[1, S, S]`` (unpaired: which tagged frame comes with which cine frame is chance,
    redrawn every epoch). ``per_epoch`` (0: all cine frames) caps the cine frames per epoch."""

    def __init__(
        self, cine: Sequence[Frame], tagged: Sequence[Frame], seed: int, per_epoch: int = 0
    ) -> None:
        if not cine or not tagged:
            raise ValueError(
                f"the CycleGAN needs cine and tagged frames, got {len(cine)} and {len(tagged)}"
            )
        self.cine, self.tagged = list(cine), list(tagged)
        self.n = min(per_epoch, len(self.cine)) if per_epoch else len(self.cine)
        self.seed = seed
        self.epoch = 0
        self._open: dict[str, FrameShard] = {}

    def __len__(self) -> int:
        return self.n

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _read(self, frame: Frame, series: str) -> torch.Tensor:
        if frame.shard not in self._open:
            self._open[frame.shard] = FrameShard(frame.shard)
        image = self._open[frame.shard].sample(frame.index)[series]
        return torch.from_numpy(image.astype(np.float32))[None]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng([self.seed, self.epoch, i])
        cine = self.cine[i if self.n == len(self.cine) else int(rng.integers(len(self.cine)))]
        tagged = self.tagged[int(rng.integers(len(self.tagged)))]
        return self._read(cine, "cine"), self._read(tagged, "tagged")
