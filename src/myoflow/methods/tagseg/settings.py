"""Paper 001 settings (tagged-CMR myocardium segmentation) and the models they plan.

The defaults are the paper's (section 2.2): both architectures, the four strategies, Dice + CE +
0.05 x the shape-aware loss with k = 0.2, Adam at 0.01 with a reduce-on-plateau schedule of
patience 10 on the validation loss (factor 0.1: the paper's "logarithmic steps"), batches of
128, 150 epochs (Figure 8's fine-tuning; the paper does not state the pretraining's, so it is the
same), the CycleGAN of Zhu et al. for 200 epochs. The schema's ``$defs/tagseg_settings``
documents the same values (``tests/unit/test_registry.py`` keeps them equal). Torch-free: the
parse step plans the models from here.

Beyond the paper, each marked where it is declared: a width multiplier of both networks and of
the CycleGAN so that a demo trains on a laptop CPU, and which cohorts play which role.

The models of an experiment, one training job each (``model_plan``):

* ``cyclegan``: the cine <-> tagged CycleGAN, when a strategy needs it;
* ``pretrain_<source>_<arch>``: ``arch`` trained on the annotated cine made ``source``
  (``cine`` as it is, ``physics`` pseudo-tagged, ``cyclegan`` translated);
* ``<arch>_<strategy>``: ``arch`` trained on the annotated tagged frames, from Xavier-normal
  weights (``scratch``) or from the matching pretrained model;
* ``<arch>_scratch_g<gamma>``: Table 4's sweep of the shape-aware weight, from scratch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from myoflow.methods.tagseg.pseudotag import PseudoTagSettings
from myoflow.settings import bounded

ARCHITECTURES = ("dynunet", "segresnetvae")
STRATEGIES = ("scratch", "cine", "physics", "cyclegan")
#: The CycleGAN model's name.
CYCLEGAN = "cyclegan"
#: Trainable parameters of the paper's networks (Table 2, 256 x 256 inputs), here so that the
#: report (no torch) reads them too.
PAPER_PARAMETERS = {"dynunet": 34_164_258, "segresnetvae": 3_555_891}


@dataclass(frozen=True)
class TrainSettings:
    """One segmentation training (pretraining or fine-tuning), paper 001 section 2.2.5."""

    epochs: int = bounded(150, minimum=1)
    batch_size: int = bounded(128, minimum=1)
    lr: float = bounded(0.01, exclusive_minimum=0)
    #: Reduce-on-plateau of the validation loss: epochs without improvement, then lr x factor.
    patience: int = bounded(10, minimum=1)
    factor: float = bounded(0.1, exclusive_minimum=0, maximum=1)


@dataclass(frozen=True)
class CycleGanSettings:
    """The cine <-> tagged CycleGAN (paper 001 section 2.1.3, Zhu et al.'s baseline)."""

    epochs: int = bounded(200, minimum=1)
    #: Epoch after which the learning rate decays linearly to zero (Zhu et al.: half-way).
    decay_start: int = bounded(100, minimum=0)
    batch_size: int = bounded(1, minimum=1)
    lr: float = bounded(2e-4, exclusive_minimum=0)
    #: Residual blocks of each generator (Zhu et al.: 9 at 256 x 256).
    blocks: int = bounded(9, minimum=1)
    #: Beyond the paper: filters of the generators' and discriminators' first layer (64).
    width: int = bounded(64, minimum=4)
    lambda_cycle: float = bounded(10.0, minimum=0)
    #: Identity loss weight as a fraction of ``lambda_cycle`` (Zhu et al.: 0.5).
    lambda_identity: float = bounded(0.5, minimum=0)
    pool_size: int = bounded(50, minimum=0)
    #: Beyond the paper: frames of each domain drawn per epoch (0: all). Paper scale has about
    #: 2,400 cine and 4,500 tagged frames; a phantom cohort has tens of thousands.
    frames_per_epoch: int = bounded(0, minimum=0)


@dataclass(frozen=True)
class TagSegSettings:
    """An experiment's paper-001 settings; config.yaml may override any of them."""

    architectures: tuple[Literal["dynunet", "segresnetvae"], ...] = ARCHITECTURES
    strategies: tuple[Literal["scratch", "cine", "physics", "cyclegan"], ...] = STRATEGIES
    #: Beyond the paper: multiplier of both networks' filters (1: the paper's networks).
    width: float = bounded(1.0, exclusive_minimum=0)
    #: Weight of the shape-aware loss (paper: 0.05, the best of Table 4) and its softness k.
    gamma: float = bounded(0.05, minimum=0)
    k: float = bounded(0.2, exclusive_minimum=0)
    #: Table 4: other gamma values, each a ``sweep_architecture`` model trained from scratch
    #: (paper: 0, 0.001, 0.005, 0.1, 0.5, 1 besides 0.05). Empty: no Table 4.
    gamma_sweep: tuple[float, ...] = ()
    sweep_architecture: Literal["dynunet", "segresnetvae"] = "segresnetvae"
    pretrain: TrainSettings = field(default_factory=TrainSettings)
    finetune: TrainSettings = field(default_factory=TrainSettings)
    cyclegan: CycleGanSettings = field(default_factory=CycleGanSettings)
    #: The physics-driven transform (section 2.1.2): 1-3-3-1, 70 degrees, 5 pixels, angle.
    physics: PseudoTagSettings = field(default_factory=PseudoTagSettings)
    #: Train-time augmentation (section 2.2.4): flips, noise, blur, affine, elastic.
    augment: bool = True
    #: Beyond the paper, the cohorts of each role (each must be one of the experiment's; empty:
    #: every cohort of the experiment). Annotated cine for pretraining (cine and masks):
    pretrain_cohorts: tuple[str, ...] = ()
    #: Annotated tagged cohorts (a mask in every frame): fine-tuning, validation and test.
    tagged_cohorts: tuple[str, ...] = ()
    #: Tagged cohorts whose training split's frames the CycleGAN learns from, masks unused.
    unlabelled_cohorts: tuple[str, ...] = ()
    seed: int = bounded(0, minimum=0)
    #: Splits predicted and scored: ``auto`` = train and test (Table 3), or every split when the
    #: experiment applies models trained elsewhere (``models:``).
    evaluate_split: Literal["auto", "train", "val", "test", "all"] = "auto"
    #: The networks' input side in pixels; None: the cohorts' ``frames2d`` size (one for all).
    image_size: int | None = None


def finetuned(architecture: str, strategy: str) -> str:
    return f"{architecture}_{strategy}"


def pretrained(source: str, architecture: str) -> str:
    return f"pretrain_{source}_{architecture}"


def swept(architecture: str, gamma: float) -> str:
    return f"{architecture}_scratch_g{gamma:g}"


@dataclass(frozen=True)
class ModelSpec:
    """One model of the plan. ``kind``: ``cyclegan``, ``pretrain`` (on cine made ``source``)
    or ``tagged`` (trained on the annotated tagged frames, from ``start`` when not None);
    ``strategy`` names the paper's row of a tagged model; ``gamma`` its loss weight."""

    name: str
    kind: Literal["cyclegan", "pretrain", "tagged"]
    architecture: str | None = None
    source: str | None = None
    strategy: str | None = None
    gamma: float | None = None
    start: str | None = None
    needs: tuple[str, ...] = ()


def model_plan(settings: dict) -> dict[str, ModelSpec]:
    """Every model an experiment trains, by name, in training order (a model after the models
    it needs); ``settings``: the experiment's resolved settings (plain values)."""
    plan: dict[str, ModelSpec] = {}
    strategies = list(dict.fromkeys(settings["strategies"]))
    if CYCLEGAN in strategies:
        plan[CYCLEGAN] = ModelSpec(CYCLEGAN, "cyclegan")
    gamma = float(settings["gamma"])
    for arch in dict.fromkeys(settings["architectures"]):
        for source in (s for s in strategies if s != "scratch"):
            name = pretrained(source, arch)
            needs = (CYCLEGAN,) if source == CYCLEGAN else ()
            plan[name] = ModelSpec(name, "pretrain", arch, source, gamma=gamma, needs=needs)
        for strategy in strategies:
            start = None if strategy == "scratch" else pretrained(strategy, arch)
            name = finetuned(arch, strategy)
            needs = () if start is None else (start,)
            plan[name] = ModelSpec(name, "tagged", arch, None, strategy, gamma, start, needs)
    arch = settings["sweep_architecture"]
    for value, name in gamma_models(settings).items():
        if name not in plan:
            plan[name] = ModelSpec(name, "tagged", arch, None, "scratch", value)
    return plan


def gamma_models(settings: dict) -> dict[float, str]:
    """Table 4's models by shape-aware weight: ``sweep_architecture`` from scratch at each weight
    of ``gamma_sweep``; at the experiment's own ``gamma`` that is the scratch model of Table 3
    when the experiment trains it (one training, two tables)."""
    arch = settings["sweep_architecture"]
    reuse = arch in settings["architectures"] and "scratch" in settings["strategies"]
    return {
        value: finetuned(arch, "scratch")
        if reuse and value == float(settings["gamma"])
        else swept(arch, value)
        for value in dict.fromkeys(float(g) for g in settings["gamma_sweep"])
    }


def segmenters(plan: dict[str, ModelSpec]) -> list[str]:
    """The models that segment (every model but the CycleGAN)."""
    return [name for name, spec in plan.items() if spec.kind != "cyclegan"]
