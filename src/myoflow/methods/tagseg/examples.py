"""The example frames of paper 001's Figs. 6-7: which frames to show, and reading exactly them.

Why apart from the drawing: :func:`pick_examples` chooses the frames at the quartiles of Dice
deterministically and :func:`load_examples` reads only those frames from the shards, so a rerun
shows the same cases and a report never loads a cohort for nine panels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from myoflow.io.frames import FrameShard
from myoflow.report.figures_common import require_columns

PathLike = str | Path
#: A frame of the truth shards: (cohort, subject, slice_id, frame).
FrameKey = tuple[str, str, str, int]
#: A frame of a model's prediction shards: (model, cohort, subject, slice_id, frame).
PredictionKey = tuple[str, str, str, str, int]
#: The paper's examples: the frames at the first quartile, median and third quartile of Dice.
QUANTILES = {"Q1": 0.25, "median": 0.5, "Q3": 0.75}
_FRAME_ID = ["cohort", "subject", "slice_id", "frame"]
EXAMPLE_COLUMNS = ["model", "quantile", *_FRAME_ID, "dice", "hd95_mm"]
#: Distances to a quantile closer than this are a tie (interpolation rounding).
_TIE = 1e-12


def pick_examples(
    segmentation: pd.DataFrame, models: Sequence[str], split: str = "test"
) -> pd.DataFrame:
    """Per model, the frames of ``split`` at the first quartile, median and third quartile of
    Dice (the paper's Q1, median and Q3 examples): the frame whose Dice is closest to each
    (linearly interpolated) quantile, ties to the first in table order. A model without a
    finite Dice on the split gets no rows. Columns :data:`EXAMPLE_COLUMNS`."""
    require_columns(
        segmentation, ["method", "split", *_FRAME_ID, "dice", "hd95_mm"], "pick_examples"
    )
    on_split = segmentation[segmentation["split"] == split]
    rows = []
    for model in dict.fromkeys(models):
        scored = on_split[on_split["method"] == model]
        scored = scored[np.isfinite(scored["dice"].to_numpy(float))]
        dice = scored["dice"].to_numpy(float)
        if dice.size == 0:
            continue
        for name, q in QUANTILES.items():
            distance = np.abs(dice - np.quantile(dice, q))
            pick = scored.iloc[int(np.flatnonzero(distance <= distance.min() + _TIE)[0])]
            rows.append(
                {
                    "model": model,
                    "quantile": name,
                    **{c: str(pick[c]) for c in ("cohort", "subject", "slice_id")},
                    "frame": int(pick["frame"]),
                    "dice": float(pick["dice"]),
                    "hd95_mm": float(pick["hd95_mm"]),
                }
            )
    return pd.DataFrame(rows, columns=EXAMPLE_COLUMNS)


def frame_key(row: pd.Series) -> FrameKey:
    """The :data:`FrameKey` of an example row, typed as the shards' keys are."""
    return str(row["cohort"]), str(row["subject"]), str(row["slice_id"]), int(row["frame"])


def _read_frames(
    path: PathLike, wanted: set[FrameKey]
) -> dict[FrameKey, tuple[np.ndarray | None, np.ndarray]]:
    """The ``wanted`` frames one shard holds, each as (tagged frame or None, mask): the slice
    found by key, then the record's cohort checked; the shard is opened once."""
    by_slice: dict[str, set[FrameKey]] = {}
    for key in wanted:
        by_slice.setdefault(f"{key[1]}/{key[2]}", set()).add(key)
    found: dict[FrameKey, tuple[np.ndarray | None, np.ndarray]] = {}
    with FrameShard(path) as shard:
        for rec in shard.records(sorted(set(shard.slice_keys()) & set(by_slice))):
            mask, tagged = rec.mask, rec.tagged
            for key in (k for k in by_slice[rec.key] if k[0] == rec.cohort):
                if mask is None or mask.shape[0] != rec.n_frames or key[3] >= rec.n_frames:
                    raise ValueError(f"{shard.path}: {rec.cohort}:{rec.key} has no mask of {key}")
                found[key] = (None if tagged is None else tagged[key[3]], mask[key[3]])
    return found


def _check_found(
    wanted: set[FrameKey], found: Mapping[tuple, np.ndarray], prefix: tuple[str, ...], where: str
) -> None:
    missing = sorted(key for key in wanted if (*prefix, *key) not in found)
    if missing:
        raise ValueError(f"load_examples: frames {missing} are in none of the {where}")


def load_examples(
    examples: pd.DataFrame,
    shards: Sequence[PathLike],
    predictions: Mapping[str, Sequence[PathLike]],
) -> tuple[dict[FrameKey, np.ndarray], dict[FrameKey, np.ndarray], dict[PredictionKey, np.ndarray]]:
    """Exactly the frames of ``examples`` (as :func:`pick_examples` returns): the tagged frame
    and reference mask from the truth ``shards`` by (cohort, subject, slice_id, frame), each
    model's predicted mask from its prediction shards by (model, cohort, ...). ValueError names
    the frames found nowhere, or a slice without a mask in every frame."""
    require_columns(examples, EXAMPLE_COLUMNS, "load_examples examples")
    wanted = {frame_key(row) for _, row in examples.iterrows()}
    images: dict[FrameKey, np.ndarray] = {}
    truths: dict[FrameKey, np.ndarray] = {}
    for path in shards:
        for key, (image, mask) in _read_frames(path, wanted).items():
            if image is None:
                raise ValueError(f"{path}: frame {key} has no tagged image")
            images[key], truths[key] = image, mask
    _check_found(wanted, images, (), "truth shards")
    predicted: dict[PredictionKey, np.ndarray] = {}
    for model, rows in examples.groupby("model", sort=False):
        of_model = {frame_key(row) for _, row in rows.iterrows()}
        for path in predictions.get(str(model), ()):
            for key, (_, mask) in _read_frames(path, of_model).items():
                predicted[(str(model), *key)] = mask
        _check_found(of_model, predicted, (str(model),), f"prediction shards of {model!r}")
    return images, truths, predicted
