"""The contraction timing curve s(phase) of one cardiac cycle.

Every time-dependent quantity of the phantom (endocardial radius, longitudinal stretch, twist) is a
function of one scalar s in [0, 1]: 0 at end-diastole (ED), 1 at peak contraction (end-systole,
ES). Keeping time in one curve means the motion model never sees frame numbers, and a record with
any number of frames samples the same physiology.

The curve is a chain of half-cosine ramps between knots. A half-cosine has zero slope at both ends,
so the chain is C1 everywhere (the second derivative jumps at knots), monotone between knots, and
periodic: s(0) = s(1) = 0 with zero slope, so the next beat starts where this one ends.

Phases after ES: a short, slowly declining plateau (so that ES is a unique maximum and ``argmax``
finds it), rapid early filling down to a small residual contraction, a nearly flat diastasis, and
the atrial kick back to 0 at the next ED.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PLATEAU_DROP = 0.04
DIASTASIS_FACTOR = 0.8


@dataclass(frozen=True)
class TimingCurve:
    """Knot phases (fractions of the RR interval) of the contraction curve.

    ``es_phase`` is the peak (s = 1); ``plateau`` the length of the slow decline after it (by
    ``PLATEAU_DROP``); ``filling`` the length of rapid filling down to ``residual``; diastasis keeps
    ``residual`` (decaying to ``DIASTASIS_FACTOR`` of it) until ``atrial_phase``; the atrial kick
    brings s back to 0 at phase 1.
    """

    es_phase: float = 0.45
    plateau: float = 0.06
    filling: float = 0.18
    residual: float = 0.15
    atrial_phase: float = 0.85

    def __post_init__(self) -> None:
        knots = self.knots()[0]
        if not np.all(np.diff(knots) > 0) or knots[0] != 0.0 or knots[-1] != 1.0:
            raise ValueError(f"timing knots must increase from 0 to 1, got {knots}")

    def knots(self) -> tuple[np.ndarray, np.ndarray]:
        """``(phases, values)`` of the knots; the curve ramps by half-cosines between them."""
        p1 = self.es_phase
        p2 = p1 + self.plateau
        p3 = p2 + self.filling
        phases = np.array([0.0, p1, p2, p3, self.atrial_phase, 1.0])
        values = np.array(
            [0.0, 1.0, 1.0 - PLATEAU_DROP, self.residual, DIASTASIS_FACTOR * self.residual, 0.0]
        )
        return phases, values

    def _segments(self, phase: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        phases, values = self.knots()
        p = np.mod(np.asarray(phase, dtype=float), 1.0)
        k = np.clip(np.searchsorted(phases, p, side="right") - 1, 0, len(phases) - 2)
        width = phases[k + 1] - phases[k]
        u = (p - phases[k]) / width
        return u, width, values[k], values[k + 1] - values[k]

    def value(self, phase: np.ndarray | float) -> np.ndarray:
        """s at ``phase`` (fraction of RR; taken modulo 1, so the curve is periodic)."""
        u, _, v0, dv = self._segments(np.asarray(phase))
        return v0 + dv * 0.5 * (1.0 - np.cos(np.pi * u))

    def slope(self, phase: np.ndarray | float) -> np.ndarray:
        """ds/dphase, continuous everywhere (zero at every knot)."""
        u, width, _, dv = self._segments(np.asarray(phase))
        return dv * 0.5 * np.pi * np.sin(np.pi * u) / width

    def frames(self, n_frames: int) -> np.ndarray:
        """s at the ``n_frames`` equally spaced frames of one cycle, frame 0 at ED."""
        return self.value(np.arange(n_frames) / n_frames)
