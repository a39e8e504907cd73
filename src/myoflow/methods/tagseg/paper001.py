"""Paper 001's tables, composed from the merged evaluation and the models' training records.

Pure functions of tidy tables (``myoflow.tables.TAGSEG_SEGMENTATION``, ``TAGSEG_REALISM``,
``model.tsv`` and ``history.tsv`` rows), so each is tested on hand-built input:

* Table 2, the networks: trainable parameters beside the paper's, seconds per training epoch
  (the median epoch of the tagged training: an epoch's time depends on its data and device, so
  the device and the images per epoch are columns too) and inference milliseconds, mean and SD
  over 7 runs of a batch of one, measured where the model trained;
* Table 3, architecture x strategy: Dice and HD95 (mm), mean and SD over the frames of the
  train and test splits, beside the empty-mask baseline and each pretraining alone (what it
  segments before fine-tuning);
* Table 4, the shape-aware weight: the same columns per gamma and the paper's cumulative rank
  (the sum of each column's rank: Dice descending, HD95 ascending, on both splits);
* the realism of each cine -> tagged transform (beyond the paper).

HD95 has no value for a frame whose prediction is empty (no boundary, NaN by
``myoflow.metrics.segmentation``); its mean is over the frames that have one and ``empty``
counts the others, so a model that misses hearts cannot look good on HD95 alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from myoflow.methods.tagseg.settings import PAPER_PARAMETERS, finetuned

#: Table 3's splits, as its columns.
SPLITS = ("train", "test")
#: The paper's Table 2 (seconds per epoch on two TITAN RTX, inference ms mean and SD).
PAPER_TABLE2 = {
    "segresnetvae": {"seconds_per_epoch": 64.3, "inference_ms": (112.0, 28.7)},
    "dynunet": {"seconds_per_epoch": 163.2, "inference_ms": (661.0, 274.0)},
}


def table2_networks(
    infos: Mapping[str, pd.DataFrame], histories: Mapping[str, pd.DataFrame]
) -> pd.DataFrame:
    """One row per architecture from its first model trained on tagged frames."""
    rows = []
    seen: set[str] = set()
    for model, info in infos.items():
        row = info.iloc[0]
        arch = row.get("architecture")
        if row.get("kind") != "tagged" or arch in seen or not isinstance(arch, str):
            continue
        seen.add(arch)
        paper = PAPER_TABLE2[arch]
        rows.append(
            {
                "architecture": arch,
                "model": model,
                "parameters": int(row["parameters"]),
                "paper_parameters": PAPER_PARAMETERS[arch],
                "seconds_per_epoch": float(histories[model]["seconds"].median()),
                "images_per_epoch": int(row["train_samples"]),
                "paper_seconds_per_epoch": paper["seconds_per_epoch"],
                "inference_ms_mean": float(row["inference_ms_mean"]),
                "inference_ms_sd": float(row["inference_ms_sd"]),
                "paper_inference_ms": f"{paper['inference_ms'][0]:g} ± {paper['inference_ms'][1]:g}",
                "device": row["device"],
            }
        )
    return pd.DataFrame(rows)


def _summary(frames: pd.DataFrame) -> dict[str, float]:
    hd95 = frames["hd95_mm"].astype(float)
    return {
        "n": len(frames),
        "dsc_mean": float(frames["dice"].mean()),
        "dsc_sd": float(frames["dice"].std(ddof=1)) if len(frames) > 1 else np.nan,
        "hd95_mm_mean": float(hd95.mean()) if hd95.notna().any() else np.nan,
        "hd95_mm_sd": float(hd95.std(ddof=1)) if hd95.notna().sum() > 1 else np.nan,
        "empty": int((frames["n_pred"] == 0).sum()),
    }


def _wide(segmentation: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Mean/SD of Dice and HD95 per ``keys``, one column set per split of ``SPLITS``."""
    rows = []
    for values, frames in segmentation.groupby(list(keys), sort=False, dropna=False):
        row = dict(zip(keys, values if isinstance(values, tuple) else (values,), strict=True))
        for split in SPLITS:
            part = frames[frames["split"] == split]
            if part.empty:
                continue
            row.update({f"{k}_{split}": v for k, v in _summary(part).items()})
        rows.append(row)
    return pd.DataFrame(rows)


def table3_strategies(segmentation: pd.DataFrame, gamma: float) -> pd.DataFrame:
    """Architecture x strategy (the models named ``<architecture>_<strategy>``) at the
    experiment's ``gamma``; then the pretrainings alone and the empty-mask baseline."""
    table = segmentation.assign(gamma=segmentation["gamma"].astype(float))
    named = [
        finetuned(a, s) if isinstance(a, str) else None
        for a, s in zip(table["architecture"], table["strategy"], strict=True)
    ]
    main = table[
        (table["kind"] == "tagged")
        & (table["method"] == pd.Series(named, index=table.index))
        & np.isclose(table["gamma"].fillna(-1), gamma)
    ]
    parts = [main, *(table[table["kind"] == kind] for kind in ("pretrain", "baseline"))]
    ordered = pd.concat(parts, ignore_index=True)
    ordered = ordered.assign(
        architecture=ordered["architecture"].fillna("-"),
        strategy=ordered["strategy"].fillna("-"),
    )
    return _wide(ordered, ["kind", "architecture", "strategy", "method"])


def table4_gamma(segmentation: pd.DataFrame, models: Mapping[float, str]) -> pd.DataFrame:
    """Table 4: one row per shape-aware weight (``models``: gamma -> model), ranked."""
    rows = segmentation[segmentation["method"].isin(models.values())]
    by_model = {model: gamma for gamma, model in models.items()}
    table = _wide(rows.assign(gamma=rows["method"].map(by_model)), ["gamma", "method"])
    if table.empty:
        return table
    ranks = []
    for split in SPLITS:
        if f"dsc_mean_{split}" in table:
            # a model without a value (HD95 of empty predictions only) ranks last
            for column, ascending in (
                (f"dsc_mean_{split}", False),
                (f"hd95_mm_mean_{split}", True),
            ):
                ranks.append(
                    table[column].rank(ascending=ascending, method="min", na_option="bottom")
                )
    table["cumulative_rank"] = sum(ranks)
    table["rank"] = table["cumulative_rank"].rank(method="min").astype(int)
    return table.sort_values("gamma", ignore_index=True)


def realism_table(realism: pd.DataFrame) -> pd.DataFrame:
    """Per transform: SSIM around the heart (mean, SD) and the tags' period, angle and
    modulation (median over frames) of the pseudo-tagged and the true tagged frames."""
    rows = []
    for transform, frames in realism.groupby("transform", sort=False):
        row: dict[str, object] = {
            "transform": transform,
            "frames": len(frames),
            "ssim_heart_mean": float(frames["ssim_heart"].mean()),
            "ssim_heart_sd": float(frames["ssim_heart"].std(ddof=1)),
        }
        for quantity in ("spacing_mm", "angle_deg", "modulation"):
            for side in ("pseudo", "real"):
                column = f"{quantity}_{side}"
                row[f"{column}_median"] = float(frames[column].median())
        rows.append(row)
    return pd.DataFrame(rows)
