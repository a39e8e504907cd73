"""Realism presets of the phantom: what real acquisitions do to images that an ideal phantom does not.

Why: trackers and networks tuned on a kind phantom fail on real scans (issue 12: on a real UK
Biobank tagged slice SinMod drifted to 10 mm and HARP lost three quarters of the shortening;
MyoNet trained on the ideal cine saw a fifth of a real cine's motion). ``ideal`` keeps the
phantom as it always was (every number measured on it stays valid); ``realistic`` adds, from
published acquisition facts rather than from any one file:

* tag fading by the imaging pulses: ``readouts_per_frame`` RF pulses of ``readout_flip_deg`` per
  frame and heartbeat on top of T1 recovery (UK Biobank tagging: spoiled GRE, flip 12 degrees,
  TR 8.2 ms, 41 ms per frame; the number of lines is calibrated to the published fading curve,
  see ``READOUTS_PER_FRAME``);
* tags washed out of flowing blood within one or two frames (an effective blood T1 of
  ``washout_frames`` frame intervals) and bright, untagged inflow (``inflow_gain``);
* a whole-heart translation over the cycle (4-7.5 mm between ED and ES on real human cine, as a
  fraction of the mid-ventricular epicardial radius) and rotation (2-6 degrees either way, an
  assumption: the heart rocks in the chest by a few degrees beside the LV's own twist) that fade
  out over a shear layer, so the chest wall and liver next to the heart stay still;
* through-plane motion: the base descends toward the apex (10-15 mm in people, as a fraction
  of the endocardial long axis), so each frame cuts the ventricle at another level;
* papillary muscles and trabeculae in the blood pool (tissue, not in the myocardium mask, keeping
  their tags), epicardial fat, organs abutting the heart, stronger and finer myocardial and blood
  texture, and a smooth coil-sensitivity bias field;
* a wider end-systolic timing range.

Acquired frame counts (12-30 resampled to 20 by preprocessing) are a cohort setting (``frames:
[12, 30]``), not a preset value. What the preset does not model: the basal slice leaving the
ventricle into the atrium or outflow tract, intravoxel dephasing of turbulent flow, breathing
between breath-holds (slice misregistration), and vendor-specific reconstruction filters.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from myoflow.phantom.species import ES_PHASE


@dataclass(frozen=True)
class Realism:
    """One realism preset. The defaults are ``ideal``: the phantom as it always was."""

    name: str = "ideal"
    # --- anatomy (fractions of the slice's ED wall thickness or radii)
    papillary_muscles: bool = False
    #: Depth of the trabecular layer inside the endocardium, as a fraction of the wall.
    trabeculae: float = 0.0
    #: Thickness of epicardial fat near the RV insertions, as a fraction of the wall.
    epicardial_fat: float = 0.0
    #: Liver and chest wall placed against the heart instead of a heart's width away.
    abutting_organs: bool = False
    #: Relative texture amplitude of myocardium and blood (None = the contrast table's).
    myocardium_texture: float | None = None
    blood_texture: float | None = None
    #: Add fine texture (wavelengths of a few pixels) to the smooth texture.
    fine_texture: bool = False
    # --- motion
    #: Peak whole-heart translation (at ES), as a fraction of the mid-ventricular ED epicardial
    #: radius, drawn per subject; its direction is drawn uniformly.
    heart_shift: tuple[float, float] = (0.0, 0.0)
    #: Peak whole-heart rotation (degrees, at ES) about the LV centre, its sign drawn per subject.
    heart_rotation_deg: tuple[float, float] = (0.0, 0.0)
    #: Peak descent of the base toward the apex, as a fraction of the endocardial long axis.
    base_descent: tuple[float, float] = (0.0, 0.0)
    #: Phase of end-systole in the RR interval, drawn per subject.
    es_phase: tuple[float, float] = ES_PHASE
    # --- acquisition
    readouts_per_frame: int = 1
    readout_flip_deg: float = 0.0
    #: Blood tag wash-out time constant in frame intervals (None = the ideal 0.1 RR).
    washout_frames: float | None = None
    #: Brightness of inflowing blood in the tagged series relative to the contrast table.
    inflow_gain: float = 1.0
    #: Peak-to-peak relative amplitude of the multiplicative coil-sensitivity field.
    bias_field: float = 0.0


#: Readout RF pulses per frame and heartbeat of a segmented tagged acquisition. UK Biobank's
#: 41 ms frames at TR 8.2 ms would allow 5 lines per frame; with T1 recovery that left the tag
#: harmonic at the noise-and-texture floor from mid-diastole on (spectral peak prominence 1-4 at
#: the last frame, like an untagged image), while real UK Biobank slices are tracked by experts to
#: the last frame. 3 per frame reproduces the published curve (harmonic amplitude in the
#: myocardium about a quarter of ED at ES, a fifth at the end; measured 0.28-0.33 and 0.23 with
#: tags still 5x above the floor at the last frame; tests/unit/phantom/test_phantom_realism.py).
#: Small animals are imaged with 1-2 lines per frame at TR 4-5 ms and frame intervals of 6-10 ms.
READOUTS_PER_FRAME = {"human": 3, "rat": 2, "mouse": 2}

REALISTIC = Realism(
    name="realistic",
    papillary_muscles=True,
    trabeculae=0.25,
    epicardial_fat=0.3,
    abutting_organs=True,
    myocardium_texture=0.12,
    blood_texture=0.15,
    fine_texture=True,
    # 4-7.5 mm over a human mid-ventricular epicardial radius of about 34 mm
    heart_shift=(0.12, 0.22),
    heart_rotation_deg=(2.0, 6.0),
    # 10-15 mm over a human endocardial long axis of about 66 mm
    base_descent=(0.15, 0.23),
    es_phase=(0.32, 0.48),
    readout_flip_deg=12.0,
    washout_frames=0.7,
    inflow_gain=1.5,
    bias_field=0.4,
)

PRESETS = ("ideal", "realistic")


def realism(name: str, species: str) -> Realism:
    """The preset ``name`` for ``species`` (the readouts per frame are the species')."""
    if name == "ideal":
        return Realism()
    if name == "realistic":
        return replace(REALISTIC, readouts_per_frame=READOUTS_PER_FRAME[species])
    raise ValueError(f"unknown realism preset {name!r}; choose one of {PRESETS}")


def bias_field(shape: tuple[int, int], amplitude: float, rng: np.random.Generator) -> np.ndarray:
    """A smooth multiplicative field of mean about 1 and peak-to-peak ``amplitude``.

    A surface coil's sensitivity falls off with distance: a broad Gaussian centred at a random
    point on a circle just outside the field of view, rescaled to ``1 +- amplitude / 2``.
    """
    if amplitude == 0.0:
        return np.ones(shape, np.float32)
    h, w = shape
    angle = rng.uniform(0.0, 2.0 * np.pi)
    cy, cx = (
        (h - 1) / 2.0 * (1.0 + 1.2 * np.sin(angle)),
        (w - 1) / 2.0 * (1.0 + 1.2 * np.cos(angle)),
    )
    rows, cols = np.indices(shape, dtype=float)
    field = np.exp(-((rows - cy) ** 2 + (cols - cx) ** 2) / (2.0 * (0.8 * max(h, w)) ** 2))
    field = (field - field.min()) / max(float(np.ptp(field)), 1e-12)
    return (1.0 + amplitude * (field - 0.5)).astype(np.float32)
