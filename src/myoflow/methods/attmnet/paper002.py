"""Paper 002's tables, composed from the merged evaluation and the models' training records.

Pure pandas on tidy tables (the evaluation's ``segmentation`` and ``volumes``, ``model.tsv``
rows), torch-free, so the report rule runs in the core environment and each table is tested on
hand-built input. The evaluation tables' columns and names live here for the same reason:
``evaluate`` writes them, this module and the report read them, and the report must not import
the evaluation's MONAI (torch).

* Table I (:func:`table1`): per model, trainable parameters beside the paper's and Dice,
  Jaccard, Hausdorff distance in voxels and mm, sensitivity, specificity, PPV and NPV, mean and
  SD over the volumes (subject x frame) of one split on one grid. The paper measured its
  96 x 96 x 36 interpolated volumes (``interpolated``, the default); four of every five of
  those planes are interpolated, not acquired, so the ``acquired`` grid (the slices as imaged)
  is the honest one and the Wilcoxon table carries both. The paper writes HD as "px (mm)" with
  mm = px x 0.1307, its in-plane pixel: ours in mm is the Euclidean distance on the anisotropic
  grid, so it is not px times a constant.
* The Wilcoxon rank-sum tests between the models (section III.C; :func:`wilcoxon_table`).
* The volumes a preclinical lab reads from the masks (:func:`volume_agreement`): each model's
  myocardial volume, mass, EDV, ESV and EF against the reference masks' (and, on the phantom,
  the myocardial volume against its analytic truth), by ``myoflow.stats.agreement``.

A Hausdorff distance has no value for an empty prediction (NaN by ``myoflow.metrics.
segmentation``): its mean is over the volumes that have one and ``empty_predictions`` counts the
others, so a model that misses hearts cannot look good on HD alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import combinations

import numpy as np
import pandas as pd

from myoflow.methods.attmnet.settings import ARCHITECTURE, MODELS, PAPER_PARAMETERS
from myoflow.stats.agreement import agreement
from myoflow.stats.ranksum import RANKSUM_COLUMNS, ranksum_tests
from myoflow.tables import REFERENCE, SEGMENTATION_COLUMNS, SUBJECT_ID, TRUTH

#: The trivial baseline scored beside the models: a volume with no myocardium.
EMPTY = "empty_mask"
#: The grids a volume is scored on: the network's interpolated volume, the acquired slices.
INTERPOLATED = "interpolated"
ACQUIRED = "acquired"
GRIDS = (INTERPOLATED, ACQUIRED)
#: A volume's place: subject, model (``method``), frame.
_FRAME = ["method", "frame", "time_ms", "is_ed", "is_es"]
#: The evaluation's ``segmentation`` table: one row per volume (subject x frame) x model x grid.
SEGMENTATION = [*SUBJECT_ID, "grid", *_FRAME, *SEGMENTATION_COLUMNS]
#: The evaluation's ``volumes`` table: one row per subject x frame x model (``reference``: the
#: reference masks); ``truth_myocardial_volume_ml``, ``edv_ml``, ``esv_ml`` and ``ef`` on the
#: ED row only (``evaluate`` says why).
VOLUMES = [
    *SUBJECT_ID,
    *_FRAME,
    "myocardial_volume_ml",
    "myocardial_mass_g",
    "cavity_volume_ml",
    "myocardium_slices",
    "open_slices",
    "truth_myocardial_volume_ml",
    "edv_ml",
    "esv_ml",
    "ef",
]

#: Table I's metrics, in its column order (HD in voxels with mm beside it).
TABLE1_METRICS = ("dice", "jaccard", "hd_px", "hd_mm", "sensitivity", "specificity", "ppv", "npv")
#: Table I's row names.
LABELS = {
    "unet2d": "2D U-net",
    "unet3d": "3D U-net",
    "deepmedic": "DeepMedic",
    "fcn3d": "3D FCN",
    "attmnet_nodist": "3D Att-Mnet (w/o distance loss)",
    "attmnet": "3D Att-Mnet (w/ distance loss)",
    EMPTY: "empty mask (baseline)",
}
#: The paper's Table I (its test split of 214 volumes), beside ours.
PAPER_TABLE1 = {
    "unet2d": (0.8677, 0.7675, 4.83, 0.6315, 0.8762, 0.9957, 0.8604, 0.9963),
    "unet3d": (0.8732, 0.7728, 4.62, 0.6037, 0.8975, 0.9951, 0.8475, 0.9969),
    "deepmedic": (0.8883, 0.7995, 4.59, 0.6003, 0.9109, 0.9812, 0.8693, 0.9877),
    "fcn3d": (0.8894, 0.8015, 4.32, 0.5641, 0.9212, 0.9867, 0.8636, 0.9927),
    "attmnet_nodist": (0.8953, 0.8111, 4.00, 0.5231, 0.9286, 0.9869, 0.8664, 0.9934),
    "attmnet": (0.9072, 0.8307, 3.18, 0.4150, 0.9249, 0.9891, 0.8913, 0.9927),
}

#: Volume quantities compared with the reference masks, and the frames each is paired on:
#: the myocardium at every frame both have (it is the same tissue all cycle), the mass and the
#: function at end-diastole (one value per subject, as a lab reports them).
AGREED = (
    ("myocardial_volume_ml", "all"),
    ("myocardial_mass_g", "ED"),
    ("edv_ml", "ED"),
    ("esv_ml", "ED"),
    ("ef", "ED"),
)
#: The phantom's analytic truth (ED), compared with every method's myocardial volume.
TRUTH_VOLUME = "truth_myocardial_volume_ml"
#: The statistics of ``myoflow.stats.agreement.agreement`` the agreement table shows.
AGREEMENT_SHOWN = (
    "n",
    "icc_a1",
    "icc_a1_ci_low",
    "icc_a1_ci_high",
    "icc_c1",
    "pearson_r",
    "ba_bias",
    "ba_sd",
    "ba_loa_low",
    "ba_loa_high",
)
AGREEMENT_COLUMNS = [
    "method",
    "quantity",
    "against",
    "frames",
    "n",
    "mean_method",
    "mean_against",
    *AGREEMENT_SHOWN[1:],
]
WILCOXON_COLUMNS = ["grid", "split", *RANKSUM_COLUMNS]
_PAIR_ON = ["cohort", "subject", "frame"]


def model_order(methods: Iterable[str]) -> list[str]:
    """Distinct ``methods`` in Table I's order: ``settings.MODELS``, then any other model
    alphabetically, the empty baseline last."""

    def rank(method: str) -> tuple[int, int, str]:
        if method in MODELS:
            return 0, MODELS.index(method), ""
        return (2 if method == EMPTY else 1), 0, method

    return sorted(set(methods), key=rank)


def _mean_sd(values: pd.Series) -> tuple[float, float]:
    """Mean and sample SD (ddof 1) of the finite values; NaN where there are too few."""
    finite = values.astype(float).dropna()
    mean = float(finite.mean()) if len(finite) else np.nan
    return mean, float(finite.std(ddof=1)) if len(finite) > 1 else np.nan


def table1(
    segmentation: pd.DataFrame,
    infos: Mapping[str, pd.DataFrame],
    grid: str = INTERPOLATED,
    split: str = "test",
) -> pd.DataFrame:
    """Table I: one row per model on ``grid`` and ``split`` (module docstring), in
    :func:`model_order`. ``infos``: each model's ``model.tsv`` (its ``parameters`` and
    ``width``); a model without one has no parameter count. ``hausdorff`` is the paper's
    "px (mm)" text of the two means; ``paper_*`` are the paper's values of the same model."""
    rows = segmentation[(segmentation["grid"] == grid) & (segmentation["split"] == split)]
    out = []
    for model in model_order(rows["method"]):
        volumes = rows[rows["method"] == model]
        info = infos[model].iloc[0] if model in infos else pd.Series(dtype=object)
        row: dict[str, object] = {
            "model": model,
            "label": LABELS.get(model, model),
            "grid": grid,
            "split": split,
            "volumes": len(volumes),
            "empty_predictions": int((volumes["n_pred"] == 0).sum()),
            "parameters": info.get("parameters", np.nan),
            "width": info.get("width", np.nan),
            "paper_parameters": PAPER_PARAMETERS.get(ARCHITECTURE.get(model, ""), np.nan),
        }
        summary = {metric: _mean_sd(volumes[metric]) for metric in TABLE1_METRICS}
        for metric, (mean, sd) in summary.items():
            row[f"{metric}_mean"], row[f"{metric}_sd"] = mean, sd
        px, mm = summary["hd_px"][0], summary["hd_mm"][0]
        row["hausdorff"] = f"{px:.2f} ({mm:.4f})" if np.isfinite([px, mm]).all() else None
        paper = PAPER_TABLE1.get(model, (np.nan,) * len(TABLE1_METRICS))
        row.update({f"paper_{m}": v for m, v in zip(TABLE1_METRICS, paper, strict=True)})
        out.append(row)
    table = pd.DataFrame(out)
    # counts stay integers beside a model without one
    return table.astype({"parameters": "Int64", "paper_parameters": "Int64"}) if out else table


def wilcoxon_table(
    segmentation: pd.DataFrame, metrics: Sequence[str] = TABLE1_METRICS, split: str = "test"
) -> pd.DataFrame:
    """Two-sided Wilcoxon rank-sum test of every pair of models (Table I's order) on each metric
    over the volumes of ``split``, per grid, Bonferroni-corrected per metric and grid
    (``myoflow.stats.ranksum``). The empty baseline is not tested: it loses every comparison
    by construction and would only enlarge the Bonferroni family."""
    parts = []
    for grid in GRIDS:
        rows = segmentation[(segmentation["grid"] == grid) & (segmentation["split"] == split)]
        models = [m for m in model_order(rows["method"]) if m != EMPTY]
        if len(models) < 2:
            continue
        tests = ranksum_tests(rows, metrics, by="method", pairs=list(combinations(models, 2)))
        parts.append(tests.assign(grid=grid, split=split)[WILCOXON_COLUMNS])
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=WILCOXON_COLUMNS)


def _agreement_row(
    method: str, quantity: str, against: str, frames: str, x: pd.Series, y: pd.Series
) -> dict[str, object]:
    complete = x.notna() & y.notna()
    stats = agreement(x.to_numpy(float), y.to_numpy(float))
    return {
        "method": method,
        "quantity": quantity,
        "against": against,
        "frames": frames,
        "mean_method": float(x[complete].mean()) if complete.any() else np.nan,
        "mean_against": float(y[complete].mean()) if complete.any() else np.nan,
        **{key: stats[key] for key in AGREEMENT_SHOWN},
    }


def volume_agreement(volumes: pd.DataFrame) -> pd.DataFrame:
    """Per model (Table I's order) and quantity of :data:`AGREED`: agreement with the
    reference masks' values of the same subject and frame (ICC, Bland-Altman bias and 95 %
    limits, ``n`` complete pairs); then every method's ED myocardial volume, the reference's
    included, against the phantom's truth where the table has one. Columns
    :data:`AGREEMENT_COLUMNS`; ``mean_*`` are over the complete pairs."""
    reference = volumes[volumes["method"] == REFERENCE]
    ed = volumes["is_ed"].astype(bool)
    rows = []
    for model in model_order(volumes.loc[volumes["method"] != REFERENCE, "method"]):
        own = volumes[volumes["method"] == model]
        for quantity, frames in AGREED:
            mine = own[ed[own.index]] if frames == "ED" else own
            paired = mine[[*_PAIR_ON, quantity]].merge(
                reference[[*_PAIR_ON, quantity]], on=_PAIR_ON, suffixes=("", "_reference")
            )
            rows.append(
                _agreement_row(
                    model,
                    quantity,
                    REFERENCE,
                    frames,
                    paired[quantity],
                    paired[f"{quantity}_reference"],
                )
            )
    truth = volumes[ed & volumes[TRUTH_VOLUME].notna()]
    for method in [REFERENCE, *model_order(truth.loc[truth["method"] != REFERENCE, "method"])]:
        own = truth[truth["method"] == method]
        if not own.empty:
            rows.append(
                _agreement_row(
                    method,
                    "myocardial_volume_ml",
                    TRUTH,
                    "ED",
                    own["myocardial_volume_ml"],
                    own[TRUTH_VOLUME],
                )
            )
    return pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)
