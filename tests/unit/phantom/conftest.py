"""Shared phantom records: generated once per test session (each takes a fraction of a second)."""

from __future__ import annotations

from typing import Any

import pytest

from myoflow.phantom.cohort import SliceSpec, generate, plan
from myoflow.record import SliceRecord

REGIONAL_GROUP = {
    "fraction": 1.0,
    "global_scale": 0.9,
    "sectors": [{"center_deg": 0, "width_deg": 90, "severity": 0.5}],
}


def regional_config(species: str, **changes: Any) -> dict[str, Any]:
    """A noiseless cohort with twist, ellipticity and a lateral sector: every motion term on."""
    cfg: dict[str, Any] = {
        "species": species,
        "seed": 3,
        "subjects": 2,
        "slices": ["basal", "mid", "apical"],
        "twist_deg": [4, 6],
        "ellipticity": [0.0, 0.1],
        "snr": None,
        "groups": {"regional": REGIONAL_GROUP},
    }
    cfg.update(changes)
    return cfg


@pytest.fixture(scope="session")
def regional_records() -> dict[str, list[tuple[SliceSpec, SliceRecord]]]:
    """Rat and human: 2 subjects x 3 slices each, noiseless, with twist and a regional sector."""
    out = {}
    for species in ("rat", "human"):
        specs = plan(f"{species}_regional", regional_config(species))
        out[species] = [(spec, generate(spec)) for spec in specs]
    return out


@pytest.fixture(scope="session")
def default_rat() -> tuple[SliceSpec, SliceRecord]:
    """A rat mid slice with the default acquisition (bSSFP, SNR 20, 1-3-3-1 tags)."""
    spec = plan("rat_default", {"species": "rat", "seed": 5, "subjects": 1, "slices": ["mid"]})[0]
    return spec, generate(spec)
