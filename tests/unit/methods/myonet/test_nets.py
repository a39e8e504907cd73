"""MyoNet and ResMyoNet: shapes, output range, the paper's kernel/dilation pattern, gradients."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from myoflow.core.nets import build_net, count_parameters
from myoflow.methods.myonet.nets.myonet import DILATED_FROM, MyoNet
from myoflow.methods.myonet.nets.resmyonet import ResidualBlock
from myoflow.registry import NETS

TINY = {"base_width": 2, "levels": 5}


def _tiny(name: str) -> nn.Module:
    torch.manual_seed(0)
    return build_net(name, **TINY)


@pytest.mark.parametrize("name", NETS)
@pytest.mark.parametrize("frames", [8, 5])  # 5: time is never pooled, so any T works
def test_output_shape_and_range(name: str, frames: int) -> None:
    x = torch.randn(2, 1, frames, 32, 32)
    y = _tiny(name)(x)
    assert y.shape == (2, 2, frames, 32, 32)
    assert torch.all((y > 0) & (y < 1))


@pytest.mark.parametrize("name", NETS)
def test_size_not_divisible_by_poolings_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match=r"divisible by 16.*\(1, 1, 4, 24, 24\)"):
        _tiny(name)(torch.zeros(1, 1, 4, 24, 24))


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="myonet, resmyonet"):
        build_net("unet")


@pytest.mark.parametrize("name", NETS)
def test_parameters_grow_fourfold_with_width(name: str) -> None:
    # Convolutions between hidden layers dominate and scale with width squared; the input,
    # output and norm layers scale linearly and pull the ratio slightly under 4.
    ratio = count_parameters(build_net(name, base_width=8)) / count_parameters(
        build_net(name, base_width=4)
    )
    assert 3.8 < ratio <= 4.0


@pytest.mark.parametrize("name", NETS)
def test_same_seed_same_weights(name: str) -> None:
    first, second = _tiny(name).state_dict(), _tiny(name).state_dict()
    assert all(torch.equal(first[key], second[key]) for key in first)


def _block_convs(block: nn.Module) -> list[nn.Conv3d]:
    return [m for m in block.modules() if isinstance(m, nn.Conv3d)]


def test_myonet_alternates_kernels_and_dilates_deeper_levels() -> None:
    net = MyoNet(**TINY)
    blocks = [*enumerate(net.encoder), *enumerate(net.decoder)]
    for level, block in blocks:
        convs = _block_convs(block)
        assert len(convs) >= 2
        d = 2 if level >= DILATED_FROM else 1
        for i, conv in enumerate(convs):
            spatial = i % 2 == 0
            assert conv.kernel_size == ((1, 3, 3) if spatial else (3, 1, 1))
            assert conv.dilation == ((1, d, d) if spatial else (d, 1, 1))
    assert DILATED_FROM < len(net.encoder)  # the dilated case was really exercised


def test_residual_branch_is_bounded_by_tanh() -> None:
    torch.manual_seed(0)
    block = ResidualBlock(2, 4, level=0)
    x = 50 * torch.randn(2, 2, 3, 8, 8)
    branch = block(x) - block.shortcut(x)
    assert branch.abs().max() < 1
    assert [conv.kernel_size for conv in _block_convs(block.shortcut)] == [(1, 1, 1)]


@pytest.mark.parametrize("name", NETS)
def test_gradient_reaches_every_parameter(name: str) -> None:
    net = _tiny(name)
    target = torch.rand(2, 2, 4, 32, 32)
    ((net(torch.randn(2, 1, 4, 32, 32)) - target) ** 2).mean().backward()
    for param_name, param in net.named_parameters():
        assert param.grad is not None, param_name
        assert torch.isfinite(param.grad).all(), param_name
        assert param.grad.abs().sum() > 0, param_name
