"""Planning of the tracking validation sweep: which cells, and the phantom slices of each.

The sweep. For every species, SNR and tag spacing (in pixels) it generates the same ``slices``
phantom slices (one plan per species from ``seed``, so a cell differs from its neighbours only in
noise level and tag spacing, never in anatomy or motion: the curves over SNR and spacing are then
not blurred by subject sampling), runs every tracker on each slice, and scores it against the
truth beside the zero-displacement baseline on the same slice (docs/architecture.md, Benchmarks).

Why tag spacing in pixels. What limits a harmonic tracker is the tag period in pixels (aliasing
of the tag harmonics below about 3 pixels, fewer tag lines across a thin wall above 6), while the
phantom samples a pixel size per subject. So the cell's spacing ``s`` px becomes a per-slice
``spacing_mm = s x pixel_mm``: the planned spec's ``imaging.tags`` is rebuilt with
``dataclasses.replace`` (every other draw of the plan, tag phase offsets included, is kept).

The driver and the aggregation are in ``myoflow.methods.tracking_validation.validation``; the metrics of one slice in
``myoflow.methods.tracking_validation.scoring``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from myoflow.phantom.cohort import SliceSpec, plan

#: Slice positions in the order a cell takes them: mid first, so a one-slice cell is
#: mid-ventricular (where the UK Biobank figure that anchors the Ecc aim was measured).
POSITIONS = ("mid", "basal", "apical")


@dataclass(frozen=True)
class SweepConfig:
    """What the sweep covers; ``from_dict`` reads ``config.yaml``'s ``tracking_validation``.

    ``slices`` is the number of phantom slices per cell (positions mid, basal, apical in turn,
    three per subject); ``tracker_options`` maps a tracker name to its options (the config's
    ``tracking`` section).
    """

    trackers: tuple[str, ...] = ("harp", "sinmod")
    species: tuple[str, ...] = ("rat", "human")
    snr: tuple[float, ...] = (5.0, 10.0, 20.0, 40.0)
    spacing_px: tuple[float, ...] = (3.0, 4.0, 5.0, 6.0)
    slices: int = 2
    seed: int = 0
    matrix: int = 160
    frames: int = 20
    pattern: str = "1-3-3-1"
    tracker_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.slices < 1:
            raise ValueError(
                f"tracking validation needs at least 1 slice per cell, got {self.slices}"
            )
        for name in ("trackers", "species", "snr", "spacing_px"):
            if not getattr(self, name):
                raise ValueError(f"tracking validation: '{name}' is empty")
        if any(s <= 0 for s in self.snr):
            raise ValueError(f"tracking validation: SNR must be positive, got {list(self.snr)}")
        if any(s <= 0 for s in self.spacing_px):
            raise ValueError(f"tag spacing must be positive pixels, got {list(self.spacing_px)}")

    @classmethod
    def from_dict(
        cls, cfg: Mapping[str, Any], tracker_options: Mapping[str, Mapping[str, Any]] | None = None
    ) -> SweepConfig:
        """From a ``tracking_validation`` config entry (``enabled`` is the workflow's business).

        Unknown keys are refused, so a typo does not silently fall back to a default.
        """
        allowed = {
            "trackers",
            "species",
            "snr",
            "spacing_px",
            "slices",
            "seed",
            "matrix",
            "frames",
            "pattern",
        }
        unknown = sorted(set(cfg) - allowed - {"enabled"})
        if unknown:
            raise ValueError(
                f"tracking_validation: unknown key(s) {unknown}; allowed: {sorted(allowed)}"
            )
        kwargs: dict[str, Any] = {}
        for key in ("trackers", "species"):
            if key in cfg:
                kwargs[key] = tuple(str(v) for v in cfg[key])
        for key in ("snr", "spacing_px"):
            if key in cfg:
                kwargs[key] = tuple(float(v) for v in cfg[key])
        for key in ("slices", "seed", "matrix", "frames"):
            if key in cfg:
                kwargs[key] = int(cfg[key])
        if "pattern" in cfg:
            kwargs["pattern"] = str(cfg["pattern"])
        options = {
            name: dict((tracker_options or {}).get(name) or {})
            for name in kwargs.get("trackers", cls.trackers)
        }
        return cls(**kwargs, tracker_options=options)

    def cells(self) -> Iterator[tuple[str, float, float]]:
        """``(species, snr, spacing_px)`` of every cell, in table order."""
        for species in self.species:
            for snr in self.snr:
                for spacing in self.spacing_px:
                    yield species, snr, spacing


# --------------------------------------------------------------------------------------------
# The slices of a cell


def validation_specs(
    species: str,
    snr: float,
    spacing_px: float,
    n_slices: int,
    seed: int = 0,
    matrix: int = 160,
    frames: int = 20,
    pattern: str = "1-3-3-1",
) -> list[SliceSpec]:
    """The ``n_slices`` phantom slices of one cell, tags ``spacing_px`` pixels apart at ``snr``.

    The plan depends on ``species``, ``seed``, ``matrix`` and ``frames`` only, so every cell of a
    species holds the same hearts; the SNR and the tag grid (spacing in mm = pixels x that
    subject's pixel size) are then set on each planned spec.
    """
    cfg = {
        "species": species,
        "subjects": math.ceil(n_slices / len(POSITIONS)),
        "slices": list(POSITIONS),
        "seed": seed,
        "matrix": matrix,
        "frames": frames,
        "snr": snr,
        "tagging": {"pattern": pattern},
    }
    specs = plan(f"trackval_{species}", cfg)[:n_slices]
    return [with_tags(spec, snr, spacing_px) for spec in specs]


def with_tags(spec: SliceSpec, snr: float, spacing_px: float) -> SliceSpec:
    """``spec`` imaged at ``snr`` with tags ``spacing_px`` of its own pixels apart."""
    spacing_mm = float(spacing_px) * spec.imaging.pixel_mm
    tags = replace(spec.imaging.tags, spacing_mm=spacing_mm)
    imaging = replace(spec.imaging, tags=tags, snr=float(snr))
    covariates = {**spec.covariates, "tag_spacing_mm": spacing_mm, "tag_spacing_px": spacing_px}
    return replace(spec, imaging=imaging, covariates=covariates)
