"""MyoNet / ResMyoNet evaluation (paper 000): displacement metrics and strain of every method.

A CPU-only job in the core environment (torch is not imported). ``experiment`` is the resolved
experiment of ``myoflow.experiment.resolve`` with MyoNet's settings.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from myoflow.io.shards import read_displacements, read_shard
from myoflow.record import SliceRecord
from myoflow.references import References
from myoflow.samples import evaluated_splits, read_splits, slice_columns, split_of
from myoflow.tables import DISPLACEMENT_METRICS, STRAIN_CURVES, STRAIN_SUMMARY, TRUTH, ZERO

log = logging.getLogger("myoflow.stages")


def evaluate_record(
    experiment: Mapping[str, Any],
    rec: SliceRecord,
    split: str,
    predictions: dict[str, np.ndarray],
    reference: np.ndarray,
    truth: np.ndarray | None = None,
) -> tuple[list[dict[str, Any]], list[pd.DataFrame], list[pd.DataFrame]]:
    """Metrics rows, strain curves and strain summaries of one slice for every method.

    ``reference`` is the slice's reference motion (``myoflow.references``). With ``truth`` (the phantom's exact motion, when it is not itself the
    reference) every network, the reference under the tracker's name and the zero baseline are
    also measured ``against: truth``, and the strain tables gain the method ``truth``.

    Every method's strain is taken at the reference's material points: the reference's ED mask,
    LV centroid, AHA segments and ES frame (the record's, else the reference's most negative
    global Ecc), so paired values describe the same tissue at the same time. The
    zero-displacement baseline gets metrics (its strain is zero by construction).
    """
    from myoflow.metrics.displacement import displacement_metrics
    from myoflow.samples import ed_mask
    from myoflow.strain.analysis import es_frame_of, slice_strain

    ref = reference.astype(np.float64)
    mask = ed_mask(rec)
    d = float(experiment["settings"]["max_displacement_mm"])
    ids = slice_columns(experiment, rec, split)
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
    experiment: Mapping[str, Any],
    shard: str | os.PathLike[str],
    splits: str | os.PathLike[str],
    predictions: Sequence[str | os.PathLike[str]],
    tracked: Sequence[str | os.PathLike[str]] = (),
) -> dict[str, pd.DataFrame]:
    """Evaluate one shard: the tables ``metrics`` (displacement accuracy), ``strain_curves`` and
    ``strain_summary`` of the reference and each network.

    ``predictions`` holds one prediction shard per network, in ``settings.nets`` order. With
    ``reference: truth`` the reference is the phantom's exact motion. With a tracker reference
    ``tracked`` holds the shard's tracking shard: its displacement is the reference, a slice the
    tracker could not follow is left out (and named in the log), and on a phantom cohort every
    method is also measured against the exact motion (``evaluate_record``).
    """
    nets = list(experiment["settings"]["nets"])
    references = References(experiment, tracked)
    lookup = split_of(read_splits([splits]))
    wanted = set(evaluated_splits(experiment))
    predicted = {net: read_displacements(p) for net, p in zip(nets, predictions, strict=True)}
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
        reference, truth = references.of(rec)
        if reference is None:
            untracked.append(rec.key)
            continue
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
            references.tracker,
            ", ".join(untracked),
        )
    return {
        "metrics": pd.DataFrame(metrics, columns=DISPLACEMENT_METRICS),
        "strain_curves": _concat(curves, STRAIN_CURVES),
        "strain_summary": _concat(summaries, STRAIN_SUMMARY),
    }


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]
