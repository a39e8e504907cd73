"""Paper 003's ROI CNN and RNN-CNN: shapes at paper and demo sizes, weight sharing over frames,
causality, a hand parameter count, and eval-mode determinism."""

from __future__ import annotations

from itertools import pairwise

import pytest
import torch

from myoflow.methods.tagstrain.nets import RNNCNN, RoiCNN


def _conv(cin: int, cout: int) -> int:
    return cin * cout * 3 * 3 + cout


def _linear(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


def _count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _demo() -> RNNCNN:
    torch.manual_seed(0)
    return RNNCNN(image_size=64, width=0.25, dense=128, lstm_units=128)


@pytest.fixture(scope="module")
def paper_rnncnn() -> RNNCNN:
    torch.manual_seed(0)
    return RNNCNN().eval()


def test_paper_rnncnn_maps_20_frames_to_168_landmarks_each(paper_rnncnn: RNNCNN) -> None:
    with torch.no_grad():
        out = paper_rnncnn(torch.rand(1, 20, 1, 128, 128))
    assert out.shape == (1, 20, 2, 168)
    assert torch.isfinite(out).all()


def test_paper_rnncnn_parameter_count_matches_a_hand_count(paper_rnncnn: RNNCNN) -> None:
    # 128 -> conv 126 -> pool 63 -> conv 61 -> pool 30 -> conv 28 -> pool 14 -> same conv 14
    flat = 128 * 14 * 14
    cnn = _conv(1, 32) + _conv(32, 64) + _conv(64, 64) + _conv(64, 128) + _linear(flat, 1024)
    lstm = 4 * 1024 * (1024 + 1024) + 2 * 4 * 1024  # input and recurrent weights, two biases
    head = _linear(1024, 1024) + _linear(1024, 336)
    assert paper_rnncnn.flat_features == flat
    assert _count(paper_rnncnn) == cnn + lstm + head


def test_demo_rnncnn_shapes_and_shorter_sequences() -> None:
    model = _demo().eval()
    with torch.no_grad():
        assert model(torch.rand(3, 20, 1, 64, 64)).shape == (3, 20, 2, 168)
        assert model(torch.rand(2, 7, 1, 64, 64)).shape == (2, 7, 2, 168)
    with pytest.raises(ValueError, match="T<=20"):
        model(torch.rand(1, 21, 1, 64, 64))


def test_rnncnn_weights_do_not_grow_with_the_number_of_frames() -> None:
    sizes = {
        _count(RNNCNN(image_size=64, frames=f, width=0.25, dense=64, lstm_units=32))
        for f in (2, 20, 50)
    }
    assert len(sizes) == 1


def test_rnncnn_frame_t_depends_only_on_frames_up_to_t() -> None:
    model = _demo().eval()
    cine = torch.rand(1, 20, 1, 64, 64)
    changed = cine.clone()
    changed[:, 10] = 5 * torch.rand(1, 1, 64, 64)
    with torch.no_grad():
        before, after = model(cine), model(changed)
    torch.testing.assert_close(after[:, :10], before[:, :10], rtol=0, atol=1e-7)
    # the change reaches frame 10 and, through the LSTM state (fading), every later frame
    change = (after - before).abs().amax(dim=(0, 2, 3))
    assert float(change[10]) > 1e-4
    assert float(change[10:].min()) > 1e-6


def test_rnncnn_is_deterministic_in_eval_mode_only() -> None:
    model = _demo()
    cine = torch.rand(2, 5, 1, 64, 64)
    with torch.no_grad():
        train_a, train_b = model(cine), model(cine)
        model.eval()
        eval_a, eval_b = model(cine), model(cine)
    assert not torch.equal(train_a, train_b)  # dropout is active while training
    assert torch.equal(eval_a, eval_b)


def test_paper_roicnn_boxes_and_hand_count() -> None:
    torch.manual_seed(0)
    model = RoiCNN().eval()
    # valid 3x3/2 pooling, as the published code: 254->126, 124->61, 59->29, 27->13, 11->5
    flat = 128 * 5 * 5
    filters = (1, 32, 128, 128, 128, 128)
    blocks = sum(_conv(a, b) + 2 * b for a, b in pairwise(filters))
    assert model.flat_features == flat
    assert _count(model) == blocks + _linear(flat, 1024) + _linear(1024, 4)
    with torch.no_grad():
        out = model(torch.rand(2, 1, 256, 256))
    assert out.shape == (2, 4)
    assert torch.isfinite(out).all()


def test_roicnn_demo_sizes_and_same_shaped_pooling() -> None:
    small = RoiCNN(image_size=128, filters=(8, 16, 16, 16, 16), dense=32).eval()
    assert small.flat_features == 16  # the last map is 1 x 1
    same = RoiCNN(image_size=64, filters=(8, 16, 16, 16, 16), dense=32, pool_padding=1).eval()
    assert same.flat_features == 16  # 62->31, 29->15, 13->7, 5->3, 1->1
    assert RoiCNN(pool_padding=1).flat_features == 128 * 7 * 7  # ceil(s / 2) as TF "same"
    with torch.no_grad():
        assert small(torch.rand(2, 1, 128, 128)).shape == (2, 4)
        assert same(torch.rand(2, 1, 64, 64)).shape == (2, 4)
    with pytest.raises(ValueError, match="too small"):
        RoiCNN(image_size=64)


def test_roicnn_is_deterministic_in_eval_mode() -> None:
    torch.manual_seed(1)
    model = RoiCNN(image_size=64, filters=(4, 8, 8, 8, 8), dense=16, pool_padding=1)
    image = torch.rand(3, 1, 64, 64)
    model.train()
    with torch.no_grad():
        model(image)  # moves the batch-norm running statistics off their initial values
        model.eval()
        torch.testing.assert_close(model(image), model(image), rtol=0, atol=0)
        model.train()
        assert not torch.equal(model(image), model(image))


def test_the_tracker_starts_from_the_given_landmarks() -> None:
    """With the output weights zeroed the prediction is the start configuration for any input;
    with them shrunk it stays close to it."""
    torch.manual_seed(0)
    start = torch.rand(2, 168)
    net = RNNCNN(image_size=32, frames=4, width=0.125, dense=8, lstm_units=8).eval()
    net.start_at(start, weight_scale=0.0)
    out = net(torch.rand(2, 4, 1, 32, 32))
    torch.testing.assert_close(out, start.expand(2, 4, 2, 168))
    with pytest.raises(ValueError, match=r"\[2, 168\]"):
        net.start_at(torch.rand(168, 2))


def test_the_localisation_network_starts_from_the_given_box() -> None:
    torch.manual_seed(0)
    net = RoiCNN(image_size=128, filters=(4, 4, 4, 4, 4), dense=8).eval()
    start = torch.tensor([0.3, 0.35, 0.7, 0.65])
    net.start_at(start, weight_scale=0.0)
    torch.testing.assert_close(net(torch.rand(3, 1, 128, 128)), start.expand(3, 4))
