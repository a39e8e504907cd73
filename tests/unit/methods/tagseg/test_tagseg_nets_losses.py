"""Paper 001's networks and loss: shapes, parameter counts against Table 2, and the shape-aware
loss against a direct NumPy reading of Eqs. 1-3 on drawn discs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from monai.networks.nets import DynUNet

from myoflow.methods.tagseg.losses import (
    SegmentationLoss,
    shape_aware_loss,
    signed_distance_map,
)
from myoflow.methods.tagseg.nets import (
    PAPER_PARAMETERS,
    dynunet,
    load_pretrained,
    parameter_table,
    segmentation_logits,
    segresnetvae,
    trainable_parameters,
    vae_loss,
    xavier_init,
)

SIZE = 64
K = 0.2


def _radius(centre: tuple[float, float], size: int = SIZE) -> np.ndarray:
    rows, cols = np.mgrid[:size, :size]
    return np.hypot(rows - centre[0], cols - centre[1])


def _disc(radius: float, centre: tuple[float, float] = (32, 32)) -> np.ndarray:
    return _radius(centre) <= radius


def _numpy_shape_loss(p: np.ndarray, g: np.ndarray, phi: np.ndarray) -> float:
    """Eqs. 1-3 read literally, one example at a time: p, g, phi are [B, C, H, W]."""
    h = 1 / (1 + np.exp(-(1 - phi) / K))  # Eq. 1 at x = 1 - phi
    si = np.where(phi >= 0, h, 0.0)  # Eq. 2
    per_example = [
        np.mean([np.abs(p[b, c] - si[b, c]).sum() / g[b, c].sum() for c in range(p.shape[1])])
        for b in range(p.shape[0])
    ]  # Eq. 3
    return float(np.mean(per_example))


# --- the distance map --------------------------------------------------------------------------


def test_distance_map_of_a_disc_is_the_normalised_distance_to_its_circle() -> None:
    radius, centre = 12.0, (32.0, 32.0)
    mask = _disc(radius, centre)
    phi = signed_distance_map(mask).astype(np.float64)
    r = _radius(centre)
    inside = radius - r  # distance to the circle, analytic
    outside = r - radius
    deepest, farthest = inside[mask].max(), outside[~mask].max()
    assert np.all(phi[mask] > 0) and np.all(phi[~mask] < 0)
    assert phi.max() == 1.0 and phi.min() == -1.0
    # Within one pixel of the analytic distance, in the units of each side's normalisation.
    assert np.abs(phi[mask] - inside[mask] / deepest).max() < 1 / deepest
    assert np.abs(phi[~mask] + outside[~mask] / farthest).max() < 1 / farthest


def test_distance_map_is_per_slice_antisymmetric_and_defined_without_a_boundary() -> None:
    rng = np.random.default_rng(0)
    masks = np.stack(
        [
            _disc(10),
            rng.random((SIZE, SIZE)) > 0.5,
            np.zeros((SIZE, SIZE), bool),
            np.ones((SIZE, SIZE), bool),
        ]
    )
    phi = signed_distance_map(masks)
    assert phi.shape == masks.shape and np.isfinite(phi).all()
    for index in range(len(masks)):
        np.testing.assert_array_equal(phi[index], signed_distance_map(masks[index]))
    np.testing.assert_array_equal(signed_distance_map(~masks), -phi)
    assert np.all(phi[2] == -1.0) and np.all(phi[3] == 1.0)
    np.testing.assert_array_equal(phi >= 0, masks)


# --- the shape-aware loss ----------------------------------------------------------------------


def _two_class_example() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two discs and hand-built probabilities: a softened, shifted, noisy disc per example."""
    g_fg = np.stack([_disc(10), _disc(16, (28, 35))])
    r = np.stack([_radius((33, 31)), _radius((27, 36))])
    noise = np.random.default_rng(1).uniform(-0.1, 0.1, r.shape)
    p_fg = np.clip(1 / (1 + np.exp((r - np.array([11, 14])[:, None, None]) / 2)) + noise, 0, 1)
    g = np.stack([~g_fg, g_fg], axis=1)
    p = np.stack([1 - p_fg, p_fg], axis=1)
    # The background channel's map is computed from its own mask, not as -phi.
    phi = signed_distance_map(g).astype(np.float64)
    return p, g, phi


def test_shape_aware_loss_equals_equations_1_to_3_in_numpy() -> None:
    p, g, phi = _two_class_example()
    loss = shape_aware_loss(torch.from_numpy(p), torch.from_numpy(phi), k=K)
    assert loss.item() == pytest.approx(_numpy_shape_loss(p, g, phi), rel=1e-12)


def test_shape_aware_loss_is_zero_at_the_shape_information_and_known_for_a_hard_mask() -> None:
    _, g, phi = _two_class_example()
    si = np.where(phi >= 0, 1 / (1 + np.exp(-(1 - phi) / K)), 0.0)
    phi_t = torch.from_numpy(phi)
    assert shape_aware_loss(torch.from_numpy(si), phi_t).item() == pytest.approx(0.0, abs=1e-12)
    hard = shape_aware_loss(torch.from_numpy(g.astype(np.float64)), phi_t).item()
    floor = np.mean([[(1 - si[b, c][g[b, c]]).mean() for c in range(2)] for b in range(2)])
    assert hard == pytest.approx(floor, rel=1e-12)
    assert 1 - 1 / (1 + math.exp(-1 / K)) < hard < 0.5


def test_shape_aware_loss_weighs_a_missed_edge_pixel_above_a_missed_deepest_pixel() -> None:
    mask = _disc(10)
    phi = torch.from_numpy(signed_distance_map(mask))[None, None]
    perfect = torch.from_numpy(mask.astype(np.float32))[None, None]
    edge, deepest = (32, 42), (32, 32)
    assert mask[edge] and not mask[32, 43] and phi[0, 0][deepest] == 1.0
    costs = []
    for pixel in (edge, deepest):
        missed = perfect.clone()
        missed[0, 0][pixel] = 0.0
        costs.append((shape_aware_loss(missed, phi) - shape_aware_loss(perfect, phi)).item())
    assert costs[0] * mask.sum() > 0.9  # 2 H(1 - phi_edge) - 1, about 1 pixel of error
    assert abs(costs[1]) < 1e-6  # H(0) = 0.5: either answer costs 0.5


def test_an_empty_channel_contributes_nothing() -> None:
    g = np.zeros((1, 2, SIZE, SIZE), bool)
    g[:, 0] = True
    phi = signed_distance_map(g).astype(np.float64)
    p = np.random.default_rng(2).random(g.shape)
    loss = shape_aware_loss(torch.from_numpy(p), torch.from_numpy(phi))
    background_term = _numpy_shape_loss(p[:, :1], g[:, :1], phi[:, :1])
    assert loss.item() == pytest.approx(background_term / 2, rel=1e-12)


def _dice_ce_by_hand(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    p = torch.softmax(logits, dim=1)
    g = torch.cat([target == 0, target == 1], dim=1).to(p.dtype)
    dims = (2, 3)
    dice = 1 - (2 * (g * p).sum(dims) + 1e-5) / (g.sum(dims) + p.sum(dims) + 1e-5)
    ce = -(g * torch.log(p)).sum(dim=1).mean()
    return dice.mean() + ce


def test_segmentation_loss_is_dice_ce_plus_gamma_shape_with_a_finite_gradient() -> None:
    _, g, phi = _two_class_example()
    target = torch.from_numpy(g[:, 1:].astype(np.int64))
    distance = torch.from_numpy(phi[:, 1:]).float()
    logits = torch.randn((2, 2, SIZE, SIZE), generator=torch.Generator().manual_seed(3))
    logits.requires_grad_(True)
    total, terms = SegmentationLoss(gamma=0.3)(logits, target, distance)
    torch.testing.assert_close(terms["dice_ce"], _dice_ce_by_hand(logits, target).detach())
    expected_shape = shape_aware_loss(torch.softmax(logits, 1), torch.from_numpy(phi).float(), K)
    torch.testing.assert_close(terms["shape"], expected_shape.detach())
    torch.testing.assert_close(total.detach(), terms["dice_ce"] + 0.3 * terms["shape"])
    total.backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all()
    assert logits.grad.abs().sum() > 0


def test_segmentation_loss_refuses_a_distance_map_of_another_mask() -> None:
    target = torch.from_numpy(_disc(10)[None, None].astype(np.int64))
    other = torch.from_numpy(signed_distance_map(_disc(11))[None, None])
    with pytest.raises(ValueError, match="not the signed distance map"):
        SegmentationLoss()(torch.zeros((1, 2, SIZE, SIZE)), target, other)


# --- the networks ------------------------------------------------------------------------------


@pytest.mark.parametrize("build", [dynunet, segresnetvae])
def test_networks_give_two_class_logits_in_train_and_eval_mode(build) -> None:
    torch.manual_seed(0)
    net = build(width=0.25, image_size=SIZE)
    x = torch.randn(2, 1, SIZE, SIZE)
    net.train()
    output = net(x)
    assert segmentation_logits(net, output).shape == (2, 2, SIZE, SIZE)
    term = vae_loss(output)
    if isinstance(net, DynUNet):
        assert term is None
    else:
        assert term is not None and term.dim() == 0 and torch.isfinite(term) and term.requires_grad
    net.eval()
    with torch.no_grad():
        output = net(x)
    assert segmentation_logits(net, output).shape == (2, 2, SIZE, SIZE)
    assert vae_loss(output) is None


def test_deep_supervision_logits_are_the_full_resolution_head() -> None:
    net = dynunet(width=0.25, image_size=SIZE, deep_supervision=2).train()
    output = net(torch.randn(1, 1, SIZE, SIZE))
    assert output.shape == (1, 3, 2, SIZE, SIZE)
    torch.testing.assert_close(segmentation_logits(net, output), output[:, 0])


def test_image_sizes_the_networks_cannot_halve_are_refused() -> None:
    with pytest.raises(ValueError, match="image_size 100"):
        dynunet(width=0.25, image_size=100)
    with pytest.raises(ValueError, match="image_size 72"):
        segresnetvae(width=0.25, image_size=72)


def test_parameter_counts_match_table_2() -> None:
    """Tolerance: none. MONAI 1.6 reproduces both counts exactly (nets.parameter_table)."""
    rows = parameter_table(image_size=256)
    assert {row["network"] for row in rows} == set(PAPER_PARAMETERS)
    for row in rows:
        assert row["paper"] == PAPER_PARAMETERS[row["network"]]
        assert row["ours"] == row["paper"] and row["relative_difference"] == 0


def test_dynunet_has_the_papers_thirteen_blocks_at_256() -> None:
    net = dynunet(width=0.125, image_size=256)
    assert len(net.downsamples) == 5 and len(net.upsamples) == 6  # plus input and bottleneck


def test_segresnetvae_count_depends_on_size_through_its_vae_dense_layers() -> None:
    def dense(size: int) -> int:  # fc1, fc2: flat -> 256; fc3: 256 -> flat; flat = 16 (s/16)^2
        flat = 16 * (size // 16) ** 2
        return 2 * (flat * 256 + 256) + (256 * flat + flat)

    difference = trainable_parameters(segresnetvae(image_size=256)) - trainable_parameters(
        segresnetvae(image_size=SIZE)
    )
    assert difference == dense(256) - dense(SIZE)


def test_load_pretrained_loads_the_same_architecture_exactly() -> None:
    torch.manual_seed(0)
    source, net = (
        segresnetvae(width=0.25, image_size=SIZE),
        segresnetvae(width=0.25, image_size=SIZE),
    )
    load_pretrained(net, source.state_dict(), "pretrain.pt")
    for key, value in source.state_dict().items():
        assert torch.equal(net.state_dict()[key], value), key


def test_load_pretrained_refuses_another_architecture_naming_the_source() -> None:
    net = dynunet(width=0.125, image_size=SIZE)
    before = {key: value.clone() for key, value in net.state_dict().items()}
    foreign = segresnetvae(width=0.25, image_size=SIZE).state_dict()
    with pytest.raises(ValueError, match=r"vae\.pt is not a checkpoint of this DynUNet.*missing"):
        load_pretrained(net, foreign, "vae.pt")
    wider = dynunet(width=0.25, image_size=SIZE).state_dict()
    with pytest.raises(ValueError, match=r"wide\.pt .*shape mismatches"):
        load_pretrained(net, wider, "wide.pt")
    for key, value in net.state_dict().items():
        assert torch.equal(value, before[key]), key


def _xavier_std(weight: torch.Tensor) -> float:
    # Conv [out, in, k...] and transposed conv [in, out, k...] alike: fan_in + fan_out.
    return math.sqrt(2 / ((weight.shape[0] + weight.shape[1]) * weight[0, 0].numel()))


def test_xavier_init_gives_xavier_std_and_zero_biases() -> None:
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(64, 128, 3)
    xavier_init(conv)
    assert torch.all(conv.bias == 0)
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / (9 * 64 + 9 * 128)), rel=0.03)
    net = dynunet(width=0.25, image_size=SIZE)  # MONAI starts it Kaiming-normal
    xavier_init(net)
    checked = 0
    for layer in net.modules():
        if isinstance(layer, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            assert layer.bias is None or torch.all(layer.bias == 0)
            if layer.weight.numel() >= 2000:
                assert layer.weight.std().item() == pytest.approx(
                    _xavier_std(layer.weight), rel=0.1
                )
                checked += 1
        if isinstance(layer, torch.nn.InstanceNorm2d):
            assert torch.all(layer.weight == 1) and torch.all(layer.bias == 0)
    assert checked > 5
