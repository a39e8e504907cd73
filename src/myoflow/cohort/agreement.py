"""Cross-checks between the series of one manifest row: frames, pixel grid, spacing and timing.

A cine, its mask and its reference displacement come from different files and often different
tools; each states its own frame count, size, spacing and times. They must agree before they
become one record, and where the manifest overrides a value, the record says so with a flag.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from myoflow.cohort.cycle import check_one_cycle
from myoflow.cohort.row import numbers
from myoflow.cohort.series import Series, spacing_pair
from myoflow.errors import InputError

SPACING_TOLERANCE = 0.01  # relative
TIME_TOLERANCE = 0.01  # relative to the median frame interval


def check_frames(
    series: Mapping[str, Series],
    paths: Mapping[str, str],
    reference: str,
    fields: Mapping[str, Any],
) -> str | None:
    """Raise unless every series has the reference's frame count; return the mask's frame mode."""
    n = series[reference].n_frames

    def mismatch(name: str, count: int, hint: str = "") -> InputError:
        return InputError(
            f"{reference} has {n} frames but {name} has {count}{hint} "
            f"({reference}: {paths[reference]}; {name}: {paths[name]})",
            file=paths[name],
        )

    for name in ("cine", "tagged", "displacement", "landmarks"):
        if name in series and series[name].n_frames != n:
            raise mismatch(name, series[name].n_frames)
    if "mask_es" in series and series["mask_es"].n_frames != 1:
        raise InputError(
            f"the end-systolic mask must be one frame, got {series['mask_es'].n_frames}",
            file=paths["mask_es"],
        )
    if "mask" not in series:
        return None
    count = series["mask"].n_frames
    mode = fields.get("mask_frames") or ("ed" if count == 1 else "all")
    if mode == "all" and count != n:
        raise mismatch("mask", count, " (mask_frames: all)")
    if mode == "ed" and count not in (1, n):
        raise mismatch("mask", count, " (mask_frames: ed wants 1 frame or one per frame)")
    return str(mode)


def check_sizes(series: Mapping[str, Series], paths: Mapping[str, str], reference: str) -> None:
    size = series[reference].data.shape[-2:]
    for name, s in series.items():
        if name == "landmarks" or s.data.shape[-2:] == size:
            continue
        raise InputError(
            f"{name} is {s.data.shape[-2]}x{s.data.shape[-1]} pixels but {reference} is "
            f"{size[0]}x{size[1]} ({reference}: {paths[reference]}; {name}: {paths[name]})",
            file=paths[name],
        )


def pixel_spacing(
    series: Mapping[str, Series],
    paths: Mapping[str, str],
    fields: Mapping[str, Any],
    reference: str,
) -> tuple[tuple[float, float], str | None]:
    """Pixel spacing ``(row, col)`` mm, and a flag when it did not come from the files."""
    if "spacing_mm" in fields:
        return spacing_pair(
            numbers(fields["spacing_mm"]), "-", "spacing_mm"
        ), "spacing_from_manifest"
    known = [(name, s.spacing_mm) for name, s in series.items() if s.spacing_mm is not None]
    if not known:
        raise InputError(
            "no pixel spacing: the files state none; give spacing_mm in the manifest",
            file=paths[reference],
        )
    first_name, first = known[0]
    for name, spacing in known[1:]:
        if any(abs(a - b) > SPACING_TOLERANCE * b for a, b in zip(spacing, first)):
            raise InputError(
                f"pixel spacing differs by more than 1% between {first_name} "
                f"({first[0]:g}, {first[1]:g} mm; {paths[first_name]}) and {name} "
                f"({spacing[0]:g}, {spacing[1]:g} mm; {paths[name]})",
                file=paths[name],
            )
    return first, None


def frame_times(
    series: Mapping[str, Series],
    paths: Mapping[str, str],
    fields: Mapping[str, Any],
    n: int,
    options: Mapping[str, Any],
    reference: str,
) -> tuple[np.ndarray, str | None]:
    """Frame times (ms) for ``n`` frames, and a flag when they did not come from the files.

    Times stated by the files or the manifest must be those of one cardiac cycle
    (``cycle.check_one_cycle``); times made from ``rr_ms`` or an assumed cycle are by construction.
    """
    species = str(options.get("species", "human"))
    if "frame_times_ms" in fields:
        times = np.asarray(numbers(fields["frame_times_ms"]))
        if len(times) != n:
            raise InputError(
                f"frame_times_ms lists {len(times)} times but {reference} has {n} frames",
                file=paths[reference],
            )
        assumed = options.get("assumed_rr_ms")
        if assumed:  # a folder adapter (ACDC) derived the times from frame numbers
            return times, f"frame_times_assumed_rr:{assumed:g}ms"
        check_one_cycle(times, species, "frame_times_ms", str(options.get("manifest", "-")))
        return times, "frame_times_from_manifest"
    if "rr_ms" in fields:
        return np.linspace(0.0, fields["rr_ms"], n, endpoint=False), "frame_times_from_rr_ms"
    assumed = options.get("assumed_rr_ms")
    if assumed:
        return np.linspace(0.0, assumed, n, endpoint=False), f"frame_times_assumed_rr:{assumed:g}ms"
    # Image series state acquisition times; masks and truth files often carry placeholder headers,
    # so their times are used only when no image has any, and never cross-checked.
    images = [name for name in ("cine", "tagged") if name in series]
    ranked = images + [name for name in series if name not in images]
    known: list[tuple[str, np.ndarray]] = [
        (name, stated) for name in ranked if (stated := series[name].frame_times_ms) is not None
    ]
    if known:
        first_name, first = known[0]
        scale = float(np.median(np.diff(first))) if n > 1 else 1.0
        for name, other in known[1:]:
            if name in images and np.max(np.abs(other - first)) > TIME_TOLERANCE * abs(scale):
                raise InputError(
                    f"frame times differ between {first_name} ({paths[first_name]}) and {name} "
                    f"({paths[name]})",
                    file=paths[name],
                )
        check_one_cycle(first, species, f"from {first_name}", paths[first_name])
        return np.asarray(first, dtype=float), None
    raise InputError(
        "no frame times: the files state none; give frame_times_ms or rr_ms in the manifest",
        file=paths[reference],
    )


def join_ed_es_pair(
    series: dict[str, Series], paths: Mapping[str, str], fields: Mapping[str, Any]
) -> list[str]:
    """Join a ``cine`` (ED frame) and ``cine_es`` (ES frame) into one two-frame cine, in place.

    Returns the record flags of a pair (none for an ordinary row). The two frames are ED and ES
    only, so stages that need the whole cycle refuse such a record by its ``ed_es_only`` flag.
    """
    if "cine_es" not in series:
        return []
    ed_frame, es_frame = series["cine"], series.pop("cine_es")
    for name, s in (("cine", ed_frame), ("cine_es", es_frame)):
        if s.n_frames != 1:
            raise InputError(
                f"{name} must be one frame when the cine is given as an ED/ES pair, got "
                f"{s.n_frames}",
                file=paths[name],
            )
    if "ed_frame" in fields or "es_frame" in fields:
        raise InputError(
            "ed_frame and es_frame do not apply to an ED/ES pair (cine is ED, cine_es is ES)",
            file=paths["cine_es"],
        )
    if ed_frame.data.shape != es_frame.data.shape:
        raise InputError(
            f"cine_es is {es_frame.data.shape[1]}x{es_frame.data.shape[2]} pixels but cine is "
            f"{ed_frame.data.shape[1]}x{ed_frame.data.shape[2]}",
            file=paths["cine_es"],
        )
    series["cine"] = Series(
        np.concatenate([ed_frame.data, es_frame.data]),
        ed_frame.spacing_mm or es_frame.spacing_mm,
        # single frames state no cycle; without frame_times_ms the times are the frame order
        np.array([0.0, 1.0]),
        ed_frame.slice_location_mm,
        ed_frame.metadata,
        ed_frame.notes,
    )
    return ["ed_es_only"] + ([] if "frame_times_ms" in fields else ["es_time_unknown"])
