"""Paper 002 settings (3D Attention M-net for mouse LV myocardium stacks) and the models they name.

The defaults are the paper's (sections II.D and III.B): the 3D Attention M-net with and without
its distance-derived loss, and the four baselines of Table I; Adam at 1e-4, batches of 8, 150
epochs, reduce-on-plateau of the final output's generalised Dice loss on the validation split
(patience 8, factor 0.5, min_delta 1e-4), augmentation by random in-plane shifts up to 15
pixels, rotations within 15 degrees and horizontal and vertical flips with p = 0.5. The schema's
``$defs/attmnet_settings`` documents the same values (``tests/unit/test_registry.py`` keeps them
equal). Torch-free: the parse step names the models from here.

Each model is one training job; its loss (``losses_of``) is the paper's hybrid loss for Att-Mnet
(deeply supervised) and, for the baselines, the loss of their original publications as Table I
trained them: a class-weighted cross-entropy (2-D and 3-D U-net: Ronneberger's and Cicek's
weighted softmax; DeepMedic and the 3-D FCN: cross-entropy, here class-balanced like the
others so that a thin myocardium is not traded for background). Beyond the paper: a width
multiplier of every network, so that a demo trains small versions of the same architectures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from myoflow.settings import bounded

#: Table I's models: Att-Mnet with its hybrid loss, without the distance term, and the baselines.
MODELS = ("attmnet", "attmnet_nodist", "unet2d", "unet3d", "deepmedic", "fcn3d")
#: The network each model trains.
ARCHITECTURE = {
    "attmnet": "attmnet",
    "attmnet_nodist": "attmnet",
    "unet2d": "unet2d",
    "unet3d": "unet3d",
    "deepmedic": "deepmedic",
    "fcn3d": "fcn3d",
}
#: Table I, "Parameters" column, per network (both Att-Mnet rows have the same network); here,
#: torch-free, so that the report reads them too.
PAPER_PARAMETERS = {
    "attmnet": 24_657_034,
    "unet2d": 24_902_996,
    "unet3d": 24_502_812,
    "deepmedic": 24_505_161,
    "fcn3d": 24_128_560,
}
#: Myocardial tissue density (g/ml) for the mass from a volume.
MYOCARDIAL_DENSITY = 1.05


@dataclass(frozen=True)
class AttMnetSettings:
    """An experiment's paper-002 settings; config.yaml may override any of them."""

    models: tuple[
        Literal["attmnet", "attmnet_nodist", "unet2d", "unet3d", "deepmedic", "fcn3d"], ...
    ] = MODELS
    #: Beyond the paper: multiplier of every network's filters (1: the paper's sizes).
    width: float = bounded(1.0, exclusive_minimum=0)
    epochs: int = bounded(150, minimum=1)
    batch_size: int = bounded(8, minimum=1)
    lr: float = bounded(1e-4, exclusive_minimum=0)
    #: Reduce-on-plateau of the validation generalised Dice loss of the final output.
    patience: int = bounded(8, minimum=1)
    factor: float = bounded(0.5, exclusive_minimum=0, maximum=1)
    #: Weights of GDL, balanced cross-entropy and the distance-derived loss (Att-Mnet).
    lambdas: tuple[float, float, float] = (1.0, 1.0, 3.0)
    #: Train-time augmentation (section III.B): shift, rotation, flips.
    augment: bool = True
    shift_px: int = bounded(15, minimum=0)
    rotate_deg: float = bounded(15.0, minimum=0, maximum=180)
    flip_p: float = bounded(0.5, minimum=0, maximum=1)
    seed: int = bounded(0, minimum=0)
    #: Splits predicted and scored: test (Table I), or every split of applied models.
    evaluate_split: Literal["auto", "train", "val", "test", "all"] = "auto"


def loss_kind(model: str) -> Literal["hybrid", "hybrid_nodist", "weighted_ce"]:
    """Which loss ``model`` trains with (module docstring)."""
    if model == "attmnet":
        return "hybrid"
    if model == "attmnet_nodist":
        return "hybrid_nodist"
    return "weighted_ce"
