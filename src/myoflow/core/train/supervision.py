"""Deep supervision: one loss over a network's outputs at several scales.

Networks such as nnU-Net's and the U-Nets of several cardiac papers also predict at their coarser
decoder levels, and train on a weighted sum of the losses at every level: the coarse outputs get
a direct gradient, which speeds up early training. A method's ``forward`` returns the outputs
finest first; its ``loss`` hook calls ``deep_supervision_loss`` on them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F


def halving_weights(levels: int) -> list[float]:
    """``1, 1/2, 1/4, ...`` for the outputs finest first, normalised to sum to 1 (nnU-Net's
    choice): the full-resolution output, the one that is used, dominates."""
    if levels < 1:
        raise ValueError(f"deep supervision needs at least one output, got {levels}")
    raw = [0.5**level for level in range(levels)]
    total = sum(raw)
    return [w / total for w in raw]


def _resized(target: torch.Tensor, size: torch.Size, mode: str) -> torch.Tensor:
    """``target`` [B, C, *spatial] at ``size``; integer labels only by nearest neighbour, as any
    other mode would invent labels between classes."""
    if target.shape[2:] == size:
        return target
    if target.is_floating_point():
        return F.interpolate(target, size=size, mode=mode)
    if not mode.startswith("nearest"):
        raise ValueError(f"integer targets resize by nearest neighbour only, not {mode!r}")
    return F.interpolate(target.float(), size=size, mode=mode).to(target.dtype)


def deep_supervision_loss(
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    outputs: Sequence[torch.Tensor],
    target: torch.Tensor | Sequence[torch.Tensor],
    weights: Sequence[float] | None = None,
    mode: str = "nearest",
) -> torch.Tensor:
    """``sum_i weights[i] * loss_fn(outputs[i], target at the size of outputs[i])``.

    ``outputs`` are ``[B, C, *spatial]``, finest first; ``weights`` default to
    ``halving_weights``. ``target`` is either one full-size tensor, resized to each output with
    ``F.interpolate(mode=mode)`` ("nearest" picks every k-th pixel, which keeps labels labels),
    or one target per output, for a method that makes its own (values are not rescaled: a
    displacement in pixels must be divided by the downsampling factor by the caller).
    """
    weights = halving_weights(len(outputs)) if weights is None else list(weights)
    if len(weights) != len(outputs):
        raise ValueError(f"{len(weights)} weights for {len(outputs)} outputs")
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError(f"weights must be >= 0 with a positive sum, got {weights}")
    if isinstance(target, torch.Tensor):
        targets = [_resized(target, out.shape[2:], mode) for out in outputs]
    else:
        targets = list(target)
        if len(targets) != len(outputs):
            raise ValueError(f"{len(targets)} targets for {len(outputs)} outputs")
    terms = [w * loss_fn(out, t) for w, out, t in zip(weights, outputs, targets)]
    return torch.stack(terms).sum()
