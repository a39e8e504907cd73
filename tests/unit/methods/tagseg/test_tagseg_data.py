"""Paper 001's training frames: which frames a role gets, and each sample's image, mask and
distance map, reproducible per (seed, epoch, sample)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from tagseg_frames import FRAMES, SIZE, slice_record, write_cohort

from myoflow.methods.tagseg.data import (
    NORM_MEAN,
    NORM_SD,
    SegmentationFrames,
    UnpairedFrames,
    select_frames,
)
from myoflow.methods.tagseg.pseudotag import PseudoTagSettings, pseudo_tagged
from myoflow.methods.tagseg.realism import tag_spectrum
from myoflow.samples import read_splits

SPLITS = {"a": "train", "b": "train", "n": "val", "z": "test"}


@pytest.fixture
def cohort(tmp_path: Path) -> tuple[Path, Path]:
    records = [slice_record(s) for s in SPLITS]
    empty = records[1].mask.copy()
    empty[2] = 0  # subject b's last frame: a mask without myocardium
    records[1] = records[1].replace(mask=empty)
    records[2] = records[2].replace(mask=None)  # subject n: no mask at all
    return write_cohort(tmp_path, records, SPLITS)


def test_a_role_gets_the_annotated_frames_of_its_split_and_names_a_frame_without_myocardium(
    cohort: tuple[Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    shard, splits = cohort
    table = read_splits([splits])
    with caplog.at_level(logging.WARNING, "myoflow.train"):
        frames = select_frames([shard], table, ["c"], ("train",), "tagged", True, "fine-tuning")
    assert [(f.subject, f.frame) for f in frames] == [
        ("a", 0),
        ("a", 1),
        ("a", 2),
        ("b", 0),
        ("b", 1),
    ]
    assert "subject b, slice mid, frame 2: the mask holds no myocardium" in caplog.text
    assert [f.since_tagging_ms for f in frames[:3]] == [0.0, 40.0, 80.0]
    unlabelled = select_frames([shard], table, ["c"], ("val",), "cine", False, "cyclegan")
    assert [f.subject for f in unlabelled] == ["n"] * FRAMES
    assert select_frames([shard], table, ["other"], ("train",), "cine", True, "x") == []


def test_a_cohort_without_masks_for_an_annotated_role_is_an_error_naming_it(
    cohort: tuple[Path, Path],
) -> None:
    shard, splits = cohort
    with pytest.raises(ValueError, match=r"cohort 'c' \(fine-tuning\): no tagged frames with a "):
        select_frames(
            [shard], read_splits([splits]), ["c"], ("val",), "tagged", True, "fine-tuning"
        )


def test_a_sample_is_the_same_for_the_same_seed_epoch_and_index(cohort: tuple[Path, Path]) -> None:
    shard, splits = cohort
    frames = select_frames([shard], read_splits([splits]), ["c"], ("train",), "tagged", True, "t")
    data = SegmentationFrames(frames, "tagged", SIZE, augment=True, seed=3)
    data.set_epoch(2)
    first = data[1]
    again = data[1]
    data.set_epoch(5)
    other = data[1]
    assert torch.equal(first[0], again[0]) and torch.equal(first[1][0], again[1][0])
    assert not torch.equal(first[0], other[0])
    for image, (mask, distance) in (first, other):
        assert image.shape == mask.shape == distance.shape == (1, SIZE, SIZE)
        assert torch.equal(distance >= 0, mask == 1)  # the map of the augmented mask itself
        assert mask.sum() > 0


def test_without_augmentation_the_sample_is_the_normalised_frame_and_its_mask(
    cohort: tuple[Path, Path],
) -> None:
    shard, splits = cohort
    frames = select_frames([shard], read_splits([splits]), ["c"], ("train",), "tagged", True, "t")
    image, (mask, _) = SegmentationFrames(frames, "tagged", SIZE, augment=False, seed=0)[2]
    rec = slice_record("a")
    np.testing.assert_allclose(image[0].numpy(), (rec.tagged[2] - NORM_MEAN) / NORM_SD, rtol=1e-6)
    np.testing.assert_array_equal(mask[0].numpy(), rec.mask[2])


def test_the_physics_source_tags_the_cine_at_the_configured_spacing_and_angle(
    tmp_path: Path,
) -> None:
    size = 96
    rec = slice_record("a", size=size)
    shard, splits = write_cohort(tmp_path, [rec], {"a": "train"}, size=size)
    frames = select_frames([shard], read_splits([splits]), ["c"], ("train",), "cine", True, "t")
    physics = PseudoTagSettings(spacing_px=6.0, angle_deg=30.0)
    data = SegmentationFrames(frames, "physics", size, augment=False, seed=0, physics=physics)
    image = data[0][0][0].numpy() * NORM_SD + NORM_MEAN
    spectrum = tag_spectrum(image, rec.pixel_spacing_mm)
    assert spectrum.spacing_mm == pytest.approx(6.0 * 1.5, rel=0.05)
    assert spectrum.angle_deg == pytest.approx(30.0, abs=2.0)
    # later frames faded with T1 after tagging at the slice's first frame
    depth = [
        tag_spectrum(data[t][0][0].numpy() * NORM_SD + NORM_MEAN, (1.5, 1.5)).modulation
        for t in (0, 2)
    ]
    assert depth[1] < 0.99 * depth[0]


def test_unpaired_frames_draw_a_tagged_partner_per_epoch(cohort: tuple[Path, Path]) -> None:
    shard, splits = cohort
    table = read_splits([splits])
    cine = select_frames([shard], table, ["c"], ("train",), "cine", False, "cyclegan")
    tagged = select_frames([shard], table, ["c"], ("train", "test"), "tagged", False, "cyclegan")
    data = UnpairedFrames(cine, tagged, seed=0, per_epoch=4)
    assert len(data) == 4
    pairs = []
    for epoch in (1, 2):
        data.set_epoch(epoch)
        pairs.append([tuple(float(x.sum()) for x in data[i]) for i in range(4)])
    assert pairs[0] != pairs[1]
    data.set_epoch(1)
    assert [tuple(float(x.sum()) for x in data[i]) for i in range(4)] == pairs[0]
    with pytest.raises(ValueError, match="needs cine and tagged frames"):
        UnpairedFrames(cine, [], seed=0)


def test_moving_tags_follow_the_frames_displacement_where_it_is_known(tmp_path: Path) -> None:
    size = 64
    rec = slice_record("a", size=size)
    shift = np.zeros((FRAMES, 2, size, size), np.float32)
    shift[:, 0] = np.arange(FRAMES)[:, None, None] * 2.0  # the tissue moves 2 mm along x a frame
    shard, splits = write_cohort(tmp_path, [rec.replace(displacement=shift)], {"a": "train"}, size)
    frames = select_frames([shard], read_splits([splits]), ["c"], ("train",), "cine", True, "t")
    moving = PseudoTagSettings(angle_deg=0.0, moving_tags=True)
    still = PseudoTagSettings(angle_deg=0.0)
    for settings, displacement in ((moving, shift[2][None]), (still, None)):
        data = SegmentationFrames(frames, "physics", size, augment=False, seed=4, physics=settings)
        got = data[2][0][0].numpy() * NORM_SD + NORM_MEAN
        expected, _ = pseudo_tagged(
            rec.cine[2][None],
            rec.pixel_spacing_mm,
            settings,
            np.random.default_rng([4, 0, 2]),
            np.array([80.0]),
            displacement,
        )
        np.testing.assert_allclose(got, expected[0], atol=1e-5)
    at_ed = SegmentationFrames(frames, "physics", size, False, 4, physics=moving)[0][0]
    assert torch.equal(at_ed, SegmentationFrames(frames, "physics", size, False, 4, still)[0][0])
