"""Paper 002's networks: Att-Mnet's outputs and shapes (96 x 96 x 36 included, on the meta
device), every baseline's same-size output, the slice-wise 2-D U-net, the builder and the
parameter counts beside Table I. Narrow widths and small volumes keep each test short."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from myoflow.methods.attmnet.attmnet import AttentionMNet
from myoflow.methods.attmnet.baselines import SliceWise, unet2d
from myoflow.methods.attmnet.networks import (
    PAPER_PARAMETERS,
    build,
    parameter_table,
    trainable_parameters,
)

#: Our counts at width 1, as the docstrings of ``networks`` and ``baselines`` quote them.
OURS_AT_WIDTH_1 = {
    "attmnet": 28_406_437,
    "unet2d": 23_822_289,
    "unet3d": 22_625_281,
    "deepmedic": 23_539_159,
    "fcn3d": 25_075_180,
}


def test_attmnet_trains_on_fused_then_four_levels_and_infers_the_fused_logits() -> None:
    torch.manual_seed(0)
    net = build("attmnet", width=0.125)
    x = torch.rand(1, 1, 36, 16, 16)
    outputs = net.train()(x)
    assert isinstance(outputs, tuple)
    assert [tuple(o.shape) for o in outputs] == [
        (1, 1, 36, 16, 16),  # fused
        (1, 1, 36, 16, 16),  # decoder level 1
        (1, 1, 18, 8, 8),
        (1, 1, 9, 4, 4),  # Z stops halving at 9
        (1, 1, 9, 2, 2),
    ]
    sum(o.mean() for o in outputs).backward()
    assert all(p.grad is not None for p in net.parameters())  # every head and gate is used
    with torch.no_grad():
        fused = net.eval()(x)
    assert isinstance(fused, torch.Tensor) and fused.shape == (1, 1, 36, 16, 16)


def test_attmnet_at_the_papers_size_and_width_maps_96x96x36() -> None:
    # The meta device runs the shape logic of the full network without computing anything.
    with torch.device("meta"):
        net = AttentionMNet(width=1.0)
        outputs = net(torch.empty(2, 1, 36, 96, 96))
    assert [tuple(o.shape[2:]) for o in outputs] == [
        (36, 96, 96),
        (36, 96, 96),
        (18, 48, 48),
        (9, 24, 24),
        (9, 12, 12),
    ]


def _conv_widths(module: nn.Module) -> list[int]:
    return [m.out_channels for m in module.modules() if isinstance(m, nn.Conv3d)]


def test_attmnet_width_scales_every_channel_count() -> None:
    narrow = AttentionMNet(width=0.125)
    assert _conv_widths(narrow.stem) == [2]
    assert _conv_widths(narrow.encoder) == [4] * 4 + [8] * 4 + [16] * 4 + [32] * 4
    assert _conv_widths(narrow.bridge) == [32] * 4


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("unet2d", (1, 1, 3, 32, 32)),
        ("unet3d", (1, 1, 36, 16, 16)),  # four floor-poolings of 36 slices padded back
        ("deepmedic", (1, 1, 10, 14, 13)),  # sizes that are not multiples of 3
        ("fcn3d", (1, 1, 36, 24, 20)),
        ("attmnet", (1, 1, 12, 16, 16)),
    ],
)
def test_every_network_maps_a_volume_to_logits_of_its_size(
    name: str, shape: tuple[int, ...]
) -> None:
    net = build(name, width=0.125).eval()
    with torch.no_grad():
        assert net(torch.rand(shape)).shape == shape


def test_slicewise_unet_equals_the_2d_net_applied_to_each_slice() -> None:
    torch.manual_seed(0)
    net = unet2d(width=0.125).eval()
    assert isinstance(net, SliceWise)
    x = torch.rand(2, 1, 3, 32, 32)
    with torch.no_grad():
        folded = net(x)
        per_slice = torch.stack([net.net(x[:, :, z]) for z in range(x.shape[2])], dim=2)
    torch.testing.assert_close(folded, per_slice)


def test_build_refuses_an_unknown_name_and_lists_the_choices() -> None:
    with pytest.raises(ValueError, match="attmnet, unet2d, unet3d, deepmedic, fcn3d"):
        build("vnet")


def test_build_initialises_convolutions_he_normal_with_zero_biases() -> None:
    torch.manual_seed(0)
    net = build("fcn3d", width=0.5)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv3d) and m.kernel_size == (3, 3, 3)]
    conv = max(convs, key=lambda m: m.in_channels)  # 224 -> 224 channels, 1.35 M weights
    fan_in = conv.in_channels * 27
    assert conv.weight.std().item() == pytest.approx((2 / fan_in) ** 0.5, rel=0.02)
    assert conv.bias is not None and not conv.bias.any()


def test_parameter_table_prints_ours_beside_table_i() -> None:
    rows = parameter_table()
    print(
        "\n".join(f"{r['name']:>10}  ours {r['ours']:>12,}  paper {r['paper']:>12,}" for r in rows)
    )
    assert [r["name"] for r in rows] == list(PAPER_PARAMETERS)
    assert {r["name"]: r["ours"] for r in rows} == OURS_AT_WIDTH_1
    assert {r["name"]: r["paper"] for r in rows} == PAPER_PARAMETERS
    assert all(0.5 < float(r["ratio"]) < 2 for r in rows)
    # The table counts the same networks ``build`` returns.
    assert trainable_parameters(build("deepmedic", width=0.5)) == parameter_table(0.5)[3]["ours"]
