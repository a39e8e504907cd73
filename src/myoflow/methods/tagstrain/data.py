"""Training samples of paper 003 from ``fov`` shards: the ED frame (with, beyond the paper, the
series' motion image) and its box, the cropped series and its landmarks.

Why lazy datasets: as for MyoNet, a cohort may not fit in memory, so each dataset keeps
``(shard, key)`` pairs (``myoflow.samples.SampleRef``) and reads one record per sample.

Targets. The box is the ED myocardium's extent enlarged by ``enlargement`` (``boxes.box_of_mask``;
from the ED landmarks when the record has no mask, as the paper's public code does); the
localisation network regresses its corners divided by the field of view's side, so its outputs
are O(1) whatever the matrix. The tracker sees every frame cropped with the target box and
regresses the landmarks in crop pixels divided by the crop side.

Augmentation (beyond the paper, all drawn from ``(seed, epoch, index)`` so a resumed run sees the
samples of an uninterrupted one): the localisation input is shifted by whole pixels, box with
it, so the network must find the heart rather than learn where the phantom puts it, and, for a
cohort pooled from sites that orient their images differently (``augment_dihedral``, off by
default), mirrored and turned by quarter turns (the eight orientations a square image keeps; its
box follows exactly); the tracker's box is moved and scaled by a few per cent, since at inference
it gets the localisation network's box, not the target.

Padded frames. The ``fov`` profile appends empty frames to a short series and marks the acquired
ones in the extra ``frame_acquired``; the tracker's samples carry it as a validity mask so the loss
ignores frames that hold no image.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from myoflow.io.shards import read_frame
from myoflow.methods.tagstrain.boxes import Box, BoxCrop, dihedral_image
from myoflow.methods.tagstrain.inputs import reference_record
from myoflow.methods.tagstrain.slices import (
    acquired_frames,
    landmarks_px,
    motion_image,
    tagged_series,
    target_box,
)
from myoflow.record import N_LANDMARKS, SliceRecord
from myoflow.samples import SampleRef


def _shift_image(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``image`` moved by whole pixels, zeros where it leaves the grid."""
    out = np.zeros_like(image)
    h, w = image.shape
    out[max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = image[
        max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
    ]
    return out


class _Slices(Dataset):
    """Samples of one slice each, read lazily, whose augmentation depends on the epoch."""

    def __init__(
        self, refs: Sequence[SampleRef], enlargement: float, seed: int, own_mask: bool = True
    ) -> None:
        self.refs = list(refs)
        self.enlargement = enlargement
        self.seed = seed
        self.epoch = 0
        #: False when the experiment's trackers started from a predicted mask (``mask:``): the
        #: target box then comes from the reference landmarks, so no drawn contour is learnt.
        self.own_mask = own_mask

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.refs)

    def record(self, index: int) -> SliceRecord:
        """Sample ``index``'s record, its landmarks the reference it learns (a tracker's when
        the experiment learns one; ``inputs.usable`` has kept only slices that have it)."""
        rec, reason = reference_record(self.refs[index])
        if reason is not None:
            raise rec.error(reason, "landmarks")
        return rec if self.own_mask else rec.replace(mask=None)


class RoiDataset(_Slices):
    """``(input [C, S, S], box corners [4] / S)`` float32 tensors per slice: the ED frame, and
    with ``motion_channel`` the series' ``motion_image``."""

    def __init__(
        self,
        refs: Sequence[SampleRef],
        enlargement: float,
        augment_shift: float = 0.0,
        seed: int = 0,
        augment_dihedral: bool = False,
        own_mask: bool = True,
        motion_channel: bool = False,
    ) -> None:
        super().__init__(refs, enlargement, seed, own_mask)
        self.augment_shift = augment_shift
        self.augment_dihedral = augment_dihedral
        self.motion_channel = motion_channel
        # the targets (and motion images) once, from one read of each record: an epoch then
        # reads each slice's ED frame alone (one chunk of the record, a twentieth of its tagged
        # series). The motion images stay in memory as float16: 128 KiB a 256 x 256 slice.
        self.targets: list[tuple[Box, int]] = []
        self.motion: list[np.ndarray] = []
        for index in range(len(self.refs)):
            rec = self.record(index)
            self.targets.append((target_box(rec, enlargement), rec.image_shape[1]))
            if motion_channel:
                self.motion.append(motion_image(rec).astype(np.float16))

    def mean_corners(self) -> np.ndarray:
        """The mean target box ``[4]`` over the samples, in the targets' unit (fractions of the
        field of view): where the localisation network starts (``RoiCNN.start_at``)."""
        total = np.zeros(4)
        for box, size in self.targets:
            total += box.corners / size
        return total / max(len(self.refs), 1)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        ref = self.refs[index]
        images = [read_frame(ref.shard, ref.key, "tagged", 0).astype(np.float32)]
        if self.motion_channel:
            images.append(self.motion[index].astype(np.float32))
        box, size = self.targets[index]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        if self.augment_dihedral:
            turns, mirror = int(rng.integers(4)), bool(rng.integers(2))
            images = [dihedral_image(image, turns, mirror) for image in images]
            box = box.dihedral(turns, mirror, size)
        if self.augment_shift > 0:
            reach = int(self.augment_shift * size)
            dy, dx = (int(v) for v in rng.integers(-reach, reach + 1, size=2))
            images = [_shift_image(image, dy, dx) for image in images]
            box = Box(box.x1 + dx, box.y1 + dy, box.x2 + dx, box.y2 + dy).clipped(images[0].shape)
        corners = box.corners / size
        return (
            torch.from_numpy(np.ascontiguousarray(np.stack(images))),
            torch.from_numpy(corners.astype(np.float32)),
        )


class TrackerDataset(_Slices):
    """``(crop [T, 1, C, C], landmarks [T, 2, 168] in crop pixels / C, acquired [T])`` per slice."""

    def __init__(
        self,
        refs: Sequence[SampleRef],
        enlargement: float,
        crop_size: int,
        box_jitter: float = 0.0,
        seed: int = 0,
        own_mask: bool = True,
    ) -> None:
        super().__init__(refs, enlargement, seed, own_mask)
        self.crop_size = crop_size
        self.box_jitter = box_jitter

    def jittered(self, box: Box, index: int) -> Box:
        """``box`` moved by up to ``box_jitter`` of its size and scaled by up to 1 +/- it."""
        if self.box_jitter <= 0:
            return box
        rng = np.random.default_rng([self.seed, self.epoch, index])
        move = rng.uniform(-self.box_jitter, self.box_jitter, size=2) * [box.width, box.height]
        scale = 1.0 + rng.uniform(-self.box_jitter, self.box_jitter)
        cx, cy = (box.x1 + box.x2) / 2 + move[0], (box.y1 + box.y2) / 2 + move[1]
        hw, hh = scale * box.width / 2, scale * box.height / 2
        return Box(cx - hw, cy - hh, cx + hw, cy + hh)

    def mean_landmarks(self) -> np.ndarray:
        """The mean ED landmarks ``[2, 168]`` over the samples, in the targets' unit (crop
        pixels / crop side, target box without jitter): where the tracker starts
        (``RNNCNN.start_at``). Reads every record once, crops no image."""
        total = np.zeros((2, N_LANDMARKS))
        for index in range(len(self.refs)):
            rec = self.record(index)
            crop = BoxCrop(target_box(rec, self.enlargement), self.crop_size, rec.pixel_spacing_mm)
            total += crop.to_crop(landmarks_px(rec)[0]) / self.crop_size
        return total / max(len(self.refs), 1)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        rec = self.record(index)
        box = self.jittered(target_box(rec, self.enlargement), index)
        crop = BoxCrop(box, self.crop_size, rec.pixel_spacing_mm)
        frames = crop.crop(tagged_series(rec))
        marks = crop.to_crop(landmarks_px(rec)) / self.crop_size
        return (
            torch.from_numpy(frames[:, None]),
            torch.from_numpy(marks.astype(np.float32)),
            torch.from_numpy(acquired_frames(rec)),
        )
