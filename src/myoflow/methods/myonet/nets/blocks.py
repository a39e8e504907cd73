"""The U-shaped skeleton that MyoNet and ResMyoNet share, and the factorised convolution they use.

Paper 000 describes both networks as the same five-level encoder/decoder that differ only in the
block at each level (plain dilated convolutions for MyoNet, a residual block for ResMyoNet), so
the skeleton is written once here and takes the block as a factory.

Choices that hold for both networks:

* Pooling is spatial only, max pooling with kernel and stride (1, 2, 2). A cine series has 20
  frames; four temporal halvings would leave a single frame by level 3 and a fractional one after,
  and the displacement output needs every frame at full temporal resolution anyway. Time is mixed
  by the (3, 1, 1) convolutions instead, whose receptive field grows with the dilations.
* Upsampling is a transposed convolution with kernel and stride (1, 2, 2) that also halves the
  channels (the classic U-Net up-convolution). Compared with trilinear upsampling followed by a
  convolution it is learnable, cheaper (a 1 x 2 x 2 kernel on the coarse grid) and exactly
  inverts the pooling's shape, and its backward pass has no scatter-add of interpolation weights.
* Level ``l`` has ``base_width * 2**l`` channels: base width 16 and five levels gives the paper's
  16..256.
* The head is a 1 x 1 x 1 convolution to the output channels and a sigmoid, because the paper's
  targets are displacements rescaled into (0.125, 1).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from monai.networks.blocks import Convolution
from torch import nn

#: Builds the block of one level: ``(in_channels, out_channels, level) -> module``; the level
#: (0 = full resolution) lets a network change the block with depth, e.g. MyoNet's dilations.
BlockFactory = Callable[[int, int, int], nn.Module]

#: Pooling and upsampling act on height and width only; see the module docstring.
SPATIAL_HALVING = (1, 2, 2)


def factorised_conv(
    in_channels: int,
    out_channels: int,
    temporal: bool,
    dilation: int = 1,
    act: str | tuple = "RELU",
) -> Convolution:
    """A (1, 3, 3) spatial or (3, 1, 1) temporal convolution + batch norm + activation.

    Splitting a 3 x 3 x 3 kernel into a spatial and a temporal one (paper 000's "alternating
    kernel sizes") costs 12 instead of 27 weights per channel pair and puts a nonlinearity between
    the two. ``dilation`` applies to the kernel's long axes only, so a dilated spatial convolution
    has dilation (1, d, d) and a temporal one (d, 1, 1); MONAI's default padding keeps the size.
    """
    kernel = (3, 1, 1) if temporal else (1, 3, 3)
    dilations = (dilation, 1, 1) if temporal else (1, dilation, dilation)
    return Convolution(
        spatial_dims=3,
        in_channels=in_channels,
        out_channels=out_channels,
        kernel_size=kernel,
        dilation=dilations,
        norm="BATCH",
        act=act,
        adn_ordering="NA",
    )


class SpatiotemporalUNet(nn.Module):
    """U-Net over ``[B, C, T, H, W]`` that pools and upsamples H and W only.

    ``levels`` counts resolutions, the bottleneck included: 5 levels means 4 poolings, so H and W
    must be divisible by ``2 ** (levels - 1)``; T may be any length.
    """

    def __init__(
        self,
        block: BlockFactory,
        base_width: int,
        levels: int,
        in_channels: int,
        out_channels: int,
    ) -> None:
        super().__init__()
        if levels < 1 or base_width < 1:
            raise ValueError(f"levels and base_width must be >= 1, got {levels} and {base_width}")
        self.levels = levels
        widths = [base_width * 2**level for level in range(levels)]
        self.encoder = nn.ModuleList(
            block(in_channels if level == 0 else widths[level - 1], widths[level], level)
            for level in range(levels)
        )
        self.pool = nn.MaxPool3d(SPATIAL_HALVING, SPATIAL_HALVING)
        self.up = nn.ModuleList(
            Convolution(
                spatial_dims=3,
                in_channels=widths[level + 1],
                out_channels=widths[level],
                strides=SPATIAL_HALVING,
                kernel_size=SPATIAL_HALVING,
                padding=0,  # kernel == stride: each coarse voxel paints its own 1 x 2 x 2 patch
                output_padding=0,
                is_transposed=True,
                conv_only=True,
            )
            for level in range(levels - 1)
        )
        # The skip and the upsampled features are concatenated: 2 * width in, width out.
        self.decoder = nn.ModuleList(
            block(2 * widths[level], widths[level], level) for level in range(levels - 1)
        )
        self.head = Convolution(
            spatial_dims=3,
            in_channels=widths[0],
            out_channels=out_channels,
            kernel_size=1,
            conv_only=True,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``[B, C_in, T, H, W]`` to ``[B, C_out, T, H, W]`` in (0, 1)."""
        factor = 2 ** (self.levels - 1)
        if x.ndim != 5 or x.shape[-1] % factor or x.shape[-2] % factor:
            raise ValueError(
                f"input must be [B, C, T, H, W] with H and W divisible by {factor} "
                f"({self.levels} levels), got shape {tuple(x.shape)}"
            )
        skips = []
        for level, block in enumerate(self.encoder):
            if level:
                x = self.pool(x)
            x = block(x)
            skips.append(x)
        skips.pop()  # the bottleneck's output is ``x`` itself, not a skip
        for level in reversed(range(self.levels - 1)):
            x = torch.cat([skips[level], self.up[level](x)], dim=1)
            x = self.decoder[level](x)
        return torch.sigmoid(self.head(x))
