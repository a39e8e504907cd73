"""The grid of the tracking validation: its settings, its cells and their stable ids.

Why a module of its own, free of numpy and of the phantom: the workflow's parse step reads the
grid to name one job per cell (``workflow/rules/tracking_validation.smk``), and that step must
stay fast (docs/architecture.md, rules of the house). Generating and scoring a cell's slices is
``sweep``, ``scoring`` and ``validation``'s business.

A cell is ``(species, realism, mask_error, snr, spacing_px)``:

* ``realism``: the phantom preset (``myoflow.phantom.realism``): ``ideal`` is the phantom the
  trackers were developed on, ``realistic`` adds what real scans do (fading tags, tags washed out
  of blood, through-plane motion, a heart moving in a still chest, papillary muscles, ...);
* ``mask_error``: what is wrong with the myocardium mask the tracker is given
  (``mask_errors``): on real data the mask is drawn by a person or a network and misses the
  wall by a pixel or two, and the trackers take their region from it;
* ``snr`` and ``spacing_px``: the noise and the tag period in pixels.

Cell ids (``human-realistic-dilate2-snr20-sp5``) name the cell's folder and job: lower-case
letters, digits and hyphens only (a decimal point becomes ``p``: ``snr7p5``), the same for the
same cell whatever else the grid holds, so adding a value to the grid leaves the other cells'
results in place.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

#: The phantom's realism presets (``myoflow.phantom.realism.PRESETS``; a test keeps them equal,
#: so this module need not import the phantom).
REALISMS = ("ideal", "realistic")
#: Mask errors: none, eroded by 1 or 2 px, dilated by 1 or 2 px, shifted by 1 or 2 px along +x
#: (``mask_errors.perturb_mask`` reads the operation and the pixel count from the name).
MASK_ERRORS = ("none", "erode1", "erode2", "dilate1", "dilate2", "shift1", "shift2")
#: The keys of a cell, in table order (the ``method`` column comes before them in every table).
CELL_FIELDS = ("species", "realism", "mask_error", "snr", "spacing_px")


def _number(value: float) -> str:
    """``20`` for 20.0, ``7p5`` for 7.5, ``1e06`` for a million: a positive number as a file
    name can hold it."""
    return f"{float(value):g}".replace(".", "p").replace("+", "")


@dataclass(frozen=True)
class Cell:
    """One cell of the grid: the phantom slices of ``species`` under ``realism``, tracked from a
    mask with ``mask_error``, imaged at ``snr`` with tags ``spacing_px`` pixels apart."""

    species: str
    realism: str
    mask_error: str
    snr: float
    spacing_px: float

    @property
    def id(self) -> str:
        """The cell's stable, filesystem-safe name, e.g. ``human-realistic-dilate2-snr20-sp5``."""
        return (
            f"{self.species}-{self.realism}-{self.mask_error}"
            f"-snr{_number(self.snr)}-sp{_number(self.spacing_px)}"
        )

    def keys(self) -> dict[str, Any]:
        """The cell's columns in every table (``CELL_FIELDS``), numbers as floats."""
        return {
            "species": self.species,
            "realism": self.realism,
            "mask_error": self.mask_error,
            "snr": float(self.snr),
            "spacing_px": float(self.spacing_px),
        }


@dataclass(frozen=True)
class SweepConfig:
    """What the sweep covers; ``from_dict`` reads ``config.yaml``'s ``tracking_validation``.

    ``slices`` is the number of phantom slices per cell (positions mid, basal, apical in turn,
    three per subject); ``tracker_options`` maps a tracker name to its options (the config's
    ``tracking`` section). The defaults are the schema's: the full SNR x spacing grid on the
    ideal phantom with the true mask; ``config.yaml`` and ``benchmarks/bench_tracking.py`` choose
    their own grids.
    """

    trackers: tuple[str, ...] = ("harp", "sinmod")
    species: tuple[str, ...] = ("rat", "human")
    realism: tuple[str, ...] = ("ideal",)
    mask_error: tuple[str, ...] = ("none",)
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
        for name in ("trackers", *CELL_FIELDS):
            if not getattr(self, name):
                raise ValueError(f"tracking validation: '{name}' is empty")
        for name, allowed in (("realism", REALISMS), ("mask_error", MASK_ERRORS)):
            unknown = sorted(set(getattr(self, name)) - set(allowed))
            if unknown:
                raise ValueError(
                    f"tracking validation: unknown {name} {unknown}; allowed: {list(allowed)}"
                )
        if any(s <= 0 for s in self.snr):
            raise ValueError(f"tracking validation: SNR must be positive, got {list(self.snr)}")
        if any(s <= 0 for s in self.spacing_px):
            raise ValueError(f"tag spacing must be positive pixels, got {list(self.spacing_px)}")
        ids = [cell.id for cell in self.cells()]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"tracking validation: cell(s) {repeated} appear more than once")

    @classmethod
    def from_dict(
        cls, cfg: Mapping[str, Any], tracker_options: Mapping[str, Mapping[str, Any]] | None = None
    ) -> SweepConfig:
        """From a ``tracking_validation`` config entry (``enabled`` is the workflow's business).

        Unknown keys are refused, so a typo does not silently fall back to a default.
        """
        names = ("trackers", "species", "realism", "mask_error")
        numbers = ("snr", "spacing_px")
        integers = ("slices", "seed", "matrix", "frames")
        allowed = {*names, *numbers, *integers, "pattern"}
        unknown = sorted(set(cfg) - allowed - {"enabled"})
        if unknown:
            raise ValueError(
                f"tracking_validation: unknown key(s) {unknown}; allowed: {sorted(allowed)}"
            )
        kwargs: dict[str, Any] = {}
        for key in names:
            if key in cfg:
                kwargs[key] = tuple(str(v) for v in cfg[key])
        for key in numbers:
            if key in cfg:
                kwargs[key] = tuple(float(v) for v in cfg[key])
        for key in integers:
            if key in cfg:
                kwargs[key] = int(cfg[key])
        if "pattern" in cfg:
            kwargs["pattern"] = str(cfg["pattern"])
        options = {
            name: dict((tracker_options or {}).get(name) or {})
            for name in kwargs.get("trackers", cls.trackers)
        }
        return cls(**kwargs, tracker_options=options)

    def to_dict(self) -> dict[str, Any]:
        """The ``tracking_validation`` entry that ``from_dict`` reads back into this config
        (tracker options aside: they are the config's ``tracking`` section)."""
        return {
            "trackers": list(self.trackers),
            **{name: list(getattr(self, name)) for name in CELL_FIELDS},
            "slices": self.slices,
            "seed": self.seed,
            "matrix": self.matrix,
            "frames": self.frames,
            "pattern": self.pattern,
        }

    def cells(self) -> Iterator[Cell]:
        """Every cell, in table order (species, realism, mask error, SNR, spacing)."""
        for species in self.species:
            for realism in self.realism:
                for mask_error in self.mask_error:
                    for snr in self.snr:
                        for spacing in self.spacing_px:
                            yield Cell(species, realism, mask_error, snr, spacing)

    def cell(self, cell_id: str) -> Cell:
        """The cell named ``cell_id`` (``KeyError`` naming the grid's ids when absent)."""
        for cell in self.cells():
            if cell.id == cell_id:
                return cell
        raise KeyError(
            f"no cell {cell_id!r} in the tracking validation grid: {[c.id for c in self.cells()]}"
        )

    def only(self, cell: Cell) -> SweepConfig:
        """This config narrowed to one cell: what that cell's job needs and nothing else, so
        that changing another cell of the grid does not change (and rerun) this one."""
        return replace(
            self,
            species=(cell.species,),
            realism=(cell.realism,),
            mask_error=(cell.mask_error,),
            snr=(float(cell.snr),),
            spacing_px=(float(cell.spacing_px),),
        )
