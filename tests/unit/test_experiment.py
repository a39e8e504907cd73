"""Experiment settings: documented defaults, overrides, and refusals a user can act on."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from myoflow.config import check_config, load_schema
from myoflow.errors import ConfigError
from myoflow.experiment import MYONET_DEFAULTS, myonet_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def config() -> dict:
    with open(ROOT / "config.yaml") as fh:
        return check_config(yaml.safe_load(fh))


def test_defaults_cover_exactly_the_schema_keys() -> None:
    schema = load_schema()["$defs"]["myonet_settings"]["properties"]
    assert set(MYONET_DEFAULTS) == set(schema)
    assert set(MYONET_DEFAULTS["loss"]) == set(schema["loss"]["properties"])


def test_settings_merge_over_defaults_and_loss_merges_by_term(config: dict) -> None:
    defaults = copy.deepcopy(MYONET_DEFAULTS)
    config["experiments"]["myonet_rat"]["settings"] = {"epochs": 7, "loss": {"myocardium": 3.0}}
    s = myonet_settings(config, "myonet_rat")["settings"]
    assert s["epochs"] == 7 and s["batch_size"] == MYONET_DEFAULTS["batch_size"]
    assert s["loss"] == {**MYONET_DEFAULTS["loss"], "myocardium": 3.0}
    assert MYONET_DEFAULTS == defaults, "defaults not mutated"


def test_displacement_scale_is_the_largest_of_the_cohorts(config: dict) -> None:
    config["experiments"]["both"] = {
        "method": "myonet",
        "cohorts": ["rat_rt", "human_ukb"],
        "reference": "truth",
    }
    assert myonet_settings(config, "both")["settings"]["max_displacement_mm"] == 15.0
    config["experiments"]["both"]["settings"] = {"max_displacement_mm": 4.0}
    assert myonet_settings(config, "both")["settings"]["max_displacement_mm"] == 4.0


@pytest.mark.parametrize("reference", ["harp", "sinmod"])
def test_tracker_references_are_refused_until_tracking_exists(config: dict, reference) -> None:
    config["experiments"]["myonet_rat"]["reference"] = reference
    with pytest.raises(ConfigError, match=rf"myonet_rat.reference: '{reference}' needs"):
        myonet_settings(config, "myonet_rat")


def test_truth_reference_needs_a_synthetic_cohort(config: dict) -> None:
    config = copy.deepcopy(config)
    config["cohorts"]["mine"] = {"source": "manifest", "manifest": "m.tsv", "species": "rat"}
    config["experiments"]["myonet_rat"]["cohorts"] = ["rat_rt", "mine"]
    with pytest.raises(ConfigError, match=r"'truth' is only known for synthetic.*\['mine'\]"):
        myonet_settings(config, "myonet_rat")
