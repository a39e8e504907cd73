"""Paper 003's training and prediction jobs: build the networks from the settings, train one,
or run the fully automatic pipeline on one shard.

Prediction needs the tagged series alone: the localisation network boxes the heart on the ED
frame, every frame is cropped with that box and resampled, the tracker predicts the landmarks in
the crop, and ``BoxCrop.crop_to_mm`` maps them back to the field of view's millimetres. No mask,
landmark or RV insertion point of the record is read, so the same job runs on a cohort that has
none. Slices are processed in batches (``PREDICT_BATCH``), the way a 10^4-slice cohort is run.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from myoflow.core.train.checkpoint import load_checkpoint, load_weights
from myoflow.core.train.device import pick_device
from myoflow.io.shards import read_record, read_shard, write_shard
from myoflow.methods.tagstrain.boxes import Box, BoxCrop, box_of_points, crop_series
from myoflow.methods.tagstrain.data import RoiDataset, TrackerDataset
from myoflow.methods.tagstrain.evaluate import BOX_EXTRA, CROP_EXTRA
from myoflow.methods.tagstrain.inputs import problem, usable
from myoflow.methods.tagstrain.nets import RNNCNN, RoiCNN
from myoflow.methods.tagstrain.settings import ROI, TRACKER
from myoflow.methods.tagstrain.slices import USED, landmarks_px, roi_input, tagged_series
from myoflow.methods.tagstrain.trainer import (
    RoiTrainer,
    TrackerTrainer,
    roi_config,
    tracker_config,
)
from myoflow.record import SliceRecord
from myoflow.samples import evaluated_splits, read_splits, select, split_of, tracked_targets

log = logging.getLogger("myoflow.stages")

PathLike = str | os.PathLike[str]
#: Slices per forward pass at prediction (paper 003's throughput is quoted at batch 20).
PREDICT_BATCH = 20


def _shape(shards: Sequence[PathLike], refs: Sequence[Any]) -> tuple[int, int]:
    """``(frames, field-of-view side)`` of the training records (the ``fov`` profile makes
    them equal across a cohort)."""
    rec = read_record(refs[0].shard, refs[0].key) if refs else None
    if rec is None or rec.tagged is None:
        raise ValueError(f"no training record with a tagged series in {list(shards)}")
    return rec.n_frames, rec.tagged.shape[-1]


def roi_net(settings: Mapping[str, Any], image_size: int) -> tuple[RoiCNN, dict[str, Any]]:
    """The localisation CNN of the settings and the signature its checkpoints carry."""
    roi = settings["roi"]
    channels = 2 if roi["motion_channel"] else 1
    net = RoiCNN(
        image_size, tuple(roi["filters"]), roi["dense"], roi["dropout"], in_channels=channels
    )
    signature = {
        "net": ROI,
        "image_size": image_size,
        "filters": list(roi["filters"]),
        "dense": roi["dense"],
        "in_channels": channels,
    }
    return net, signature


def tracker_net(settings: Mapping[str, Any], frames: int) -> tuple[RNNCNN, dict[str, Any]]:
    """The RNN-CNN of the settings and the signature its checkpoints carry."""
    t = settings["tracker"]
    net = RNNCNN(t["crop_size"], frames, t["width"], t["dense"], t["lstm_units"], t["dropout"])
    signature = {
        "net": TRACKER,
        "crop_size": t["crop_size"],
        "width": t["width"],
        "dense": t["dense"],
        "lstm_units": t["lstm_units"],
    }
    return net, signature


def train_stage(
    experiment: Mapping[str, Any],
    model: str,
    shards: Sequence[PathLike],
    splits: Sequence[PathLike],
    out_dir: PathLike,
    device: str | None = None,
    tracked: Sequence[PathLike] = (),
) -> None:
    """Train ``roi`` or ``rnncnn`` on the training split, selecting on the validation split.

    With a tracker reference the landmarks learnt are the tracker's (``tracked``: the tracking
    shards of every cohort shard), mapped onto the field of view; a slice the tracker could not
    follow, or tracked at other phases, is left out and named in the log."""
    settings = experiment["settings"]
    table = read_splits(splits)
    train_refs, val_refs = tracked_targets(
        experiment, tracked, select(shards, table, ["train"]), select(shards, table, ["val"])
    )
    train_refs = usable(train_refs, need_landmarks=True)
    val_refs = usable(val_refs, need_landmarks=True)
    frames, size = _shape(shards, train_refs)
    seed = int(settings["seed"])
    dev = pick_device(device)
    torch.manual_seed(seed)
    # with a predicted mask (``mask:``) the boxes come from the tracker's landmarks
    own_mask = experiment.get("mask") is None
    if model == ROI:
        roi = settings["roi"]
        net, signature = roi_net(settings, size)
        train = RoiDataset(
            train_refs,
            roi["enlargement"],
            roi["augment_shift"],
            seed,
            roi["augment_dihedral"],
            own_mask=own_mask,
            motion_channel=roi["motion_channel"],
        )
        net.start_at(torch.from_numpy(train.mean_corners()).float())
        RoiTrainer(
            net,
            signature,
            train,
            RoiDataset(
                val_refs,
                roi["enlargement"],
                own_mask=own_mask,
                motion_channel=roi["motion_channel"],
            ),
            roi_config(roi, seed),
            out_dir,
            dev,
        ).fit()
        return
    t = settings["tracker"]
    enlargement = settings["roi"]["enlargement"]
    net, signature = tracker_net(settings, frames)
    train = TrackerDataset(
        train_refs, enlargement, t["crop_size"], t["box_jitter"], seed, own_mask=own_mask
    )
    net.start_at(torch.from_numpy(train.mean_landmarks()).float())
    TrackerTrainer(
        net,
        signature,
        train,
        TrackerDataset(val_refs, enlargement, t["crop_size"], own_mask=own_mask),
        tracker_config(t, seed),
        t["strain_weight"],
        out_dir,
        dev,
    ).fit()


def _load(
    net: torch.nn.Module, path: PathLike, signature: dict[str, Any], dev: torch.device
) -> Any:
    """``net`` with the weights of ``path`` (checked against ``signature``), for inference."""
    load_weights(
        {signature["net"]: net},
        {signature["net"]: load_checkpoint(path, signature)["state_dict"]},
        path,
    )
    return net.to(dev).eval()


def _batches(records: Iterator[SliceRecord], size: int) -> Iterator[list[SliceRecord]]:
    batch: list[SliceRecord] = []
    for rec in records:
        batch.append(rec)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def usable_box(corners: np.ndarray, size: int) -> Box:
    """A predicted box made usable: corners in order, inside the ``size`` x ``size`` image, at
    least 2 pixels each way. A network may predict swapped corners or a box off the image; the
    slice is still cropped (and its landmarks scored) rather than stopping the job."""
    lo, hi = -0.5, size - 0.5
    edges = []
    for a, b in ((corners[0], corners[2]), (corners[1], corners[3])):
        first = min(max(min(a, b), lo), hi - 2.0)
        edges.append((first, min(max(max(a, b), first + 2.0), hi)))
    (x1, x2), (y1, y2) = edges
    return Box(x1, y1, x2, y2)


class Pipeline:
    """The fully automatic inference of paper 003 on batches of records: localise, crop, track,
    map back. ``tracker`` None stops after localisation. ``refine`` (beyond the paper): crop
    again around the tracked ED landmarks' extent, enlarged by ``enlargement`` like the
    localisation target, and track again, that many times."""

    def __init__(
        self,
        roi: RoiCNN,
        tracker: RNNCNN | None,
        crop_size: int,
        dev: torch.device,
        refine: int = 0,
        enlargement: float = 0.6,
    ):
        # channels_last weights: the 2-D convolutions of both networks run about 1.6 times
        # faster on the CPU (inputs of one channel are laid out alike either way)
        self.roi = roi.to(memory_format=torch.channels_last)
        self.tracker = None if tracker is None else tracker.to(memory_format=torch.channels_last)
        self.crop_size, self.dev = crop_size, dev
        self.refine, self.enlargement = refine, enlargement

    @torch.no_grad()
    def boxes(self, records: Sequence[SliceRecord]) -> list[Box]:
        """The predicted ED box of each record's tagged series, inside its image."""
        motion = self.roi.in_channels == 2
        x = np.stack([roi_input(rec, motion) for rec in records])
        corners = self.roi(torch.from_numpy(x).to(self.dev)).cpu().numpy().astype(np.float64)
        size = x.shape[-1]
        return [usable_box(c, size) for c in corners * size]

    @torch.no_grad()
    def landmarks(
        self, series: Sequence[np.ndarray], boxes: Sequence[Box], spacing: Sequence[Any]
    ) -> list[np.ndarray]:
        """Landmarks ``[T, 2, 168]`` in the field of view's mm of each series."""
        if self.tracker is None:
            raise ValueError("this pipeline localises only: it has no tracker")
        crops = [BoxCrop(b, self.crop_size, tuple(s)) for b, s in zip(boxes, spacing)]
        x = crop_series(crops, series)[:, :, None]
        out = self.tracker(torch.from_numpy(x).to(self.dev)).cpu().numpy().astype(np.float64)
        return [c.crop_to_mm(o * self.crop_size) for c, o in zip(crops, out)]

    def refined(self, rec: SliceRecord, landmarks_mm: np.ndarray) -> Box:
        """The box of the tracked ED landmarks of ``rec`` (``landmarks_mm`` ``[T, 2, 168]``),
        enlarged like the target, inside its image."""
        ed_px = landmarks_px(rec.replace(landmarks=landmarks_mm))[0]
        return usable_box(box_of_points(ed_px, self.enlargement).corners, rec.image_shape[1])

    def run(self, batch: Sequence[SliceRecord]) -> list[SliceRecord]:
        """Prediction records: the localisation network's box as the extra ``roi_box`` and,
        with a tracker, the landmarks and the box of the crop they were tracked in
        (``crop_box``: the same box, or the last refined one); no image is copied."""
        series = [tagged_series(rec) for rec in batch]
        boxes = self.boxes(batch)
        extras = [{BOX_EXTRA: box.corners} for box in boxes]
        marks: list[np.ndarray | None] = [None] * len(batch)
        if self.tracker is not None:
            spacing = [r.pixel_spacing_mm for r in batch]
            crops = boxes
            tracked = self.landmarks(series, crops, spacing)
            for _ in range(self.refine):
                crops = [self.refined(rec, m) for rec, m in zip(batch, tracked)]
                tracked = self.landmarks(series, crops, spacing)
            marks = list(tracked)
            for extra, crop in zip(extras, crops):
                extra[CROP_EXTRA] = crop.corners
        return [
            rec.replace(
                cine=None,
                tagged=None,
                mask=None,
                displacement=None,
                landmarks=None if m is None else m.astype(np.float32),
                extras=extra,
            )
            for rec, extra, m in zip(batch, extras, marks)
        ]


def predict_stage(
    experiment: Mapping[str, Any],
    roi_weights: PathLike,
    tracker_weights: PathLike | None,
    shard: PathLike,
    splits: PathLike,
    out: PathLike,
    device: str | None = None,
) -> None:
    """Boxes (and, with ``tracker_weights``, landmarks) of the evaluated split of one shard."""
    settings = experiment["settings"]
    dev = pick_device(device)
    lookup = split_of(read_splits([splits]))
    wanted = set(evaluated_splits(experiment))
    records = (
        r
        for r in read_shard(shard, only=USED)
        if lookup.get((r.cohort, r.subject)) in wanted and _predictable(r)
    )
    first = next(records, None)
    if first is None:
        write_shard(out, [])
        return
    series = tagged_series(first)
    roi, roi_sig = roi_net(settings, series.shape[-1])
    tracker = None
    if tracker_weights is not None:
        tracker, tracker_sig = tracker_net(settings, series.shape[0])
        tracker = _load(tracker, tracker_weights, tracker_sig, dev)
    pipeline = Pipeline(
        _load(roi, roi_weights, roi_sig, dev),
        tracker,
        settings["tracker"]["crop_size"],
        dev,
        settings["tracker"]["refine"],
        settings["roi"]["enlargement"],
    )

    def predicted() -> Iterator[SliceRecord]:
        for batch in _batches(_chain(first, records), PREDICT_BATCH):
            yield from pipeline.run(batch)

    keys = write_shard(out, predicted())
    log.info("%s: %d slice(s) predicted", out, len(keys))


def _predictable(rec: SliceRecord) -> bool:
    """Whether the pipeline can run on ``rec``; a refusal is logged (the evaluation's QC table
    lists it with the reason)."""
    reason = problem(rec, need_landmarks=False)
    if reason is not None:
        log.warning("%s %s: not predicted: %s", rec.cohort, rec.key, reason)
    return reason is None


def _chain(first: SliceRecord, rest: Iterator[SliceRecord]) -> Iterator[SliceRecord]:
    yield first
    yield from rest
