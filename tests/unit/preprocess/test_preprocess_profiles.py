"""Profile settings: config, schema and options classes agree; cohorts choose and override."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from myoflow import config as mf_config
from myoflow.errors import ConfigError
from myoflow.preprocess import profiles
from myoflow.preprocess.options import (
    FovOptions,
    Frames2dOptions,
    PreprocessOptions,
    Stack3dOptions,
)

ROOT = Path(__file__).resolve().parents[3]
OPTIONS = {
    "crop": PreprocessOptions,
    "fov": FovOptions,
    "frames2d": Frames2dOptions,
    "stack3d": Stack3dOptions,
}


def _plain(options: object) -> dict:
    values = dataclasses.asdict(options)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


def test_config_schema_and_options_classes_agree() -> None:
    assert mf_config.PROFILES == profiles.PROFILES == tuple(OPTIONS) == tuple(profiles.OPTIONS)
    assert _plain(PreprocessOptions()) == mf_config.PREPROCESS_DEFAULTS
    for name in ("fov", "frames2d", "stack3d"):
        assert _plain(OPTIONS[name]()) == mf_config.PROFILE_DEFAULTS[name]
    defs = mf_config.load_schema()["$defs"]
    keys = set(defs["preprocess"]["properties"])
    assert defs["preprocess"]["properties"]["profiles"]["items"]["enum"] == list(OPTIONS)
    assert keys - {"profiles", *mf_config.PROFILE_DEFAULTS} == set(mf_config.PREPROCESS_DEFAULTS)
    assert set(defs["fov_profile"]["properties"]) == set(mf_config.PROFILE_DEFAULTS["fov"])
    frames2d = set(defs["frames2d_profile"]["properties"])
    assert frames2d == set(mf_config.PROFILE_DEFAULTS["frames2d"])
    stack3d = set(defs["stack3d_profile"]["properties"])
    assert stack3d == set(mf_config.PROFILE_DEFAULTS["stack3d"])


@pytest.fixture()
def config() -> dict:
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    cfg["preprocess"].update(profiles=["fov"], fov={"size": 200})
    cfg["cohorts"]["human_ukb"]["preprocess"] = {
        "profiles": ["frames2d"],
        "fov": {"frames": 25},
        "frames2d": {"size": 128},
        "size": 96,
    }
    return mf_config.check_config(cfg)


def test_cohorts_choose_their_profiles(config: dict) -> None:
    assert mf_config.profiles_of(config, "rat_rt") == ["crop", "fov"]
    # The cohort's list replaces the global one; crop is written whatever the lists say.
    assert mf_config.profiles_of(config, "human_ukb") == ["crop", "frames2d"]


def test_profile_options_merge_key_by_key(config: dict) -> None:
    rat_fov = mf_config.profile_options(config, "rat_rt", "fov")
    assert rat_fov == {**mf_config.PROFILE_DEFAULTS["fov"], "size": 200}
    human_fov = mf_config.profile_options(config, "human_ukb", "fov")
    assert human_fov == {**mf_config.PROFILE_DEFAULTS["fov"], "size": 200, "frames": 25}
    assert mf_config.profile_options(config, "human_ukb", "frames2d")["size"] == 128
    crop = mf_config.profile_options(config, "human_ukb", "crop")
    assert crop == mf_config.preprocess_options(config, "human_ukb") and crop["size"] == 96
    assert set(crop) == set(mf_config.PREPROCESS_DEFAULTS), "no profile blocks in crop's options"
    for name in mf_config.PROFILES:  # every resolved block is accepted by its job
        profiles.checked_options(name, mf_config.profile_options(config, "rat_rt", name))
    with pytest.raises(ConfigError, match="unknown preprocessing profile"):
        mf_config.profile_options(config, "rat_rt", "stacks")


def test_wrong_profile_settings_name_the_key() -> None:
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    cfg["preprocess"]["profiles"] = ["crop", "fvo"]
    with pytest.raises(ConfigError, match=r"config\.preprocess\.profiles\[1\]: 'fvo'"):
        mf_config.check_config(cfg)
    with pytest.raises(ConfigError, match=r"preprocess\.fov: unknown option\(s\) \['sise'\]"):
        FovOptions.from_dict({"sise": 256})
    with pytest.raises(ConfigError, match=r"preprocess\.frames2d: percentiles"):
        Frames2dOptions.from_dict({"percentiles": [50, 10]})
    with pytest.raises(ConfigError, match=r"preprocess\.fov: intensity"):
        FovOptions.from_dict({"intensity": "minmax"})
