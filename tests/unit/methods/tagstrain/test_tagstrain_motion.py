"""The localisation network's motion channel: the tagged series' spread over the acquired frames,
built the same way for training and for the fully automatic prediction."""

from __future__ import annotations

import numpy as np
import torch

from myoflow.methods.tagstrain.nets import RoiCNN
from myoflow.methods.tagstrain.slices import motion_image, roi_input
from myoflow.methods.tagstrain.stages import Pipeline
from myoflow.preprocess.temporal import ACQUIRED
from myoflow.record import SliceRecord

SIZE, FRAMES = 64, 6


def _record(tagged: np.ndarray, acquired: np.ndarray | None = None) -> SliceRecord:
    extras = {} if acquired is None else {ACQUIRED: acquired}
    return SliceRecord(
        cohort="c",
        subject="s",
        slice_id="mid",
        position="mid",
        group="all",
        pixel_spacing_mm=(1.4, 1.4),
        frame_times_ms=np.arange(len(tagged)) * 41.0,
        original_frames=len(tagged),
        tagged=tagged.astype(np.float32),
        extras=extras,
    )


def _moving_square() -> np.ndarray:
    """A still bright background stripe and a square that moves one pixel right each frame."""
    series = np.zeros((FRAMES, SIZE, SIZE), np.float32)
    series[:, 50:60, :] = 0.8  # still tissue
    for t in range(FRAMES):
        series[t, 20:30, 20 + t : 30 + t] = 1.0
    return series


def test_still_series_gives_zeros_and_only_the_moving_part_lights_up() -> None:
    still = np.broadcast_to(np.linspace(0, 1, SIZE, dtype=np.float32), (FRAMES, SIZE, SIZE))
    np.testing.assert_array_equal(motion_image(_record(still.copy())), 0.0)
    image = motion_image(_record(_moving_square()))
    assert image.max() == 1.0
    assert np.all(image[50:60] == 0.0)  # the still stripe
    # pixels the square's left and right edges cross; those it covers throughout stay dark
    assert image[20:30, 20:25].min() > 0.3 and image[20:30, 30:35].min() > 0.3
    assert image[20:30, 25:30].max() == 0.0
    assert image[:15].max() == 0.0 and image[35:50].max() == 0.0


def test_padded_frames_do_not_enter_the_motion_image() -> None:
    series = _moving_square()
    padded = np.concatenate([series, np.zeros((3, SIZE, SIZE), np.float32)])
    acquired = np.array([True] * FRAMES + [False] * 3)
    np.testing.assert_allclose(
        motion_image(_record(padded, acquired)), motion_image(_record(series)), atol=1e-6
    )
    assert motion_image(_record(padded))[50:60].max() > 0  # counted, the padding would show


def test_roi_input_is_the_ed_frame_then_the_motion_image() -> None:
    rec = _record(_moving_square())
    np.testing.assert_array_equal(roi_input(rec, False), rec.tagged[:1])
    both = roi_input(rec, True)
    assert both.shape == (2, SIZE, SIZE)
    np.testing.assert_array_equal(both[0], rec.tagged[0])
    np.testing.assert_array_equal(both[1], motion_image(rec))


def _blind_net(channels: int, blind_to: int | None) -> RoiCNN:
    torch.manual_seed(0)
    net = RoiCNN(SIZE, (4, 4, 4, 4, 4), 8, 0.0, pool_padding=1, in_channels=channels).eval()
    if blind_to is not None:
        with torch.no_grad():
            net.features[0].weight[:, blind_to] = 0.0
    return net


def test_the_pipeline_feeds_the_ed_frame_first_and_the_motion_image_second() -> None:
    """Two series with the same ED frame, one moving and one still, differ in the motion channel
    alone: a network blind to the second channel boxes them alike, one blind to the first tells
    them apart, and a one-channel network (the paper's input) boxes them alike."""
    dev = torch.device("cpu")
    moving = _record(_moving_square())
    still = moving.replace(tagged=np.broadcast_to(moving.tagged[:1], moving.tagged.shape).copy())

    def boxes(net: RoiCNN) -> list[np.ndarray]:
        return [b.corners for b in Pipeline(net, None, 32, dev).boxes([moving, still])]

    same = boxes(_blind_net(2, blind_to=1))
    np.testing.assert_allclose(same[0], same[1], atol=1e-9)
    differ = boxes(_blind_net(2, blind_to=0))
    assert not np.allclose(differ[0], differ[1])
    paper = boxes(_blind_net(1, blind_to=None))
    np.testing.assert_allclose(paper[0], paper[1], atol=1e-9)
