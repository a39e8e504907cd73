"""Att-Mnet's two additions to an M-net: the dual attention gate and the multi-scale fusion.

Dual attention gate (paper 002, section II.C and Fig. 3, after Khanh et al. 2020). The paper
says only that the gate sits between encoder and decoder at every level, takes the encoder
output and the up-sampled decoder output, and is "made up of a spatial attention gate and a
channel attention gate" so that the decoder attends to features "along the spatial and channel
dimensions"; it gives no equations (they are in Fig. 3, which our text does not carry). In 3-D,
with skip features ``x [N, C, D, H, W]`` and the gating signal ``g`` (the deeper decoder
output already up-sampled to x's size, as Fig. 3 has it):

1. spatial attention, Oktay et al.'s additive gate (Attention U-Net, 2018):
   ``a_s = sigmoid(psi(relu(theta(x) + phi(g))))``, one weight per voxel ``[N, 1, D, H, W]``;
   ``theta`` (no bias), ``phi`` and ``psi`` are 1 x 1 x 1 convolutions to ``C // 2``, ``C // 2``
   and 1 channels. g needs no resampling inside the gate: it arrives at x's resolution;
2. channel attention, squeeze-and-excitation (Hu et al. 2018) of the spatially gated features
   ``y = a_s * x``: ``a_c = sigmoid(W2 relu(W1 mean(y)))``, one weight per channel, where the
   mean is over the volume and ``W1``, ``W2`` are dense layers ``C -> C // 8 -> C`` with biases;
3. output ``a_c * y = a_c * a_s * x``: both maps multiply the skip features.

Why in sequence and by product. Each factor is a gate in ``[0, 1]`` that can only suppress, as
in both source designs, so the product keeps a voxel's feature only where the decoder's context
selects the voxel *and* the channel is useful. Squeezing ``y`` rather than ``x`` makes the
channel statistics those of the region the decoder attends to: the myocardium is a few percent
of a 96 x 96 x 36 crop, and an average over the whole volume would describe mostly background.
The gating signal thus steers both maps, the spatial one directly and the channel one through
``a_s``. Khanh et al.'s text was not available here, so their exact sub-gates could not be
checked: a public reimplementation of their gate computes the two maps side by side, each from
both x and g with CBAM-style average and max pooling, and multiplies x by both. This gate
follows the specification of this unit (Oktay's additive spatial gate, SE on its output); the
product of two suppressing maps on the skip is common to both readings. The reduction 8 rather
than SE's 16 leaves 2 hidden units on a 16-channel level (half width) instead of 1.

Multi-scale fusion (section II.B): every decoder level's output, up-sampled trilinearly to full
resolution, is concatenated and passed through two 3 x 3 x 3 conv blocks (batch norm, ReLU) and
a 1 x 1 x 1 convolution. The paper ends with a sigmoid; this block returns the logits instead,
and the sigmoid is applied by the loss (``attmnet.losses`` works on logits, where the sigmoid
and the log of the cross-entropy combine stably) and by inference (``torch.sigmoid`` before
thresholding). Every network of the unit outputs logits for the same reason.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from myoflow.methods.attmnet.blocks import conv_block, resize_to

#: Squeeze-and-excitation reduction of the channel gate (module docstring).
CHANNEL_REDUCTION = 8


class DualAttentionGate(nn.Module):
    """Spatial (additive) then channel (squeeze-and-excitation) gate on one skip connection.

    ``skip_channels`` is C of the encoder features x, ``gating_channels`` that of the up-sampled
    decoder features g; the output has x's shape. Parameters: ``theta`` C * C/2, ``phi``
    (G + 1) * C/2, ``psi`` C/2 + 1, ``W1`` (C + 1) * C/8, ``W2`` (C/8 + 1) * C (integer halves and
    eighths, at least 1).
    """

    def __init__(self, skip_channels: int, gating_channels: int) -> None:
        super().__init__()
        inter = max(1, skip_channels // 2)
        hidden = max(1, skip_channels // CHANNEL_REDUCTION)
        self.theta = nn.Conv3d(skip_channels, inter, kernel_size=1, bias=False)
        self.phi = nn.Conv3d(gating_channels, inter, kernel_size=1)
        self.psi = nn.Conv3d(inter, 1, kernel_size=1)
        self.squeeze = nn.Linear(skip_channels, hidden)
        self.excite = nn.Linear(hidden, skip_channels)

    def spatial_map(self, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """``a_s [N, 1, D, H, W]`` in (0, 1): where the decoder's context keeps the skip features."""
        if x.shape[2:] != g.shape[2:]:
            raise ValueError(
                f"gating signal {tuple(g.shape[2:])} must be up-sampled to the skip's size "
                f"{tuple(x.shape[2:])}"
            )
        return torch.sigmoid(self.psi(torch.relu(self.theta(x) + self.phi(g))))

    def channel_weights(self, y: torch.Tensor) -> torch.Tensor:
        """``a_c [N, C, 1, 1, 1]`` in (0, 1), squeezed from (spatially gated) features ``y``."""
        squeezed = y.mean(dim=(2, 3, 4))
        weights = torch.sigmoid(self.excite(torch.relu(self.squeeze(squeezed))))
        return weights[:, :, None, None, None]

    def forward(self, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        y = x * self.spatial_map(x, g)
        return y * self.channel_weights(y)


class MultiScaleFusion(nn.Module):
    """Att-Mnet's output path: decoder levels up-sampled, concatenated and fused into logits.

    ``in_channels`` are the decoder levels' channels, finest first; ``channels`` the width of the
    two fusing conv blocks. Parameters: ``(27 * sum(in_channels) + 3) * channels`` and
    ``(27 * channels + 3) * channels`` for the two blocks (weights, bias, batch-norm scale and
    shift), ``(channels + 1) * out_channels`` for the 1 x 1 x 1 convolution.
    """

    def __init__(self, in_channels: Sequence[int], channels: int, out_channels: int = 1) -> None:
        super().__init__()
        self.fuse = nn.Sequential(
            conv_block(sum(in_channels), channels), conv_block(channels, channels)
        )
        self.head = nn.Conv3d(channels, out_channels, kernel_size=1)

    def forward(self, levels: Sequence[torch.Tensor]) -> torch.Tensor:
        """``levels``: decoder outputs, finest (full resolution) first -> logits at its size."""
        size = levels[0].shape[2:]
        return self.head(self.fuse(torch.cat([resize_to(level, size) for level in levels], dim=1)))
