"""The preprocessing profiles: each method reads the records prepared the way its paper did.

Every profile turns a shard of canonical records into ``results/<cohort>/preprocessed/<profile>/``
``shard-NNN.h5``, ``index-NNN.tsv`` (one row per written slice) and ``qc-NNN.tsv`` (QC stage
``preprocess`` for the crop profile, ``preprocess-<profile>`` for the others):

* ``crop`` (paper 000; MyoNet and the trackers read it, so it is always written): the LV ROI
  resampled to ``size`` x ``size`` x ``frames`` (``myoflow.preprocess.pipeline``).
* ``fov`` (paper 003): the whole field of view zero-padded or centre-cropped to ``size`` x
  ``size``, spacing kept, the first ``frames`` frames or empty frames appended; mask, landmarks
  and displacement carried exactly (``myoflow.preprocess.fov``). A record shard like crop's.
* ``frames2d`` (paper 001): every frame of every slice on a ``size`` x ``size`` grid, scaled to
  [0, 1], with its mask; a shard of flat 2-D samples (``myoflow.io.frames``).

``crop`` and ``fov`` bring a whole cycle to a fixed frame count, so they skip ED/ES-only records
(QC ``skipped``); ``frames2d`` keeps them. Which profiles run follows from the methods of the
cohort's experiments (``Method.profile``) and the config (``myoflow.config.profiles_of``;
``myoflow.config.PROFILES`` names the same three).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Any

from myoflow.io.frames import write_frames
from myoflow.io.shards import write_shard
from myoflow.preprocess.fov import fov_profile_record
from myoflow.preprocess.frames2d import frames2d_record
from myoflow.preprocess.options import FovOptions, Frames2dOptions
from myoflow.preprocess.pipeline import STAGE, ProfileRun, crop_run, run_shard

PROFILES = ("crop", "fov", "frames2d")


def profile_run(profile: str, opts: Mapping[str, Any]) -> ProfileRun:
    """What ``run_shard`` does for ``profile`` with its resolved options (checked here)."""
    if profile == "crop":
        return crop_run(opts)
    stage = f"{STAGE}-{profile}"
    if profile == "fov":
        fov = FovOptions.from_dict(opts)
        return ProfileRun(stage, functools.partial(fov_profile_record, opts=fov), write_shard)
    if profile == "frames2d":
        flat = Frames2dOptions.from_dict(opts)
        write = functools.partial(write_frames, size=flat.size)
        prepare = functools.partial(frames2d_record, opts=flat)
        return ProfileRun(stage, prepare, write, whole_cycle=False)
    raise ValueError(f"unknown preprocessing profile {profile!r}; choose one of {PROFILES}")


def profile_shard(
    profile: str,
    in_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    qc_path: str | os.PathLike[str],
    index_path: str | os.PathLike[str],
    opts: Mapping[str, Any],
) -> None:
    """One shard of records through ``profile``: its shard, QC rows and index, atomically."""
    run_shard(in_path, out_path, qc_path, index_path, profile_run(profile, opts))
