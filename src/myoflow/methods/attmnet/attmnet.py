"""The 3D Attention M-net of paper 002 (section II, Fig. 2).

What the text fixes: an input convolution to 16 channels; that 16-channel volume max-pooled to
every encoder level's resolution and fed into that level next to the previous level's pooled
output (M-net's multi-scale input, Mehta & Sivaswamy 2017); four encoder levels of four conv
blocks (3-D conv, batch norm, ReLU) with max-pooling between them; a decoder mirroring the
encoder; a dual attention gate between encoder and decoder at each level
(``attention.DualAttentionGate``); a multi-scale fusion of all decoder levels into the output
(``attention.MultiScaleFusion``); deep supervision on the decoder at each of the four levels.

What it leaves open, and what is chosen here:

* Gating the deepest skip needs a decoder signal from below it, so a bridge of four conv blocks
  runs one pooling below encoder level 4, and decoder level k (4 to 1) up-samples the signal
  from below to level k's size, gates level k's skip with it, concatenates the two and applies
  four conv blocks. Up-sampling is trilinear and parameter-free (``blocks.resize_to``), which
  keeps odd sizes exact.
* Channels (``CHANNELS``, times ``width``): the figure that holds them is not in our text, so
  they are the doubling plan 32, 64, 128, 256 with the bridge kept at 256 (as nnU-Net caps its
  widths), and the fusion blocks have the first level's width: 28,406,437 parameters, 15 % over
  Table I's 24,657,034 (``networks.parameter_table``). The decoder's level 4 alone holds 8.8 M
  and the bridge 7.1 M; a 512-channel bridge would give 47.9 M and a 16-128 plan 12.0 M, and
  matching the count more closely would take an irregular plan (32, 64, 128, 224 with a
  256-channel bridge gives 24.8 M) that the paper does not support either. The stem is 16
  times ``width`` so that a narrowed demo stays narrow.
* Pooling (``blocks.halve``): halves each axis of even length, so the paper's 96 x 96 x 36 runs
  at D x H x W = 36 x 96 x 96, 18 x 48 x 48, 9 x 24 x 24, 9 x 12 x 12 and a 9 x 6 x 6 bridge.
* Deep-supervision outputs are 1 x 1 x 1 convolutions of each decoder level at that level's own
  resolution (no up-sampling: cheaper, and the loss, ``losses.deep_supervision_loss``, max-pools
  the mask to each output's size).

Input ``[N, 1, D, H, W]`` (one MR channel), output one channel of myocardium logits
(``attention`` explains why no sigmoid). In training mode ``forward`` returns the tuple
``(fused, level1, level2, level3, level4)``: the fused full-resolution logits first, then the
decoder levels finest (full resolution) to coarsest, the order ``losses.deep_supervision_loss``
weights (1 for the first, 0.5 for the others). In eval mode it returns the fused logits only,
``[N, 1, D, H, W]``, so inference code treats it like every other network of the unit.
"""

from __future__ import annotations

import torch
from torch import nn

from myoflow.methods.attmnet.attention import DualAttentionGate, MultiScaleFusion
from myoflow.methods.attmnet.blocks import conv_block, conv_stack, halve, resize_to, scaled

#: Channels of encoder (and decoder) levels 1-4 and of the bridge, at width 1.
CHANNELS = (32, 64, 128, 256, 256)
#: Channels of the input convolution (section II.A).
STEM_CHANNELS = 16
#: Conv blocks per encoder level (section II.A), used for every level, bridge and decoder.
BLOCKS = 4

AttMnetOutput = torch.Tensor | tuple[torch.Tensor, ...]


class AttentionMNet(nn.Module):
    """3D Attention M-net, logits out (module docstring); ``width`` scales every channel count."""

    def __init__(self, width: float = 1.0) -> None:
        super().__init__()
        stem = scaled(STEM_CHANNELS, width)
        *levels, bridge = (scaled(c, width) for c in CHANNELS)
        self.stem = conv_block(1, stem)
        self.encoder = nn.ModuleList(
            conv_stack(stem if k == 0 else levels[k - 1] + stem, c, BLOCKS)
            for k, c in enumerate(levels)
        )
        self.bridge = conv_stack(levels[-1], bridge, BLOCKS)
        below = [*levels[1:], bridge]
        self.gates = nn.ModuleList(DualAttentionGate(c, g) for c, g in zip(levels, below))
        self.decoder = nn.ModuleList(conv_stack(c + g, c, BLOCKS) for c, g in zip(levels, below))
        self.heads = nn.ModuleList(nn.Conv3d(c, 1, kernel_size=1) for c in levels)
        self.fusion = MultiScaleFusion(levels, levels[0])

    def forward(self, x: torch.Tensor) -> AttMnetOutput:
        side = self.stem(x)
        skips: list[torch.Tensor] = []
        for k, level in enumerate(self.encoder):
            if k:
                side = halve(side)
                skips.append(level(torch.cat([halve(skips[-1]), side], dim=1)))
            else:
                skips.append(level(side))
        below = self.bridge(halve(skips[-1]))
        decoded: list[torch.Tensor] = []
        for k in reversed(range(len(skips))):
            g = resize_to(below, skips[k].shape[2:])
            below = self.decoder[k](torch.cat([self.gates[k](skips[k], g), g], dim=1))
            decoded.insert(0, below)
        fused = self.fusion(decoded)
        if not self.training:
            return fused
        return (fused, *(head(level) for head, level in zip(self.heads, decoded)))
