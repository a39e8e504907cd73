"""Paper 002's training on the shared trainer: one 3-D segmentation network of Table I.

``VolumeTrainer`` trains the network a model names (``settings.ARCHITECTURE``) with its loss
(``settings.loss_kind``): Att-Mnet with the hybrid loss of section II.D on each of its deeply
supervised outputs (``losses.deep_supervision_loss``: weight 1 for the fused output, 0.5 for the
others), with or without the distance term; a baseline with a class-balanced cross-entropy on its
one output. Every model reports the final output's generalised Dice loss (``gdl``) and its hard
Dice, and selects its epoch and drives its plateau schedule on the validation ``gdl``: the
quantity the paper's ReduceLROnPlateau watches, so that all six models are chosen alike.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from myoflow.core.train.device import to_input
from myoflow.core.train.spec import Selection
from myoflow.core.train.trainer import Trainer, Value
from myoflow.methods.attmnet.losses import (
    AttMnetLoss,
    balanced_cross_entropy,
    deep_supervision_loss,
    generalized_dice_loss,
)
from myoflow.methods.attmnet.networks import build
from myoflow.methods.attmnet.settings import ARCHITECTURE, PAPER_PARAMETERS, loss_kind


def signature(model: str, width: float) -> dict[str, Any]:
    """What a checkpoint is trained for; another network or width is refused on loading."""
    return {"method": "attmnet", "network": ARCHITECTURE[model], "width": float(width)}


def build_model(model: str, width: float) -> nn.Module:
    return build(ARCHITECTURE[model], width)


def hard_dice(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of the Dice of ``logits > 0`` (1 when prediction and mask are both
    empty)."""
    pred, truth = logits > 0, mask > 0.5
    dims = tuple(range(1, logits.dim()))
    both = (pred & truth).sum(dim=dims).float()
    total = (pred.sum(dim=dims) + truth.sum(dim=dims)).float()
    return torch.where(total > 0, 2 * both / total.clamp_min(1), 1.0).mean()


def final_output(outputs: Any) -> torch.Tensor:
    """The fused logits of Att-Mnet's training outputs, or a baseline's one output."""
    return outputs[0] if isinstance(outputs, tuple | list) else outputs


class VolumeTrainer(Trainer):
    """One model of Table I on annotated volumes (module docstring)."""

    metrics = ("loss", "gdl", "bce", "ddl", "dice")
    finite = ("loss",)
    selection = Selection("gdl", "min")

    def __init__(
        self,
        *args: Any,
        model: str,
        width: float,
        lambdas: tuple[float, float, float],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.model, self.width = model, width
        self.kind = loss_kind(model)
        self.criterion = AttMnetLoss(tuple(lambdas), distance=self.kind == "hybrid")  # type: ignore[arg-type]

    def build_models(self) -> dict[str, nn.Module]:
        return {"net": build_model(self.model, self.width)}

    def batch(self, batch: Any) -> tuple[Any, Any]:
        """Inputs in the layout ``fit`` chose (channels_last_3d where it is faster)."""
        inputs, targets = super().batch(batch)
        return to_input(inputs, self.channels_last), targets

    def loss(self, outputs: Any, targets: Any) -> tuple[torch.Tensor, dict[str, Value]]:
        mask, weights = targets
        final = final_output(outputs).float()
        if self.kind == "weighted_ce":
            total = balanced_cross_entropy(final, mask)
            gdl = generalized_dice_loss(final.detach(), mask)
            parts: dict[str, Value] = {"gdl": gdl, "bce": total.detach(), "ddl": float("nan")}
        else:
            levels = outputs if isinstance(outputs, tuple | list) else (outputs,)
            total, per_output = deep_supervision_loss(
                self.criterion, [o.float() for o in levels], mask, weights
            )
            first = per_output[0]
            parts = {
                "gdl": first["gdl"],
                "bce": first["bce"],
                "ddl": first.get("ddl", float("nan")),
            }
        return total, {**parts, "dice": hard_dice(final.detach(), mask)}

    def run_settings(self) -> dict[str, Any]:
        return {"loss": self.kind, "lambdas": list(self.criterion.lambdas)}

    def model_info(self) -> dict[str, Any]:
        """Size beside Table I's (at width 1), the network and its loss."""
        network = ARCHITECTURE[self.model]
        return {
            **super().model_info(),
            "network": network,
            "loss": self.kind,
            "width": self.width,
            "paper_parameters": PAPER_PARAMETERS[network] if self.width == 1 else None,
        }
