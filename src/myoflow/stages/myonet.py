"""The MyoNet / ResMyoNet rules (paper 000): train, predict, evaluate, tables, figures.

Each function is one Snakemake job; the scripts in scripts/ only parse arguments. torch is
imported inside the training and prediction functions, so the CPU-only jobs (evaluation, tables,
figures) start fast and run in the core environment.

``experiment`` is the resolved experiment of ``myoflow.experiment.myonet_settings`` (JSON
passed on the command line): its cohorts, reference, and settings with defaults filled in.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from myoflow.io.atomic import write_tsv
from myoflow.io.shards import read_record, read_shard, shard_keys, write_shard
from myoflow.io.tables import read_tsv
from myoflow.record import SliceRecord
from myoflow.tables import DISPLACEMENT_METRICS, STRAIN_CURVES, STRAIN_SUMMARY
from myoflow.train.data import SPLIT_NAMES, read_splits, split_of

log = logging.getLogger("myoflow.stages")

#: Resolutions of both networks (paper 000: five encoder and five decoder levels).
LEVELS = 5
#: The method name of the trivial zero-displacement baseline every accuracy is shown next to.
ZERO = "zero"
#: The method (and ``against``) name of the phantom's exact motion when it is not the reference.
TRUTH = "truth"


def net_signature(experiment: dict[str, Any], net: str) -> dict[str, Any]:
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


def evaluated_splits(experiment: dict[str, Any]) -> tuple[str, ...]:
    chosen = experiment["settings"]["evaluate_split"]
    return SPLIT_NAMES if chosen == "all" else (chosen,)


def _set_threads(threads: int | None) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)


def train_stage(
    experiment: dict[str, Any],
    net: str,
    shards: Sequence[str],
    splits: Sequence[str],
    out_dir: str | os.PathLike[str],
    device: str | None = None,
    threads: int | None = None,
    tracked: Sequence[str | os.PathLike[str]] = (),
) -> None:
    """Train one network on the experiment's training split, selecting on the validation split.

    With a tracker reference (``experiment["tracker"]``) the targets are the tracked
    displacements of ``tracked`` (the tracking shards of every cohort shard); a slice the tracker
    could not follow is left out, and named in the log.
    """
    import torch

    from myoflow.core.train.device import pick_device
    from myoflow.nets import build_net, count_parameters
    from myoflow.train.data import DisplacementDataset, select
    from myoflow.train.loop import TrainSettings, train

    _set_threads(threads)
    s = experiment["settings"]
    table = read_splits(splits)
    train_refs = select(shards, table, ["train"])
    val_refs = select(shards, table, ["val"])
    tracker = experiment.get("tracker")
    if tracker:
        train_refs, val_refs = _tracked_targets(experiment, tracked, train_refs, val_refs)
    elif tracked:
        raise ValueError(
            f"{len(tracked)} tracking shard(s) given, but the reference of experiment "
            f"{experiment['name']} is {experiment['reference']!r}, not a tracker"
        )
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
    train(
        model,
        net_signature(experiment, net),
        DisplacementDataset(
            train_refs,
            d,
            augment=bool(s["augment_flips"]),
            seed=int(s["seed"]),
            margin_px=int(s["target_margin_px"]),
        ),
        DisplacementDataset(val_refs, d, margin_px=int(s["target_margin_px"])),
        TrainSettings.from_settings(s),
        out_dir,
        pick_device(device),
    )


def _tracked_targets(
    experiment: dict[str, Any],
    tracked: Sequence[str | os.PathLike[str]],
    *refs: list[Any],
) -> list[list[Any]]:
    """Each list of SampleRefs with the tracked displacement as target; untracked slices left
    out with a warning naming them (see the tracking QC for why)."""
    from myoflow.train.data import tracked_index, with_tracked

    tracker = experiment["tracker"]
    if not tracked:
        raise ValueError(
            f"experiment {experiment['name']}: reference {tracker!r} needs the tracking shards"
        )
    index = tracked_index(tracked)
    out = []
    for split, group in zip(("training", "validation"), refs):
        kept, missing = with_tracked(group, index)
        if missing:
            log.warning(
                "%s: %d %s slice(s) have no %s displacement (not trackable, see the tracking "
                "QC) and are left out: %s",
                experiment["name"],
                len(missing),
                split,
                tracker,
                ", ".join(f"{r.cohort}:{r.key}" for r in missing),
            )
        out.append(kept)
    return out


def predict_stage(
    experiment: dict[str, Any],
    net: str,
    weights: str | os.PathLike[str],
    shard: str | os.PathLike[str],
    splits: str | os.PathLike[str],
    out: str | os.PathLike[str],
    device: str | None = None,
    threads: int | None = None,
) -> None:
    """Predict displacement in mm for the evaluated split of one shard; write a record shard.

    The output records carry the input's metadata and mask with the prediction as their
    displacement (no images), so every later stage reads predictions like any record.
    """
    import torch

    from myoflow.core.train.checkpoint import TrainingError, load_checkpoint
    from myoflow.core.train.device import pick_device
    from myoflow.nets import build_net
    from myoflow.preprocess.scaling import to_mm

    _set_threads(threads)
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

    def predicted() -> Any:
        for rec in read_shard(shard):
            if lookup.get((rec.cohort, rec.subject)) not in wanted:
                continue
            if rec.cine is None:
                raise rec.error("prediction needs a cine series")
            x = torch.from_numpy(np.ascontiguousarray(rec.cine[None, None], dtype=np.float32))
            with torch.inference_mode():
                v = model(x.to(dev))[0].float().cpu().numpy()
            u = to_mm(np.moveaxis(v, 0, 1), d).astype(np.float32)
            yield rec.replace(cine=None, tagged=None, landmarks=None, displacement=u)
            log.info("predicted %s", rec.key)

    keys = write_shard(out, predicted())
    log.info("%s: %d slice(s) predicted with %s", out, len(keys), net)


def read_predictions(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """``subject/slice_id -> predicted displacement [T, 2, H, W] mm`` of a prediction shard."""
    out = {}
    for rec in read_shard(path):
        if rec.displacement is None:
            raise ValueError(f"{path}: record {rec.key} holds no predicted displacement")
        out[rec.key] = rec.displacement
    return out


def _slice_columns(experiment: dict[str, Any], rec: SliceRecord, split: str) -> dict[str, Any]:
    return {
        "experiment": experiment["name"],
        "cohort": rec.cohort,
        "subject": rec.subject,
        "slice_id": rec.slice_id,
        "position": rec.position,
        "group": rec.group,
        "split": split,
    }


def evaluate_record(
    experiment: dict[str, Any],
    rec: SliceRecord,
    split: str,
    predictions: dict[str, np.ndarray],
    reference: np.ndarray | None = None,
    truth: np.ndarray | None = None,
) -> tuple[list[dict[str, Any]], list[pd.DataFrame], list[pd.DataFrame]]:
    """Metrics rows, strain curves and strain summaries of one slice for every method.

    The reference is ``reference`` (a tracked displacement) when given, else the record's own
    displacement. With ``truth`` (the phantom's exact motion, when it is not itself the
    reference) every network, the reference under the tracker's name and the zero baseline are
    also measured ``against: truth``, and the strain tables gain the method ``truth``.

    Every method's strain is taken at the reference's material points: the reference's ED mask,
    LV centroid, AHA segments and ES frame (the record's, else the reference's most negative
    global Ecc), so paired values describe the same tissue at the same time. The
    zero-displacement baseline gets metrics (its strain is zero by construction).
    """
    from myoflow.metrics.displacement import displacement_metrics
    from myoflow.strain.analysis import es_frame_of, slice_strain
    from myoflow.train.data import ed_mask

    if reference is None:
        if rec.displacement is None:
            raise rec.error("the reference displacement is missing", "displacement")
        reference = rec.displacement
    ref = reference.astype(np.float64)
    mask = ed_mask(rec)
    d = float(experiment["settings"]["max_displacement_mm"])
    ids = _slice_columns(experiment, rec, split)
    fields = {"reference": ref}
    if truth is not None:
        fields[TRUTH] = truth.astype(np.float64)
    fields.update({n: p.astype(np.float64) for n, p in predictions.items()})
    zero = np.zeros_like(ref)
    metrics = []
    for name, field in [*predictions.items(), (ZERO, zero)]:
        row = displacement_metrics(field, ref, mask, d)
        metrics.append({**ids, "method": name, "against": "reference", **row})
    if truth is not None:
        named = experiment.get("tracker") or "reference"
        for name, field in [*predictions.items(), (named, ref), (ZERO, zero)]:
            row = displacement_metrics(field, fields[TRUTH], mask, d)
            metrics.append({**ids, "method": name, "against": TRUTH, **row})
    curves, summaries = [], []
    es_frame = rec.es_frame
    for name, field in fields.items():  # the reference first: it fixes the ES frame of all
        c, s = slice_strain(
            field,
            mask,
            rec.pixel_spacing_mm,
            rec.position,
            rec.rv_insertion_mm,
            es_frame,
            rec.frame_times_ms,
        )
        if es_frame is None:
            es_frame = es_frame_of(c)
        curves.append(c.assign(**ids, method=name))
        summaries.append(s.assign(**ids, method=name))
    return metrics, curves, summaries


def evaluate_stage(
    experiment: dict[str, Any],
    shard: str | os.PathLike[str],
    splits: str | os.PathLike[str],
    predictions: Sequence[str | os.PathLike[str]],
    metrics_path: str | os.PathLike[str],
    curves_path: str | os.PathLike[str],
    summary_path: str | os.PathLike[str],
    tracked: Sequence[str | os.PathLike[str]] = (),
) -> None:
    """Evaluate one shard: displacement metrics and strain of the reference and each network.

    ``predictions`` holds one prediction shard per network, in ``settings.nets`` order. With
    ``reference: truth`` the reference is the phantom's exact motion. With a tracker reference
    ``tracked`` holds the shard's tracking shard: its displacement is the reference, a slice the
    tracker could not follow is left out (and named in the log), and on a phantom cohort every
    method is also measured against the exact motion (``evaluate_record``).
    """
    nets = list(experiment["settings"]["nets"])
    if len(predictions) != len(nets):
        raise ValueError(f"{len(predictions)} prediction shard(s) for {len(nets)} networks")
    tracker = experiment.get("tracker")
    if tracker and len(tracked) != 1:
        raise ValueError(f"reference {tracker!r} needs one tracking shard, got {len(tracked)}")
    if not tracker and tracked:
        raise ValueError(
            f"a tracking shard was given, but the reference is {experiment['reference']!r}"
        )
    references = read_predictions(tracked[0]) if tracker else {}
    lookup = split_of(read_splits([splits]))
    wanted = set(evaluated_splits(experiment))
    predicted = {net: read_predictions(p) for net, p in zip(nets, predictions)}
    metrics: list[dict[str, Any]] = []
    curves: list[pd.DataFrame] = []
    summaries: list[pd.DataFrame] = []
    untracked: list[str] = []
    for rec in read_shard(shard):
        split = lookup.get((rec.cohort, rec.subject))
        if split not in wanted:
            continue
        missing = [net for net in nets if rec.key not in predicted[net]]
        if missing:
            raise rec.error(f"no prediction of {missing} for this slice")
        reference, truth = None, None
        if tracker:
            if rec.key not in references:
                untracked.append(rec.key)
                continue
            reference = references[rec.key]
            if experiment["synthetic"].get(rec.cohort):
                truth = rec.displacement
        m, c, s = evaluate_record(
            experiment,
            rec,
            split,
            {net: predicted[net][rec.key] for net in nets},
            reference=reference,
            truth=truth,
        )
        metrics += m
        curves += c
        summaries += s
        log.info("evaluated %s", rec.key)
    if untracked:
        log.warning(
            "%s: %d evaluated slice(s) have no %s displacement (not trackable, see the tracking "
            "QC) and are not evaluated: %s",
            shard,
            len(untracked),
            tracker,
            ", ".join(untracked),
        )
    write_tsv(pd.DataFrame(metrics, columns=DISPLACEMENT_METRICS), metrics_path)
    write_tsv(_concat(curves, STRAIN_CURVES), curves_path)
    write_tsv(_concat(summaries, STRAIN_SUMMARY), summary_path)


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def _read(path: str | os.PathLike[str]) -> pd.DataFrame:
    return read_tsv(path)


def reference_group(experiment: dict[str, Any]) -> str | None:
    """The group the others are tested against: configured, else the first cohort's first."""
    chosen = experiment["settings"]["reference_group"]
    return chosen if chosen is not None else experiment["first_group"][experiment["cohorts"][0]]


def tables_stage(
    experiment: dict[str, Any],
    metrics_path: str | os.PathLike[str],
    summary_path: str | os.PathLike[str],
    histories: Sequence[str | os.PathLike[str]],
    models: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
) -> None:
    """Paper 000 Table 1, Table 2, the group-effect table and the timing table (TSV + Markdown).

    ``histories`` and ``models`` hold one file per network in ``settings.nets`` order.
    """
    from myoflow.report import paper000
    from myoflow.report.tables import write_table

    nets = list(experiment["settings"]["nets"])
    summary = _read(summary_path)
    metrics = _read(metrics_path)
    if summary.empty:
        raise ValueError(
            f"{summary_path}: no evaluated slice; the {experiment['settings']['evaluate_split']!r} "
            "split is empty (more subjects, or another evaluate_split)"
        )
    name = experiment["name"]
    reference = f"reference ({experiment['reference']})"
    with_truth = TRUTH in set(summary["method"])
    shown = f"{reference}{', truth' if with_truth else ''}"
    write_table(
        paper000.segment_table(summary),
        os.path.join(out_dir, "table1_segments"),
        f"{name}: end-systolic Green-Lagrange strain per AHA segment, {shown} and networks",
    )
    truth_note = (
        "; rows `against: truth` compare every method, the tracker included, with the phantom's "
        "exact motion"
        if with_truth
        else ""
    )
    write_table(
        paper000.agreement_table_rows(
            summary, metrics, reference_name=experiment.get("tracker") or paper000.REFERENCE
        ),
        os.path.join(out_dir, "table2_agreement"),
        f"{name}: displacement accuracy and strain agreement with the {reference}{truth_note}",
    )
    group = reference_group(experiment)
    if group is None:
        groups = pd.DataFrame(columns=["method", "strain", "group", "reference_group"])
    else:
        groups = paper000.group_table(summary, group)
    write_table(
        groups,
        os.path.join(out_dir, "group_effects"),
        f"{name}: group effects on global ES strain (Welch tests against {group})",
    )
    write_table(
        paper000.timing_table(
            {n: _read(p) for n, p in zip(nets, histories)},
            {n: _read(p) for n, p in zip(nets, models)},
        ),
        os.path.join(out_dir, "timing"),
        f"{name}: training time",
    )


def _figure_slice(
    experiment: dict[str, Any],
    summary: pd.DataFrame,
    references: Sequence[str | os.PathLike[str]],
    predictions: Sequence[str | os.PathLike[str]],
    tracked: Sequence[str | os.PathLike[str]] = (),
) -> tuple[SliceRecord, np.ndarray, dict[str, np.ndarray]]:
    """The first evaluated mid-ventricular slice (else the first evaluated one) of the first
    cohort, its reference displacement and the displacements compared with it.

    ``references`` holds the first cohort's preprocessed shards and ``tracked``, with a tracker
    reference, its tracking shards (same file names): the tracked displacement is then the
    reference, and on a phantom the exact motion is shown as ``truth`` beside the networks'
    predictions. The slice is chosen from
    the summary table and then read alone, so a large cohort's predictions are never loaded for
    one figure.
    """
    nets = list(experiment["settings"]["nets"])
    tracked_by_name = {Path(p).name: p for p in tracked}
    tracker = experiment.get("tracker")
    if tracker and not tracked_by_name:
        raise ValueError(f"reference {tracker!r}: no tracking shard given for Fig. 4")
    rows = summary[summary["cohort"] == experiment["cohorts"][0]]
    if rows.empty:
        raise ValueError("no evaluated slice to show in Fig. 4")
    mid = rows[rows["position"] == "mid"]
    first = (mid if len(mid) else rows).iloc[0]
    key = f"{first['subject']}/{first['slice_id']}"
    # .../predictions/<net>/<cohort>/shard-NNN.h5 pairs with .../preprocessed/crop/shard-NNN.h5
    predicted = {(Path(p).parents[1].name, Path(p).name): p for p in predictions}
    for path in references:
        if key in shard_keys(path):
            rec = read_record(path, key)
            fields = {net: read_record(predicted[net, Path(path).name], key) for net in nets}
            break
    else:
        raise ValueError(f"slice {key} is in no preprocessed shard of the first cohort")
    shown = {net: f.displacement for net, f in fields.items() if f.displacement is not None}
    reference = rec.displacement
    if tracker:
        reference = read_record(tracked_by_name[Path(path).name], key).displacement
    if reference is None or len(shown) != len(nets):
        raise ValueError(f"slice {key} lacks a reference or predicted displacement")
    if tracker and experiment["synthetic"].get(rec.cohort) and rec.displacement is not None:
        shown = {TRUTH: rec.displacement, **shown}
    return rec, reference, shown


def figures_stage(
    experiment: dict[str, Any],
    summary_path: str | os.PathLike[str],
    curves_path: str | os.PathLike[str],
    histories: Sequence[str | os.PathLike[str]],
    predictions: Sequence[str | os.PathLike[str]],
    references: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    tracked: Sequence[str | os.PathLike[str]] = (),
) -> None:
    """Paper 000 Figures 4-7, strain curves over the cycle and the AHA bullseye.

    ``predictions`` lists the prediction shards of the first cohort for every network (the
    network is the folder name); ``references`` that cohort's preprocessed shards; ``tracked``
    its tracking shards when a tracker is the reference.
    """
    from myoflow.report import figures, paper000
    from myoflow.train.data import ed_mask

    nets = list(experiment["settings"]["nets"])
    summary = _read(summary_path)
    rec, reference, fields = _figure_slice(experiment, summary, references, predictions, tracked)
    frame = rec.es_frame if rec.es_frame is not None else rec.n_frames // 2
    figures.fig_displacement(
        reference,
        fields,
        ed_mask(rec),
        frame,
        rec.pixel_spacing_mm,
        os.path.join(out_dir, "fig4_displacement"),
        title=f"{rec.cohort} {rec.subject} {rec.slice_id}, frame {frame}",
    )
    figures.fig_segments(summary, os.path.join(out_dir, "fig5_segments"))
    pairs = paper000.strain_pairs(summary)
    stats = paper000.agreement_rows(summary)
    stats = stats[stats["against"] == paper000.REFERENCE]
    figures.fig_bland_altman(pairs, stats, os.path.join(out_dir, "fig6_bland_altman"))
    figures.fig_training(
        {n: _read(p) for n, p in zip(nets, histories)}, os.path.join(out_dir, "fig7_training")
    )
    figures.fig_strain_curves(_read(curves_path), os.path.join(out_dir, "strain_curves"))
    figures.fig_bullseye(summary, os.path.join(out_dir, "bullseye"))
