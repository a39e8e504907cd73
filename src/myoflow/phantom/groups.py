"""Groups of a synthetic cohort: their sizes, their assignment to subjects and their effects.

Groups get exact sizes (fractions by largest remainder, or the given counts), shuffled by the seed.
Group effects: ``global_scale`` multiplies the contraction amplitude everywhere (in-plane and
longitudinal); each sector removes ``severity`` of it at its centre (see ``motion.Sector``) and,
optionally, thins the wall there by ``thinning`` (an infarct scar, ``myoflow.phantom.thinning``).
Any numeric value may be a number or ``[lo, hi]``, drawn uniformly per subject.

Thinning is drawn from a stream of its own, ``[seed, THINNING_STREAM, subject]``: the subject's
other draws (and everything drawn after them from the subject's stream) are those of the same
cohort without it, so adding thinning to a preset changes nothing else, and a cohort without any
``thinning`` key is the cohort it always was.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from myoflow.phantom.motion import Sector

#: Entropy word of the sectors' thinning stream (``myoflow.phantom.cohort`` uses 0 to 4).
THINNING_STREAM = 5

# Typical designs as group dictionaries (the `groups:` of a cohort entry; config.yaml uses them).
GROUP_PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    # Dahl SS rats, sham vs radiation therapy: |Ecc| about 15-30 % lower, most in the lateral wall.
    "rat_sham_vs_rt": {
        "sham": {"fraction": 0.5},
        "rt": {
            "fraction": 0.5,
            "global_scale": [0.8, 0.9],
            "sectors": [{"center_deg": 0, "width_deg": 120, "severity": [0.2, 0.4]}],
        },
    },
    # UK Biobank-like humans: reference, hypertension (septal), diabetes (global, about 15 %),
    # previous infarction (a regional, nearly akinetic sector).
    "human_ukb": {
        "reference": {"fraction": 0.4},
        "hypertension": {
            "fraction": 0.2,
            "sectors": [{"center_deg": 180, "width_deg": 100, "severity": [0.2, 0.35]}],
        },
        "diabetes": {"fraction": 0.2, "global_scale": [0.82, 0.88]},
        "infarction": {
            "fraction": 0.2,
            "sectors": [{"center_deg": [250, 290], "width_deg": [60, 90], "severity": [0.8, 1.0]}],
        },
    },
}


@dataclass(frozen=True)
class Effects:
    """A subject's draws from the cohort-wide ranges and its group's effect."""

    twist_deg: float
    ellipticity: float
    global_scale: float
    sectors: tuple[Sector, ...]


def draw(value: Any, rng: np.random.Generator) -> float:
    """A number as is, or a uniform draw from ``[lo, hi]``."""
    if isinstance(value, (list, tuple)):
        lo, hi = (float(v) for v in value)
        return float(rng.uniform(lo, hi))
    return float(value)


def group_sizes(groups: dict[str, dict[str, Any]], subjects: int) -> dict[str, int]:
    """Exact group sizes: given counts, or fractions rounded by the largest remainder."""
    names = list(groups)
    if all("count" in groups[g] for g in names):
        return {g: int(groups[g]["count"]) for g in names}
    fractions = [float(groups[g].get("fraction", 1.0 / len(names))) for g in names]
    exact = [f * subjects for f in fractions]
    sizes = [math.floor(e) for e in exact]
    order = sorted(range(len(names)), key=lambda i: (sizes[i] - exact[i], i))
    for i in order[: subjects - sum(sizes)]:
        sizes[i] += 1
    return dict(zip(names, sizes))


def assign_groups(groups: dict[str, dict[str, Any]], subjects: int, seed: int) -> list[str]:
    """Group of each subject: exact sizes, order shuffled by the cohort seed."""
    sizes = group_sizes(groups, subjects)
    if sum(sizes.values()) != subjects:
        raise ValueError(f"group sizes {sizes} do not add up to {subjects} subjects")
    labels = [g for g, size in sizes.items() for _ in range(size)]
    perm = np.random.default_rng([seed, 0]).permutation(subjects)
    return [labels[i] for i in perm]


def draw_effects(
    cohort: dict[str, Any], group: dict[str, Any], rng: np.random.Generator, index: int
) -> Effects:
    """Subject ``index``'s cohort-wide draws (twist, ellipticity) and its group's effect, in that
    order from ``rng``; the sectors' thinning from the thinning stream (module docstring)."""
    thinning_rng = np.random.default_rng([int(cohort["seed"]), THINNING_STREAM, index])
    return Effects(
        twist_deg=draw(cohort["twist_deg"], rng),
        ellipticity=draw(cohort["ellipticity"], rng),
        global_scale=draw(group.get("global_scale", 1.0), rng),
        sectors=tuple(
            Sector(
                draw(sec["center_deg"], rng),
                draw(sec["width_deg"], rng),
                draw(sec["severity"], rng),
                draw(sec.get("thinning", 0.0), thinning_rng),
            )
            for sec in group.get("sectors", [])
        ),
    )
