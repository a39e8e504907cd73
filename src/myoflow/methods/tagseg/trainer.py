"""Paper 001's two trainings on the shared trainer: a segmentation network and the CycleGAN.

``SegmentationTrainer`` trains one architecture on annotated frames (pretraining on cine, or on
tagged frames from scratch or from a pretraining, via the core's ``init_from``) with Eq. 4's loss;
SegResNetVAE's own VAE term (latent regulariser and reconstruction) is added with weight 1, as
MONAI's examples train it: the paper's Eq. 4 omits it, but the regularised latent is the paper's
reason for the architecture (section 3.2.1). The history's columns are the loss, its terms and
the hard Dice of the myocardium (Figure 8). Selection and the plateau schedule watch the
validation loss (section 2.2.5). A CycleGAN source is translated here, on the device, batch by
batch, by the frozen generator of the experiment's CycleGAN.

``CycleGanTrainer`` runs Zhu et al.'s two steps per batch (generators, then discriminators) with
their linear decay, and keeps the last epoch's generators as Zhu et al. do (a GAN's losses do
not rank its epochs: an early near-identity generator has the lowest cycle loss).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from myoflow.core.train.checkpoint import load_checkpoint, unpack
from myoflow.core.train.spec import Selection
from myoflow.core.train.trainer import Trainer, Value
from myoflow.methods.tagseg import cyclegan as cg
from myoflow.methods.tagseg.data import normalise
from myoflow.methods.tagseg.losses import SegmentationLoss
from myoflow.methods.tagseg.nets import (
    PAPER_PARAMETERS,
    dynunet,
    segmentation_logits,
    segresnetvae,
    vae_loss,
    xavier_init,
)
from myoflow.methods.tagseg.timing import inference_ms

BUILDERS = {"dynunet": dynunet, "segresnetvae": segresnetvae}


def build_net(architecture: str, width: float, image_size: int) -> nn.Module:
    """A paper network, Xavier-normal initialised (section 2.2.2's fresh weights)."""
    net = BUILDERS[architecture](width=width, image_size=image_size)
    xavier_init(net)
    return net


def net_signature(architecture: str, width: float, image_size: int) -> dict[str, Any]:
    """What a segmentation checkpoint is trained for: a pretraining and the fine-tuning that
    starts from it share it, and a checkpoint of another architecture or size is refused."""
    return {
        "method": "tagseg",
        "network": architecture,
        "width": float(width),
        "image_size": int(image_size),
    }


def cyclegan_signature(settings: dict[str, Any], image_size: int) -> dict[str, Any]:
    c = settings["cyclegan"]
    return {
        "method": "tagseg",
        "network": "cyclegan",
        "width": int(c["width"]),
        "blocks": int(c["blocks"]),
        "image_size": int(image_size),
    }


def build_cyclegan(settings: dict[str, Any]) -> cg.CycleGAN:
    c = settings["cyclegan"]
    return cg.CycleGAN(
        c["width"],
        c["blocks"],
        c["lambda_cycle"],
        c["lambda_identity"],
        c["pool_size"],
        seed=int(settings["seed"]),
    )


def load_translator(path: str, settings: dict[str, Any], image_size: int) -> nn.Module:
    """The cine -> tagged generator of a trained CycleGAN's ``best.pt``, frozen, eval mode."""
    state = load_checkpoint(path, cyclegan_signature(settings, image_size))
    model = build_cyclegan(settings)
    model.load_state_dict(
        unpack(state, "state_dict", "state_dicts", ["cyclegan"], path)["cyclegan"]
    )
    generator = model.G_cine2tag.eval()
    generator.requires_grad_(False)
    return generator


def hard_dice(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of the myocardium's Dice of the arg-max prediction (1 when both the
    prediction and the mask are empty)."""
    pred = logits.argmax(dim=1, keepdim=True) == 1
    truth = mask == 1
    both = (pred & truth).sum(dim=(1, 2, 3)).float()
    total = (pred.sum(dim=(1, 2, 3)) + truth.sum(dim=(1, 2, 3))).float()
    return torch.where(total > 0, 2 * both / total.clamp_min(1), 1.0).mean()


class SegmentationTrainer(Trainer):
    """One paper network on annotated frames; ``translator``: the CycleGAN generator that makes
    each cine batch tagged-looking (a CycleGAN source), else None."""

    metrics = ("loss", "dice_ce", "shape", "vae", "dice")
    finite = ("loss",)
    selection = Selection("loss", "min")

    def __init__(
        self,
        *args: Any,
        architecture: str,
        width: float,
        image_size: int,
        gamma: float,
        k: float,
        translator: nn.Module | None = None,
        info: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.architecture, self.width, self.image_size = architecture, width, image_size
        self.criterion = SegmentationLoss(gamma, k)
        self.translator = None if translator is None else translator.to(self.device)
        self.info = dict(info or {})

    def build_models(self) -> dict[str, nn.Module]:
        return {"net": build_net(self.architecture, self.width, self.image_size)}

    def batch(self, batch: Any) -> tuple[Any, Any]:
        inputs, targets = super().batch(batch)
        if self.translator is not None:
            with torch.no_grad():
                inputs = normalise(cg.from_tanh(self.translator(cg.to_tanh(inputs))).clamp(0, 1))
        return inputs, targets

    def loss(self, outputs: Any, targets: Any) -> tuple[torch.Tensor, dict[str, Value]]:
        mask, distance = targets
        net = self.models["net"]
        logits = segmentation_logits(net, outputs)
        total, parts = self.criterion(logits.float(), mask, distance)
        vae = vae_loss(outputs)
        if vae is not None:
            total = total + vae
        return total, {
            **parts,
            "vae": math.nan if vae is None else vae.detach(),
            "dice": hard_dice(logits.detach(), mask),
        }

    def run_settings(self) -> dict[str, Any]:
        return {
            "gamma": self.criterion.gamma,
            "k": self.criterion.k,
            "translated": self.translator is not None,
        }

    def model_info(self) -> dict[str, Any]:
        """Size, the paper's size, inference time (7 runs of one image, Table 2) and the run."""
        mean, sd = inference_ms(self.models["net"], self.image_size, device=self.device)
        return {
            **super().model_info(),
            "architecture": self.architecture,
            "paper_parameters": PAPER_PARAMETERS[self.architecture] if self.width == 1 else None,
            "inference_ms_mean": mean,
            "inference_ms_sd": sd,
            **self.info,
        }


class CycleGanTrainer(Trainer):
    """Zhu et al.'s CycleGAN on unpaired (cine, tagged) batches in [0, 1]."""

    metrics = ("loss", "adv_g", "cycle", "identity", "d_tag", "d_cine", "epoch")
    finite = ("loss",)
    selection = Selection("epoch", "max")

    def __init__(self, *args: Any, settings: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.settings = settings

    def build_models(self) -> dict[str, nn.Module]:
        return {"cyclegan": build_cyclegan(self.settings)}

    def build_optimizers(self, models: dict[str, nn.Module]) -> dict[str, Optimizer]:
        model = models["cyclegan"]
        assert isinstance(model, cg.CycleGAN)
        return dict(cg.build_optimizers(model, float(self.settings["cyclegan"]["lr"])))

    def build_schedulers(self, optimizers: dict[str, Optimizer]) -> dict[str, LRScheduler]:
        c = self.settings["cyclegan"]
        start = min(int(c["decay_start"]), int(c["epochs"]))
        return dict(cg.build_schedulers(optimizers, int(c["epochs"]), start))  # type: ignore[arg-type]

    def _model(self) -> cg.CycleGAN:
        model = self.runners["cyclegan"]
        return model if isinstance(model, cg.CycleGAN) else self.models["cyclegan"]  # type: ignore[return-value]

    def train_step(self, inputs: Any, targets: Any) -> dict[str, Value]:
        model = self._model()
        loss_g, parts_g = model.generator_step(inputs, targets)
        self.optimize(loss_g, "generators")
        loss_d, parts_d = model.discriminator_step(inputs, targets)
        self.optimize(loss_d, "discriminators")
        return {"loss": loss_g.detach(), **parts_g, **parts_d, "epoch": float(self.epoch)}

    def validation_step(self, inputs: Any, targets: Any) -> dict[str, Value]:
        """The generators' losses on held-out frames; the discriminators are not scored (their
        step would push validation fakes into the image pools)."""
        model = self._model()
        loss_g, parts_g = model.generator_step(inputs, targets, keep_fakes=False)
        return {
            "loss": loss_g,
            **parts_g,
            "d_tag": math.nan,
            "d_cine": math.nan,
            "epoch": float(self.epoch),
        }
