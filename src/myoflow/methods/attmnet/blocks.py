"""Building parts shared by paper 002's 3-D networks: conv blocks, pooling and resizing.

Paper 002's stacks are 96 x 96 x 36 (H, W, D; section III.A). Every network here takes torch's
``[N, C, D, H, W]`` order, slices (Z) first, and pools with :func:`halve`: an axis is halved
while its length is even and kept otherwise. With 36 slices, three halvings by 2 would give
36 -> 18 -> 9 -> 4 with a floor and lose a slice's worth of information at the third level
(and 4 does not upsample back to 9), so Z is pooled twice (36 -> 18 -> 9) and then kept, while
96 in-plane is halved at every level (96 -> 48 -> 24 -> 12 -> 6). Physically this keeps the
voxels near isotropic: the paper resamples slices to 0.16 mm against 0.1307 mm pixels, so after
two levels Z is 0.64 mm against 0.52 mm in-plane, and Z (5.8 mm across) is the shorter extent.
The rule is computed from the tensor's shape at run time, so no size is built into a network
and a test can use any small size; the decoders return to the skip's exact size by
:func:`resize_to` (trilinear interpolation, parameter-free), never by a fixed factor.

Conv blocks are MONAI ``Convolution`` layers (3-D conv, then batch norm, then ReLU: the
"convolution block" of section II.A), zero-padded to keep the size, with a bias as Keras's
default ``Conv3D`` (the paper's implementation, section III.B) has.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from monai.networks.blocks import Convolution
from torch import nn

#: Layers whose weights ``kaiming_init`` draws.
_INITIALISED = (nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.ConvTranspose3d, nn.Linear)


def scaled(channels: int, width: float) -> int:
    """``channels`` times the width multiplier, at least 1: how every network here is narrowed."""
    return max(1, round(channels * width))


def conv_block(in_channels: int, out_channels: int, kernel_size: int = 3) -> Convolution:
    """3-D convolution + batch norm + ReLU, keeping the spatial size (section II.A)."""
    return Convolution(
        spatial_dims=3,
        in_channels=in_channels,
        out_channels=out_channels,
        kernel_size=kernel_size,
        act="RELU",
        norm="BATCH",
    )


def conv_stack(in_channels: int, out_channels: int, blocks: int) -> nn.Sequential:
    """``blocks`` conv blocks in cascade, the first taking ``in_channels``."""
    return nn.Sequential(
        *(conv_block(in_channels if i == 0 else out_channels, out_channels) for i in range(blocks))
    )


def halving_kernel(size: torch.Size | tuple[int, ...]) -> tuple[int, ...]:
    """Pooling kernel (= stride) per spatial axis: 2 where the length is even, 1 otherwise."""
    return tuple(2 if length % 2 == 0 else 1 for length in size)


def halve(volume: torch.Tensor) -> torch.Tensor:
    """2 x max-pooling of ``[N, C, D, H, W]`` along each axis of even length (module docstring)."""
    kernel = halving_kernel(volume.shape[2:])
    return F.max_pool3d(volume, kernel_size=kernel, stride=kernel)


def resize_to(volume: torch.Tensor, size: torch.Size | tuple[int, ...]) -> torch.Tensor:
    """``volume`` trilinearly resampled to spatial ``size``; unchanged when already there."""
    if tuple(volume.shape[2:]) == tuple(size):
        return volume
    return F.interpolate(volume, size=tuple(size), mode="trilinear", align_corners=False)


def kaiming_init(module: nn.Module) -> None:
    """He-normal weights (fan-in, ReLU gain) and zero biases for every conv and linear layer.

    Used by every network of the unit (``networks.build``) so that all five start alike: the
    paper trains each from scratch (section III.B) but does not name an initialisation, and He's
    is the one derived for ReLU networks (Keras's default, Glorot uniform, which the paper's
    implementation presumably kept, is derived for linear or tanh units). Normalisation layers
    keep their identity start (weight 1, bias 0); PReLU slopes keep PyTorch's 0.25.
    """
    for layer in module.modules():
        if isinstance(layer, _INITIALISED):
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
