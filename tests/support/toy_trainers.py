"""Toy methods on the core trainer: tiny networks on synthetic data, fast enough for unit tests.

Each draws randomness the way real methods do, so that exact resume is tested where it can fail:
dropout and input noise from torch's global generator, a brightness jitter from NumPy's global
one, and samples that depend on the epoch (``set_epoch``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from myoflow.core.train.optim import build_optimizer
from myoflow.core.train.spec import Selection
from myoflow.core.train.supervision import deep_supervision_loss
from myoflow.core.train.trainer import Trainer, Value

#: The true relation of ``Regression`` and a different one that validation may use.
TRUE_WEIGHTS = (1.5, -2.0, 0.5, 1.0)
OTHER_WEIGHTS = (-1.0, 1.0, 2.0, -0.5)


class Interrupted(Exception):
    """Stands in for a kill: raised from inside a training step."""


class Regression(torch.utils.data.Dataset):
    """``(x, y)`` with ``x`` ~ N(0, I) in 4-D and ``y = x . weights + 0.5``; ``x`` is shifted by
    ``0.01 * epoch`` once ``set_epoch`` was called, so samples depend on the epoch."""

    def __init__(self, n: int, seed: int, weights: tuple[float, ...] = TRUE_WEIGHTS) -> None:
        generator = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, 4, generator=generator)
        self.y = self.x @ torch.tensor(weights) + 0.5
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[index] + 0.01 * self.epoch, self.y[index : index + 1]


class LinearTrainer(Trainer):
    """A linear model behind dropout, trained on MSE; ``mae`` as a second metric.

    ``kill_at``: the training step (counted over the process, from 1) that raises
    ``Interrupted``; ``poison_at``: the one whose loss is NaN; ``start``: initial weights.
    """

    metrics = ("loss", "mae")

    def __init__(
        self,
        *args: Any,
        kill_at: int | None = None,
        poison_at: int | None = None,
        start: tuple[float, ...] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.kill_at = kill_at
        self.poison_at = poison_at
        self.start = start
        self.steps = 0

    def build_models(self) -> dict[str, nn.Module]:
        linear = nn.Linear(4, 1)
        if self.start is not None:
            with torch.no_grad():
                linear.weight.copy_(torch.tensor([self.start]))
                linear.bias.fill_(0.5)
        return {"net": nn.Sequential(nn.Dropout(0.1), linear)}

    def batch(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = super().batch(batch)
        if self.runners["net"].training:
            jitter = float(np.random.uniform(0.95, 1.05))
            x = x * jitter + 0.01 * torch.randn_like(x)
        return x, y

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, dict]:
        mae = (outputs - targets).abs().mean().detach()
        return F.mse_loss(outputs, targets), {"mae": mae}

    def train_step(self, inputs: Any, targets: Any) -> dict[str, Value]:
        self.steps += 1
        if self.steps == self.kill_at:
            raise Interrupted
        if self.steps == self.poison_at:
            inputs = inputs * float("nan")
        return super().train_step(inputs, targets)


class ScriptedTrainer(LinearTrainer):
    """``LinearTrainer`` whose ``score`` metric follows ``script[epoch]`` (dyadic values, so the
    epoch mean over batches is the scripted value exactly), to test selection and schedules
    against hand-computed expectations."""

    metrics = ("loss", "score")

    def __init__(self, *args: Any, script: dict[int, float], mode: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.script = script
        self.selection = Selection("score", mode)  # type: ignore[arg-type]

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, dict]:
        return F.mse_loss(outputs, targets), {"score": self.script[self.epoch]}


class GanTrainer(Trainer):
    """A generator (2-D noise -> 2-D sample, linear) against a logistic discriminator, updated
    alternately (discriminator, then generator) by two optimisers in a custom step."""

    metrics = ("loss", "d_loss")
    finite = ("loss", "d_loss")

    def __init__(self, *args: Any, kill_at: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kill_at = kill_at
        self.steps = 0

    def build_models(self) -> dict[str, nn.Module]:
        return {"generator": nn.Linear(2, 2), "discriminator": nn.Linear(2, 1)}

    def build_optimizers(self, models: dict[str, nn.Module]) -> dict[str, torch.optim.Optimizer]:
        spec = self.config.optimizer
        return {name: build_optimizer(spec, model.parameters()) for name, model in models.items()}

    def _discriminator_loss(self, real: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A fresh fake batch (noise from torch's global generator) and the discriminator's loss
        on real against fake."""
        fake = self.runners["generator"](torch.randn_like(real))
        real_logits = self.runners["discriminator"](real)
        fake_logits = self.runners["discriminator"](fake.detach())
        d_loss = F.binary_cross_entropy_with_logits(
            real_logits, torch.ones_like(real_logits)
        ) + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
        return fake, d_loss

    def _generator_loss(self, fake: torch.Tensor) -> torch.Tensor:
        logits = self.runners["discriminator"](fake)
        return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))

    def train_step(self, inputs: Any, targets: Any) -> dict[str, Value]:
        self.steps += 1
        if self.steps == self.kill_at:
            raise Interrupted
        fake, d_loss = self._discriminator_loss(inputs)
        self.optimize(d_loss, "discriminator")
        g_loss = self._generator_loss(fake)  # against the updated discriminator
        self.optimize(g_loss, "generator")
        return {"loss": g_loss.detach(), "d_loss": d_loss.detach()}

    def validation_step(self, inputs: Any, targets: Any) -> dict[str, Value]:
        fake, d_loss = self._discriminator_loss(inputs)
        return {"loss": self._generator_loss(fake), "d_loss": d_loss}


class TwoScaleNet(nn.Module):
    """One convolution predicting at full resolution and, pooled, at half: a deeply supervised
    network's output list, finest first."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        full = self.conv(x)
        return [full, F.avg_pool2d(full, 2)]


class DeepSupervisionTrainer(Trainer):
    """Learns a 3 x 3 smoothing of 8 x 8 images from outputs at two scales."""

    def build_models(self) -> dict[str, nn.Module]:
        return {"net": TwoScaleNet()}

    def loss(self, outputs: list[torch.Tensor], targets: torch.Tensor) -> tuple[torch.Tensor, dict]:
        return deep_supervision_loss(F.mse_loss, outputs, targets, mode="area"), {}


def smoothing_pairs(n: int, seed: int) -> torch.utils.data.TensorDataset:
    """``(image, 3 x 3 box-smoothed image)`` pairs of 8 x 8 noise images."""
    images = torch.randn(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed))
    return torch.utils.data.TensorDataset(images, F.avg_pool2d(images, 3, stride=1, padding=1))


def gaussian_cloud(n: int, seed: int) -> torch.utils.data.TensorDataset:
    """``(sample, 0)`` pairs: 2-D points around (2, -1), the GAN's real data."""
    points = torch.randn(n, 2, generator=torch.Generator().manual_seed(seed)) * 0.5
    return torch.utils.data.TensorDataset(points + torch.tensor([2.0, -1.0]), torch.zeros(n))


def assert_identical(a: Any, b: Any, where: str = "") -> None:
    """``a`` and ``b`` (nested dicts, lists, tensors, numbers: a checkpoint) equal bit for bit:
    same keys in the same order, tensors of the same dtype and shape with equal elements."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor), where
        assert (a.dtype, a.shape) == (b.dtype, b.shape), where
        assert torch.equal(a, b), where
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), (where, list(a), list(b))
        for key, value in a.items():
            assert_identical(value, b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), where
        for index, (x, y) in enumerate(zip(a, b)):
            assert_identical(x, y, f"{where}[{index}]")
    elif isinstance(a, float) and np.isnan(a):
        assert isinstance(b, float) and np.isnan(b), where
    else:
        assert type(a) is type(b) and a == b, (where, a, b)
