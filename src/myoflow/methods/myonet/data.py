"""Training samples from preprocessed shards: cine in, scaled displacement out, ED myocardium mask.

Why a lazy HDF5 dataset: a cohort may hold far more slices than fit in memory, so the dataset
keeps only ``(shard, key)`` pairs (``myoflow.samples.SampleRef``, chosen by the subject-level
split) and reads one record per sample.

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

Shifts (``shift_px``, beyond the paper) move the whole sample by a whole number of pixels, as a
crop placed a little off the heart would: preprocessing centres every crop on the LV, so without
them a network can learn where in the crop the myocardium sits rather than how it moves, and
costs accuracy when a real scan's crop is off-centre (measured: test-time shifts of 2 px raised
MyoNet's EPE by 16 %, docs/myonet.md). The cine is padded by reflection, as the image would have
continued; the displacement and the mask by zeros, which the target's background already is.
Off by default: on the phantom's centred crops, shifts of up to 4 px raised the test EPE by 30 %
at 60 epochs.

With a tracker reference (``reference: harp`` or ``sinmod``) the target is not the record's own
displacement but the tracked one, read from the tracking shard named by the sample's ``target``
(``with_tracked`` matches them by cohort and ``subject/slice_id``); the cine and the ED mask still
come from the preprocessed record.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
from scipy import ndimage
from torch.utils.data import Dataset

from myoflow.errors import InputError
from myoflow.io.shards import read_record
from myoflow.methods.myonet.flips import flip_cine, flip_field
from myoflow.preprocess.scaling import clipped_fraction, to_network
from myoflow.samples import SampleRef, ed_mask


def shift(
    cine: np.ndarray, displacement: np.ndarray, mask: np.ndarray, dy: int, dx: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Move a sample by ``dy`` rows and ``dx`` columns, keeping its size: cine ``[T, H, W]``
    (padded by reflection), displacement ``[T, 2, H, W]`` mm and mask ``[H, W]`` (by zeros).

    A displacement is a difference of positions, so moving the grid moves its values without
    changing them."""
    h, w = mask.shape
    if max(abs(dy), abs(dx)) >= min(h, w):
        raise ValueError(f"shift ({dy}, {dx}) px does not fit a {h} x {w} crop")
    pad = ((max(dy, 0), max(-dy, 0)), (max(dx, 0), max(-dx, 0)))
    rows = slice(max(-dy, 0), max(-dy, 0) + h)
    cols = slice(max(-dx, 0), max(-dx, 0) + w)

    def moved(a: np.ndarray, mode: Literal["reflect", "constant"]) -> np.ndarray:
        padded = np.pad(a, ((0, 0),) * (a.ndim - 2) + pad, mode=mode)
        return np.ascontiguousarray(padded[..., rows, cols])

    return moved(cine, "reflect"), moved(displacement, "constant"), moved(mask, "constant")


def flip(
    cine: np.ndarray, displacement: np.ndarray, mask: np.ndarray, flip_x: bool, flip_y: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mirror a sample: cine ``[T, H, W]``, displacement ``[T, 2, H, W]`` mm, mask ``[H, W]``."""
    return (
        flip_cine(cine, flip_x, flip_y),
        flip_field(displacement, flip_x, flip_y),
        flip_cine(mask, flip_x, flip_y),
    )


class DisplacementDataset(Dataset):
    """``(cine [1, T, H, W], target [2, T, H, W], mask [1, 1, H, W])`` float32 tensors per slice.

    ``epoch`` must be set (``set_epoch``) before each epoch when ``augment`` or ``shift_px`` is
    on.
    """

    def __init__(
        self,
        refs: Sequence[SampleRef],
        max_displacement_mm: float,
        augment: bool = False,
        seed: int = 0,
        margin_px: int = 0,
        shift_px: int = 0,
    ) -> None:
        self.refs = list(refs)
        self.margin_px = margin_px
        self.shift_px = shift_px
        self.max_displacement_mm = float(max_displacement_mm)
        self.augment = augment
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.refs)

    def clipped_fraction(self) -> float:
        """Fraction of the target's components, inside the ED myocardium over every frame,
        beyond ``±max_displacement_mm`` and so clipped by ``to_network``.

        Why measure it here: a ``D`` chosen for one cohort (or one phantom preset) silently
        flattens the larger motion of another, and clipped targets teach the network less
        shortening and thickening than the reference holds (measured on the realistic rat
        preset: D = 1.5 mm clips 1.5 % of the myocardial values and alone biases ES Ecc by
        +0.008 and Err by -0.047). Reads every sample once, without augmentation (flips do not
        change magnitudes).
        """
        beyond = total = 0.0
        for index in range(len(self)):
            _, u, mask = self._sample(index)
            inside = int(mask.sum()) * u.shape[0] * u.shape[1]
            beyond += clipped_fraction(u, self.max_displacement_mm, mask) * inside
            total += inside
        return beyond / total if total else 0.0

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        cine, u, mask = self._sample(index)
        rng = np.random.default_rng([self.seed, self.epoch, index])
        if self.augment:
            fx, fy = rng.random(2) < 0.5
            cine, u, mask = flip(cine, u, mask, bool(fx), bool(fy))
        if self.shift_px:
            dy, dx = rng.integers(-self.shift_px, self.shift_px + 1, size=2)
            cine, u, mask = shift(cine, u, mask, int(dy), int(dx))
        support = (
            ndimage.binary_dilation(mask, iterations=self.margin_px) if self.margin_px else mask
        )
        target = to_network(u.astype(np.float32), self.max_displacement_mm, support[None])
        return (
            torch.from_numpy(np.ascontiguousarray(cine[None], dtype=np.float32)),
            torch.from_numpy(np.ascontiguousarray(np.moveaxis(target, 1, 0))),
            torch.from_numpy(mask[None, None].astype(np.float32)),
        )

    def _sample(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Cine ``[T, H, W]``, the reference displacement ``[T, 2, H, W]`` in mm and the ED
        mask ``[H, W]`` of one sample, checked; raises InputError naming the file."""
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
        return rec.cine, displacement, ed_mask(rec)
