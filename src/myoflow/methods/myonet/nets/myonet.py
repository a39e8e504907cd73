"""MyoNet (paper 000, section 2.2): a spatiotemporal U-Net of factorised, dilated convolutions.

Each level's block is four convolutions alternating a spatial (1, 3, 3) and a temporal (3, 1, 1)
kernel, each followed by batch norm and ReLU: the factorised counterpart of a U-Net's two
3 x 3 x 3 convolutions per level, and the paper's "sequential 3D convolution operations ... with
alternating kernel sizes".

"Dilation in deeper layers": levels ``DILATED_FROM`` and below (2, 3 and 4 of five, i.e. 32 x 32
pixels and coarser at a 128 x 128 input) dilate every convolution by 2 along its kernel's long
axes, so dilations alternate (1, 2, 2) and (2, 1, 1) in step with the kernels. At levels 0 and 1
a dilated 3-tap kernel would skip pixels before any pooling has smoothed them; from level 2 on it
doubles the receptive field at no cost in weights, which is the paper's stated aim (global
features without losing resolution). The decoder mirrors the encoder, dilations included.
Normalisation is not named in section 2.2; batch norm matches ResMyoNet and the paper's batch of 4.
"""

from __future__ import annotations

from torch import nn

from myoflow.methods.myonet.nets.blocks import SpatiotemporalUNet, factorised_conv

#: First level (0 = full resolution) whose convolutions are dilated.
DILATED_FROM = 2
#: Convolutions per block, alternating spatial and temporal kernels (spatial first).
CONVS_PER_BLOCK = 4


def myonet_block(in_channels: int, out_channels: int, level: int) -> nn.Sequential:
    """Four alternating (1,3,3)/(3,1,1) convolutions, dilated by 2 from ``DILATED_FROM`` on."""
    dilation = 2 if level >= DILATED_FROM else 1
    return nn.Sequential(
        *(
            factorised_conv(
                in_channels if i == 0 else out_channels,
                out_channels,
                temporal=bool(i % 2),
                dilation=dilation,
            )
            for i in range(CONVS_PER_BLOCK)
        )
    )


class MyoNet(SpatiotemporalUNet):
    """MyoNet: ``[B, 1, T, H, W]`` cine -> ``[B, 2, T, H, W]`` scaled (x, y) displacement."""

    def __init__(
        self, base_width: int = 16, levels: int = 5, in_channels: int = 1, out_channels: int = 2
    ) -> None:
        super().__init__(myonet_block, base_width, levels, in_channels, out_channels)
