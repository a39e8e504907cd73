"""ResMyoNet (paper 000, section 2.3): the MyoNet skeleton with one residual block per level.

Each block is ``shortcut(x) + tanh(BN(conv_t(ReLU(BN(conv_s(x))))))``: the main path is a spatial
(1, 3, 3) convolution with batch norm and ReLU, then a temporal (3, 1, 1) convolution with batch
norm, and the paper's "tanh applied post-convolution" closes the main path. The shortcut is a
1 x 1 x 1 convolution, the usual projection when the channel count changes, which it does in every
block of this U-Net (in -> 16 at the top, doubling down the encoder, 2w -> w in the decoder).

Where the tanh goes is our reading of an ambiguous sentence. Putting it at the end of the
residual branch bounds each block's update to (-1, 1), which is the "training stability" the
paper credits it with, and, unlike a ReLU there, lets the branch subtract as well as add. No
activation follows the sum, so the shortcut path stays free of nonlinearities from block to block
(as in identity-mapping ResNets): the "efficient gradient flow" the paper gives as the reason for
the residual design. There is no dilation: section 2.3 names none.

With one two-convolution block per level against MyoNet's four convolutions, ResMyoNet does about
60% of MyoNet's arithmetic, in line with the paper reporting it as the faster one to train.
"""

from __future__ import annotations

import torch
from monai.networks.blocks import Convolution
from torch import nn

from myoflow.methods.myonet.nets.blocks import SpatiotemporalUNet, factorised_conv


class ResidualBlock(nn.Module):
    """``shortcut(x) + tanh(BN(conv_(3,1,1)(ReLU(BN(conv_(1,3,3)(x))))))``."""

    def __init__(self, in_channels: int, out_channels: int, level: int) -> None:
        super().__init__()
        del level  # every level has the same block; the factory signature carries it for MyoNet
        self.main = nn.Sequential(
            factorised_conv(in_channels, out_channels, temporal=False),
            factorised_conv(out_channels, out_channels, temporal=True, act="TANH"),
        )
        self.shortcut = Convolution(3, in_channels, out_channels, kernel_size=1, conv_only=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.main(x)


class ResMyoNet(SpatiotemporalUNet):
    """ResMyoNet: ``[B, 1, T, H, W]`` cine -> ``[B, 2, T, H, W]`` scaled (x, y) displacement."""

    def __init__(
        self, base_width: int = 16, levels: int = 5, in_channels: int = 1, out_channels: int = 2
    ) -> None:
        super().__init__(ResidualBlock, base_width, levels, in_channels, out_channels)
