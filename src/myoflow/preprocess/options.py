"""The options of each preprocessing profile, checked once, with messages naming the config key.

A profile's options arrive as the resolved block of config.yaml (``myoflow.config.profile_options``:
defaults <- global ``preprocess:`` <- the cohort's own) and become a frozen dataclass through the
one settings parser (``myoflow.settings.parse``: keys and types), then checks of their own, so a
job fails at its start, naming ``preprocess`` (the crop profile's flat keys) or
``preprocess.<profile>`` and the key, rather than halfway through a shard. The defaults are the
same as ``myoflow.config``'s and the schema's descriptions (a test keeps them equal).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from myoflow.errors import ConfigError
from myoflow.preprocess.intensity import INTENSITY_MODES
from myoflow.preprocess.roi import ROI_MODES
from myoflow.preprocess.spatial import INTERPOLATIONS
from myoflow.preprocess.temporal import TEMPORAL_MODES
from myoflow.settings import parse


class ProfileOptions:
    """``from_dict`` and the checks every profile shares (size, frames, intensity, percentiles)."""

    SECTION: ClassVar[str]

    @classmethod
    def from_dict(cls, opts: Mapping[str, Any]) -> Self:
        """Options from a plain dict: keys and types through ``myoflow.settings.parse`` (missing
        keys take the defaults), then the checks across keys and modules (``problems``)."""
        parsed: Self = parse(cls, opts, cls.SECTION)  # type: ignore[type-var]  # dataclasses
        return parsed.check()

    def problems(self) -> list[str]:
        """What is wrong with the shared options (a subclass adds its own)."""
        problems = []
        for name in ("size", "frames"):
            value = getattr(self, name, None)
            if value is not None and value < 2:
                problems.append(f"{name}: must be at least 2, got {value}")
        intensity = getattr(self, "intensity", None)
        if intensity is not None and intensity not in INTENSITY_MODES:
            problems.append(f"intensity: {intensity!r} is not one of {list(INTENSITY_MODES)}")
        percentiles = getattr(self, "percentiles", (0.0, 100.0))
        if len(percentiles) != 2 or not 0 <= percentiles[0] < percentiles[1] <= 100:
            problems.append(
                f"percentiles: need two values 0 <= lo < hi <= 100, got {list(percentiles)}"
            )
        return problems

    def check(self) -> Self:
        problems = self.problems()
        if problems:
            raise ConfigError(f"{self.SECTION}: " + "; ".join(problems))
        return self


@dataclass(frozen=True)
class PreprocessOptions(ProfileOptions):
    """The ``crop`` profile (paper 000): the flat keys of ``preprocess:`` (README, config schema)."""

    SECTION: ClassVar[str] = "preprocess"

    size: int = 128
    frames: int = 20
    margin: float = 0.25
    min_side_mm: float | None = None
    roi: str = "mask"
    center_side_mm: float | None = None
    temporal: str = "resample"
    intensity: str = "percentile"
    percentiles: tuple[float, float] = (1.0, 99.0)
    interpolation: str = "linear"
    max_displacement_mm: float | None = None

    def problems(self) -> list[str]:
        problems = []
        for name, allowed in (
            ("roi", ROI_MODES),
            ("temporal", TEMPORAL_MODES),
            ("interpolation", INTERPOLATIONS),
        ):
            if getattr(self, name) not in allowed:
                problems.append(f"{name}: {getattr(self, name)!r} is not one of {list(allowed)}")
        problems += super().problems()
        if self.margin < 0:
            problems.append(f"margin: must be >= 0, got {self.margin}")
        for name in ("min_side_mm", "center_side_mm", "max_displacement_mm"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                problems.append(f"{name}: must be positive or null, got {value}")
        return problems


@dataclass(frozen=True)
class FovOptions(ProfileOptions):
    """The ``fov`` profile (paper 003): the whole field of view at ``size`` x ``size``."""

    SECTION: ClassVar[str] = "preprocess.fov"

    size: int = 256
    frames: int = 20
    intensity: str = "percentile"
    percentiles: tuple[float, float] = (1.0, 99.0)


@dataclass(frozen=True)
class Frames2dOptions(ProfileOptions):
    """The ``frames2d`` profile (paper 001): every frame resized to ``size`` x ``size``."""

    SECTION: ClassVar[str] = "preprocess.frames2d"

    size: int = 256
    percentiles: tuple[float, float] = (1.0, 99.0)
    #: Keep the record's displacement (the phantom's truth, a manifest's provided field), twice
    #: a frame's size again on disk: paper 001's physics transform then moves its tags with the
    #: tissue (``physics.moving_tags``).
    displacement: bool = False


@dataclass(frozen=True)
class Stack3dOptions(ProfileOptions):
    """The ``stack3d`` profile (paper 002): each subject's stack per frame, interpolated through
    plane to about ``z_spacing_mm`` and windowed to ``depth`` x ``size`` x ``size``."""

    SECTION: ClassVar[str] = "preprocess.stack3d"

    z_spacing_mm: float = 0.16
    size: int = 96
    depth: int = 36
    series: str = "cine"
    percentiles: tuple[float, float] = (1.0, 99.0)

    def problems(self) -> list[str]:
        problems = super().problems()
        if not self.z_spacing_mm > 0:
            problems.append(f"z_spacing_mm: must be positive, got {self.z_spacing_mm}")
        if self.depth < 2:
            problems.append(f"depth: must be at least 2, got {self.depth}")
        if self.series not in ("cine", "tagged"):
            problems.append(f"series: {self.series!r} is not one of ['cine', 'tagged']")
        return problems
