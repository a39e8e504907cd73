"""Paper 000's loss and accuracy against hand computations with plain tensor operations."""

from __future__ import annotations

import pytest
import torch

from myoflow.methods.myonet.losses import DisplacementLoss, normalised_mse_accuracy

SHAPE = (2, 2, 3, 6, 5)


def _example(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    pred = torch.rand(SHAPE, generator=generator)
    target = torch.rand(SHAPE, generator=generator)
    mask = (torch.rand((2, 1, 1, 6, 5), generator=generator) > 0.5).float()
    return pred, 2 * target - 0.5, mask  # errors above 1 exercise smooth L1's linear part


def test_zero_for_a_perfect_prediction() -> None:
    _, target, mask = _example()
    assert DisplacementLoss()(target, target, mask).item() == 0.0


def test_equals_hand_computation() -> None:
    pred, target, mask = _example()
    diff = pred - target
    mse = (diff**2).mean()
    smooth_l1 = torch.where(diff.abs() < 1, 0.5 * diff**2, diff.abs() - 0.5).mean()
    full_mask = mask.expand(-1, 2, 3, -1, -1)
    masked = (diff**2)[full_mask > 0].mean()
    assert (diff.abs() > 1).any() and (diff.abs() < 1).any()
    loss = DisplacementLoss(mse=0.5, smooth_l1=2.0, myocardium=3.0)(pred, target, mask)
    torch.testing.assert_close(loss, 0.5 * mse + 2.0 * smooth_l1 + 3.0 * masked)


def test_per_frame_mask_matches_broadcast_mask() -> None:
    pred, target, mask = _example()
    loss = DisplacementLoss()
    torch.testing.assert_close(
        loss(pred, target, mask), loss(pred, target, mask.expand(-1, -1, 3, -1, -1))
    )


def test_myocardium_term_ignores_pixels_outside_the_mask() -> None:
    pred, target, mask = _example()
    only_mask = DisplacementLoss(mse=0.0, smooth_l1=0.0)
    changed = torch.where(mask > 0, pred, pred + 10.0)
    torch.testing.assert_close(only_mask(changed, target, mask), only_mask(pred, target, mask))
    assert DisplacementLoss()(changed, target, mask) > DisplacementLoss()(pred, target, mask)


def test_empty_mask_leaves_the_global_terms() -> None:
    pred, target, mask = _example()
    empty = torch.zeros_like(mask)
    loss = DisplacementLoss()(pred, target, empty)
    assert torch.isfinite(loss)
    torch.testing.assert_close(loss, DisplacementLoss(myocardium=0.0)(pred, target, mask))


def test_negative_weight_is_refused() -> None:
    with pytest.raises(ValueError, match="smooth_l1"):
        DisplacementLoss(smooth_l1=-1.0)


def test_accuracy_is_one_when_perfect_and_zero_for_the_mean() -> None:
    _, target, _ = _example()
    assert normalised_mse_accuracy(target, target) == 1.0
    mean = torch.full_like(target, target.mean().item())
    assert normalised_mse_accuracy(mean, target) == pytest.approx(0.0, abs=1e-6)
    assert normalised_mse_accuracy(1 - target, target) < 0
