"""Paper 003's composite landmark loss (eqn 2, Figure 3): position error plus strain errors.

Per frame t of a sequence, ``loss_t = MSE_t + w * (|dE_rr,t| + |dE_cc,t|)``:

* ``MSE_t``: mean over the 168 landmarks of ``dx^2 + dy^2`` (the paper's eqn 2; the published
  code's ``reduce_mean`` over the 336 coordinates is half of that).
* ``dE_rr,t``: predicted minus reference radial strain of the slice, each the mean over the 24
  radial lines of the Green strain of the segment endocardial point (0) -> epicardial point (6).
* ``dE_cc,t``: the same for mid-wall circumferential strain, segments between point 3 of line k
  and point 3 of line k + 1, closed (line 23 back to line 0).

Strains are averaged over the slice before the difference ("the strains were averaged over the
slice before computing the error"). Each sequence is its own reference: predicted strain is
against the predicted frame 0 (ED), reference strain against the reference frame 0.

Landmarks are ``[..., T, 2, 168]`` (x then y; landmark ``line * 7 + point``) in any unit; the
strains are unitless and the MSE is in squared units, so with landmarks scaled by the crop size
(O(1)) the paper's weight w = 5 balances them as in the published code (whose MSE is halved: its
w = 5 corresponds to w = 10 here). Torch only, differentiable.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from myoflow.methods.tagstrain.nets import POINTS_PER_LINE, RADIAL_LINES


def _lines(landmarks: torch.Tensor) -> torch.Tensor:
    """``[..., 2, 168]`` -> ``[..., 2, 24, 7]``."""
    return landmarks.reshape(*landmarks.shape[:-1], RADIAL_LINES, POINTS_PER_LINE)


def _green(squared_lengths: torch.Tensor, eps: float) -> torch.Tensor:
    """Green strain ``(L_t^2 - L_0^2) / (2 L_0^2)`` of ``[..., T, K]`` squared lengths, frame 0
    the reference. Squared lengths suffice, so there is no square root (whose gradient is
    infinite at a zero length). ``L_0^2`` is clamped to ``eps^2`` only against division by zero:
    a degenerate predicted ED still gives a large strain error, as it should."""
    reference = squared_lengths[..., :1, :].clamp_min(eps * eps)
    return (squared_lengths - reference) / (2.0 * reference)


def radial_strain(landmarks: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Slice radial Green strain ``[..., T]`` of landmarks ``[..., T, 2, 168]``: the mean over the
    24 lines of the strain of the endo (point 0) to epi (point 6) segment, against frame 0."""
    lines = _lines(landmarks)
    segment = lines[..., 6] - lines[..., 0]  # [..., T, 2, 24]
    return _green((segment**2).sum(dim=-2), eps).mean(dim=-1)


def circumferential_strain(landmarks: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Slice mid-wall circumferential Green strain ``[..., T]`` of landmarks ``[..., T, 2, 168]``:
    the mean over the 24 segments from point 3 of line k to point 3 of line k + 1 (line 23 closes
    the ring to line 0), against frame 0."""
    mid = _lines(landmarks)[..., 3]  # [..., T, 2, 24]
    segment = torch.roll(mid, shifts=-1, dims=-1) - mid
    return _green((segment**2).sum(dim=-2), eps).mean(dim=-1)


@dataclass(frozen=True)
class LossParts:
    """The total loss and its three terms, each a mean over the valid frames (scalar tensors);
    ``total = position + strain_weight * (radial + circumferential)``."""

    total: torch.Tensor
    position: torch.Tensor
    radial: torch.Tensor
    circumferential: torch.Tensor

    def as_floats(self) -> dict[str, float]:
        """Detached values, for logging."""
        return {
            "total": float(self.total.detach()),
            "position": float(self.position.detach()),
            "radial": float(self.radial.detach()),
            "circumferential": float(self.circumferential.detach()),
        }


def composite_landmark_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    strain_weight: float = 5.0,
    valid: torch.Tensor | None = None,
    eps: float = 1e-6,
) -> LossParts:
    """Paper 003's eqn 2 on ``pred`` and ``target`` ``[B, T, 2, 168]``, averaged over frames and
    sequences.

    ``valid`` ``[B, T]`` (bool or 0/1) marks the real frames: frames padded as empty frames to
    reach 20 are left out of every term, and the mean runs over all valid (sequence, frame)
    pairs. Frame 0 is every sequence's strain reference and must be valid. Invalid frames are
    zeroed before any arithmetic, so NaN or huge values there reach neither the loss nor the
    gradients; a batch without a valid frame gives 0. ``eps`` (in landmark units) is the
    smallest ED segment length the strains divide by.
    """
    if pred.shape != target.shape or pred.ndim != 4 or pred.shape[-2] != 2:
        raise ValueError(f"expected two [B, T, 2, 168], got {pred.shape} and {target.shape}")
    if valid is None:
        weight = pred.new_ones(pred.shape[:2])
    else:
        if valid.shape != pred.shape[:2]:
            raise ValueError(f"valid must be [B, T] = {tuple(pred.shape[:2])}, got {valid.shape}")
        weight = valid.to(pred.dtype)
        keep = weight[..., None, None] != 0
        pred = torch.where(keep, pred, torch.zeros_like(pred))
        target = torch.where(keep, target, torch.zeros_like(target))
    position = ((pred - target) ** 2).sum(dim=-2).mean(dim=-1)  # [B, T]
    radial = (radial_strain(pred, eps) - radial_strain(target, eps)).abs()
    circumferential = (
        circumferential_strain(pred, eps) - circumferential_strain(target, eps)
    ).abs()
    count = weight.sum().clamp_min(1.0)

    def mean(per_frame: torch.Tensor) -> torch.Tensor:
        return (per_frame * weight).sum() / count

    parts = [mean(term) for term in (position, radial, circumferential)]
    total = parts[0] + strain_weight * (parts[1] + parts[2])
    return LossParts(total, *parts)


class CompositeLandmarkLoss(nn.Module):
    """``composite_landmark_loss`` as a module: ``forward(pred, target, valid=None) -> LossParts``;
    use ``.total`` for ``backward()`` and ``.as_floats()`` for logging."""

    def __init__(self, strain_weight: float = 5.0, eps: float = 1e-6) -> None:
        super().__init__()
        if strain_weight < 0:
            raise ValueError(f"strain_weight must be >= 0, got {strain_weight}")
        self.strain_weight = strain_weight
        self.eps = eps

    def forward(
        self, pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor | None = None
    ) -> LossParts:
        return composite_landmark_loss(pred, target, self.strain_weight, valid, self.eps)
