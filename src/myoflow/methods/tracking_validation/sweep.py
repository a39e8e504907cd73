"""The phantom slices of one cell of the tracking validation sweep.

Same hearts in every cell. For every cell the sweep generates the same ``slices`` phantom slices
of its species (one plan per species and realism preset from ``seed``), so a cell differs from
its neighbours only in what the cell's keys say: noise level, tag spacing, the mask the tracker
is given, and (between presets) what realism adds to the images and motion. The realistic
preset keeps the ideal phantom's anatomy and motion draws and adds its own from a separate
random stream (``myoflow.phantom.cohort``), so its hearts are the ideal ones, acquired and
moving as real ones do. Curves over SNR, spacing, mask error and realism are then not blurred
by subject sampling.

Why tag spacing in pixels. What limits a harmonic tracker is the tag period in pixels (aliasing
of the tag harmonics below about 3 pixels, fewer tag lines across a thin wall above 6), while the
phantom samples a pixel size per subject. So the cell's spacing ``s`` px becomes a per-slice
``spacing_mm = s x pixel_mm``: the planned spec's ``imaging.tags`` is rebuilt with
``dataclasses.replace`` (every other draw of the plan, tag phase offsets included, is kept).

The grid and its cells are ``myoflow.methods.tracking_validation.grid``; the driver and the
aggregation ``validation``; the metrics of one slice ``scoring``.
"""

from __future__ import annotations

import math
from dataclasses import replace

from myoflow.methods.tracking_validation.grid import Cell, SweepConfig
from myoflow.phantom.cohort import SliceSpec, plan

#: Slice positions in the order a cell takes them: mid first, so a one-slice cell is
#: mid-ventricular (where the UK Biobank figure that anchors the Ecc aim was measured).
POSITIONS = ("mid", "basal", "apical")


def validation_specs(
    species: str,
    snr: float,
    spacing_px: float,
    n_slices: int,
    seed: int = 0,
    matrix: int = 160,
    frames: int = 20,
    pattern: str = "1-3-3-1",
    realism: str = "ideal",
) -> list[SliceSpec]:
    """The ``n_slices`` phantom slices of one cell, tags ``spacing_px`` pixels apart at ``snr``.

    The plan depends on ``species``, ``realism``, ``seed``, ``matrix`` and ``frames`` only, so
    every cell of a species and preset holds the same slices; the SNR and the tag grid (spacing
    in mm = pixels x that subject's pixel size) are then set on each planned spec.
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
        "realism": realism,
    }
    specs = plan(f"trackval_{species}", cfg)[:n_slices]
    return [with_tags(spec, snr, spacing_px) for spec in specs]


def cell_specs(config: SweepConfig, cell: Cell) -> list[SliceSpec]:
    """The phantom slices of ``cell`` under ``config`` (its slice count, seed, size, tags)."""
    return validation_specs(
        cell.species,
        cell.snr,
        cell.spacing_px,
        config.slices,
        config.seed,
        config.matrix,
        config.frames,
        config.pattern,
        cell.realism,
    )


def with_tags(spec: SliceSpec, snr: float, spacing_px: float) -> SliceSpec:
    """``spec`` imaged at ``snr`` with tags ``spacing_px`` of its own pixels apart."""
    spacing_mm = float(spacing_px) * spec.imaging.pixel_mm
    tags = replace(spec.imaging.tags, spacing_mm=spacing_mm)
    imaging = replace(spec.imaging, tags=tags, snr=float(snr))
    covariates = {**spec.covariates, "tag_spacing_mm": spacing_mm, "tag_spacing_px": spacing_px}
    return replace(spec, imaging=imaging, covariates=covariates)
