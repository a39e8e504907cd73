#!/usr/bin/env python
"""Fully automatic tagged strain on the phantom: HARP and SinMod seeded by a paper 001 model's
predicted ED myocardium against the same trackers seeded by the drawn mask, both scored against
the exact motion.

Reads a finished ``bench_tagseg_accuracy.py`` run (``--workdir``): the tagged cohort's crop
profile (the trackers' LV crop, with the phantom's truth) and a segmentation model's prediction
of its test frames. Each test slice is tracked twice per tracker: from the drawn ED mask and from
the predicted one (``stages.tracking.predicted_ed_mask``: resampled from the 2-D frames' grid onto
the crop), neither with the record's landmarks, so both chains place their own landmarks from the
mask. Scores per slice (``tracking_validation.scoring.slice_metrics``): ES end-point error over
the true myocardium, ES global circumferential strain error (engineering, AHA from the
displacement) and mid-wall landmark Ecc error; printed as mean ± SD over the slices, with the
Dice of the predicted ED mask on the crop and the slices a chain could not track.

Usage: ``python benchmarks/bench_tagseg_chain.py --workdir DIR [--model segresnetvae_physics]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from myoflow.errors import InputError
from myoflow.io.frames import FrameShard
from myoflow.io.shards import read_shard
from myoflow.io.tables import read_tsv
from myoflow.methods.tracking_validation.scoring import slice_metrics
from myoflow.report.tables import markdown_table
from myoflow.stages.tracking import predicted_ed_mask
from myoflow.tracking.api import track_record

TRACKERS = ("harp", "sinmod")
SCORES = ("es_mean_px", "ecc_global_error", "ecc_midwall_error")


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", required=True, help="a bench_tagseg_accuracy.py run")
    parser.add_argument("--model", default="segresnetvae_physics", help="the mask model")
    parser.add_argument("--cohort", default="tagged")
    parser.add_argument("--experiment", default="acc")
    return parser.parse_args()


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return float(2 * (a & b).sum() / max(a.sum() + b.sum(), 1))


def main() -> None:
    args = _args()
    results = Path(args.workdir) / "results"
    splits = read_tsv(results / args.cohort / "splits.tsv")
    test = set(splits.loc[splits["split"] == "test", "subject"])
    crops = sorted((results / args.cohort / "preprocessed" / "crop").glob("shard-*.h5"))
    predicted = results / "experiments" / args.experiment / "predictions" / args.model
    rows = []
    for crop in crops:
        with FrameShard(predicted / args.cohort / crop.name) as predictions:
            for rec in read_shard(crop):
                if rec.subject not in test:
                    continue
                drawn = rec.replace(landmarks=None)
                try:
                    automatic = predicted_ed_mask(rec, predictions)
                    dice = _dice(automatic.mask[0] > 0, rec.mask[0] > 0)
                except InputError as error:
                    automatic, dice = None, float("nan")
                    print(f"{rec.key}: no predicted mask ({error.problem})")
                for mask, given in (("drawn", drawn), ("predicted", automatic)):
                    for tracker in TRACKERS:
                        row = {"subject": rec.subject, "slice": rec.slice_id, "mask": mask}
                        row.update(tracker=tracker, ed_mask_dice=dice)
                        try:
                            if given is None:
                                raise InputError("no predicted mask", rec.cohort, rec.subject)
                            result = track_record(given, tracker)
                            scores, _ = slice_metrics(rec, result.displacement, result.landmarks)
                            row.update({k: scores[k] for k in SCORES}, tracked=True)
                        except (InputError, ValueError) as error:
                            row.update(tracked=False, reason=str(error)[:80])
                        rows.append(row)
    table = pd.DataFrame(rows)
    summary = []
    for (tracker, mask), part in table.groupby(["tracker", "mask"], sort=True):
        done = part[part["tracked"]]
        line: dict[str, object] = {"tracker": tracker, "mask": mask, "slices": len(part)}
        line["not_tracked"] = int((~part["tracked"]).sum())
        for score in SCORES:
            values = done.get(score, pd.Series(dtype=float)).astype(float)
            line[f"{score}_mean"] = float(values.mean())
            line[f"{score}_sd"] = float(values.std(ddof=1)) if len(values) > 1 else np.nan
            if score != "es_mean_px":
                line[f"{score}_abs_mean"] = float(values.abs().mean())
        summary.append(line)
    dice = table.drop_duplicates(["subject", "slice"])["ed_mask_dice"]
    print(
        f"fully automatic chain on {table[['subject', 'slice']].drop_duplicates().shape[0]} test "
        f"slices of {args.workdir}: {args.model}'s ED mask on the tracker's crop, Dice "
        f"{dice.mean():.3f} ± {dice.std(ddof=1):.3f} (worst {dice.min():.3f}) against the drawn\n"
    )
    print(markdown_table(pd.DataFrame(summary)))


if __name__ == "__main__":
    main()
