"""Paper 001's segmentation loss (section 2.2.5, Eq. 4): Dice + cross-entropy + gamma x shape.

``L = L_D + L_CE + gamma * L_S`` with gamma = 0.05, the paper's grid-search optimum (section
3.2.5). Dice and cross-entropy are MONAI's ``DiceCELoss``; the shape-aware term ``L_S`` of Eqs. 1-3
is hand-written here because MONAI has no such loss. Everything is per example and averaged over
the batch, as the paper's "channel- and example-wise aggregation" (Figure 4).

The distance maps come from the ground truth only, so the data pipeline computes them once per
(augmented) mask with ``signed_distance_map`` (NumPy/SciPy) and the loss takes them as tensors.
"""

from __future__ import annotations

import numpy as np
import torch
from monai.losses import DiceCELoss
from scipy.ndimage import distance_transform_edt
from torch import nn


def signed_distance_map(mask: np.ndarray) -> np.ndarray:
    """The paper's "signed normalized Euclidean distance map" phi of 2-D masks ``[..., H, W]``.

    Sign: positive inside (foreground), negative outside. Inside, a pixel's value is its Euclidean
    distance to the nearest background pixel centre (SciPy's EDT), divided by the largest such
    distance in that mask; outside, minus the distance to the nearest foreground pixel divided by
    the largest outside one. So phi lies in [-1, 1], is +1 at the deepest inside point and -1 at
    the farthest outside one, and is never 0: the contour lies between pixel centres, and the
    pixels along it are 1 pixel (before normalisation) from the nearest pixel across it. Measured
    to pixel centres, a distance exceeds that to the continuous contour by under a pixel.
    ``phi >= 0`` is exactly the mask.

    Why positive inside: Eq. 2 keeps ``H(1 - phi)`` only where ``phi >= 0``. With phi positive
    inside, the shape information is a soft copy of the mask, about 1 along its edge and 0.5 at
    its deepest point. A foreground pixel predicted as background then costs about 1 at the edge
    but 0.5 at the deepest point, where predicting it right costs 0.5 as well: the weight on the
    boundary that the paper gives as the loss's purpose. Positive outside would make SI 0 on the
    object, and minimising Eq. 3 would drive the object's foreground probability to 0.

    A mask without a boundary (all foreground or all background) has no distance to measure; it
    gets +1 or -1 everywhere (every pixel as deep as can be on its side), finite and keeping
    ``phi >= 0`` the mask. This also keeps ``signed_distance_map(~m) == -signed_distance_map(m)``
    for every mask, which ``SegmentationLoss`` uses for the background channel.

    Each 2-D slice is handled separately (a 3-D EDT would measure across the batch axis).
    Returns float32, the dtype the loss uses.
    """
    masks = np.asarray(mask).astype(bool)
    if masks.ndim < 2:
        raise ValueError(f"expected masks [..., H, W], got shape {masks.shape}")
    phi = np.empty(masks.shape, dtype=np.float32)
    for index in np.ndindex(masks.shape[:-2]):
        phi[index] = _signed_slice(masks[index])
    return phi


def _signed_slice(mask: np.ndarray) -> np.ndarray:
    if mask.all():
        return np.ones(mask.shape, dtype=np.float32)
    if not mask.any():
        return -np.ones(mask.shape, dtype=np.float32)
    inside = distance_transform_edt(mask)
    outside = distance_transform_edt(~mask)
    return (inside / inside.max() - outside / outside.max()).astype(np.float32)


def shape_information(distance_map: torch.Tensor, k: float = 0.2) -> torch.Tensor:
    """``SI(m)`` of Eq. 2 from the map ``phi = distance_map`` of ``m``, with H of Eq. 1.

    Eq. 1: ``H(x) = 1 / (1 + exp(-x / k))``, a sigmoid whose softness is ``k`` (0.2 in the paper).
    Eq. 2: ``SI(m) = H(1 - phi(m))`` where ``phi(m) >= 0``, 0 otherwise.
    """
    return torch.where(distance_map >= 0, torch.sigmoid((1 - distance_map) / k), 0.0)


def shape_aware_loss(
    probabilities: torch.Tensor, distance_map: torch.Tensor, k: float = 0.2
) -> torch.Tensor:
    """The shape-aware loss ``L_S(g, p)`` of Eqs. 1-3, averaged over the batch.

    Eq. 3: ``L_S(g, p) = 1/C sum_c 1/(sum_i g_ci) integral_{i in Omega} |p_ci - SI(g_c)_i| di``.
    ``probabilities`` is p ``[B, C, H, W]``; ``distance_map`` is ``phi(g_c)`` for every channel,
    same shape (``signed_distance_map``), from which follow ``SI`` (Eqs. 1-2,
    ``shape_information``) and the mask, ``g = phi >= 0``. The integral is the sum over pixels.

    Minimum: 0, exactly when ``p = SI(g)`` everywhere. A hard perfect prediction ``p = g`` does not
    reach it: it costs ``1/C sum_c mean_{i in g_c} (1 - H(1 - phi_ci))``, between ``1 - H(1)``
    (about 0.0067, edge pixels) and 0.5 (deepest pixels) per pixel of the mask.

    An empty ground-truth channel (``sum_i g_ci = 0``) leaves Eq. 3 undefined; it contributes 0
    (the factor 1/C unchanged). Its false positives are still penalised by Dice and cross-entropy;
    normalising by one pixel instead would let a single empty slice outweigh the batch.
    """
    if probabilities.shape != distance_map.shape:
        raise ValueError(
            f"probabilities {tuple(probabilities.shape)} and distance maps "
            f"{tuple(distance_map.shape)} must have the same shape [B, C, H, W]"
        )
    pixels = tuple(range(2, probabilities.dim()))
    error = (probabilities - shape_information(distance_map, k)).abs().sum(dim=pixels)
    size = (distance_map >= 0).sum(dim=pixels).to(error.dtype)
    per_channel = torch.where(size > 0, error / size.clamp_min(1), 0.0)
    return per_channel.mean()


class SegmentationLoss(nn.Module):
    """Eq. 4 for the two-class problem (background, myocardium): DiceCE + gamma x shape-aware.

    ``L_D + L_CE`` is MONAI's ``DiceCELoss(include_background=True, to_onehot_y=True,
    softmax=True)`` with its equal weights (``lambda_dice = lambda_ce = 1``, the paper's "equally
    weighted sum"): softmax probabilities against the one-hot target; Dice per example and channel
    (``batch=False``), background included as Eq. 4's sum over all C channels, with the
    denominator ``g + p`` (``squared_pred=False``) and MONAI's 1e-5 smoothing; cross-entropy the
    mean over pixels. Eq. 4 writes the cross-entropy as a sum over pixels; a sum would outweigh
    the Dice (at most 1) by the image area, which is not an equal weighting, so the mean is used.

    ``L_S`` uses the same softmax p. The paper's "sigmoid of the log odds prediction values" is
    the same thing for two classes: the softmax of class c is the sigmoid of its log odds
    ``z_c - z_other``. Its distance maps are phi of the myocardium and, for the background
    channel, -phi (``signed_distance_map`` of the complement).
    """

    def __init__(self, gamma: float = 0.05, k: float = 0.2) -> None:
        super().__init__()
        self.gamma = gamma
        self.k = k
        self.dice_ce = DiceCELoss(include_background=True, to_onehot_y=True, softmax=True)

    def forward(
        self, logits: torch.Tensor, target: torch.Tensor, distance_map: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``logits [B, 2, H, W]``, integer ``target [B, 1, H, W]`` (1 = myocardium) and its
        ``distance_map [B, 1, H, W]`` -> the total loss and its two terms, detached for logging.

        The map must be that of this very target (``phi >= 0`` where target is 1): one computed
        before augmentation and then warped would silently change both SI and the normaliser of
        Eq. 3, so a mismatch raises.
        """
        if logits.shape[1] != 2 or distance_map.shape[1] != 1:
            raise ValueError(
                f"expected 2-class logits and a 1-channel distance map, got {tuple(logits.shape)}"
                f" and {tuple(distance_map.shape)}"
            )
        if not torch.equal(distance_map >= 0, target == 1):
            raise ValueError("distance_map is not the signed distance map of target")
        dice_ce = self.dice_ce(logits, target)
        maps = torch.cat([-distance_map, distance_map], dim=1)
        shape = shape_aware_loss(torch.softmax(logits, dim=1), maps, self.k)
        total = dice_ce + self.gamma * shape
        return total, {"dice_ce": dice_ce.detach(), "shape": shape.detach()}
