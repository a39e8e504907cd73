"""Paper 002's losses against direct NumPy readings of their definitions on a hand-drawn volume:
GDL (Sudre 2017, both classes), balanced CE (HED), DDL (Eq. 1), L_comb and deep supervision."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from monai.losses import GeneralizedDiceLoss

from myoflow.methods.attmnet.losses import (
    PAPER_LAMBDAS,
    AttMnetLoss,
    balanced_cross_entropy,
    deep_supervision_loss,
    distance_derived_loss,
    distance_weights,
    generalized_dice_loss,
)

# A 3 x 4 x 4 volume: an L of three voxels on slice 1 and one voxel on slice 2 above its corner.
MASK = np.zeros((3, 4, 4), dtype=bool)
MASK[1, 1, 1] = MASK[1, 1, 2] = MASK[1, 2, 1] = True
MASK[2, 1, 2] = True

# Hand-chosen probabilities: 0.2 on the background with two confident false positives, a spread
# of values on the myocardium.
PROBS = np.full((3, 4, 4), 0.2)
PROBS[0, 1, 1] = 0.7  # next to the mask (d = 1)
PROBS[2, 3, 0] = 0.9  # farther away (d = sqrt 3)
PROBS[1, 1, 1], PROBS[1, 1, 2], PROBS[1, 2, 1], PROBS[2, 1, 2] = 0.8, 0.6, 0.9, 0.4


def _tensor(array: np.ndarray) -> torch.Tensor:
    """``[D, H, W]`` or ``[N, D, H, W]`` -> float64 ``[N, 1, D, H, W]``."""
    values = torch.from_numpy(np.asarray(array, dtype=np.float64))
    return values.reshape(-1, 1, *values.shape[-3:])


def _logits(p: np.ndarray) -> torch.Tensor:
    return _tensor(np.log(p / (1 - p)))


def _brute_force_weights(mask: np.ndarray) -> np.ndarray:
    """Eq. 1's W read literally: 1 / (min over foreground positions of the distance + 1)."""
    positions = np.argwhere(mask)
    grid = np.indices(mask.shape).reshape(mask.ndim, -1).T
    distance = np.linalg.norm(grid[:, None, :] - positions[None, :, :], axis=2).min(axis=1)
    return (1 / (distance + 1)).reshape(mask.shape)


def _numpy_gdl(p: np.ndarray, g: np.ndarray) -> float:
    """Sudre's GDL over (background, myocardium); an empty class takes the other's weight."""
    r = np.stack([1 - g, g]).astype(float)
    q = np.stack([1 - p, p])
    volume = r.sum(axis=(1, 2, 3))
    w = 1 / np.where(volume > 0, volume, volume.max()) ** 2
    numerator = 2 * (w * (r * q).sum(axis=(1, 2, 3))).sum()
    return float(1 - numerator / (w * (r + q).sum(axis=(1, 2, 3))).sum())


def _numpy_bce(p: np.ndarray, g: np.ndarray) -> float:
    beta = (~g).sum() / g.size
    terms = -(beta * g * np.log(p) + (1 - beta) * (~g) * np.log(1 - p))
    return float(terms.mean())


def _numpy_ddl(p: np.ndarray, g: np.ndarray) -> float:
    return float((_brute_force_weights(g) * np.abs(p - g)).sum() / g.sum())


def _inputs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return _logits(PROBS), _tensor(MASK), _tensor(distance_weights(MASK))


# --- the weight map of Eq. 1 -------------------------------------------------------------------


def test_distance_weights_are_one_over_distance_plus_one_checked_by_hand() -> None:
    w = distance_weights(MASK)
    assert w.dtype == np.float32 and w.shape == MASK.shape
    assert np.all(w[MASK] == 1.0) and np.all(w[~MASK] < 1.0)
    assert w[0, 1, 1] == pytest.approx(1 / 2)  # right below (1, 1, 1)
    assert w[0, 0, 0] == pytest.approx(1 / (math.sqrt(3) + 1))  # diagonal to (1, 1, 1)
    assert w[1, 3, 3] == pytest.approx(1 / (math.sqrt(5) + 1))  # from (1, 2, 1) or (1, 1, 2)
    assert w[2, 3, 0] == pytest.approx(1 / (math.sqrt(3) + 1))  # from (1, 2, 1)
    np.testing.assert_allclose(w, _brute_force_weights(MASK), rtol=1e-6)


def test_distance_weights_use_the_spacing_and_ignore_a_channel_axis() -> None:
    w = distance_weights(MASK, spacing=(2.0, 1.0, 1.0))
    assert w[0, 1, 1] == pytest.approx(1 / 3)  # one slice below, slices 2 units apart
    assert w[0, 0, 0] == pytest.approx(1 / (math.sqrt(6) + 1))
    np.testing.assert_array_equal(distance_weights(MASK[None]), distance_weights(MASK)[None])


def test_distance_weights_of_an_empty_mask_are_zero() -> None:
    w = distance_weights(np.zeros((3, 4, 4), dtype=bool))
    assert w.dtype == np.float32 and np.all(w == 0.0)


# --- the three terms ---------------------------------------------------------------------------


def test_generalized_dice_loss_equals_the_two_class_formula() -> None:
    logits, target, _ = _inputs()
    expected = _numpy_gdl(PROBS, MASK)
    # rel 1e-8: MONAI computes the class weights in float32.
    assert generalized_dice_loss(logits, target).item() == pytest.approx(expected, rel=1e-8)
    # Why two channels: on the one foreground channel MONAI's GDL is plain Dice.
    plain_dice = 1 - 2 * (PROBS * MASK).sum() / (PROBS.sum() + MASK.sum())
    one_channel = GeneralizedDiceLoss(sigmoid=True, smooth_nr=0.0, smooth_dr=0.0)
    assert one_channel(logits, target).item() == pytest.approx(plain_dice, rel=1e-8)
    assert abs(expected - plain_dice) > 0.01


def test_balanced_cross_entropy_equals_hed_with_beta_per_volume() -> None:
    logits, target, _ = _inputs()
    expected = _numpy_bce(PROBS, MASK)
    assert balanced_cross_entropy(logits, target).item() == pytest.approx(expected, rel=1e-10)


def test_distance_derived_loss_equals_equation_1() -> None:
    logits, target, weights = _inputs()
    expected = _numpy_ddl(PROBS, MASK)
    loss = distance_derived_loss(logits, target, weights).item()
    assert loss == pytest.approx(expected, rel=1e-6)  # float32 weights
    # By hand: missed probability inside, p / (d + 1) outside, over 4 mask voxels.
    inside = 0.2 + 0.4 + 0.1 + 0.6
    near = 0.7 / 2 + 0.9 / (math.sqrt(3) + 1)
    outside = near + 0.2 * (
        _brute_force_weights(MASK)[~MASK].sum() - 1 / 2 - 1 / (math.sqrt(3) + 1)
    )
    assert loss == pytest.approx((inside + outside) / 4, rel=1e-6)


def test_terms_are_per_volume_means_over_the_batch_and_an_empty_volume_costs_no_ddl() -> None:
    second_mask = np.zeros_like(MASK)
    second_mask[0, 2:, 2:] = True
    empty = np.zeros_like(MASK)
    masks = np.stack([MASK, second_mask, empty])
    probs = np.stack([PROBS, PROBS[::-1], PROBS])
    logits, target = _logits(probs), _tensor(masks)
    weights = _tensor(np.stack([distance_weights(m) for m in masks]))
    bce = [_numpy_bce(p, g) for p, g in zip(probs, masks, strict=True)]
    assert bce[2] == 0.0  # beta = 1: HED has no background term without foreground
    ddl = [_numpy_ddl(probs[0], MASK), _numpy_ddl(probs[1], second_mask), 0.0]
    gdl = [_numpy_gdl(p, g) for p, g in zip(probs, masks, strict=True)]
    assert balanced_cross_entropy(logits, target).item() == pytest.approx(np.mean(bce))
    assert distance_derived_loss(logits, target, weights).item() == pytest.approx(np.mean(ddl))
    assert generalized_dice_loss(logits, target).item() == pytest.approx(np.mean(gdl))


def test_a_perfect_prediction_has_a_near_zero_loss() -> None:
    _, target, weights = _inputs()
    logits = torch.where(target > 0, 30.0, -30.0).double()
    total, terms = AttMnetLoss()(logits, target, weights)
    assert terms["gdl"].item() < 1e-10
    assert terms["bce"].item() < 1e-10 and terms["ddl"].item() < 1e-10
    assert total.item() < 1e-9


# --- the combination and deep supervision ------------------------------------------------------


def test_total_is_the_lambda_weighted_sum_and_distance_can_be_dropped() -> None:
    logits, target, weights = _inputs()
    gdl = generalized_dice_loss(logits, target)
    bce = balanced_cross_entropy(logits, target)
    ddl = distance_derived_loss(logits, target, weights)
    assert PAPER_LAMBDAS == (1.0, 1.0, 3.0)
    total, terms = AttMnetLoss()(logits, target, weights)
    assert total.item() == pytest.approx((gdl + bce + 3 * ddl).item(), rel=1e-12)
    assert set(terms) == {"gdl", "bce", "ddl"}
    total, _ = AttMnetLoss(lambdas=(0.3, 1.7, 2.5))(logits, target, weights)
    assert total.item() == pytest.approx((0.3 * gdl + 1.7 * bce + 2.5 * ddl).item(), rel=1e-12)
    total, terms = AttMnetLoss(distance=False)(logits, target)
    assert total.item() == pytest.approx((gdl + bce).item(), rel=1e-12)
    assert set(terms) == {"gdl", "bce"}


def test_weights_must_belong_to_the_target() -> None:
    logits, target, _ = _inputs()
    with pytest.raises(ValueError, match="needs the distance weights"):
        AttMnetLoss()(logits, target)
    shifted = _tensor(distance_weights(np.roll(MASK, 1, axis=2)))
    with pytest.raises(ValueError, match="not the distance weights"):
        AttMnetLoss()(logits, target, shifted)
    with pytest.raises(ValueError, match="one-channel"):
        generalized_dice_loss(logits.repeat(1, 2, 1, 1, 1), target)


def test_deep_supervision_weighs_the_first_output_one_and_the_others_half() -> None:
    _, target, weights = _inputs()
    rng = np.random.default_rng(2)
    outputs = [_tensor(rng.normal(0, 2, MASK.shape)) for _ in range(5)]
    criterion = AttMnetLoss()
    losses = [criterion(output, target, weights)[0].item() for output in outputs]
    total, parts = deep_supervision_loss(criterion, outputs, target, weights)
    assert total.item() == pytest.approx(losses[0] + 0.5 * sum(losses[1:]), rel=1e-12)
    assert [part["total"].item() for part in parts] == pytest.approx(losses, rel=1e-12)
    explicit, _ = deep_supervision_loss(criterion, outputs, target, weights, [0, 0, 1, 0, 2])
    assert explicit.item() == pytest.approx(losses[2] + 2 * losses[4], rel=1e-12)
    with pytest.raises(ValueError, match="3 output weights for 5 outputs"):
        deep_supervision_loss(criterion, outputs, target, weights, [1.0, 0.5, 0.5])


def test_deep_supervision_max_pools_target_and_weights_for_a_coarse_output() -> None:
    mask = np.zeros((4, 4, 4), dtype=bool)
    mask[1, 2, 3] = True  # one voxel, in the block (0, 1, 1) of 2 x 2 x 2 blocks
    target, weights = _tensor(mask), _tensor(distance_weights(mask))
    full = _tensor(np.zeros(mask.shape))
    coarse = _tensor(np.linspace(-2, 2, 8).reshape(2, 2, 2))

    def block_max(volume: np.ndarray) -> np.ndarray:
        return volume.reshape(2, 2, 2, 2, 2, 2).max(axis=(1, 3, 5))

    pooled_mask = block_max(mask)
    assert pooled_mask.sum() == 1 and pooled_mask[0, 1, 1]  # nearest sampling could miss it
    pooled_weights = block_max(distance_weights(mask))
    criterion = AttMnetLoss()
    expected = (
        criterion(full, target, weights)[0]
        + 0.5 * criterion(coarse, _tensor(pooled_mask), _tensor(pooled_weights))[0]
    )
    total, _ = deep_supervision_loss(criterion, [full, coarse], target, weights)
    assert total.item() == pytest.approx(expected.item(), rel=1e-12)
    with pytest.raises(ValueError, match="exceeds"):
        deep_supervision_loss(criterion, [_tensor(np.zeros((5, 4, 4)))], target, weights)


def test_gradients_flow_to_every_output() -> None:
    _, target, weights = _inputs()
    rng = np.random.default_rng(3)
    shapes = [(3, 4, 4), (3, 4, 4), (2, 2, 2)]
    outputs = [_tensor(rng.normal(0, 1, shape)).requires_grad_() for shape in shapes]
    total, _ = deep_supervision_loss(AttMnetLoss(), outputs, target, weights)
    total.backward()
    for output in outputs:
        assert output.grad is not None
        assert torch.isfinite(output.grad).all() and output.grad.abs().sum() > 0
