"""MyoNet / ResMyoNet settings (paper 000, sections 2.4-2.5): the documented defaults.

The field defaults are the paper's, and the schema's ``$defs/myonet_settings`` documents the same
values (``tests/unit/test_registry.py`` keeps them equal). Torch-free: Snakemake's parse step
resolves every experiment's settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from myoflow.settings import bounded


@dataclass(frozen=True)
class LossWeights:
    """Weights of the three loss terms of paper 000 (section 2.5).

    The paper names the terms but not their weights. Weighting the myocardium term 10x was
    measured on the phantom (benchmarks/bench_myonet_accuracy.py, ResMyoNet, 60 epochs): Ecc bias
    +0.019 -> +0.011, ICC(A,1) 0.36 -> 0.68, EPE 0.105 -> 0.087 mm.
    """

    mse: float = bounded(1.0, minimum=0)
    smooth_l1: float = bounded(1.0, minimum=0)
    myocardium: float = bounded(10.0, minimum=0)


@dataclass(frozen=True)
class MyoNetSettings:
    """An experiment's MyoNet settings; config.yaml may override any of them."""

    #: Networks to train and compare (names of ``myoflow.registry.NETS``, checked on resolve).
    nets: tuple[str, ...] = ("myonet", "resmyonet")
    #: Channels of the first level; level l has base_width * 2^l (paper 16, i.e. 16..256).
    base_width: int = bounded(16, minimum=1)
    epochs: int = bounded(100, minimum=1)
    batch_size: int = bounded(4, minimum=1)
    lr: float = bounded(1e-3, exclusive_minimum=0)
    optimizer: Literal["rmsprop", "adam"] = "rmsprop"
    #: Beyond the paper (which keeps the rate constant): after this epoch the rate is
    #: multiplied by ``decay_gamma`` every ``decay_every`` epochs; "auto" = half the epochs,
    #: None = constant. Measured on the realistic phantom (docs/myonet.md): at a constant rate
    #: the loss stays noisy from epoch to epoch and the selected network under-reads the motion.
    decay_start: int | Literal["auto"] | None = bounded("auto", minimum=0)
    decay_every: int = bounded(5, minimum=1)
    decay_gamma: float = bounded(0.7, exclusive_minimum=0, maximum=1)
    loss: LossWeights = field(default_factory=LossWeights)
    #: Random flips of training samples (a flip negates that displacement component).
    augment_flips: bool = True
    #: Beyond the paper: each training sample moved by up to this many pixels in each direction
    #: (``myoflow.methods.myonet.data.shift``), against learning where in the crop the heart is.
    augment_shift_px: int = bounded(0, minimum=0)
    #: The target keeps the reference displacement this many pixels beyond the ED myocardium
    #: (``myoflow.methods.myonet.data``); 0 = the paper's mask exactly.
    target_margin_px: int = bounded(2, minimum=0)
    seed: int = bounded(0, minimum=0)
    compile: Literal["auto", True, False] = "auto"
    channels_last: Literal["auto", True, False] = "auto"
    evaluate_split: Literal["auto", "test", "val", "train", "all"] = "auto"
    #: Beyond the paper: average the predictions of the cine and its three mirror images
    #: (``myoflow.methods.myonet.stages.predict_stage``); False = the paper's single pass.
    test_time_flips: bool = True
    #: Group the others are compared with (Welch tests); None = the first cohort's first group.
    reference_group: str | None = None
    #: D of the output scaling; None = the largest of the cohorts' preprocessing values.
    max_displacement_mm: float | None = bounded(None, exclusive_minimum=0)
