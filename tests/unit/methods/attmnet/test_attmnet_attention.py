"""Paper 002's dual attention gate and multi-scale fusion: shapes, parameter counts worked out
by hand from the layer definitions, and the gate against its formula in plain torch."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from myoflow.methods.attmnet.attention import DualAttentionGate, MultiScaleFusion
from myoflow.methods.attmnet.blocks import halving_kernel, resize_to
from myoflow.methods.attmnet.networks import trainable_parameters


def _gate_parameters(c: int, g: int) -> int:
    inter, hidden = c // 2, c // 8
    theta = c * inter  # 1x1x1 conv, no bias
    phi = g * inter + inter  # 1x1x1 conv with bias
    psi = inter * 1 + 1
    squeeze = c * hidden + hidden  # dense layer
    excite = hidden * c + c
    return theta + phi + psi + squeeze + excite


@pytest.mark.parametrize(("c", "g"), [(8, 16), (16, 32), (32, 32)])
def test_gate_keeps_the_skip_shape_and_has_the_parameters_of_its_layers(c: int, g: int) -> None:
    gate = DualAttentionGate(c, g)
    x, gating = torch.rand(2, c, 3, 4, 5), torch.rand(2, g, 3, 4, 5)
    assert gate(x, gating).shape == x.shape
    assert trainable_parameters(gate) == _gate_parameters(c, g)


def test_gate_parameters_spelled_out_for_8_skip_and_16_gating_channels() -> None:
    # theta 8*4, phi 16*4 + 4, psi 4 + 1, squeeze 8*1 + 1, excite 1*8 + 8
    assert trainable_parameters(DualAttentionGate(8, 16)) == 32 + 68 + 5 + 9 + 16


def test_gate_is_the_spatial_map_then_squeeze_excitation_of_the_gated_features() -> None:
    torch.manual_seed(0)
    c, g = 16, 8
    gate = DualAttentionGate(c, g)
    x, gating = torch.randn(2, c, 3, 4, 5), torch.randn(2, g, 3, 4, 5)

    def conv(layer: torch.nn.Conv3d, v: torch.Tensor) -> torch.Tensor:
        return F.conv3d(v, layer.weight, layer.bias)

    def dense(layer: torch.nn.Linear, v: torch.Tensor) -> torch.Tensor:
        return v @ layer.weight.T + layer.bias

    a_s = torch.sigmoid(conv(gate.psi, F.relu(conv(gate.theta, x) + conv(gate.phi, gating))))
    y = a_s * x
    a_c = torch.sigmoid(dense(gate.excite, F.relu(dense(gate.squeeze, y.flatten(2).mean(-1)))))
    expected = y * a_c[:, :, None, None, None]
    assert a_s.shape == (2, 1, 3, 4, 5) and a_c.shape == (2, c)
    torch.testing.assert_close(gate(x, gating), expected)
    # Both maps only suppress: |output| <= |input| everywhere.
    assert torch.all(gate(x, gating).abs() <= x.abs())


def test_gate_refuses_a_gating_signal_not_upsampled_to_the_skip() -> None:
    gate = DualAttentionGate(4, 8)
    with pytest.raises(ValueError, match="up-sampled"):
        gate(torch.rand(1, 4, 4, 4, 4), torch.rand(1, 8, 2, 2, 2))


def test_fusion_upsamples_every_level_to_the_finest_and_has_its_layers_parameters() -> None:
    levels_channels, channels = (4, 8, 16, 32), 4
    fusion = MultiScaleFusion(levels_channels, channels, out_channels=1)
    sizes = [(12, 16, 16), (6, 8, 8), (3, 4, 4), (3, 2, 2)]
    levels = [torch.rand(2, c, *s) for c, s in zip(levels_channels, sizes, strict=True)]
    assert fusion(levels).shape == (2, 1, 12, 16, 16)
    first = 27 * sum(levels_channels) * channels + channels + 2 * channels  # conv, bias, BN
    second = 27 * channels * channels + channels + 2 * channels
    head = channels * 1 + 1
    assert trainable_parameters(fusion) == first + second + head == 6941


def test_halving_pools_even_axes_only_so_36_slices_stop_at_9() -> None:
    size: tuple[int, ...] = (36, 96, 96)
    plan = [size]
    for _ in range(4):
        size = tuple(n // k for n, k in zip(size, halving_kernel(size), strict=True))
        plan.append(size)
    assert plan == [(36, 96, 96), (18, 48, 48), (9, 24, 24), (9, 12, 12), (9, 6, 6)]


def test_resize_to_is_the_identity_at_the_same_size() -> None:
    volume = torch.rand(1, 2, 3, 4, 5)
    assert resize_to(volume, (3, 4, 5)) is volume
    assert resize_to(volume, (6, 8, 10)).shape == (1, 2, 6, 8, 10)
