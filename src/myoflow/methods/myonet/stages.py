"""MyoNet / ResMyoNet training and prediction (paper 000), called by the generic rules.

``myoflow.methods.myonet.method`` hands the generic train and predict jobs here. torch is
imported inside the functions, so the CPU-only jobs (evaluation in
``myoflow.methods.myonet.evaluate``, tables and figures in ``myoflow.methods.myonet.report``)
start fast and run in the core environment.

``experiment`` is the resolved experiment of ``myoflow.experiment.resolve`` (JSON passed on
the command line): its cohorts, reference, and MyoNet settings with defaults filled in.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from myoflow.io.shards import read_shard, write_shard
from myoflow.methods.myonet.flips import flip_cine, flip_field
from myoflow.samples import evaluated_splits, read_splits, split_of

log = logging.getLogger("myoflow.stages")

#: Resolutions of both networks (paper 000: five encoder and five decoder levels).
LEVELS = 5
#: Mirrorings ``(along x, along y)`` averaged at test time; the first is the cine as it is.
FLIPS = ((False, False), (True, False), (False, True), (True, True))


def net_signature(experiment: Mapping[str, Any], net: str) -> dict[str, Any]:
    """What a checkpoint must have been trained for to be usable by this experiment."""
    s = experiment["settings"]
    return {
        "net": net,
        "base_width": int(s["base_width"]),
        "levels": LEVELS,
        "in_channels": 1,
        "out_channels": 2,
        "max_displacement_mm": float(s["max_displacement_mm"]),
    }


def train_stage(
    experiment: Mapping[str, Any],
    net: str,
    shards: Sequence[str | os.PathLike[str]],
    splits: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    device: str | None = None,
    tracked: Sequence[str | os.PathLike[str]] = (),
) -> None:
    """Train one network on the experiment's training split, selecting on the validation split.

    With a tracker reference (``experiment["tracker"]``) the targets are the tracked
    displacements of ``tracked`` (the tracking shards of every cohort shard); a slice the tracker
    could not follow is left out, and named in the log.
    """
    import torch

    from myoflow.core.nets import build_net, count_parameters
    from myoflow.core.train.device import pick_device
    from myoflow.methods.myonet.data import DisplacementDataset
    from myoflow.methods.myonet.trainer import TrainSettings, clipping, train
    from myoflow.samples import select, tracked_targets

    s = experiment["settings"]
    table = read_splits(splits)
    train_refs = select(shards, table, ["train"])
    val_refs = select(shards, table, ["val"])
    train_refs, val_refs = tracked_targets(experiment, tracked, train_refs, val_refs)
    if not train_refs:
        raise ValueError(f"{experiment['name']}/{net}: no training slice")
    log.info(
        "%s/%s: %d training and %d validation slices",
        experiment["name"],
        net,
        len(train_refs),
        len(val_refs),
    )
    torch.manual_seed(int(s["seed"]))
    model = build_net(net, base_width=int(s["base_width"]), levels=LEVELS)
    log.info("%s: %d trainable parameters", net, count_parameters(model))
    d = float(s["max_displacement_mm"])
    train_data = DisplacementDataset(
        train_refs,
        d,
        augment=bool(s["augment_flips"]),
        seed=int(s["seed"]),
        margin_px=int(s["target_margin_px"]),
        shift_px=int(s["augment_shift_px"]),
    )
    train(
        model,
        net_signature(experiment, net),
        train_data,
        DisplacementDataset(val_refs, d, margin_px=int(s["target_margin_px"])),
        TrainSettings.from_settings(s),
        out_dir,
        pick_device(device),
        clipped_fraction=clipping(train_data, net),
    )


def predict_stage(
    experiment: Mapping[str, Any],
    net: str,
    weights: str | os.PathLike[str],
    shard: str | os.PathLike[str],
    splits: str | os.PathLike[str],
    out: str | os.PathLike[str],
    device: str | None = None,
) -> None:
    """Predict displacement in mm for the evaluated split of one shard; write a record shard.

    The output records carry the input's metadata and mask with the prediction as their
    displacement (no images), so every later stage reads predictions like any record.

    With ``test_time_flips`` (the default; beyond the paper) each cine is also predicted
    mirrored along x, y and both, each prediction is mirrored back (which negates the mirrored
    component, as in training's augmentation) and the four are averaged: the networks were
    trained on all four orientations, and their errors differ between them. Measured on the
    realistic rat benchmark (docs/myonet.md): EPE 0.202 -> 0.145 mm and ES Ecc bias +0.028 ->
    +0.012, because noise in the predicted gradients reads as less shortening in Green strain;
    the averaged field also shows the wall thickening the network under-reads (Err bias -0.004
    -> -0.110), which that noise had hidden.
    """
    import torch

    from myoflow.core.nets import build_net
    from myoflow.core.train.checkpoint import TrainingError, load_checkpoint
    from myoflow.core.train.device import pick_device
    from myoflow.preprocess.scaling import to_mm

    signature = net_signature(experiment, net)
    state = load_checkpoint(weights, signature)
    model = build_net(net, base_width=signature["base_width"], levels=LEVELS)
    try:
        model.load_state_dict(state["state_dict"])
    except RuntimeError as error:
        raise TrainingError(f"{weights}: weights do not fit network {net}: {error}") from error
    dev = pick_device(device)
    model.to(dev).eval()
    lookup = split_of(read_splits([splits]))
    wanted = set(evaluated_splits(experiment))
    d = signature["max_displacement_mm"]
    flips = FLIPS if experiment["settings"]["test_time_flips"] else FLIPS[:1]

    def predicted() -> Any:
        for rec in read_shard(shard):
            if lookup.get((rec.cohort, rec.subject)) not in wanted:
                continue
            if rec.cine is None:
                raise rec.error("prediction needs a cine series")
            views = np.stack([flip_cine(rec.cine, fx, fy) for fx, fy in flips])[:, None]
            x = torch.from_numpy(np.ascontiguousarray(views, dtype=np.float32))
            with torch.inference_mode():
                v = model(x.to(dev)).float().cpu().numpy()  # [views, 2, T, H, W]
            fields = [
                flip_field(to_mm(np.moveaxis(view, 0, 1), d), fx, fy)
                for view, (fx, fy) in zip(v, flips, strict=True)
            ]
            u = np.mean(fields, axis=0).astype(np.float32)
            yield rec.replace(cine=None, tagged=None, landmarks=None, displacement=u)
            log.info("predicted %s", rec.key)

    keys = write_shard(out, predicted())
    log.info("%s: %d slice(s) predicted with %s", out, len(keys), net)
