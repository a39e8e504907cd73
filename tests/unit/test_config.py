"""Config validation: every mistake names the key and what is allowed; shard plans cover slices."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from myoflow.config import (
    TRACKING_VALIDATION_DEFAULTS,
    check_config,
    cohort_json,
    cohort_plan,
    load_schema,
    preprocess_options,
    shard_plan,
    tracker_options,
    trackers_in_use,
)
from myoflow.errors import ConfigError
from myoflow.settings import defaults
from myoflow.tracking.harp import HarpOptions
from myoflow.tracking.sinmod import SinModOptions

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def default_config() -> dict:
    with open(ROOT / "config.yaml") as fh:
        return yaml.safe_load(fh)


def test_default_config_is_valid_and_gets_defaults(default_config: dict) -> None:
    del default_config["split"]
    cfg = check_config(default_config)
    rat = cfg["cohorts"]["rat_rt"]
    assert rat["tagging"]["spacing_mm"] is None
    assert rat["kspace_blur"] == 0.0
    assert cfg["split"] == {"train": 0.8, "val": 0.1, "test": 0.1}
    assert default_config["cohorts"]["rat_rt"].get("kspace_blur") is None, "input not mutated"


def test_unknown_key_names_key_and_allowed(default_config: dict) -> None:
    default_config["cohorts"]["rat_rt"]["speices"] = "rat"
    with pytest.raises(ConfigError) as err:
        check_config(default_config)
    msg = str(err.value)
    assert "config.cohorts.rat_rt" in msg and "speices" in msg and "species" in msg


def test_unknown_top_level_key(default_config: dict) -> None:
    default_config["cohort"] = {}
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['cohort'\].*cohorts"):
        check_config(default_config)


def test_bad_enum_lists_choices(default_config: dict) -> None:
    default_config["cohorts"]["rat_rt"]["species"] = "rabbit"
    with pytest.raises(ConfigError, match=r"species: 'rabbit' is not allowed.*rat.*mouse.*human"):
        check_config(default_config)


def test_bad_source(default_config: dict) -> None:
    default_config["cohorts"]["x"] = {"source": "pacs"}
    with pytest.raises(ConfigError, match=r"cohorts\.x\.source.*synthetic.*manifest.*acdc"):
        check_config(default_config)


def test_wrong_type(default_config: dict) -> None:
    default_config["cohorts"]["rat_rt"]["subjects"] = "ten"
    with pytest.raises(ConfigError, match=r"subjects: 'ten' has the wrong type"):
        check_config(default_config)


def test_manifest_cohort_needs_manifest(default_config: dict) -> None:
    default_config["cohorts"]["mine"] = {"source": "manifest"}
    with pytest.raises(ConfigError, match=r"cohorts\.mine.*'manifest' is a required property"):
        check_config(default_config)


def test_group_fractions_must_sum_to_one(default_config: dict) -> None:
    default_config["cohorts"]["rat_rt"]["groups"]["rt"]["fraction"] = 0.7
    with pytest.raises(ConfigError, match="fractions sum to 1.2"):
        check_config(default_config)


def test_group_counts_must_sum_to_subjects(default_config: dict) -> None:
    groups = default_config["cohorts"]["rat_rt"]["groups"]
    groups["sham"] = {"count": 3}
    groups["rt"].pop("fraction")
    groups["rt"]["count"] = 3
    subjects = default_config["cohorts"]["rat_rt"]["subjects"]
    assert subjects != 6
    with pytest.raises(ConfigError, match=f"counts sum to 6 but subjects is {subjects}"):
        check_config(default_config)


def test_split_must_sum_to_one(default_config: dict) -> None:
    default_config["split"] = {"train": 0.8, "val": 0.2, "test": 0.1}
    with pytest.raises(ConfigError, match="must be 1"):
        check_config(default_config)


def test_experiment_names_unknown_cohort(default_config: dict) -> None:
    default_config["experiments"] = {"e1": {"method": "myonet", "cohorts": ["rat_rtt"]}}
    with pytest.raises(ConfigError, match=r"unknown cohort\(s\) \['rat_rtt'\].*rat_rt"):
        check_config(default_config)


def test_cohort_preprocess_overrides_global(default_config: dict) -> None:
    default_config["cohorts"]["rat_rt"]["preprocess"] = {"frames": 25}
    cfg = check_config(default_config)
    rat = preprocess_options(cfg, "rat_rt")
    human = preprocess_options(cfg, "human_ukb")
    assert rat["frames"] == 25 and human["frames"] == 20
    assert rat["max_displacement_mm"] < human["max_displacement_mm"]


def test_cohort_json_keeps_group_order(default_config: dict) -> None:
    cfg = check_config(default_config)
    text = cohort_json(cfg, "human_ukb", ROOT)
    assert text.index("reference") < text.index("hypertension") < text.index("infarction")


def test_synthetic_shard_plan_from_config_alone(default_config: dict) -> None:
    cfg = check_config(default_config)
    cohort = copy.deepcopy(cfg["cohorts"]["rat_rt"])
    cohort["subjects"], cohort["shard_size"] = 3334, 200
    plan = shard_plan("rat_rt", cohort, ROOT)
    assert plan.n_slices == 3334 * 3 and plan.n_shards == 51


def test_tracking_defaults_match_the_schema(default_config: dict) -> None:
    default_config.pop("tracking", None)
    default_config.pop("tracking_validation", None)
    cfg = check_config(default_config)
    # the schema fills in every tracker option's documented default
    assert cfg["tracking"] == {"harp": defaults(HarpOptions), "sinmod": defaults(SinModOptions)}
    assert cfg["tracking_validation"] == TRACKING_VALIDATION_DEFAULTS
    schema = load_schema()["properties"]["tracking_validation"]["properties"]
    assert {k: v["default"] for k, v in schema.items()} == TRACKING_VALIDATION_DEFAULTS


def _schema_enums(node: object, path: str = "") -> list[tuple[str, list]]:
    """Every ``(path, enum)`` of a schema tree, paths like ``$defs/experiment/...``."""
    found: list[tuple[str, list]] = []
    if isinstance(node, dict):
        if isinstance(node.get("enum"), list):
            found.append((path, node["enum"]))
        for key, value in node.items():
            found += _schema_enums(value, f"{path}/{key}" if path else str(key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _schema_enums(value, f"{path}/{i}")
    return found


def test_config_trackers_are_the_trackers_of_the_registry() -> None:
    """Every place the config schema names trackers lists exactly ``registry.TRACKERS``.

    The schema is read from its file (what Snakemake validates against), not through the
    package, so a tracker added to or removed from the API without the schema (or the reverse)
    fails here instead of at a user's start-up.
    """
    from myoflow.registry import TRACKERS
    from myoflow.tracking.api import parse_options

    trackers = set(TRACKERS)
    for name in TRACKERS:
        parse_options(name, {})  # the API can run every tracker it lists
    with open(ROOT / "workflow" / "schemas" / "config.schema.yaml") as fh:
        schema = yaml.safe_load(fh)
    # references that are not trackers (docs/configuration.md, "Experiments": provided, truth)
    others = {"provided", "truth"}
    reference = schema["$defs"]["experiment"]["properties"]["reference"]
    assert set(reference["enum"]) - others == trackers
    assert reference["default"] in others | trackers
    tracking = schema["properties"]["tracking"]
    assert set(tracking["properties"]) == trackers, "one options entry per tracker"
    assert tracking["additionalProperties"] is False
    validated = schema["properties"]["tracking_validation"]["properties"]["trackers"]
    assert set(validated["items"]["enum"]) == trackers
    assert set(validated["default"]) == trackers, "the validation covers every tracker"
    # and no other enum of the schema names a tracker without naming them all
    naming = {path: set(enum) for path, enum in _schema_enums(schema) if set(enum) & trackers}
    assert set(naming) == {
        "$defs/experiment/properties/reference",
        "properties/tracking_validation/properties/trackers/items",
        "$defs/tagstrain_settings/properties/compare_trackers/items",
    }
    compared = schema["$defs"]["tagstrain_settings"]["properties"]["compare_trackers"]
    assert set(compared["default"]) == trackers, "paper 003 compares with every tracker"
    for path, names in naming.items():
        assert names - others == trackers, path


def _with_tracker_experiment(config: dict, tracker: str, options: dict) -> dict:
    config["tracking_validation"] = {"enabled": False}
    config["experiments"]["myonet_rat"]["reference"] = tracker
    config["tracking"] = {tracker: options}
    return config


@pytest.mark.parametrize(("tracker", "bad"), [("harp", "filter_widht"), ("sinmod", "bandwith")])
def test_unknown_tracker_option_names_the_key(default_config: dict, tracker, bad) -> None:
    _with_tracker_experiment(default_config, tracker, {bad: 0.3})
    with pytest.raises(
        ConfigError, match=rf"config\.tracking\.{tracker}: unknown key\(s\) \['{bad}'\]"
    ):
        check_config(default_config)


def test_tracker_option_of_the_wrong_type_names_the_tracker(default_config: dict) -> None:
    _with_tracker_experiment(default_config, "harp", {"iterations": "many"})
    with pytest.raises(
        ConfigError, match=r"config\.tracking\.harp\.iterations: 'many' has the wrong"
    ):
        check_config(default_config)


def test_known_tracker_options_are_accepted(default_config: dict) -> None:
    _with_tracker_experiment(default_config, "harp", {"iterations": 4})
    cfg = check_config(default_config)
    assert tracker_options(cfg, "harp").iterations == 4
    assert trackers_in_use(cfg) == ["harp"]


def test_options_of_unused_trackers_are_checked_too(default_config: dict) -> None:
    """The schema documents every tracker's options, so a typo is caught even for a tracker the
    run does not use, and without importing any tracker."""
    default_config["tracking_validation"] = {"enabled": False}
    for experiment in default_config["experiments"].values():
        experiment["reference"] = "truth"
    assert trackers_in_use(check_config(copy.deepcopy(default_config))) == []
    default_config["tracking"] = {"harp": {"nonsense": 1}, "sinmod": {}}
    with pytest.raises(
        ConfigError, match=r"config\.tracking\.harp: unknown key\(s\) \['nonsense'\]"
    ):
        check_config(default_config)


def test_unknown_tracking_section_key(default_config: dict) -> None:
    default_config["tracking"] = {"harpp": {}}
    with pytest.raises(ConfigError, match=r"config\.tracking: unknown key\(s\) \['harpp'\]"):
        check_config(default_config)


def test_cohort_plan_says_which_series_a_manifest_provides(tmp_path: Path) -> None:
    cine_only = tmp_path / "cine.tsv"
    cine_only.write_text("subject\tslice\tcine\ns1\tmid\ta.nii.gz\ns2\tmid\tb.nii.gz\n")
    both = tmp_path / "both.tsv"
    both.write_text("subject\tslice\tcine\ttagged\ns1\tmid\ta.nii.gz\tt.nii.gz\n")
    empty_tagged = tmp_path / "empty.tsv"
    empty_tagged.write_text("subject\tslice\tcine\ttagged\ns1\tmid\ta.nii.gz\t\n")
    for path, series in [
        (cine_only, {"cine"}),
        (both, {"cine", "tagged"}),
        (empty_tagged, {"cine"}),
    ]:
        cohort = {"source": "manifest", "manifest": str(path), "shard_size": 200}
        plan, found = cohort_plan("mine", cohort, tmp_path)
        assert found == series, path.name
        assert plan == shard_plan("mine", cohort, tmp_path)
    synthetic = {"source": "synthetic", "subjects": 2, "slices": ["mid"], "shard_size": 1}
    plan, found = cohort_plan("ph", synthetic, tmp_path)
    assert plan.n_shards == 2 and found == {"cine", "tagged"}


@pytest.mark.parametrize("path", sorted((ROOT / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_preset_is_valid_and_resolves(path: Path) -> None:
    """The presets of configs/ are what users copy for a cluster: each must pass the schema and
    the checks, and every experiment must resolve with its method's settings."""
    from myoflow.experiment import resolve

    cfg = check_config(yaml.safe_load(path.read_text()))
    for name in cfg["experiments"]:
        assert resolve(cfg, name)["settings"], name


@pytest.mark.parametrize("stack", ["absent", None, {"slices": 4}])
def test_snakemakes_default_filling_validator_accepts_the_config(default_config, stack) -> None:
    """Snakemake's validate fills defaults before it checks types, so a nullable block whose
    properties carry defaults crashes it on null ('NoneType' has no 'setdefault'); check_config
    uses plain jsonschema and cannot see that. Validate as the workflow does."""
    from snakemake.utils import validate

    cohort = default_config["cohorts"]["mouse_stack"]
    if stack == "absent":
        del cohort["stack"]
    else:
        cohort["stack"] = stack
    validate(default_config, str(ROOT / "workflow" / "schemas" / "config.schema.yaml"))
    filled = default_config["cohorts"]["mouse_stack"]["stack"]
    assert filled is None if stack in ("absent", None) else filled["void_fraction"] == 0.3


def test_a_sector_may_thin_the_wall_within_its_bounds(default_config: dict) -> None:
    """``thinning`` (an infarct scar) is a number or a range in [0, 0.9]; it has no default, so
    the resolved cohort of a sector without it (the phantom jobs' params) stays as it was."""
    from snakemake.utils import validate

    sector = default_config["cohorts"]["mouse_stack"]["groups"]["infarction"]["sectors"][0]
    before = cohort_json(check_config(default_config), "mouse_stack", ROOT)
    validate(default_config, str(ROOT / "workflow" / "schemas" / "config.schema.yaml"))
    assert "thinning" not in sector
    assert cohort_json(check_config(default_config), "mouse_stack", ROOT) == before
    for good in (0, 0.5, [0.3, 0.6]):
        sector["thinning"] = good
        check_config(default_config)
    for bad in (0.95, -0.1, [0.3, 1.2], [0.3]):
        sector["thinning"] = bad
        with pytest.raises(ConfigError, match="thinning"):
            check_config(default_config)
