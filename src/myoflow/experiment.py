"""Experiments: resolved settings of one method run on one or more cohorts.

Kept free of torch so that Snakemake's parse step (which resolves every experiment) stays fast.
The defaults here are the documented ones (docs/myonet.md, config schema); a test keeps them in
step with the schema.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Collection, Mapping
from typing import Any

from myoflow.config import preprocess_options
from myoflow.errors import ConfigError
from myoflow.registry import NETS, TRACKERS

#: MyoNet / ResMyoNet settings (paper 000, sections 2.4-2.5); config.yaml may override any key.
MYONET_DEFAULTS: dict[str, Any] = {
    "nets": ["myonet", "resmyonet"],
    "base_width": 16,
    "epochs": 100,
    "batch_size": 4,
    "lr": 1e-3,
    "optimizer": "rmsprop",
    # Paper 000 names the three terms but not their weights. Weighting the myocardium term 10x
    # was measured on the phantom (benchmarks/bench_myonet_accuracy.py, ResMyoNet, 60 epochs):
    # Ecc bias +0.019 -> +0.011, ICC(A,1) 0.36 -> 0.68, EPE 0.105 -> 0.087 mm.
    "loss": {"mse": 1.0, "smooth_l1": 1.0, "myocardium": 10.0},
    "augment_flips": True,
    "target_margin_px": 2,
    "seed": 0,
    "compile": "auto",
    "channels_last": "auto",
    "evaluate_split": "test",
    "reference_group": None,
    "max_displacement_mm": None,
}


def myonet_settings(
    config: dict[str, Any],
    name: str,
    series: Mapping[str, Collection[str]] | None = None,
) -> dict[str, Any]:
    """The experiment's settings with defaults, its cohorts, reference and displacement scale.

    One scale D serves every cohort of the experiment (the network has one output range): the
    experiment's own ``max_displacement_mm`` or else the largest of its cohorts' values.

    ``tracker`` is the tagged-image tracker that computes the reference (``reference: harp`` or
    ``sinmod``), else None. A tracker needs tagged series: an ACDC cohort (cine only) is refused,
    and so is a manifest cohort whose manifest lists none, when ``series`` (cohort -> the image
    series its manifest provides, ``myoflow.config.cohort_plan``) says so.
    """
    exp = config["experiments"][name]
    settings = copy.deepcopy(MYONET_DEFAULTS)
    given = copy.deepcopy(exp.get("settings", {}))
    settings["loss"].update(given.pop("loss", {}))
    settings.update(given)
    unknown = [n for n in settings["nets"] if n not in NETS]
    if unknown:
        raise ConfigError(
            f"config.experiments.{name}.settings.nets: unknown network(s) {unknown}; "
            f"choose from {list(NETS)}"
        )
    tracker = exp["reference"] if exp["reference"] in TRACKERS else None
    if tracker is not None:
        untagged = [c for c in exp["cohorts"] if not _has_tagged(config, c, series)]
        if untagged:
            raise ConfigError(
                f"config.experiments.{name}.reference: {tracker!r} tracks tagged images, but "
                f"cohort(s) {untagged} have no tagged series (a manifest needs a `tagged` "
                "column; ACDC folders hold cine only); use 'provided' or another cohort"
            )
    if exp["reference"] == "truth":
        real = [c for c in exp["cohorts"] if config["cohorts"][c]["source"] != "synthetic"]
        if real:
            raise ConfigError(
                f"config.experiments.{name}.reference: 'truth' is only known for synthetic "
                f"cohorts, not for {real}; use 'provided' (the manifest's displacement column)"
            )
    if settings["max_displacement_mm"] is None:
        settings["max_displacement_mm"] = max(
            preprocess_options(config, c)["max_displacement_mm"] for c in exp["cohorts"]
        )
    return {
        "name": name,
        "method": exp["method"],
        "cohorts": list(exp["cohorts"]),
        "reference": exp["reference"],
        "tracker": tracker,
        "synthetic": {c: config["cohorts"][c]["source"] == "synthetic" for c in exp["cohorts"]},
        "first_group": {c: _first_group(config["cohorts"][c]) for c in exp["cohorts"]},
        "settings": settings,
    }


def _has_tagged(
    config: dict[str, Any], cohort: str, series: Mapping[str, Collection[str]] | None
) -> bool:
    """Whether the cohort's records can carry a tagged series (unknown manifests: assume so)."""
    source = config["cohorts"][cohort]["source"]
    if source == "synthetic":
        return True
    if source == "acdc":
        return False
    return series is None or cohort not in series or "tagged" in series[cohort]


def _first_group(cohort: dict[str, Any]) -> str | None:
    """The reference group of a synthetic cohort is its first group; others name it in settings."""
    groups = cohort.get("groups")
    return next(iter(groups)) if groups else None


def experiment_json(
    config: dict[str, Any], name: str, series: Mapping[str, Collection[str]] | None = None
) -> str:
    return json.dumps(myonet_settings(config, name, series))
