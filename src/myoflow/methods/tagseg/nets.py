"""Paper 001's two segmentation networks (section 2.2.3, Table 2), built from MONAI.

The paper used MONAI's implementations, so these builders only choose MONAI's arguments: the
nnU-Net is ``DynUNet`` and the "ResNetVAE" is ``SegResNetVAE``, both 2-D, one input channel (a
tagged frame) and two output channels (background, myocardium). The arguments are pinned by the
paper's parameter counts, which both builders reproduce exactly at width 1 (``parameter_table``).
``width`` scales every filter count so that a demo trains a small version of the same network.

The module also holds what a training loop needs around them: Xavier-normal initialisation (the
paper's for every network not pretrained, section 2.2.2), a strict pretrained-weight loader, and
two accessors that hide how each network packs its output (``segmentation_logits``,
``vae_loss``), so that one loop trains either.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from monai.networks.nets import DynUNet, SegResNetVAE
from torch import nn

from myoflow.methods.tagseg.settings import PAPER_PARAMETERS

#: Filters per level of nnU-Net's 2-D plan as MONAI's DynUNet defaults it: doubling from 32 and
#: capped at 512; the paper's network has seven levels (input, 5 downsampling, bottleneck).
DYNUNET_FILTERS = (32, 64, 128, 256, 512, 512, 512)

#: Smallest bottleneck side: 256 halved six times, the paper's depth, leaves 4 x 4.
_BOTTLENECK_MIN = 4

#: SegResNetVAE's spatial reduction before its VAE's flatten: three stride-2 encoder levels and
#: the VAE's own stride-2 convolution. MONAI sizes the VAE's dense layers as ``image_size // 16``.
_VAE_ZOOM = 16


def _scaled(filters: int, width: float) -> int:
    return max(1, round(filters * width))


def _stride2_levels(image_size: int) -> int:
    """Stride-2 levels of the DynUNet for a square ``image_size`` input.

    The image is halved while the next map keeps at least 4 x 4 pixels, at most six times. At
    256 this is the paper's six (5 downsampling blocks and a strided bottleneck, 4 x 4); a smaller
    demo image gets fewer levels, because a 1 x 1 bottleneck breaks instance normalisation in
    training (it needs more than one pixel). Raising on a side the levels cannot halve exactly
    stops a silent skip-connection size mismatch in the decoder.
    """
    levels = 0
    while levels < len(DYNUNET_FILTERS) - 1 and image_size // 2 ** (levels + 1) >= _BOTTLENECK_MIN:
        levels += 1
    if levels == 0 or image_size % 2**levels:
        raise ValueError(
            f"image_size {image_size} must be divisible by 2**{max(levels, 1)} with a bottleneck "
            f"of at least {_BOTTLENECK_MIN} pixels"
        )
    return levels


def dynunet(
    width: float = 1.0,
    in_channels: int = 1,
    out_channels: int = 2,
    image_size: int = 256,
    deep_supervision: int = 0,
) -> DynUNet:
    """The paper's nnU-Net: MONAI ``DynUNet`` with 3 x 3 kernels, strides 1 then 2 (section 2.2.3).

    At ``image_size`` 256: one input block, 5 downsampling blocks, a bottleneck and 6 upsampling
    blocks (the paper's 13 blocks), filters ``DYNUNET_FILTERS`` times ``width``. Two arguments
    differ from MONAI's defaults because the paper's count, 34,164,258, needs both: residual
    convolution blocks (``res_block``, +702,432 parameters over plain ones) and biased transposed
    convolutions (``trans_bias``, +1,504: the biases of the six upsamplings, 512 + 512 + 256 + 128
    + 64 + 32). Normalisation (instance, affine) and activation (leaky ReLU 0.01) are MONAI's
    nnU-Net defaults. ``image_size`` only sets the depth (``_stride2_levels``): nnU-Net plans its
    depth from the image size, and a side below 256 gets fewer levels.

    ``deep_supervision`` is the number of extra lower-resolution output heads (0: off). The paper's
    count is matched only without them (each head is a 1 x 1 convolution with its own parameters),
    so 0 is the paper's network; with heads, the training-mode output is stacked
    ``[B, 1 + heads, C, H, W]`` (``segmentation_logits`` takes the full-resolution one).
    """
    levels = _stride2_levels(image_size)
    strides = [1] + [2] * levels
    return DynUNet(
        spatial_dims=2,
        in_channels=in_channels,
        out_channels=out_channels,
        kernel_size=[3] * (levels + 1),
        strides=strides,
        upsample_kernel_size=strides[1:],
        filters=[_scaled(f, width) for f in DYNUNET_FILTERS[: levels + 1]],
        res_block=True,
        trans_bias=True,
        deep_supervision=deep_supervision > 0,
        deep_supr_num=max(deep_supervision, 1),
    )


def segresnetvae(
    width: float = 1.0, in_channels: int = 1, out_channels: int = 2, image_size: int = 256
) -> SegResNetVAE:
    """The paper's ResNetVAE: MONAI ``SegResNetVAE``, 2-D, otherwise MONAI's defaults.

    Those defaults (8 initial filters, encoder blocks 1, 2, 2, 4, decoder blocks 1, 1, 1, a
    256-dimensional latent with a fixed standard deviation) give the paper's 3,555,891 parameters
    exactly at ``image_size`` 256, the size the paper resizes to (section 2.2.3). MONAI needs the
    size because the VAE's three dense layers flatten a ``16 x (image_size / 16)^2`` map: they
    hold 3.15 M of the 3.56 M parameters at 256, so the count depends on the size, and a side that
    is not a multiple of 16 would not reshape.

    ``width`` scales the initial filters (8). Group normalisation needs every channel count
    divisible by its groups, so the groups are ``gcd(init_filters, 8)``: MONAI's 8 at width 1, fewer
    for a narrow demo network.
    """
    if image_size % _VAE_ZOOM:
        raise ValueError(f"image_size {image_size} must be a multiple of {_VAE_ZOOM}")
    init_filters = _scaled(8, width)
    return SegResNetVAE(
        input_image_size=(image_size, image_size),
        spatial_dims=2,
        init_filters=init_filters,
        in_channels=in_channels,
        out_channels=out_channels,
        norm=("GROUP", {"num_groups": math.gcd(init_filters, 8)}),
    )


def trainable_parameters(net: nn.Module) -> int:
    """Number of trainable parameters, what Table 2 reports."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


def parameter_table(image_size: int = 256) -> list[dict[str, float | int | str]]:
    """Our trainable parameter counts at width 1 next to the paper's (Table 2), per network.

    Why: the counts are the only check that the MONAI arguments above build the paper's networks.
    At ``image_size`` 256 both agree exactly (relative difference 0). Where they could differ:

    * SegResNetVAE: the VAE branch's dense layers grow with the input size (MONAI flattens a
      ``16 x (image_size / 16)^2`` map into a 256-dimensional latent), so any size other than the
      paper's 256 changes the count; its encoder-decoder alone does not depend on the size.
    * DynUNet: the count pins nnU-Net's filter plan (32 doubling to a cap of 512; a cap of 480
      gives 30.6 M), residual blocks and biased transposed convolutions (``dynunet``); another
      MONAI version that changed those blocks would show up here first. Smaller images also get
      fewer levels, hence fewer parameters.

    Each row: ``network``, ``ours``, ``paper`` and ``relative_difference`` (ours / paper - 1).
    """
    rows: list[dict[str, float | int | str]] = []
    for name, build in (("dynunet", dynunet), ("segresnetvae", segresnetvae)):
        ours = trainable_parameters(build(image_size=image_size))
        paper = PAPER_PARAMETERS[name]
        rows.append(
            {"network": name, "ours": ours, "paper": paper, "relative_difference": ours / paper - 1}
        )
    return rows


_INITIALISED = (
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.ConvTranspose1d,
    nn.ConvTranspose2d,
    nn.ConvTranspose3d,
    nn.Linear,
)


def xavier_init(module: nn.Module) -> None:
    """Xavier-normal weights and zero biases for every convolution and linear layer, in place.

    The paper's initialisation of every network it did not pretrain (section 2.2.2); MONAI's own
    (Kaiming-normal in DynUNet, PyTorch's uniform defaults in SegResNetVAE) is replaced. Weights
    are drawn with std ``sqrt(2 / (fan_in + fan_out))``; normalisation layers keep their identity
    start (weight 1, bias 0), which Xavier's scheme does not cover.
    """
    for layer in module.modules():
        if isinstance(layer, _INITIALISED):
            nn.init.xavier_normal_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


def load_pretrained(net: nn.Module, state: Mapping[str, torch.Tensor], source: str) -> None:
    """Load ``state`` into ``net`` strictly, refusing any other architecture clearly.

    Fine-tuning (training strategies 2-4) starts from another run's weights. PyTorch's own strict
    load raises on a wrong checkpoint too, but with a list of every key of two unrelated networks;
    this names the checkpoint (``source``), the architecture expected and the first differences,
    which is what one needs to find the wrong file in a pipeline.
    """
    expected = net.state_dict()
    missing = [key for key in expected if key not in state]
    unexpected = [key for key in state if key not in expected]
    reshaped = [
        f"{key}: {tuple(state[key].shape)} instead of {tuple(value.shape)}"
        for key, value in expected.items()
        if key in state and state[key].shape != value.shape
    ]
    if missing or unexpected or reshaped:
        problems = [
            f"{what} {items[:3]}{' ...' if len(items) > 3 else ''} ({len(items)} in all)"
            for what, items in (
                ("missing keys", missing),
                ("unexpected keys", unexpected),
                ("shape mismatches", reshaped),
            )
            if items
        ]
        raise ValueError(
            f"{source} is not a checkpoint of this {type(net).__name__}: " + "; ".join(problems)
        )
    net.load_state_dict(state, strict=True)


NetOutput = torch.Tensor | tuple[torch.Tensor, torch.Tensor | None]


def segmentation_logits(net: nn.Module, output: NetOutput) -> torch.Tensor:
    """The full-resolution segmentation logits ``[B, C, H, W]`` of ``net``'s ``output``.

    SegResNetVAE returns ``(logits, vae_loss)`` (``vae_loss`` None in eval mode); a DynUNet with
    deep supervision returns, in training mode, its heads stacked on dimension 1 with the
    full-resolution one first. Recognising the stack by its extra dimension rather than by the
    net's mode keeps this right even if the mode changed after the forward pass.
    """
    if isinstance(output, tuple):
        return output[0]
    if isinstance(net, DynUNet) and output.dim() == net.spatial_dims + 3:
        return output[:, 0]
    return output


def vae_loss(output: NetOutput) -> torch.Tensor | None:
    """SegResNetVAE's VAE term (latent regulariser plus image reconstruction error) in training
    mode; None in eval mode and for networks without a VAE.

    Kept apart from the segmentation logits because the paper's loss (Eq. 4) does not contain it,
    although the regularised latent is its reason for this architecture (section 3.2.1): whether
    and with what weight to add it is the training loop's decision, not the network's.
    """
    return output[1] if isinstance(output, tuple) else None
