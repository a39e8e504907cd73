"""What a real acquisition adds to a subject: its frame count, ES phase, heart shift between ED
and ES, base descent and heart rotation.

Why a stream of its own: these are drawn from ``[seed, 3, subject]`` (see
``myoflow.phantom.cohort``), apart from the anatomy and physiology of ``[seed, 1, subject]``, so
the ideal phantom's draws never change when realism is added, and each draw is appended after
the others so that a preset without the later ones keeps its earlier draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from myoflow.phantom.realism import Realism
from myoflow.phantom.species import Subject


@dataclass(frozen=True)
class Acquired:
    """A subject's draws of the ``[seed, 3, i]`` stream (module docstring)."""

    frames: int
    es_phase: float
    shift_mm: tuple[float, float]
    base_descent: float
    rotation_deg: float = 0.0


def draw_acquired(cfg: dict[str, Any], index: int, subject: Subject, real: Realism) -> Acquired:
    """Subject ``index``'s acquisition draws; the ideal phantom draws only its frame count."""
    rng = np.random.default_rng([int(cfg["seed"]), 3, index])
    frames = cfg["frames"]
    n = int(rng.integers(frames[0], frames[1] + 1)) if isinstance(frames, list) else int(frames)
    if real.name == "ideal":
        return Acquired(n, subject.es_phase, (0.0, 0.0), 0.0)
    es_phase = float(rng.uniform(*real.es_phase))
    _, r1_mid, _ = subject.geometry.slice("mid")
    shift = float(rng.uniform(*real.heart_shift)) * r1_mid
    direction = float(rng.uniform(0.0, 2.0 * math.pi))
    descent = float(rng.uniform(*real.base_descent)) * subject.geometry.endo_length_mm
    # drawn last, so the draws before it are those of the preset without rotation
    rotation = float(rng.uniform(*real.heart_rotation_deg)) * float(rng.choice([-1.0, 1.0]))
    shift_xy = (shift * math.cos(direction), shift * math.sin(direction))
    return Acquired(n, es_phase, shift_xy, descent, rotation)
