"""Paper 001's training and prediction jobs: which frames each model learns from, and what it
predicts.

Training (``train_stage``) follows the model's plan entry (``settings.model_plan``): the CycleGAN
learns from the unlabelled cine of the pretraining cohorts and the tagged frames of the
unlabelled cohorts (training split, masks unused); a pretraining from the annotated cine of the
pretraining cohorts, made tagged by its source; a tagged model from the annotated tagged frames of
the tagged cohorts, starting from its pretraining's ``best.pt`` (the core's ``init_from``, which
refuses a checkpoint of another architecture or size by its signature). Every model selects on the
validation split of the same cohorts.

Prediction (``predict_stage``) writes a ``frames2d`` shard of the evaluated slices: a segmenter's
with its arg-max mask in every frame of the tagged cohorts' slices (the tagged frame segmented;
a pretraining-only cohort's shard gets an empty prediction), the CycleGAN's with each cine
frame's translation as the tagged series (what the evaluation compares with the true tagged
frame on the phantom).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from myoflow.core.train.checkpoint import load_checkpoint, unpack
from myoflow.core.train.device import pick_device
from myoflow.core.train.optim import OptimizerSpec, SchedulerSpec
from myoflow.core.train.spec import TrainConfig
from myoflow.io.frames import FrameShard, write_frames
from myoflow.methods.base import TrainingData
from myoflow.methods.tagseg import cyclegan as cg
from myoflow.methods.tagseg.data import (
    SegmentationFrames,
    UnpairedFrames,
    normalise,
    select_frames,
)
from myoflow.methods.tagseg.nets import segmentation_logits
from myoflow.methods.tagseg.pseudotag import PseudoTagSettings
from myoflow.methods.tagseg.settings import CYCLEGAN, ModelSpec, model_plan
from myoflow.methods.tagseg.trainer import (
    CycleGanTrainer,
    SegmentationTrainer,
    build_net,
    cyclegan_signature,
    load_translator,
    net_signature,
)
from myoflow.record import SliceRecord
from myoflow.samples import SPLIT_NAMES, read_splits, split_of

log = logging.getLogger("myoflow.stages")

PathLike = str | os.PathLike[str]
#: Frames predicted per forward pass.
BATCH = 16


def evaluated_splits(experiment: Mapping[str, Any]) -> tuple[str, ...]:
    """``evaluate_split``: ``auto`` is train and test (Table 3's two columns), or every split
    when the experiment applies models trained elsewhere (no subject of its cohorts trained)."""
    chosen = experiment["settings"]["evaluate_split"]
    if chosen == "auto":
        applied = experiment.get("trained_by") or experiment.get("models_path")
        return SPLIT_NAMES if applied else ("train", "test")
    return SPLIT_NAMES if chosen == "all" else (chosen,)


def check_size(shards: Sequence[PathLike], size: int, experiment: Mapping[str, Any]) -> None:
    """Every shard's frames on the networks' ``size`` grid, else an error naming the shard."""
    for shard in shards:
        with FrameShard(shard) as frames:
            if frames.size != size:
                raise ValueError(
                    f"{os.fspath(shard)}: frames of {frames.size} x {frames.size} pixels, but the "
                    f"networks of experiment {experiment['name']} take {size} x {size} "
                    "(set the cohort's preprocess.frames2d.size to match)"
                )


def train_stage(
    experiment: Mapping[str, Any],
    model: str,
    data: TrainingData,
    out_dir: PathLike,
    device: str | None = None,
) -> None:
    """Train ``model`` of the experiment's plan into ``out_dir`` (resumes after a kill)."""
    settings = experiment["settings"]
    spec = model_plan(settings)[model]
    size = int(settings["image_size"])
    check_size(data.shards, size, experiment)
    splits = read_splits(data.splits)
    dev = pick_device(device)
    if spec.kind == "cyclegan":
        _train_cyclegan(settings, data.shards, splits, out_dir, dev, size)
        return
    pretrain = spec.kind == "pretrain"
    cohorts = settings["pretrain_cohorts" if pretrain else "tagged_cohorts"]
    series = "cine" if pretrain else "tagged"
    source = spec.source if pretrain else "tagged"
    role = f"{model} ({'pretraining on cine' if pretrain else 'training on tagged frames'})"
    frames = {
        split: select_frames(data.shards, splits, cohorts, (split,), series, True, role)
        for split in ("train", "val")
    }
    if not frames["train"]:
        raise ValueError(f"{role}: cohorts {cohorts} have no {series} frames in the training split")
    options = settings["pretrain" if pretrain else "finetune"]
    config = TrainConfig(
        epochs=int(options["epochs"]),
        batch_size=int(options["batch_size"]),
        optimizer=OptimizerSpec("adam", float(options["lr"])),
        scheduler=SchedulerSpec("plateau", float(options["factor"]), int(options["patience"])),
        seed=int(settings["seed"]),
        amp=dev.type == "cuda",
        init_from=None if spec.start is None else os.fspath(data.needs[spec.start]),
    )
    physics = PseudoTagSettings(**settings["physics"])
    translator = None
    if source == CYCLEGAN:
        translator = load_translator(os.fspath(data.needs[CYCLEGAN]), settings, size)
    datasets = [
        SegmentationFrames(
            frames[s],
            source,
            size,
            bool(settings["augment"]) and s == "train",
            int(settings["seed"]),
            physics,
        )
        for s in ("train", "val")
    ]
    trainer = SegmentationTrainer(
        config,
        net_signature(str(spec.architecture), float(settings["width"]), size),
        datasets[0],
        datasets[1],
        out_dir,
        dev,
        architecture=str(spec.architecture),
        width=float(settings["width"]),
        image_size=size,
        gamma=float(spec.gamma if spec.gamma is not None else settings["gamma"]),
        k=float(settings["k"]),
        translator=translator,
        info=_info(spec),
    )
    trainer.fit()


def _info(spec: ModelSpec) -> dict[str, Any]:
    """The plan's columns of ``model.tsv``: what the model is in the paper's terms."""
    return {
        "kind": spec.kind,
        "source": spec.source,
        "strategy": spec.strategy,
        "gamma": spec.gamma,
        "starts_from": spec.start,
    }


def _train_cyclegan(
    settings: Mapping[str, Any],
    shards: Sequence[PathLike],
    splits: Any,
    out_dir: PathLike,
    device: torch.device,
    size: int,
) -> None:
    c = settings["cyclegan"]
    role = "cyclegan"
    pick = {
        split: (
            select_frames(
                shards, splits, settings["pretrain_cohorts"], (split,), "cine", False, role
            ),
            select_frames(
                shards, splits, settings["unlabelled_cohorts"], (split,), "tagged", False, role
            ),
        )
        for split in ("train", "val")
    }
    seed = int(settings["seed"])
    train = UnpairedFrames(*pick["train"], seed, int(c["frames_per_epoch"]))
    val_cine, val_tagged = pick["val"]
    val: Any = UnpairedFrames(val_cine, val_tagged, seed) if val_cine and val_tagged else []
    config = TrainConfig(epochs=int(c["epochs"]), batch_size=int(c["batch_size"]), seed=seed)
    trainer = CycleGanTrainer(
        config,
        cyclegan_signature(dict(settings), size),
        train,
        val,
        out_dir,
        device,
        settings=dict(settings),
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
    """Predict the evaluated split of one shard with ``model`` into a ``frames2d`` shard."""
    settings = experiment["settings"]
    spec = model_plan(settings)[model]
    size = int(settings["image_size"])
    check_size([shard], size, experiment)
    dev = pick_device(device)
    split = split_of(read_splits([splits]))
    wanted = evaluated_splits(experiment)
    if spec.kind == "cyclegan":
        translator = load_translator(os.fspath(weights), dict(settings), size).to(dev)
        predict = _translate(translator, dev)
    else:
        signature = net_signature(str(spec.architecture), float(settings["width"]), size)
        state = load_checkpoint(weights, signature)
        net = build_net(str(spec.architecture), float(settings["width"]), size)
        net.load_state_dict(unpack(state, "state_dict", "state_dicts", ["net"], weights)["net"])
        predict = _segment(net.to(dev).eval(), dev)
    # a segmenter segments the tagged cohorts' frames; the CycleGAN translates any cine
    cohorts = None if spec.kind == "cyclegan" else set(settings["tagged_cohorts"])
    with FrameShard(shard) as frames:
        chosen = [
            key
            for key in frames.slice_keys()
            if _split(frames.meta(key), split) in wanted
            and (cohorts is None or frames.meta(key)["cohort"] in cohorts)
        ]
        records = (predict(rec) for rec in frames.records(chosen))
        keys = write_frames(out, (r for r in records if r is not None), size)
    log.info("%s: %s predicted %d slice(s) of splits %s", out, model, len(keys), list(wanted))


def _split(meta: Mapping[str, Any], split: Mapping[tuple[str, str], str]) -> str | None:
    return split.get((meta["cohort"], meta["subject"]))


def _batches(images: np.ndarray) -> Iterator[np.ndarray]:
    for start in range(0, len(images), BATCH):
        yield images[start : start + BATCH]


def _segment(net: torch.nn.Module, device: torch.device) -> Any:
    """A record's tagged frames -> the record with the predicted myocardium in every frame."""

    @torch.inference_mode()
    def predict(rec: SliceRecord) -> SliceRecord | None:
        if rec.tagged is None:
            return None
        masks = []
        for images in _batches(rec.tagged):
            x = normalise(torch.from_numpy(images[:, None].astype(np.float32))).to(device)
            logits = segmentation_logits(net, net(x))
            masks.append((logits.argmax(dim=1) == 1).to(torch.uint8).cpu().numpy())
        return rec.replace(mask=np.concatenate(masks))

    return predict


def _translate(generator: torch.nn.Module, device: torch.device) -> Any:
    """A record's cine frames -> the record whose tagged series is their translation."""

    @torch.inference_mode()
    def predict(rec: SliceRecord) -> SliceRecord | None:
        if rec.cine is None:
            return None
        out = []
        for images in _batches(rec.cine):
            x = torch.from_numpy(images[:, None].astype(np.float32)).to(device)
            y = cg.from_tanh(generator(cg.to_tanh(x))).clamp(0, 1)
            out.append(y[:, 0].cpu().numpy())
        return rec.replace(tagged=np.concatenate(out))

    return predict
