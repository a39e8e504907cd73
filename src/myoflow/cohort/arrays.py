"""Array files (HDF5, NPZ, NPY) already in, or one axis move away from, the canonical layout.

These are the formats of data that has been processed elsewhere (exported segmentations,
displacement fields from another tracker), so there is no geometry to interpret: the arrays are
``[T, H, W]`` images and masks, ``[T, 2, H, W]`` displacement and ``[T, 2, 168]`` landmarks, both
in mm. The cohort option ``layout: hwt`` accepts time-last arrays (the canonical layout with the
frame axis moved to the end: ``[H, W, T]``, ``[2, H, W, T]``, ``[2, 168, T]``).

One file may hold one array (a ``.npy``, or an HDF5/NPZ file with a single data array) or several
arrays under configurable keys (cohort option ``keys``), so the same file can be named in several
manifest columns. Pixel spacing (``(row, col)`` mm, or one number) and frame times (ms) are read
from the ``spacing`` and ``frame_times`` keys when present; in HDF5 they may also be attributes of
the data set or of the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from myoflow.cohort.series import ArrayKind, Series, check_canonical, spacing_pair, unreadable
from myoflow.errors import InputError

DEFAULT_KEYS: dict[str, str] = {
    "cine": "cine",
    "cine_es": "cine_es",
    "tagged": "tagged",
    "mask": "mask",
    "mask_es": "mask_es",
    "displacement": "displacement",
    "landmarks": "landmarks",
    "spacing": "spacing",
    "frame_times": "frame_times",
}
LAYOUTS = ("thw", "hwt")
ARRAY_SUFFIXES = (".h5", ".hdf5", ".npz", ".npy")


def _choose(available: list[str], name: str, keys: Mapping[str, str], path: Path) -> str:
    """The key holding ``name``'s array: its configured key, else the file's only data array."""
    key = keys[name]
    if key in available:
        return key
    data_keys = [k for k in available if k not in (keys["spacing"], keys["frame_times"])]
    if len(data_keys) == 1:
        return data_keys[0]
    raise InputError(
        f"no array {key!r} for {name} in the file (it holds {sorted(available)}); set "
        f"keys.{name} in the cohort's options",
        file=str(path),
    )


def _time_first(data: np.ndarray, layout: str) -> np.ndarray:
    return np.moveaxis(data, -1, 0) if layout == "hwt" else data


def _h5_datasets(h5: h5py.File) -> list[str]:
    names: list[str] = []
    h5.visititems(lambda n, obj: names.append(n) if isinstance(obj, h5py.Dataset) else None)
    return names


def _h5_value(h5: h5py.File, data: h5py.Dataset, key: str, available: list[str]) -> Any:
    if key in available:
        return h5[key][()]
    if key in data.attrs:
        return data.attrs[key]
    return h5.attrs.get(key)


def _read_h5(path: Path, name: str, keys: Mapping[str, str]) -> tuple[np.ndarray, Any, Any]:
    try:
        with h5py.File(path, "r") as h5:
            available = _h5_datasets(h5)
            dataset = h5[_choose(available, name, keys, path)]
            data = dataset[()]
            spacing = _h5_value(h5, dataset, keys["spacing"], available)
            times = _h5_value(h5, dataset, keys["frame_times"], available)
    except InputError:
        raise
    except Exception as error:
        raise unreadable("HDF5", path, error) from error
    return np.asarray(data), spacing, times


def _read_numpy(path: Path, name: str, keys: Mapping[str, str]) -> tuple[np.ndarray, Any, Any]:
    fmt = path.suffix.lower().lstrip(".").upper()
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            return loaded, None, None
        with loaded as npz:
            available = list(npz.files)
            data = npz[_choose(available, name, keys, path)]
            spacing = npz[keys["spacing"]] if keys["spacing"] in available else None
            times = npz[keys["frame_times"]] if keys["frame_times"] in available else None
    except InputError:
        raise
    except Exception as error:
        raise unreadable(fmt, path, error) from error
    return data, spacing, times


def read_array(
    path: str | Path,
    name: str,
    kind: ArrayKind,
    *,
    keys: Mapping[str, str] | None = None,
    layout: str = "thw",
) -> Series:
    """Read manifest column ``name``'s array (and any spacing/frame times) from an array file."""
    path = Path(path)
    keys = {**DEFAULT_KEYS, **(keys or {})}
    if path.suffix.lower() in (".h5", ".hdf5"):
        data, spacing, times = _read_h5(path, name, keys)
    else:
        data, spacing, times = _read_numpy(path, name, keys)
    single_frame = kind == "image" and data.ndim == 2
    data = check_canonical(data[None] if single_frame else _time_first(data, layout), kind, path)
    spacing_mm = None if spacing is None else spacing_pair(spacing, path, f"{keys['spacing']!r}")
    frame_times = None
    if times is not None:
        frame_times = np.asarray(times, dtype=float).ravel()
        if len(frame_times) != data.shape[0]:
            raise InputError(
                f"{keys['frame_times']!r} lists {len(frame_times)} times but the {name} array has "
                f"{data.shape[0]} frames",
                file=str(path),
            )
    return Series(data, spacing_mm, frame_times)
