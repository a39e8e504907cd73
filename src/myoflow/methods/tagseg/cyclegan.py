"""Unpaired cine -> tagged CycleGAN (paper 001, section 2.1.3; Zhu et al. 2017).

Annotated tagged images are rare, annotated cine is plentiful: paper 001 trains a CycleGAN on
unpaired cine and tagged frames and pretrains its segmentation networks on cine translated to a
tagged look. The paper states no settings of its own ("as described in the original paper ...
trained for 200 epochs", "common baseline parameters"), so every setting here is Zhu et al.'s:

* generators: the ResNet generator (c7s1-64, d128, d256, ``blocks`` x R256, u128, u64, c7s1-1 with
  tanh), instance norm, reflection padding; 9 blocks at 256 x 256. MONAI 1.6 has no ResNet
  generator (``monai.networks.nets.Generator`` decodes a latent vector) and its ``ResidualUnit``
  zero-pads and applies the activation after the last convolution, so the block and the
  generator are assembled here from MONAI ``Convolution`` layers (conv + instance norm + act)
  and ``torch.nn.ReflectionPad2d``;
* discriminators: the 70 x 70 PatchGAN, MONAI's ``PatchDiscriminator`` as ``PatchGAN`` states;
* losses: least squares (LSGAN) through MONAI's ``PatchAdversarialLoss``, cycle consistency L1
  weighted ``lambda_cycle`` (10) and identity L1 weighted ``identity_weight * lambda_cycle`` (5);
  the discriminators see generated images through a 50-image history (``ImagePool``);
* Adam at 2e-4, betas (0.5, 0.999), constant for the first half of the epochs and decaying
  linearly to 0 over the second (``lr_factor``); the paper trains 200 epochs.

Intensities: every public method takes and returns images in ``[0, 1]`` (the percentile
normalisation of ``preprocess.intensity``); they are mapped to the generators' tanh range with
``to_tanh`` (``2x - 1``) and back with ``from_tanh`` (``(y + 1) / 2``), and the losses are
computed in the tanh range, so their scale is Zhu et al.'s.

The myocardium mask of a cine image is transferred to its translation unchanged: the generators
are fully convolutional and keep the image's size, and the cycle loss penalises moving anatomy
(the paper's argument, confirmed visually in its figure 5). Nothing here handles masks; the
caller pairs ``translate(cine)`` with the cine's own mask.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import cast

import torch
from monai.losses import PatchAdversarialLoss
from monai.networks.blocks import Convolution
from monai.networks.nets import PatchDiscriminator
from monai.networks.utils import normal_init
from torch import nn
from torch.optim import Adam
from torch.optim.lr_scheduler import LambdaLR

#: Magnitude MR images have one channel, cine and tagged alike.
CHANNELS = 1
#: Adam's settings in Zhu et al. (and their code's defaults).
LR = 2e-4
BETAS = (0.5, 0.999)
#: The paper's training length (section 2.1.3).
PAPER_EPOCHS = 200

#: Least squares against 1 (real) or 0 (fake), on the raw scores: MONAI's default puts a leaky
#: ReLU before the squares, which LSGAN does not have.
_LSGAN = PatchAdversarialLoss(criterion="least_squares", no_activation_leastsq=True)


def to_tanh(image: torch.Tensor) -> torch.Tensor:
    """``[0, 1]`` -> ``[-1, 1]``, the range of the generators' tanh output."""
    return image * 2 - 1


def from_tanh(image: torch.Tensor) -> torch.Tensor:
    """``[-1, 1]`` -> ``[0, 1]``, the inverse of ``to_tanh``."""
    return (image + 1) / 2


def lsgan_loss(scores: torch.Tensor, real: bool) -> torch.Tensor:
    """``mean((scores - 1)^2)`` when the target is real, ``mean(scores^2)`` when fake.

    A generator's loss takes ``real=True`` on its fakes' scores. ``for_discriminator`` only
    changes MONAI's hinge criterion, so it is left on for both uses (off, with a fake target, it
    warns).
    """
    return cast(torch.Tensor, _LSGAN(scores, target_is_real=real, for_discriminator=True))


def _conv(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    act: str | None = "RELU",
    norm: str | None = "INSTANCE",
    strides: int = 1,
    padding: int | None = None,
    transposed: bool = False,
) -> Convolution:
    """A MONAI conv + instance norm + activation layer. ``padding=0`` where the caller pads by
    reflection, as Zhu et al. do before every stride-1 convolution; ``None`` pads with zeros to
    keep the size (their stride-2 convolutions). A transposed one doubles the size exactly."""
    return Convolution(
        spatial_dims=2,
        in_channels=in_channels,
        out_channels=out_channels,
        strides=strides,
        kernel_size=kernel_size,
        act=act,
        norm=norm,
        is_transposed=transposed,
        padding=padding,
        output_padding=strides - 1 if transposed else None,
    )


class ResnetBlock(nn.Module):
    """``x + IN(conv3(ReLU(IN(conv3(x)))))`` with reflection padding: no activation after the
    sum, so the block can pass its input through unchanged (why MONAI's ``ResidualUnit``, which
    activates after its last convolution and zero-pads, does not fit)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1),
            _conv(channels, channels, 3, padding=0),
            nn.ReflectionPad2d(1),
            _conv(channels, channels, 3, act=None, padding=0),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """Zhu et al.'s ResNet generator, ``width`` base filters (64) and ``blocks`` residual blocks
    (9 at 256 x 256): two stride-2 convolutions down, the blocks at a quarter of the size, two
    transposed convolutions up, tanh out. Weights drawn from N(0, 0.02), as theirs.

    The output has the input's size, which keeping the cine mask relies on; sides must be
    multiples of 4 for that, so others are refused rather than cropped or padded silently.
    """

    def __init__(self, width: int = 64, blocks: int = 9) -> None:
        super().__init__()
        down = [_conv(width * 2**i, width * 2 ** (i + 1), 3, strides=2) for i in range(2)]
        up = [
            _conv(width * 2 ** (2 - i), width * 2 ** (1 - i), 3, strides=2, transposed=True)
            for i in range(2)
        ]
        self.layers = nn.Sequential(
            nn.ReflectionPad2d(3),
            _conv(CHANNELS, width, 7, padding=0),
            *down,
            *(ResnetBlock(width * 4) for _ in range(blocks)),
            *up,
            nn.ReflectionPad2d(3),
            _conv(width, CHANNELS, 7, act="TANH", norm=None, padding=0),
        )
        self.apply(normal_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        if height % 4 or width % 4:
            raise ValueError(f"image sides must be multiples of 4, got {height} x {width}")
        return cast(torch.Tensor, self.layers(x))


class PatchGAN(nn.Module):
    """The 70 x 70 PatchGAN: MONAI's ``PatchDiscriminator`` with 3 middle layers, instance norm
    and biases, which builds exactly Zhu et al.'s C64-C128-C256-C512 discriminator:

    ``initial_conv`` C64 (stride 2, no norm), layers ``0``-``2`` C128 and C256 (stride 2) and C512
    (stride 1), ``final_conv`` to one score (stride 1); all 4 x 4 kernels, padding 1, LeakyReLU
    0.2, weights from N(0, 0.02). Walking back from one score, each layer widens the field to
    ``(field - 1) * stride + 4``: 1 -> 4 -> 7 -> 16 -> 34 -> 70 pixels.

    ``forward`` returns the score map only (MONAI's returns every layer's features).
    """

    def __init__(self, width: int = 64) -> None:
        super().__init__()
        self.net = PatchDiscriminator(
            spatial_dims=2,
            channels=width,
            in_channels=CHANNELS,
            num_layers_d=3,
            kernel_size=4,
            norm="INSTANCE",
            bias=True,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return cast(torch.Tensor, self.net(x)[-1])


class ImagePool:
    """The last ``size`` generated images (Shrivastava et al. 2017), so the discriminator also
    sees older fakes and the two players oscillate less.

    While the pool fills, each image passes through and is kept; once full, each image is, with
    probability 0.5, swapped for a random kept one (which is returned) or passed through. The
    draws come from the pool's own generator, and ``state_dict`` holds it with the images, so a
    run resumed from a checkpoint draws what the uninterrupted run would have.
    """

    def __init__(self, size: int = 50, seed: int = 0) -> None:
        if size < 0:
            raise ValueError(f"pool size must be >= 0, got {size}")
        self.size = size
        self.images: list[torch.Tensor] = []
        self.generator = torch.Generator().manual_seed(seed)

    def query(self, images: torch.Tensor) -> torch.Tensor:
        """A batch like ``images`` ``[B, ...]``, each item a new image or a kept one."""
        if self.size == 0:
            return images
        out = []
        for image in images.detach():
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand((), generator=self.generator) < 0.5:
                index = int(torch.randint(self.size, (), generator=self.generator))
                out.append(self.images[index].to(image))
                self.images[index] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The kept images (stacked, on the CPU) and the generator's state."""
        images = torch.stack(self.images).cpu() if self.images else torch.empty(0)
        return {"images": images, "rng": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        if len(state["images"]) > self.size:
            raise ValueError(f"{len(state['images'])} images saved for a pool of {self.size}")
        self.images = list(state["images"])
        self.generator.set_state(state["rng"])


@contextlib.contextmanager
def _frozen(*modules: nn.Module) -> Iterator[None]:
    """No gradient for ``modules``' parameters in what runs inside: the generators' loss goes
    through the discriminators without leaving gradients on them (or computing any)."""
    params = [p for module in modules for p in module.parameters()]
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, flags, strict=True):
            p.requires_grad_(flag)


class CycleGAN(nn.Module):
    """Two generators (``G_cine2tag``, ``G_tag2cine``), two discriminators (``D_tag``, ``D_cine``)
    and the two image pools, with one call per optimiser step.

    Zhu et al.'s order, per batch of unpaired ``cine`` and ``tagged`` ``[B, 1, H, W]`` in
    ``[0, 1]``: ``generator_step`` (backward, step the ``generators`` optimiser), then
    ``discriminator_step`` on the same batch (backward, step ``discriminators``); the latter
    scores the fakes of the former, detached and passed through the pools. The pools' state is
    the module's extra state, so ``state_dict`` checkpoints it with the weights.
    """

    def __init__(
        self,
        width: int = 64,
        blocks: int = 9,
        lambda_cycle: float = 10.0,
        identity_weight: float = 0.5,
        pool_size: int = 50,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if width < 1 or blocks < 0 or lambda_cycle < 0 or identity_weight < 0:
            raise ValueError(
                "CycleGAN needs width >= 1 and blocks, lambda_cycle, identity_weight >= 0; got "
                f"{width}, {blocks}, {lambda_cycle}, {identity_weight}"
            )
        self.G_cine2tag = ResnetGenerator(width, blocks)
        self.G_tag2cine = ResnetGenerator(width, blocks)
        self.D_tag = PatchGAN(width)
        self.D_cine = PatchGAN(width)
        self.lambda_cycle = lambda_cycle
        self.identity_weight = identity_weight
        self.pool_tag = ImagePool(pool_size, seed=2 * seed)
        self.pool_cine = ImagePool(pool_size, seed=2 * seed + 1)
        #: The last generator step's fakes (tagged, cine), detached, for the discriminator step.
        self._fakes: tuple[torch.Tensor, torch.Tensor] | None = None

    def generators(self) -> list[nn.Parameter]:
        """Both generators' parameters: one optimiser steps them together (Zhu et al.)."""
        return [*self.G_cine2tag.parameters(), *self.G_tag2cine.parameters()]

    def discriminators(self) -> list[nn.Parameter]:
        """Both discriminators' parameters, the other optimiser's."""
        return [*self.D_tag.parameters(), *self.D_cine.parameters()]

    def generator_step(
        self, cine: torch.Tensor, tagged: torch.Tensor, keep_fakes: bool = True
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The generators' loss ``adv_g + cycle + identity`` and its (weighted) parts, detached.

        ``adv_g``: least squares of both discriminators' scores of the fakes against "real";
        ``cycle``: ``lambda_cycle`` x the L1 of each domain's round trip; ``identity``:
        ``identity_weight * lambda_cycle`` x the L1 of each generator applied to its own target
        domain (Zhu et al.: it keeps the intensities of what needs no translation).
        ``keep_fakes``: False for a validation batch, whose fakes must not reach the pools.
        """
        cine, tagged = to_tanh(cine), to_tanh(tagged)
        fake_tag, fake_cine = self.G_cine2tag(cine), self.G_tag2cine(tagged)
        with _frozen(self.D_tag, self.D_cine):
            adv = lsgan_loss(self.D_tag(fake_tag), True) + lsgan_loss(self.D_cine(fake_cine), True)
        l1 = nn.functional.l1_loss
        cycle = self.lambda_cycle * (
            l1(self.G_tag2cine(fake_tag), cine) + l1(self.G_cine2tag(fake_cine), tagged)
        )
        identity = torch.zeros_like(cycle)
        if self.identity_weight > 0:
            identity = (self.identity_weight * self.lambda_cycle) * (
                l1(self.G_cine2tag(tagged), tagged) + l1(self.G_tag2cine(cine), cine)
            )
        self._fakes = (fake_tag.detach(), fake_cine.detach()) if keep_fakes else None
        parts = {"adv_g": adv, "cycle": cycle, "identity": identity}
        return adv + cycle + identity, {name: value.detach() for name, value in parts.items()}

    def discriminator_step(
        self, cine: torch.Tensor, tagged: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The discriminators' loss ``d_tag + d_cine`` and its parts, detached: each is half the
        least squares of real images against "real" plus pooled fakes against "fake" (Zhu et
        al. halve it to slow the discriminators relative to the generators).

        Uses, once, the fakes of the preceding ``generator_step``.
        """
        if self._fakes is None:
            raise RuntimeError("discriminator_step needs a generator_step on the batch first")
        fake_tag, fake_cine = self._fakes
        self._fakes = None
        fake_tag, fake_cine = self.pool_tag.query(fake_tag), self.pool_cine.query(fake_cine)
        d_tag = 0.5 * (
            lsgan_loss(self.D_tag(to_tanh(tagged)), True) + lsgan_loss(self.D_tag(fake_tag), False)
        )
        d_cine = 0.5 * (
            lsgan_loss(self.D_cine(to_tanh(cine)), True) + lsgan_loss(self.D_cine(fake_cine), False)
        )
        return d_tag + d_cine, {"d_tag": d_tag.detach(), "d_cine": d_cine.detach()}

    @torch.no_grad()
    def translate(self, cine: torch.Tensor) -> torch.Tensor:
        """Tagged-looking images ``[B, 1, H, W]`` in ``[0, 1]`` from cine in ``[0, 1]``; the cine
        mask applies to them unchanged (module docstring)."""
        return from_tanh(self.G_cine2tag(to_tanh(cine)))

    def get_extra_state(self) -> dict[str, dict[str, torch.Tensor]]:
        """The pools, so that ``state_dict`` (a checkpoint) resumes their history and draws."""
        return {"pool_tag": self.pool_tag.state_dict(), "pool_cine": self.pool_cine.state_dict()}

    def set_extra_state(self, state: dict[str, dict[str, torch.Tensor]]) -> None:
        self.pool_tag.load_state_dict(state["pool_tag"])
        self.pool_cine.load_state_dict(state["pool_cine"])


def build_optimizers(model: CycleGAN, lr: float = LR) -> dict[str, Adam]:
    """One Adam over both generators and one over both discriminators, as Zhu et al."""
    return {
        "generators": Adam(model.generators(), lr=lr, betas=BETAS),
        "discriminators": Adam(model.discriminators(), lr=lr, betas=BETAS),
    }


def lr_factor(epoch: int, epochs: int, decay_start: int) -> float:
    """The rate's multiplier after ``epoch`` completed epochs of ``epochs``: 1 for the first
    ``decay_start`` (half the run in the paper), then down by ``1 / (epochs - decay_start + 1)``
    per epoch, to 0 once the last epoch is done (Zhu et al.'s linear decay): every epoch of the
    run trains at a positive rate."""
    if not 0 <= decay_start <= epochs:
        raise ValueError(f"need 0 <= decay_start <= epochs, got {decay_start} and {epochs}")
    return 1.0 - max(0, epoch + 1 - decay_start) / (epochs - decay_start + 1)


def build_schedulers(
    optimizers: dict[str, Adam], epochs: int, decay_start: int | None = None
) -> dict[str, LambdaLR]:
    """``lr_factor`` for every optimiser, stepped once per epoch; ``decay_start`` defaults to
    half of ``epochs``."""
    start = epochs // 2 if decay_start is None else decay_start

    def factor(epoch: int) -> float:
        return lr_factor(epoch, epochs, start)

    return {name: LambdaLR(optimizer, factor) for name, optimizer in optimizers.items()}
