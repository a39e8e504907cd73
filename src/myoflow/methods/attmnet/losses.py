"""Paper 002's hybrid loss (section II.D, III.B): GDL + balanced CE + distance-derived loss.

``L_comb = l1 GDL + l2 BCE + l3 DDL`` with ``(l1, l2, l3) = (1, 1, 3)`` (section III.B), applied
to every output of the deeply supervised 3D Attention M-net, ``L_dep = sum_n w_n L_comb_n`` with
weight 1 on the final (fused) output and 0.5 on the others. GDL and BCE fight the imbalance
between a thin myocardium and a large background; DDL (Eq. 1) weights errors by their closeness
to the ground truth to refine the contours. "Att-Mnet without the distance loss" of Table I is
the same loss with ``distance=False``.

GDL is MONAI's ``GeneralizedDiceLoss``; balanced CE (Xie & Tu 2015) and DDL have no MONAI
counterpart and are written here. The DDL weight map depends on the ground truth only, so the
data pipeline computes it once per (augmented) mask with :func:`distance_weights` (SciPy's EDT,
which has no GPU counterpart) and the loss takes it as a tensor. Every term is computed per
volume and averaged over the batch, because the paper defines each one on one image.

MONAI's ``DeepSupervisionLoss`` is not used: its loss takes ``(input, target)`` only, while DDL
needs the weight map resized along with the target; it resizes by nearest-neighbour only (see
:func:`deep_supervision_loss` for why max-pooling is used here); and a ``weights`` list shorter
than the outputs silently falls back to its ``weight_mode``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from monai.losses import GeneralizedDiceLoss
from scipy.ndimage import distance_transform_edt
from torch import nn

#: Section III.B: ``lambda_1, lambda_2, lambda_3`` of ``L_comb`` (GDL, BCE, DDL).
PAPER_LAMBDAS: tuple[float, float, float] = (1.0, 1.0, 3.0)

#: Section III.B: deep-supervision weight of the final output and of every other output.
FINAL_OUTPUT_WEIGHT = 1.0
SIDE_OUTPUT_WEIGHT = 0.5


def distance_weights(mask: np.ndarray, spacing: Sequence[float] | None = None) -> np.ndarray:
    """The weight map ``W = 1 / (d + 1)`` of Eq. 1 for one ground-truth volume, as float32.

    ``d`` is the Euclidean distance from a voxel centre to the nearest ground-truth voxel centre,
    ``min_i ||x - g_i||`` over the set ``P_G`` of foreground positions: 0 on the mask (W = 1),
    1 next to it (W = 0.5), decaying as ``1/(d + 1)`` away from it. It is SciPy's EDT of the
    complement, which measures from every background voxel to the nearest foreground one.

    Units: voxels by default, as in the paper, whose ``g_i`` are pixel positions and whose
    ``+ 1`` is therefore one voxel. Millimetres would make the ``+ 1`` about 8 in-plane voxels
    (0.1307 mm pixels) and flatten W near the contour, which is the region the term is for.
    ``spacing`` (one value per axis) is passed to the EDT as ``sampling``: to keep the voxel
    scale on anisotropic data give it relative to the in-plane size (e.g. ``(0.16 / 0.1307,
    1, 1)`` for the paper's resampled slices, where the voxels are nearly isotropic anyway).

    3-D, not per slice: Eq. 1 is written in (x, y) like the rest of the paper's notation, but the
    network and its loss are 3-D, and a per-slice distance is undefined on the slices beyond the
    apex and base, which hold no myocardium. Every axis of ``mask`` is spatial; a length-1 axis
    (e.g. a leading channel axis) adds nothing to any distance.

    A mask without foreground has no distance to measure: W is 0 everywhere (the limit of
    ``1 / (d + 1)`` as d grows), so its DDL is 0 (see :func:`distance_derived_loss`).
    """
    foreground = np.asarray(mask).astype(bool)
    if not foreground.any():
        return np.zeros(foreground.shape, dtype=np.float32)
    distance = distance_transform_edt(~foreground, sampling=spacing)
    return (1.0 / (distance + 1.0)).astype(np.float32)


def generalized_dice_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Generalised Dice loss (Sudre et al. 2017) of ``[N, 1, ...]`` logits, both classes counted.

    ``GDL = 1 - 2 sum_l w_l sum_n r_ln p_ln / sum_l w_l sum_n (r_ln + p_ln)``, ``w_l = 1 / (sum_n
    r_ln)^2``, over the classes l = background, myocardium of one volume, averaged over the batch.

    Why two channels: MONAI weights each channel by its own reference volume, so with the single
    foreground channel ``w`` cancels between numerator and denominator and GDL is plain Dice. The
    class weighting only balances the classes when both are summed, so the sigmoid output p
    becomes ``[1 - p, p]`` against ``[1 - g, g]``: MONAI's sigmoid of ``[-z, z]`` is exactly that.

    Smoothing is off (MONAI's default is 1e-5): the squared weights scale the weighted sums to
    about ``1 / |class|``, ~1e-4 for this myocardium, which a 1e-5 term would bias by several per
    cent. No zero denominator can occur: one of the two classes is never empty, and MONAI gives an
    empty class the other's weight.
    """
    _check_one_channel(logits, target)
    two_class_logits = torch.cat([-logits, logits], dim=1)
    reference = target.to(logits.dtype)
    two_class_target = torch.cat([1 - reference, reference], dim=1)
    gdl = GeneralizedDiceLoss(sigmoid=True, w_type="square", smooth_nr=0.0, smooth_dr=0.0)
    return gdl(two_class_logits, two_class_target)


def balanced_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Class-balanced cross-entropy of Xie & Tu (HED, ICCV 2015), per volume.

    ``BCE = -beta sum_{Y+} log p - (1 - beta) sum_{Y-} log(1 - p)``, ``beta = |Y-| / |Y|``: the
    rare myocardium voxels carry the large weight beta and the background the small ``1 - beta``,
    so each class contributes in proportion to the other's size. beta comes from each volume's
    own target.

    HED's sums are divided by the voxel count ``|Y|`` (a constant for a fixed crop): summed over
    96 x 96 x 36 voxels the term would outweigh GDL (in [0, 1]) and DDL (of order 1) by five orders
    of magnitude, and the paper's lambda = (1, 1, 3) would mean nothing. Computed from the logits
    (``log p = -softplus(-z)``) for numerical stability. A volume without myocardium has beta =
    1 and so no background term: HED's definition, kept as written.
    """
    _check_one_channel(logits, target)
    reference = target.to(logits.dtype)
    voxels = tuple(range(1, logits.dim()))
    beta = 1 - reference.mean(dim=voxels, keepdim=True)
    weight = beta * reference + (1 - beta) * (1 - reference)
    per_voxel = F.binary_cross_entropy_with_logits(logits, reference, weight, reduction="none")
    return per_voxel.mean(dim=voxels).mean()


def distance_derived_loss(
    logits: torch.Tensor, target: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    """The distance-derived loss of Eq. 1, per volume and averaged over the batch.

    ``DDL = sum_x W(x) |P(x) - G(x)| / sum_x G(x)``, with W from :func:`distance_weights`, G the
    ground truth and P the predicted probability ``sigmoid(z)``: the paper's "labels of predicted
    pixels" would be thresholded, which has no gradient, so the soft prediction stands in. Read as
    written, the weighted difference covers every voxel: inside the truth W = 1 and the term is
    the missed probability ``1 - P``; outside it is ``P / (d + 1)``, a false positive costing the
    more the closer it is to the contour, as the paper says ("the voxels closer to the ground
    truth are assigned larger weights"). The normaliser is the ground-truth volume in voxels.

    A volume without myocardium has W = 0 and ``sum G = 0``; it contributes 0 (its false
    positives are still penalised by GDL), rather than a 1-voxel normaliser that would let one
    empty crop outweigh the batch.
    """
    _check_one_channel(logits, target)
    if weights.shape != logits.shape:
        raise ValueError(
            f"weights {tuple(weights.shape)} must have the logits' shape {tuple(logits.shape)}"
        )
    reference = target.to(logits.dtype)
    voxels = tuple(range(1, logits.dim()))
    error = (weights * (torch.sigmoid(logits) - reference).abs()).sum(dim=voxels)
    size = reference.sum(dim=voxels)
    return torch.where(size > 0, error / size.clamp_min(1), 0.0).mean()


class AttMnetLoss(nn.Module):
    """``L_comb = l1 GDL + l2 BCE + l3 DDL`` of one output; ``distance=False`` drops DDL.

    ``lambdas`` defaults to the paper's (1, 1, 3). Without the distance term (Table I's Att-Mnet
    "w/o distance loss") the weights argument is not needed and the DDL entry is not reported.
    """

    def __init__(
        self, lambdas: tuple[float, float, float] = PAPER_LAMBDAS, distance: bool = True
    ) -> None:
        super().__init__()
        self.lambdas = lambdas
        self.distance = distance

    def forward(
        self, logits: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``logits [N, 1, D, H, W]``, binary ``target`` and its DDL ``weights`` of that shape ->
        the total and its terms (``gdl``, ``bce``, ``ddl``), detached for logging.

        The weights must be those of this very target (W = 1 exactly on the mask): a map
        computed before augmentation and then warped would silently move the contour that DDL
        refines, so a mismatch raises.
        """
        l_gdl, l_bce, l_ddl = self.lambdas
        gdl = generalized_dice_loss(logits, target)
        bce = balanced_cross_entropy(logits, target)
        total = l_gdl * gdl + l_bce * bce
        terms = {"gdl": gdl.detach(), "bce": bce.detach()}
        if self.distance:
            if weights is None:
                raise ValueError("the distance-derived loss needs the distance weights")
            if not torch.equal(weights == 1, target == 1):
                raise ValueError("weights are not the distance weights of target")
            ddl = distance_derived_loss(logits, target, weights)
            total = total + l_ddl * ddl
            terms["ddl"] = ddl.detach()
        return total, terms


def deep_supervision_loss(
    criterion: AttMnetLoss,
    outputs: Sequence[torch.Tensor],
    target: torch.Tensor,
    weights: torch.Tensor | None = None,
    output_weights: Sequence[float] | None = None,
) -> tuple[torch.Tensor, list[dict[str, torch.Tensor]]]:
    """``L_dep = sum_n w_n L_comb_n`` over the network's ``outputs`` [fused, level 1, ...].

    Weights (section III.B): 1 for the first output, 0.5 for the others, unless
    ``output_weights`` (one per output) is given. The paper puts weight 1 on "the first level";
    it is read as the fused final output, the segmentation the model returns and the one whose
    GDL the paper monitors for the learning-rate schedule, with 0.5 on each decoder level. Its
    ``L_dep`` sums 4 levels, leaving it unclear whether the fused output is one of them; every
    output given is supervised here, so pass the outputs the network produces.

    An output at lower resolution than the target gets the target and the weight map max-pooled
    to its size (``adaptive_max_pool3d``), not nearest-neighbour sampled. Sampling one voxel in
    every 2^k block breaks a myocardium a few voxels thick into fragments at the coarse levels
    and moves with the sampling phase; max-pooling keeps the ring closed, mirrors the encoder's
    max-pooled inputs, and keeps target and weights consistent: the pooled W (the weight of the
    block's voxel nearest the truth) is 1 exactly where the pooled target is 1, and off the mask
    it keeps the full-resolution distance, so a given physical distance weighs the same at every
    level. The cost is a slightly thicker coarse target.

    Returns the total and, per output, its terms with its own ``total`` (detached); the first
    entry's ``gdl`` is the paper's monitored quantity.
    """
    if not outputs:
        raise ValueError("no outputs to supervise")
    if output_weights is None:
        output_weights = [FINAL_OUTPUT_WEIGHT] + [SIDE_OUTPUT_WEIGHT] * (len(outputs) - 1)
    if len(output_weights) != len(outputs):
        raise ValueError(f"{len(output_weights)} output weights for {len(outputs)} outputs")
    total = outputs[0].new_zeros(())
    parts = []
    for output, output_weight in zip(outputs, output_weights, strict=True):
        size = tuple(output.shape[2:])
        level_target = _max_pool_to(target.to(output.dtype), size)
        level_weights = None if weights is None else _max_pool_to(weights, size)
        loss, terms = criterion(output, level_target, level_weights)
        total = total + output_weight * loss
        parts.append({"total": loss.detach(), **terms})
    return total, parts


def _max_pool_to(volume: torch.Tensor, size: tuple[int, ...]) -> torch.Tensor:
    """``volume [N, C, D, H, W]`` max-pooled to spatial ``size``; unchanged when already there."""
    if tuple(volume.shape[2:]) == size:
        return volume
    if any(out > full for out, full in zip(size, volume.shape[2:], strict=True)):
        raise ValueError(f"output size {size} exceeds the target's {tuple(volume.shape[2:])}")
    return F.adaptive_max_pool3d(volume, size)


def _check_one_channel(logits: torch.Tensor, target: torch.Tensor) -> None:
    if logits.shape[1] != 1 or target.shape != logits.shape:
        raise ValueError(
            f"expected one-channel logits and a target of the same shape, got "
            f"{tuple(logits.shape)} and {tuple(target.shape)}"
        )
