"""The run configuration: validation messages a user can act on, resolved per-cohort options, shards.

Snakemake's ``validate`` checks config.yaml against ``workflow/schemas/config.schema.yaml`` and
fills defaults; this module turns jsonschema's terse errors into messages that name the key and
what is allowed, adds the checks a schema cannot express (group sizes, split fractions, experiment
cohorts, the options of the trackers in use), and computes the per-cohort shard plan cheaply enough for Snakemake's parse time (a
10^5-slice cohort must build its DAG in seconds: no per-subject file access here).
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource

from myoflow.errors import ConfigError
from myoflow.io.shard_plan import ShardPlan, synthetic_plan, table_plan
from myoflow.registry import TRACKERS

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"

PREPROCESS_DEFAULTS: dict[str, Any] = {
    "size": 128,
    "frames": 20,
    "margin": 0.25,
    "min_side_mm": None,
    "roi": "mask",
    "center_side_mm": None,
    "temporal": "resample",
    "intensity": "percentile",
    "percentiles": [1.0, 99.0],
    "interpolation": "linear",
    "max_displacement_mm": None,
}
#: The preprocessing profiles, each written to ``results/<cohort>/preprocessed/<profile>/``
#: (``myoflow.preprocess.profiles`` implements them; a test keeps the names in step). ``crop`` is
#: what MyoNet and the trackers read, so it is always written; its options are the flat keys of
#: ``preprocess:`` (PREPROCESS_DEFAULTS), the others' are the blocks named after them.
PROFILES = ("crop", "fov", "frames2d", "stack3d")
DEFAULT_PROFILE = "crop"
#: Defaults of the ``fov``, ``frames2d`` and ``stack3d`` blocks (the schema's descriptions and the options
#: classes of ``myoflow.preprocess.profiles`` say the same; a test keeps them equal).
PROFILE_DEFAULTS: dict[str, dict[str, Any]] = {
    "fov": {"size": 256, "frames": 20, "intensity": "percentile", "percentiles": [1.0, 99.0]},
    "frames2d": {"size": 256, "percentiles": [1.0, 99.0], "displacement": False},
    "stack3d": {
        "z_spacing_mm": 0.16,
        "size": 96,
        "depth": 36,
        "series": "cine",
        "percentiles": [1.0, 99.0],
    },
}
MAX_DISPLACEMENT_MM = {"rat": 3.0, "mouse": 1.5, "human": 15.0}
SPLIT_TOLERANCE = 1e-6
#: ``tracking_validation:`` defaults (the schema holds the same; a test keeps them in step).
TRACKING_VALIDATION_DEFAULTS: dict[str, Any] = {
    "enabled": False,
    "trackers": ["harp", "sinmod"],
    "species": ["rat", "human"],
    "realism": ["ideal"],
    "mask_error": ["none"],
    "snr": [5, 10, 20, 40],
    "spacing_px": [3, 4, 5, 6],
    "slices": 2,
    "seed": 0,
}
#: The image series a record can carry; a tracker needs ``tagged``.
SERIES = ("cine", "tagged")


def load_schema(path: Path = SCHEMA_PATH) -> dict[str, Any]:
    with open(path) as fh:
        return yaml.safe_load(fh)


def _where(path: Any) -> str:
    parts = [str(p) for p in path]
    return "config" + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in parts)


def _resolve(schema: dict[str, Any], sub: dict[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` (and single-item ``allOf``) to the schema that lists properties."""
    while True:
        if "$ref" in sub and sub["$ref"].startswith("#/"):
            node: Any = schema
            for part in sub["$ref"][2:].split("/"):
                node = node[part]
            sub = node
        elif "allOf" in sub and len(sub["allOf"]) == 1 and "properties" not in sub:
            sub = sub["allOf"][0]
        else:
            return sub


def _explain(schema: dict[str, Any], error: jsonschema.ValidationError) -> str:
    where = _where(error.absolute_path)
    sub = _resolve(schema, error.schema)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(sub.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        return f"{where}: unknown key(s) {unknown}; allowed keys: {', '.join(allowed)}"
    if error.validator == "enum":
        return f"{where}: {error.instance!r} is not allowed; choose one of {error.validator_value}"
    if error.validator == "const":
        return f"{where}: must be {error.validator_value!r}, got {error.instance!r}"
    if error.validator == "required":
        return f"{where}: {error.message}"
    if error.validator == "type":
        return f"{where}: {error.instance!r} has the wrong type; expected {error.validator_value}"
    if error.validator == "propertyNames":
        return f"{where}: name {error.instance!r} is not allowed (letters, digits, underscore)"
    return f"{where}: {error.message}"


def explain_errors(config: dict[str, Any], schema: dict[str, Any] | None = None) -> list[str]:
    """Every schema violation of ``config`` as a sentence naming the key and what is allowed."""
    schema = schema or load_schema()
    registry = Registry().with_resource("urn:myoflow-config", Resource.from_contents(schema))
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    messages: list[str] = []
    for error in sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path)):
        leaves = [error]
        if error.context:
            leaves = [e for e in error.context if e.validator != "if"] or leaves
        messages.extend(_explain(schema, leaf) for leaf in leaves)
    return sorted(set(messages))


def _check_groups(name: str, cohort: dict[str, Any]) -> None:
    groups = cohort["groups"]
    fractions = [g.get("fraction") for g in groups.values()]
    counts = [g.get("count") for g in groups.values()]
    where = f"config.cohorts.{name}.groups"
    if any(f is not None and c is not None for f, c in zip(fractions, counts)):
        raise ConfigError(f"{where}: give each group a fraction or a count, not both")
    if all(f is not None for f in fractions):
        if not math.isclose(sum(fractions), 1.0, abs_tol=1e-6):
            raise ConfigError(f"{where}: fractions sum to {sum(fractions):.4f}, must sum to 1")
    elif all(c is not None for c in counts):
        if sum(counts) != cohort["subjects"]:
            raise ConfigError(
                f"{where}: counts sum to {sum(counts)} but subjects is {cohort['subjects']}"
            )
    elif len(groups) > 1 or any(f is not None or c is not None for f, c in zip(fractions, counts)):
        raise ConfigError(f"{where}: every group needs a fraction, or every group a count")


def _with_defaults(config: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of a valid ``config`` with the schema's defaults filled in (as Snakemake does).

    Scripts and tests that load config.yaml without Snakemake get the same values as the workflow.
    """
    base = jsonschema.Draft202012Validator
    validate_properties = base.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, subschema):  # type: ignore[no-untyped-def]
        if isinstance(instance, dict):
            for prop, sub in properties.items():
                if "default" in sub:
                    instance.setdefault(prop, copy.deepcopy(sub["default"]))
        yield from validate_properties(validator, properties, instance, subschema)

    filler = jsonschema.validators.extend(base, {"properties": set_defaults})
    config = copy.deepcopy(config)
    filler(schema).validate(config)
    return config


def check_config(config: dict[str, Any]) -> dict[str, Any]:
    """Validate against the schema, then the rules it cannot express; return a copy with defaults.

    Raises ConfigError listing every problem found.
    """
    schema = load_schema()
    problems = explain_errors(config, schema)
    if problems:
        raise ConfigError("invalid configuration:\n  - " + "\n  - ".join(problems))
    config = _with_defaults(config, schema)
    split = config["split"]
    total = split["train"] + split["val"] + split["test"]
    if not math.isclose(total, 1.0, abs_tol=SPLIT_TOLERANCE):
        raise ConfigError(f"config.split: train + val + test = {total:.4f}, must be 1")
    for name, cohort in config["cohorts"].items():
        if cohort["source"] == "synthetic":
            _check_groups(name, cohort)
    for name, exp in config["experiments"].items():
        missing = [c for c in exp["cohorts"] if c not in config["cohorts"]]
        if missing:
            raise ConfigError(
                f"config.experiments.{name}.cohorts: unknown cohort(s) {missing}; "
                f"defined cohorts: {', '.join(config['cohorts'])}"
            )
    for tracker in trackers_in_use(config):
        tracker_options(config, tracker)
    return config


def trackers_in_use(config: dict[str, Any]) -> list[str]:
    """Trackers the run needs: experiments' tracker references and the enabled validation's."""
    used = {exp.get("reference") for exp in config.get("experiments", {}).values()}
    validation = config.get("tracking_validation", {})
    if validation.get("enabled", TRACKING_VALIDATION_DEFAULTS["enabled"]):
        used.update(validation.get("trackers", TRACKING_VALIDATION_DEFAULTS["trackers"]))
    return [t for t in TRACKERS if t in used]


def tracker_options(config: dict[str, Any], tracker: str) -> Any:
    """The checked options object of ``tracker`` from ``config.tracking.<tracker>``."""
    return checked_tracker_options(tracker, config.get("tracking", {}).get(tracker, {}))


def checked_tracker_options(tracker: str, given: dict[str, Any] | None) -> Any:
    """``given`` (the config's ``tracking.<tracker>`` entry) as the tracker's options object.

    Imports the tracker's module (only called for the trackers in use, so parsing a config
    without them stays cheap). Raises ConfigError naming ``config.tracking.<tracker>`` and the
    key for an unknown option or a value of the wrong kind.
    """
    from myoflow.tracking.api import parse_options

    try:
        return parse_options(tracker, given)
    except ConfigError as error:
        raise ConfigError(f"config.{error}") from error


def _preprocess_sections(config: dict[str, Any], name: str) -> tuple[dict, dict]:
    """The global ``preprocess:`` section and the cohort's own (either may be absent)."""
    return config.get("preprocess") or {}, config["cohorts"][name].get("preprocess") or {}


def preprocess_options(config: dict[str, Any], name: str) -> dict[str, Any]:
    """Options of one cohort's ``crop`` profile: defaults <- global section <- cohort section."""
    common, own = _preprocess_sections(config, name)
    merged = {**PREPROCESS_DEFAULTS, **common, **own}
    opts = {key: merged[key] for key in PREPROCESS_DEFAULTS}
    if opts["max_displacement_mm"] is None:
        opts["max_displacement_mm"] = MAX_DISPLACEMENT_MM[config["cohorts"][name]["species"]]
    return opts


def profiles_of(config: dict[str, Any], name: str, required: Iterable[str] = ()) -> list[str]:
    """The profiles written for one cohort, in ``PROFILES`` order.

    ``crop`` always (the trackers read it), ``required`` (the profiles the methods of the
    cohort's experiments read, ``Method.profile``), and those that ``preprocess.profiles``
    lists: the cohort's own list replaces the global one.
    """
    common, own = _preprocess_sections(config, name)
    wanted = set(own.get("profiles", common.get("profiles", []))) | set(required)
    unknown = sorted(wanted - set(PROFILES))
    if unknown:
        raise ConfigError(f"unknown preprocessing profile(s) {unknown}; choose from {PROFILES}")
    return [p for p in PROFILES if p == DEFAULT_PROFILE or p in wanted]


def profile_options(config: dict[str, Any], name: str, profile: str) -> dict[str, Any]:
    """Resolved options of one profile of one cohort: defaults <- global block <- cohort block."""
    if profile == DEFAULT_PROFILE:
        return preprocess_options(config, name)
    if profile not in PROFILE_DEFAULTS:
        raise ConfigError(f"unknown preprocessing profile {profile!r}; choose one of {PROFILES}")
    common, own = _preprocess_sections(config, name)
    return {**PROFILE_DEFAULTS[profile], **common.get(profile, {}), **own.get(profile, {})}


def resolve_path(path: str, base: Path) -> Path:
    """A path from config.yaml, relative to the working directory (``base``) unless absolute."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else (base / p)


def cohort_table(cohort_name: str, cohort: dict[str, Any], base: Path):  # -> pandas.DataFrame
    """The manifest-shaped table of a manifest, ACDC or tagging-HDF5 cohort (one row per subject x
    slice)."""
    if cohort["source"] == "manifest":
        from myoflow.cohort.manifest import load_manifest

        return load_manifest(resolve_path(cohort["manifest"], base), cohort_name)
    if cohort["source"] == "acdc":
        from myoflow.cohort.acdc import acdc_manifest

        return acdc_manifest(resolve_path(cohort["path"], base), cohort_name, cohort["slices"])
    if cohort["source"] == "tagging_h5":
        from myoflow.cohort.tagging_h5 import tagging_h5_manifest

        groups = cohort.get("groups")
        return tagging_h5_manifest(
            resolve_path(cohort["path"], base),
            cohort_name,
            None if groups is None else resolve_path(groups, base),
        )
    raise ConfigError(f"cohort {cohort_name} of source {cohort['source']} has no table")


def shard_plan(cohort_name: str, cohort: dict[str, Any], base: Path) -> ShardPlan:
    """The shard plan of a cohort, from the config alone (synthetic) or one manifest read."""
    return cohort_plan(cohort_name, cohort, base)[0]


def cohort_plan(
    cohort_name: str, cohort: dict[str, Any], base: Path
) -> tuple[ShardPlan, frozenset[str]]:
    """The shard plan and the image series (``SERIES``) the cohort's records can carry.

    One manifest read gives both: a series is available when its column exists and names at
    least one file (synthetic cohorts have cine and tagged series, ACDC folders cine only, paper
    003's HDF5 files tagged only).
    """
    if cohort["source"] == "synthetic":
        plan = synthetic_plan(cohort)
        series = frozenset(SERIES)
    else:
        try:
            table = cohort_table(cohort_name, cohort, base)
            plan = table_plan(table, cohort["shard_size"])
        except ConfigError as error:
            named = str(error).startswith(f"cohort {cohort_name}")
            raise error if named else ConfigError(f"cohort {cohort_name}: {error}") from error
        series = frozenset(c for c in SERIES if c in table and table[c].notna().any())
    if plan.n_slices == 0:
        raise ConfigError(f"cohort {cohort_name} has no slices")
    return plan, series


def cohort_json(config: dict[str, Any], name: str, base: Path) -> str:
    """The cohort's resolved definition as one JSON string, handed to its jobs on the command line."""
    cohort = copy.deepcopy(config["cohorts"][name])
    cohort["name"] = name
    # Preprocessing options go to the preprocessing jobs alone (profile_options), so that
    # changing them does not remake the cohort's records.
    cohort.pop("preprocess", None)
    for key in ("manifest", "path", "groups"):
        # ``groups`` is a path (a tagging_h5 cohort's groups table) or a synthetic cohort's dict
        if isinstance(cohort.get(key), str):
            cohort[key] = str(resolve_path(cohort[key], base))
    return json.dumps(cohort)
