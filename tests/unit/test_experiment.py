"""Experiments resolved: the method's documented defaults, overrides, the reference, and refusals
a user can act on."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from myoflow.config import check_config, load_schema
from myoflow.errors import ConfigError
from myoflow.experiment import experiment_json, method_of, resolve
from myoflow.methods.myonet.settings import MyoNetSettings
from myoflow.registry import METHODS
from myoflow.samples import evaluated_splits
from myoflow.settings import defaults

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def config() -> dict:
    with open(ROOT / "config.yaml") as fh:
        return check_config(yaml.safe_load(fh))


MYONET_DEFAULTS = defaults(MyoNetSettings)


def test_defaults_cover_exactly_the_schema_keys() -> None:
    schema = load_schema()["$defs"]["myonet_settings"]["properties"]
    assert set(MYONET_DEFAULTS) == set(schema)
    assert set(MYONET_DEFAULTS["loss"]) == set(schema["loss"]["properties"])


def test_settings_merge_over_defaults_and_loss_merges_by_term(config: dict) -> None:
    config["experiments"]["myonet_rat"]["settings"] = {"epochs": 7, "loss": {"myocardium": 3.0}}
    s = resolve(config, "myonet_rat")["settings"]
    assert s["epochs"] == 7 and s["batch_size"] == MYONET_DEFAULTS["batch_size"]
    assert s["loss"] == {**MYONET_DEFAULTS["loss"], "myocardium": 3.0}
    assert defaults(MyoNetSettings) == MYONET_DEFAULTS, "defaults not mutated"


def test_a_resolved_experiment_survives_its_json(config: dict) -> None:
    """Jobs get the experiment as JSON: what they read back is what the parse step resolved."""
    assert json.loads(experiment_json(config, "myonet_rat")) == resolve(config, "myonet_rat")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"nets": ["unet"]}, r"settings.nets: unknown network\(s\) \['unet'\]"),
        ({"nets": ["myonet", "myonet"]}, r"settings.nets: give one or more networks, each once"),
        ({"epochs": 0}, r"settings.epochs: 0 is below the minimum 1"),
        ({"optimiser": "adam"}, r"settings: unknown option\(s\) \['optimiser'\]"),
        ({"loss": {"mse": -1}}, r"settings.loss.mse: -1 is below the minimum 0"),
        ({"compile": "yes"}, r"settings.compile: 'yes' is not allowed"),
    ],
)
def test_bad_settings_name_the_key(config: dict, settings: dict, message: str) -> None:
    config["experiments"]["myonet_rat"]["settings"] = settings
    with pytest.raises(ConfigError, match=message):
        resolve(config, "myonet_rat")


def test_methods_are_found_by_name_or_module_path(
    config: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert method_of("myonet") is method_of("myoflow.methods.myonet.method:METHOD")
    monkeypatch.setitem(METHODS, "future", None)
    with pytest.raises(ConfigError, match="method 'future' has no stages in this version"):
        method_of("future")
    with pytest.raises(ConfigError, match="unknown method 'unet'"):
        method_of("unet")
    with pytest.raises(ConfigError, match="cannot be loaded"):
        method_of("myoflow.methods.nowhere:METHOD")
    with pytest.raises(ConfigError, match="is not a myoflow.methods.base.Method instance"):
        method_of("myoflow.registry:NETS")


def test_displacement_scale_is_the_largest_of_the_cohorts(config: dict) -> None:
    config["experiments"]["both"] = {
        "method": "myonet",
        "cohorts": ["rat_rt", "human_ukb"],
        "reference": "truth",
    }
    assert resolve(config, "both")["settings"]["max_displacement_mm"] == 15.0
    config["experiments"]["both"]["settings"] = {"max_displacement_mm": 4.0}
    assert resolve(config, "both")["settings"]["max_displacement_mm"] == 4.0


@pytest.mark.parametrize("reference", ["harp", "sinmod"])
def test_tracker_references_name_their_tracker(config: dict, reference) -> None:
    config["experiments"]["myonet_rat"]["reference"] = reference
    settings = resolve(config, "myonet_rat")
    assert settings["reference"] == reference and settings["tracker"] == reference
    assert json.loads(experiment_json(config, "myonet_rat"))["tracker"] == reference


@pytest.mark.parametrize("reference", ["truth", "provided"])
def test_other_references_have_no_tracker(config: dict, reference) -> None:
    config["experiments"]["myonet_rat"]["reference"] = reference
    assert resolve(config, "myonet_rat")["tracker"] is None


def test_tracker_reference_on_a_manifest_cohort_needs_tagged_series(config: dict) -> None:
    config["cohorts"]["mine"] = {"source": "manifest", "manifest": "m.tsv", "species": "rat"}
    config["experiments"]["myonet_rat"].update(cohorts=["rat_rt", "mine"], reference="harp")
    # columns unknown (no manifest read): accepted, the tracking stage judges each record
    assert resolve(config, "myonet_rat")["tracker"] == "harp"
    with_tagged = {"rat_rt": {"cine", "tagged"}, "mine": {"cine", "tagged"}}
    assert resolve(config, "myonet_rat", with_tagged)["tracker"] == "harp"
    cine_only = {"rat_rt": {"cine", "tagged"}, "mine": {"cine"}}
    with pytest.raises(
        ConfigError, match=r"myonet_rat.reference: 'harp' tracks tagged.*\['mine'\]"
    ):
        resolve(config, "myonet_rat", cine_only)


def test_tracker_reference_on_an_acdc_cohort_is_refused(config: dict) -> None:
    config["cohorts"]["acdc"] = {"source": "acdc", "path": "ACDC", "species": "human"}
    config["experiments"]["myonet_rat"].update(cohorts=["acdc"], reference="sinmod")
    with pytest.raises(ConfigError, match=r"'sinmod' tracks tagged images.*\['acdc'\]"):
        resolve(config, "myonet_rat")


def test_truth_reference_needs_a_synthetic_cohort(config: dict) -> None:
    config = copy.deepcopy(config)
    config["cohorts"]["mine"] = {"source": "manifest", "manifest": "m.tsv", "species": "rat"}
    config["experiments"]["myonet_rat"]["cohorts"] = ["rat_rt", "mine"]
    config["experiments"]["myonet_rat"]["reference"] = "truth"
    with pytest.raises(ConfigError, match=r"'truth' is only known for synthetic.*\['mine'\]"):
        resolve(config, "myonet_rat")


def _applying(config: dict, models: str, **settings) -> dict:
    """``config`` with an experiment ``applied`` running myonet_rat's method with ``models``."""
    source = config["experiments"]["myonet_rat"]
    config["experiments"]["applied"] = {
        "method": source["method"],
        "cohorts": list(source["cohorts"]),
        "models": models,
        "settings": settings,
    }
    return check_config(config)


def test_an_experiment_trains_its_own_models_unless_told(config: dict) -> None:
    x = resolve(config, "myonet_rat")
    assert x["trained_by"] is None and x["models_path"] is None
    assert evaluated_splits(x) == ("test",)


def test_models_of_another_experiment_are_applied_to_every_split(config: dict) -> None:
    x = resolve(_applying(config, "myonet_rat"), "applied")
    assert x["trained_by"] == "myonet_rat" and x["models_path"] is None
    assert evaluated_splits(x) == ("train", "val", "test"), "no subject was trained on"


def test_a_folder_of_models_is_kept_as_written(config: dict) -> None:
    x = resolve(_applying(config, "../cluster run/models/ukb_1/", evaluate_split="test"), "applied")
    assert x["models_path"] == "../cluster run/models/ukb_1" and x["trained_by"] is None
    assert evaluated_splits(x) == ("test",), "a chosen split is kept"


@pytest.mark.parametrize(
    ("models", "message"),
    [
        ("myonet_ratt", r"'myonet_ratt' names no experiment of this config .* needs a '/'"),
        ("applied", r"an experiment cannot apply its own models"),
    ],
)
def test_models_that_cannot_be_found_are_refused_by_name(
    config: dict, models: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=r"config\.experiments\.applied\.models: " + message):
        resolve(_applying(config, models), "applied")


def test_models_of_another_method_or_of_an_applying_experiment_are_refused(config: dict) -> None:
    config = _applying(config, "tagstrain_ukb")
    with pytest.raises(ConfigError, match=r"runs method 'tagstrain', not 'myonet'"):
        resolve(config, "applied")
    config["experiments"]["applied"]["models"] = "myonet_rat"
    config["experiments"]["again"] = {**config["experiments"]["applied"], "models": "applied"}
    with pytest.raises(ConfigError, match=r"'applied' applies models trained elsewhere itself"):
        resolve(config, "again")


def _masked(config: dict, mask: dict, **applied_settings) -> dict:
    """``config`` with ``masks``, a tagseg experiment applying tagseg_human's models to the
    rats, and a tracker-referenced experiment ``tracked`` on the rats taking ``mask``."""
    config["experiments"]["masks"] = {
        "method": "tagseg",
        "cohorts": ["rat_rt"],
        "models": "tagseg_human",
        "settings": {**config["experiments"]["tagseg_human"]["settings"], **applied_settings},
    }
    config["experiments"]["tracked"] = {**config["experiments"]["myonet_rat"], "mask": mask}
    return check_config(config)


def test_trackers_take_the_mask_a_segmentation_model_predicted(config: dict) -> None:
    mask = {"experiment": "masks", "model": "segresnetvae_physics"}
    x = resolve(_masked(config, mask), "tracked")
    assert x["mask"] == mask and x["tracker"] == "sinmod"
    assert resolve(config, "myonet_rat")["mask"] is None


@pytest.mark.parametrize(
    ("mask", "settings", "message"),
    [
        ({"experiment": "maskz", "model": "m"}, {}, r"mask.experiment: 'maskz' names no other"),
        ({"experiment": "masks", "model": "dynunet_scratch"}, {}, r"mask.model: 'dynunet_scratch'"),
        ({"experiment": "myonet_rat", "model": "myonet"}, {}, r"not a segmentation method"),
        (
            {"experiment": "tagseg_human", "model": "segresnetvae_scratch"},
            {},
            r"does not predict cohort\(s\) \['rat_rt'\]",
        ),
        (
            {"experiment": "masks", "model": "segresnetvae_scratch"},
            {"evaluate_split": "test"},
            r"predicts the 'test' split only",
        ),
    ],
)
def test_a_mask_source_that_cannot_serve_is_refused_by_name(
    config: dict, mask: dict, settings: dict, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve(_masked(config, mask, **settings), "tracked")


def test_a_mask_is_refused_where_no_tracker_takes_it(config: dict) -> None:
    config = _masked(config, {"experiment": "masks", "model": "segresnetvae_physics"})
    config["experiments"]["tracked"]["reference"] = "truth"
    with pytest.raises(ConfigError, match=r"only tag trackers take the mask"):
        resolve(config, "tracked")
