"""Experiments: one method run on one or more cohorts, resolved for every job of the workflow.

The part every method shares is resolved here: the method unit behind ``method:`` (from
``myoflow.registry.METHODS``, or a ``module:attribute`` path for a method developed outside the
package), the cohorts, and the reference the method learns from and is judged against —
``provided`` (the cohort's displacement column), ``truth`` (the phantom's exact motion) or a
tagged-image tracker (``harp``, ``sinmod``: computed by the tracking stage). The method fills
in its own settings (``Method.settings``). The result is a plain dict, passed to jobs as JSON.

Kept free of torch so that Snakemake's parse step (which resolves every experiment) stays fast.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from myoflow.errors import ConfigError
from myoflow.registry import METHODS, TRACKERS, load

if TYPE_CHECKING:
    from myoflow.methods.base import Method

#: A method developed outside the package: ``package.module:ATTRIBUTE`` naming a Method instance.
PLUGIN = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


def method_of(name: str, where: str = "method") -> Method:
    """The method unit ``name`` names: a registered method, or a ``module:attribute`` path."""
    from myoflow.methods.base import Method

    if name in METHODS:
        target = METHODS[name]
        if target is None:
            available = sorted(m for m, t in METHODS.items() if t is not None)
            raise ConfigError(
                f"{where}: method {name!r} has no stages in this version of myoflow "
                f"(available: {available})"
            )
    elif PLUGIN.match(name):
        target = name
    else:
        raise ConfigError(
            f"{where}: unknown method {name!r}; choose one of {list(METHODS)} or give a "
            "'package.module:ATTRIBUTE' path to a Method instance"
        )
    try:
        method = load(target)
    except (ImportError, AttributeError) as error:
        raise ConfigError(f"{where}: method {name!r} cannot be loaded: {error}") from error
    if not isinstance(method, Method):
        raise ConfigError(f"{where}: {target!r} is not a myoflow.methods.base.Method instance")
    return method


def resolve(
    config: dict[str, Any],
    name: str,
    series: Mapping[str, Collection[str]] | None = None,
) -> dict[str, Any]:
    """Experiment ``name`` resolved: method, cohorts, reference, tracker, where its trained
    models come from, where its trackers' masks come from and its settings.

    ``mask``: ``{experiment, model}`` whose predicted myocardium the trackers start from
    (``mask:``, ``_mask_source``), None for the records' own.

    ``trained_by``/``models_path``: the experiment or folder whose models it applies
    (``models:``; ``_models_from``), both None when it trains its own.

    ``tracker`` is the tagged-image tracker that computes the reference (``reference: harp`` or
    ``sinmod``), else None. A tracker needs tagged series: an ACDC cohort (cine only) is refused,
    and so is a manifest cohort whose manifest lists none, when ``series`` (cohort -> the image
    series its manifest provides, ``myoflow.config.cohort_plan``) says so. ``truth`` is only
    known for synthetic cohorts.
    """
    exp = config["experiments"][name]
    where = f"config.experiments.{name}"
    method = method_of(exp["method"], f"{where}.method")
    reference = exp.get("reference", "truth")
    tracker = reference if reference in TRACKERS else None
    if tracker is not None:
        untagged = [c for c in exp["cohorts"] if not _has_tagged(config, c, series)]
        if untagged:
            raise ConfigError(
                f"{where}.reference: {tracker!r} tracks tagged images, but "
                f"cohort(s) {untagged} have no tagged series (a manifest needs a `tagged` "
                "column; ACDC folders hold cine only); use 'provided' or another cohort"
            )
    if reference == "truth":
        real = [c for c in exp["cohorts"] if config["cohorts"][c]["source"] != "synthetic"]
        if real:
            raise ConfigError(
                f"{where}.reference: 'truth' is only known for synthetic "
                f"cohorts, not for {real}; use 'provided' (the manifest's displacement column)"
            )
    trained_by, models_path = _models_from(config, name)
    settings = method.settings(config, name)
    mask = _mask_source(config, name, method, settings)
    return {
        "name": name,
        "method": exp["method"],
        "cohorts": list(exp["cohorts"]),
        "reference": reference,
        "tracker": tracker,
        "synthetic": {c: config["cohorts"][c]["source"] == "synthetic" for c in exp["cohorts"]},
        "first_group": {c: _first_group(config["cohorts"][c]) for c in exp["cohorts"]},
        "trained_by": trained_by,
        "models_path": models_path,
        "mask": mask,
        "settings": settings,
    }


def _mask_source(
    config: dict[str, Any], name: str, method: Method, settings: dict[str, Any]
) -> dict[str, str] | None:
    """``{experiment, model}`` whose predicted ED myocardium the experiment's trackers start from
    (``mask:``), None for the records' own masks.

    Checked here, naming the key, so that a typo fails at start-up rather than as a missing
    file: the source is a segmentation experiment (its method's profile is ``frames2d``, its
    predictions hold masks) of this config, covering this experiment's cohorts, predicting every
    split (``evaluate_split: all``, or ``auto`` when it applies models trained elsewhere), and
    ``model`` is one of its models; and this experiment has a tracker to give the mask to."""
    given = config["experiments"][name].get("mask")
    if given is None:
        return None
    where = f"config.experiments.{name}.mask"
    source, model = given["experiment"], given["model"]
    experiments = config["experiments"]
    if source not in experiments or source == name:
        raise ConfigError(
            f"{where}.experiment: {source!r} names no other experiment of this config "
            f"({sorted(e for e in experiments if e != name)})"
        )
    resolved = resolve(config, source)
    if method_of(resolved["method"]).profile != "frames2d":
        raise ConfigError(
            f"{where}.experiment: {source!r} runs {resolved['method']!r}, not a segmentation "
            "method whose predictions hold masks (tagseg)"
        )
    models = method_of(resolved["method"]).models(resolved)
    if model not in models:
        raise ConfigError(f"{where}.model: {model!r} is not a model of {source!r} ({models})")
    missing = [c for c in experiments[name]["cohorts"] if c not in resolved["cohorts"]]
    if missing:
        raise ConfigError(f"{where}.experiment: {source!r} does not predict cohort(s) {missing}")
    split = resolved["settings"].get("evaluate_split")
    applied = resolved["trained_by"] or resolved["models_path"]
    if not (split == "all" or (split == "auto" and applied)):
        raise ConfigError(
            f"{where}.experiment: {source!r} predicts the {split!r} split only; the trackers need "
            "every slice (evaluate_split: all, or apply its models with `models:`)"
        )
    exp = {**experiments[name], "settings": settings}
    if experiments[name].get("reference", "truth") not in TRACKERS and not (
        method.compared_trackers(exp)
    ):
        raise ConfigError(
            f"{where}: only tag trackers take the mask, and this experiment has none (a "
            "`reference: harp` or `sinmod`, or trackers its method compares with)"
        )
    return {"experiment": source, "model": model}


def _models_from(config: dict[str, Any], name: str) -> tuple[str | None, str | None]:
    """``(experiment, folder)`` whose trained models experiment ``name`` applies instead of
    training its own (``models:``), both None when it trains them.

    A value naming another experiment of the config is that experiment (same method; it must
    train its models itself, so that a chain cannot point at a folder nothing writes); a value
    with a ``/`` is a folder laid out like ``results/models/<experiment>/``; anything else is a
    misspelt name and refused here rather than found missing on disk later."""
    given = config["experiments"][name].get("models")
    where = f"config.experiments.{name}.models"
    if given is None:
        return None, None
    experiments = config["experiments"]
    if given in experiments:
        source = experiments[given]
        if given == name:
            raise ConfigError(f"{where}: an experiment cannot apply its own models")
        if source["method"] != experiments[name]["method"]:
            raise ConfigError(
                f"{where}: experiment {given!r} runs method {source['method']!r}, not "
                f"{experiments[name]['method']!r}"
            )
        if source.get("models") is not None:
            raise ConfigError(
                f"{where}: experiment {given!r} applies models trained elsewhere itself "
                f"({source['models']!r}); name the experiment that trains them"
            )
        return given, None
    if "/" not in given:
        raise ConfigError(
            f"{where}: {given!r} names no experiment of this config ({sorted(experiments)}); a "
            "folder of trained models needs a '/' (e.g. ./models/ukb_run)"
        )
    return None, given.rstrip("/")


def _has_tagged(
    config: dict[str, Any], cohort: str, series: Mapping[str, Collection[str]] | None
) -> bool:
    """Whether the cohort's records can carry a tagged series (unknown manifests: assume so)."""
    source = config["cohorts"][cohort]["source"]
    if source == "synthetic":
        return True
    if source == "acdc":
        return False
    if source == "tagging_h5":
        return True
    return series is None or cohort not in series or "tagged" in series[cohort]


def _first_group(cohort: dict[str, Any]) -> str | None:
    """The reference group of a synthetic cohort is its first group; others name it in settings."""
    groups = cohort.get("groups")  # a tagging_h5 cohort's ``groups`` is a table's path
    return next(iter(groups)) if groups and isinstance(groups, dict) else None


def reference_group(experiment: Mapping[str, Any]) -> str | None:
    """The group a resolved experiment's others are tested against (Welch tables): its
    settings' ``reference_group``, else the first cohort's first group (None when unknown)."""
    chosen = experiment["settings"].get("reference_group")
    return chosen if chosen is not None else experiment["first_group"][experiment["cohorts"][0]]


def experiment_json(
    config: dict[str, Any], name: str, series: Mapping[str, Collection[str]] | None = None
) -> str:
    return json.dumps(resolve(config, name, series))
