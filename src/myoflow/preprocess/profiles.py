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
* ``stack3d`` (paper 002): each subject's whole stack per frame, interpolated through plane and
  windowed around the LV; a shard of 3-D samples (``myoflow.preprocess.stack3d``,
  ``myoflow.io.volumes``). Per subject, not per record: one bad slice excludes its subject.

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
from myoflow.preprocess.options import (
    FovOptions,
    Frames2dOptions,
    PreprocessOptions,
    ProfileOptions,
    Stack3dOptions,
)
from myoflow.preprocess.pipeline import STAGE, ProfileRun, crop_run, run_shard
from myoflow.preprocess.stack3d import stack3d_shard

PROFILES = ("crop", "fov", "frames2d", "stack3d")


#: Each profile's options class (``from_dict`` checks a resolved block).
OPTIONS: dict[str, type[ProfileOptions]] = {
    "crop": PreprocessOptions,
    "fov": FovOptions,
    "frames2d": Frames2dOptions,
    "stack3d": Stack3dOptions,
}


def checked_options(profile: str, opts: Mapping[str, Any]) -> ProfileOptions:
    """The resolved options of ``profile`` as its options class; ConfigError names a bad key."""
    if profile not in OPTIONS:
        raise ValueError(f"unknown preprocessing profile {profile!r}; choose one of {PROFILES}")
    return OPTIONS[profile].from_dict(opts)


def _record_run(profile: str, opts: ProfileOptions) -> ProfileRun:
    """What ``run_shard`` does for a per-record profile with its checked options."""
    stage = f"{STAGE}-{profile}"
    if isinstance(opts, PreprocessOptions):
        return crop_run(opts)
    if isinstance(opts, FovOptions):
        return ProfileRun(stage, functools.partial(fov_profile_record, opts=opts), write_shard)
    assert isinstance(opts, Frames2dOptions)
    write = functools.partial(write_frames, size=opts.size)
    prepare = functools.partial(frames2d_record, opts=opts)
    return ProfileRun(stage, prepare, write, whole_cycle=False)


def profile_shard(
    profile: str,
    in_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    qc_path: str | os.PathLike[str],
    index_path: str | os.PathLike[str],
    opts: Mapping[str, Any],
) -> None:
    """One shard of records through ``profile``: its shard, QC rows and index, atomically."""
    checked = checked_options(profile, opts)
    if isinstance(checked, Stack3dOptions):
        stack3d_shard(in_path, out_path, qc_path, index_path, checked)
        return
    run_shard(in_path, out_path, qc_path, index_path, _record_run(profile, checked))
