"""Paper 002's training and prediction jobs.

Training (``train_stage``): a model of Table I learns from the annotated ``stack3d`` volumes of
the training split of every cohort of the experiment and selects on the validation split
(``data.select_volumes``), with the paper's Adam, batch size and plateau schedule.

Prediction (``predict_stage``): the volumes of the evaluated split of one shard, each frame
segmented (``logits > 0``), written as a ``stack3d`` shard of the same subjects whose masks are
the prediction (``myoflow.io.volumes``); the evaluation maps them back onto the acquired slices.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from myoflow.core.train.checkpoint import load_checkpoint, unpack
from myoflow.core.train.device import pick_device
from myoflow.core.train.optim import OptimizerSpec, SchedulerSpec
from myoflow.core.train.spec import TrainConfig
from myoflow.io.volumes import SubjectVolumes, VolumeShard, write_volumes
from myoflow.methods.attmnet.data import StackVolumes, augmentation, select_volumes
from myoflow.methods.attmnet.trainer import VolumeTrainer, build_model, final_output, signature
from myoflow.methods.base import TrainingData
from myoflow.samples import evaluated_splits, read_splits, split_of

log = logging.getLogger("myoflow.stages")

PathLike = str | os.PathLike[str]
#: Plateau improvement threshold on the validation generalised Dice loss (section III.B).
MIN_DELTA = 1e-4


def train_stage(
    experiment: Mapping[str, Any],
    model: str,
    data: TrainingData,
    out_dir: PathLike,
    device: str | None = None,
) -> None:
    """Train ``model`` into ``out_dir`` (resumes after a kill)."""
    settings = experiment["settings"]
    splits = read_splits(data.splits)
    role = f"{model} of experiment {experiment['name']}"
    volumes = {s: select_volumes(data.shards, splits, (s,), role) for s in ("train", "val")}
    if not volumes["train"]:
        raise ValueError(f"{role}: the training split holds no annotated volume")
    dev = pick_device(device)
    seed = int(settings["seed"])
    config = TrainConfig(
        epochs=int(settings["epochs"]),
        batch_size=int(settings["batch_size"]),
        optimizer=OptimizerSpec("adam", float(settings["lr"])),
        scheduler=SchedulerSpec(
            "plateau", float(settings["factor"]), int(settings["patience"]), MIN_DELTA
        ),
        seed=seed,
        amp=dev.type == "cuda",
        channels_last="auto",
    )
    transform = None
    if settings["augment"]:
        transform = augmentation(
            int(settings["shift_px"]), float(settings["rotate_deg"]), float(settings["flip_p"])
        )
    trainer = VolumeTrainer(
        config,
        signature(model, float(settings["width"])),
        StackVolumes(volumes["train"], seed, transform),
        StackVolumes(volumes["val"], seed),
        out_dir,
        dev,
        model=model,
        width=float(settings["width"]),
        lambdas=tuple(settings["lambdas"]),
    )
    trainer.fit()


def predict_stage(
    experiment: Mapping[str, Any],
    model: str,
    weights: PathLike,
    shard: PathLike,
    splits: PathLike,
    out: PathLike,
    device: str | None = None,
) -> None:
    """Segment the evaluated split's volumes of one ``stack3d`` shard into a shard of the same
    layout whose masks are the prediction."""
    settings = experiment["settings"]
    width = float(settings["width"])
    dev = pick_device(device)
    state = load_checkpoint(weights, signature(model, width))
    net = build_model(model, width)
    net.load_state_dict(unpack(state, "state_dict", "state_dicts", ["net"], weights)["net"])
    net = net.to(dev).eval()
    split = split_of(read_splits([splits]))
    wanted = evaluated_splits(experiment)
    with VolumeShard(shard) as volumes:
        depth, size = int(volumes.depth), int(volumes.size)
        chosen = [
            name
            for name in volumes.subject_names()
            if split.get((volumes.meta(name)["cohort"], name)) in wanted
        ]
        written = write_volumes(out, _segmented(net, volumes.subjects(chosen), dev), depth, size)
    log.info("%s: %s segmented %d subject(s) of splits %s", out, model, len(written), list(wanted))


def _segmented(
    net: torch.nn.Module, subjects: Iterator[SubjectVolumes], device: torch.device
) -> Iterator[SubjectVolumes]:
    """Each subject with its every frame segmented, one volume per forward pass."""
    with torch.inference_mode():
        for vol in subjects:
            masks = []
            for image in vol.images:
                x = torch.from_numpy(image[None, None].astype(np.float32)).to(device)
                logits = final_output(net(x))
                masks.append((logits[0, 0] > 0).to(torch.uint8).cpu().numpy())
            yield replace(vol, masks=np.stack(masks))
