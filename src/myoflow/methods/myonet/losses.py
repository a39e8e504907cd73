"""Paper 000's loss (section 2.5) and its "accuracy", on displacements scaled into (0, 1).

The paper trains on the sum of three terms: MSE over every pixel (penalises large errors), smooth
L1 over every pixel (robust to outlying reference displacements), and a custom term that
"emphasises errors where the segmented areas" are, which we read as the MSE restricted to the
myocardium mask. Without that term the background, most of a 128 x 128 crop, dominates the loss,
while strain is only ever computed inside the myocardium. Each term has a weight so that ablations
can switch one off; the paper's total is the plain sum (all weights 1).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class DisplacementLoss(nn.Module):
    """``mse * MSE + smooth_l1 * SmoothL1 + myocardium * MSE inside the mask``.

    ``forward(pred, target, mask)`` takes ``pred`` and ``target`` as ``[B, 2, T, H, W]`` and
    ``mask`` as ``[B, 1, T, H, W]`` or ``[B, 1, 1, H, W]`` (one mask for every frame), nonzero
    inside the myocardium. The masked term is the summed squared error over masked pixels and both
    channels divided by their count, and 0 when the mask is empty, so a slice without myocardium
    still trains on the two global terms instead of producing NaN.
    """

    def __init__(self, mse: float = 1.0, smooth_l1: float = 1.0, myocardium: float = 1.0) -> None:
        super().__init__()
        weights = {"mse": mse, "smooth_l1": smooth_l1, "myocardium": myocardium}
        negative = [name for name, weight in weights.items() if weight < 0]
        if negative:
            raise ValueError(f"loss weights must be >= 0, got {weights} (negative: {negative})")
        self.mse = mse
        self.smooth_l1 = smooth_l1
        self.myocardium = myocardium

    def forward(self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        squared = (pred - target) ** 2
        inside = (mask != 0).to(squared.dtype).expand_as(squared)
        # clamp: an empty mask gives 0 / 1 = 0 rather than 0 / 0
        masked = (squared * inside).sum() / inside.sum().clamp(min=1.0)
        return (
            self.mse * squared.mean()
            + self.smooth_l1 * F.smooth_l1_loss(pred, target)
            + self.myocardium * masked
        )


def normalised_mse_accuracy(pred: torch.Tensor, target: torch.Tensor) -> float:
    """Paper 000's "accuracy", read as ``1 - MSE / Var(target)`` (the coefficient of determination).

    The paper says only "1 - normalised MSE". Normalising by the target's variance makes the score
    1 for a perfect prediction and 0 for the best constant guess (the target's mean) whatever the
    scale of the displacements, so it compares across cohorts; it goes negative for worse than
    that. Variance is over every element of the batch; a constant target (variance 0) gives
    ``-inf`` or ``nan`` rather than a misleading number.
    """
    with torch.no_grad():
        pred, target = pred.double(), target.double()
        mse = ((pred - target) ** 2).mean()
        variance = ((target - target.mean()) ** 2).mean()
        return float(1.0 - mse / variance)
