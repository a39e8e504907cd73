"""The four baselines of paper 002's Table I, at about its parameter counts (section III.C).

The paper compares Att-Mnet with a 2-D U-net [10], a 3-D U-net [11], DeepMedic [23] and a 3-D
FCN [9], "all with similar sizes of trainable variables" (about 24.5 M, Table I) and gives no
other detail. Each builder here follows the cited design and sets its channel counts so that
width 1 lands near Table I's count (``networks.parameter_table`` prints both); ``width``
multiplies every channel count, so the parameters scale about as ``width**2``. All take
``[N, 1, D, H, W]`` and return logits ``[N, 1, D, H, W]`` of the input's size (sigmoid outside,
as for Att-Mnet); none has deep supervision, so training and eval outputs are alike.

* ``unet2d``: MONAI ``BasicUNet`` (2-D; Ronneberger et al.'s two conv blocks per level, four
  poolings, transposed-conv up-sampling) applied to every slice: ``SliceWise`` folds Z into the
  batch. Batch norm and ReLU as in the 3-D U-net paper. First level 56 channels, doubling:
  23,822,289 parameters, 4.3 % under Table I's 24,902,996 (Ronneberger's 64 would give 31.1 M).
* ``unet3d``: the same ``BasicUNet`` in 3-D (Cicek et al.), first level 32 channels doubling to
  512 as theirs: 22,625,281 parameters, 7.7 % under 24,502,812. BasicUNet pools four times
  with a floor and replicate-pads the up-sampled map where an odd length was floored, which is
  how 36 slices (36 -> 18 -> 9 -> 4 -> 2) come back to 36.
* ``deepmedic``: ``DeepMedic``; ``fcn3d``: ``FCN3d`` (their docstrings give the adaptations).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from monai.networks.blocks import Convolution
from monai.networks.nets import BasicUNet
from torch import nn

from myoflow.methods.attmnet.blocks import conv_stack, halve, resize_to, scaled

#: BasicUNet features (levels 1-5 and the last decoder level) at width 1, per dimensionality.
UNET2D_FEATURES = (56, 112, 224, 448, 896, 56)
UNET3D_FEATURES = (32, 64, 128, 256, 512, 32)

#: DeepMedic's pathway channels (Kamnitsas et al. 2017: 30, 30, 40, 40, 40, 40, 50, 50), its
#: fully connected layers' (150) and the factor that scales both to Table I's size at width 1.
DEEPMEDIC_PATHWAY = (30, 30, 40, 40, 40, 40, 50, 50)
DEEPMEDIC_FC = 150
DEEPMEDIC_CAPACITY = 6.0
#: Sub-sampling factor of DeepMedic's context pathway.
CONTEXT_FACTOR = 3
#: Pathway layers (0-based) whose output gets the input of the layer before them added: 4, 6, 8.
RESIDUAL_LAYERS = (3, 5, 7)

#: FCN3d's conv blocks per stage (15 in all, Tran 2016) and its channels at width 1.
FCN_BLOCKS = (3, 4, 4, 4)
FCN_CHANNELS = (56, 112, 224, 448)


class SliceWise(nn.Module):
    """A 2-D network applied to every slice of ``[N, C, D, H, W]``, Z folded into the batch.

    The fold makes one call per batch instead of one per slice; in eval mode the result equals
    applying ``net`` to each ``[N, C, H, W]`` slice. In training mode batch norm sees the slices
    of all N volumes as one batch, as a 2-D network trained on slices would.
    """

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, d, h, w = x.shape
        slices = x.transpose(1, 2).reshape(n * d, c, h, w)
        out = self.net(slices)
        return out.reshape(n, d, out.shape[1], h, w).transpose(1, 2)


def _basic_unet(spatial_dims: int, features: tuple[int, ...], width: float) -> BasicUNet:
    return BasicUNet(
        spatial_dims=spatial_dims,
        in_channels=1,
        out_channels=1,
        features=tuple(scaled(f, width) for f in features),
        act="RELU",
        norm="BATCH",
    )


def unet2d(width: float = 1.0) -> SliceWise:
    """The slice-by-slice 2-D U-net of Table I (module docstring)."""
    return SliceWise(_basic_unet(2, UNET2D_FEATURES, width))


def unet3d(width: float = 1.0) -> BasicUNet:
    """The 3-D U-net of Table I (module docstring)."""
    return _basic_unet(3, UNET3D_FEATURES, width)


def _prelu_block(in_channels: int, out_channels: int, kernel_size: int) -> Convolution:
    """Conv + batch norm + PReLU: a DeepMedic layer (``DeepMedic`` on the order)."""
    return Convolution(
        spatial_dims=3,
        in_channels=in_channels,
        out_channels=out_channels,
        kernel_size=kernel_size,
        act="PRELU",
        norm="BATCH",
    )


def _add_residual(out: torch.Tensor, shortcut: torch.Tensor) -> torch.Tensor:
    """``out + shortcut``, the shortcut zero-padded in channels where it has fewer (DeepMedic)."""
    extra = out.shape[1] - shortcut.shape[1]
    return out + F.pad(shortcut, (0, 0, 0, 0, 0, 0, 0, extra))


class _Pathway(nn.Module):
    """Eight 3 x 3 x 3 layers, residual connections around layers 3-4, 5-6 and 7-8."""

    def __init__(self, channels: tuple[int, ...]) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            _prelu_block(1 if i == 0 else channels[i - 1], c, 3) for i, c in enumerate(channels)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        for i, layer in enumerate(self.layers):
            out = layer(x)
            x = _add_residual(out, shortcut) if i in RESIDUAL_LAYERS else out
            if i % 2 == 1:
                shortcut = x
        return x


class DeepMedic(nn.Module):
    """DeepMedic (Kamnitsas et al. 2017) adapted to a dense full-volume output.

    As in the original: a normal-resolution pathway and a context pathway that sees the input
    average-pooled by 3, each eight 3 x 3 x 3 layers (channels ``DEEPMEDIC_PATHWAY``) with batch
    norm, PReLU and residual connections every two layers from the third on (zero-padded in
    channels); the context features up-sampled by repetition, concatenated with the normal ones,
    two fully connected layers (1 x 1 x 1 convolutions, ``DEEPMEDIC_FC`` channels, a residual
    connection around the second) and a 1 x 1 x 1 classification layer.

    Adaptations: the original uses unpadded convolutions on training patches and predicts the
    centre of each, which is why the paper calls it "a local batch-wise 3D network"; here every
    convolution is zero-padded, so the whole stack goes in and a same-size map comes out, like
    the other networks of Table I. The context pathway pools with a ceiling and its repeated
    output is cropped to the input's size, so no size needs to be a multiple of 3 (96 x 96 x 36
    is, giving 32 x 32 x 12). One logit channel instead of a softmax over classes; no dropout
    (a training setting that changes no parameter count). Every channel count is the original's
    times ``DEEPMEDIC_CAPACITY`` (6) times ``width``: the original layout has 657,709 parameters
    here, Table I's DeepMedic 24,505,161, and 6 x gives 23,539,159 (3.9 % under; 180 to 300
    channels per pathway layer, 900 per fully connected layer). The layers are conv, batch norm,
    PReLU (MONAI's order) where DeepMedic's are batch norm, PReLU, conv, so each residual sum
    here adds activated features rather than pre-activation ones; the layers and their
    parameters are the same.
    """

    def __init__(self, width: float = 1.0) -> None:
        super().__init__()
        pathway = tuple(scaled(c, DEEPMEDIC_CAPACITY * width) for c in DEEPMEDIC_PATHWAY)
        fc = scaled(DEEPMEDIC_FC, DEEPMEDIC_CAPACITY * width)
        self.normal = _Pathway(pathway)
        self.context = _Pathway(pathway)
        self.fc1 = _prelu_block(2 * pathway[-1], fc, 1)
        self.fc2 = _prelu_block(fc, fc, 1)
        self.classify = nn.Conv3d(fc, 1, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[2:]
        coarse = F.avg_pool3d(x, CONTEXT_FACTOR, ceil_mode=True)
        context = self.context(coarse)
        for axis in (2, 3, 4):
            context = context.repeat_interleave(CONTEXT_FACTOR, dim=axis)
        context = context[:, :, : size[0], : size[1], : size[2]]
        hidden = self.fc1(torch.cat([self.normal(x), context], dim=1))
        return self.classify(hidden + self.fc2(hidden))


class FCN3d(nn.Module):
    """A 3-D fully convolutional network after Tran (2016) [9] and Long et al. (2015).

    Table I's "3D FCN" cites Tran's 2-D FCN for short-axis cardiac MRI, whose text is not in our
    library; as we know its outline: a VGG-like stack of 15 3 x 3 conv layers (batch norm, ReLU)
    with three max-poolings, class scores from several depths up-sampled and summed (Long et
    al.'s skip fusion, as in FCN-8s). In 3-D here: stages of ``FCN_BLOCKS`` conv blocks (the
    split of the 15 is ours) with ``FCN_CHANNELS`` channels, pooled by ``blocks.halve``
    between stages (Z: 36 -> 18 -> 9 -> 9); a 1 x 1 x 1 score layer on each stage; from the
    coarsest up, the running score is resized to the next finer stage's size and added to that
    stage's score, which ends at full resolution. Up-sampling is trilinear and fixed where Long
    et al. learn transposed convolutions initialised to bilinear: it adds no parameters and
    reaches odd sizes exactly. Channels: Tran's widths are not in our text; 56 doubling to 448
    (the 2-D U-net's first width) give 25,075,180 parameters, 3.9 % over Table I's 24,128,560.
    """

    def __init__(self, width: float = 1.0) -> None:
        super().__init__()
        channels = [scaled(c, width) for c in FCN_CHANNELS]
        self.stages = nn.ModuleList(
            conv_stack(1 if k == 0 else channels[k - 1], c, blocks)
            for k, (c, blocks) in enumerate(zip(channels, FCN_BLOCKS))
        )
        self.scores = nn.ModuleList(nn.Conv3d(c, 1, kernel_size=1) for c in channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = []
        for k, stage in enumerate(self.stages):
            x = stage(halve(x) if k else x)
            features.append(x)
        score = self.scores[-1](features[-1])
        for k in reversed(range(len(features) - 1)):
            score = self.scores[k](features[k]) + resize_to(score, features[k].shape[2:])
        return score
