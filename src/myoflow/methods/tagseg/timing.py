"""Speed of paper 001's networks, measured the way its Table 2 reports it.

Table 2 gives, per network, seconds per training epoch (batches of 128 images of 256 x 256 on two
TITAN RTX) and the inference time of a batch of one image as mean ± SD over seven runs. Our
machines differ, so these helpers measure the same two quantities on ours: ``inference_ms`` the
latter as such, ``train_step_seconds`` one optimiser step, from which seconds per epoch follow as
``step seconds x ceil(images / batch)`` (data loading and augmentation excluded). Inputs are
random: the speed of a convolutional network does not depend on the values.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from myoflow.benchtools import median_seconds
from myoflow.methods.tagseg.losses import signed_distance_map
from myoflow.methods.tagseg.nets import segmentation_logits, vae_loss

#: ``loss_fn(logits, target, distance_map)``: a loss, or ``(loss, terms)`` as ``SegmentationLoss``.
LossFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor | tuple]


def _sync(device: torch.device) -> None:
    """Wait for the GPU's queued kernels, so that wall time covers them (CUDA runs async)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _modes(net: nn.Module) -> dict[nn.Module, bool]:
    return {module: module.training for module in net.modules()}


def _restore(modes: dict[nn.Module, bool]) -> None:
    for module, training in modes.items():
        module.training = training


def inference_ms(
    net: nn.Module,
    image_size: int,
    runs: int = 7,
    warmup: int = 2,
    device: str | torch.device = "cpu",
) -> tuple[float, float]:
    """Mean and sample SD (ddof 1) in ms of ``runs`` forward passes of one ``[1, 1, S, S]`` image.

    Table 2's protocol: seven runs of a batch of one. Each pass runs in eval mode (SegResNetVAE
    then skips its VAE branch, as at deployment) under ``torch.inference_mode``, after ``warmup``
    untimed passes, because the first passes allocate memory and let cuDNN/oneDNN pick kernels and
    would otherwise inflate both numbers. On CUDA every pass is followed by a synchronisation.

    ``net`` must already be on ``device``; it is left in the train/eval mode each of its modules
    had (only the flags are touched, and no parameter or buffer changes). ``runs`` must be at
    least 2: the SD of a single run is undefined.
    """
    if runs < 2 or warmup < 0:
        raise ValueError(f"need runs >= 2 and warmup >= 0, got runs={runs}, warmup={warmup}")
    device = torch.device(device)
    generator = torch.Generator().manual_seed(0)
    image = torch.rand((1, 1, image_size, image_size), generator=generator).to(device)
    modes = _modes(net)
    net.eval()
    times = []
    try:
        with torch.inference_mode():
            for run in range(warmup + runs):
                _sync(device)
                start = time.perf_counter()
                net(image)
                _sync(device)
                if run >= warmup:
                    times.append(1e3 * (time.perf_counter() - start))
    finally:
        _restore(modes)
    return statistics.mean(times), statistics.stdev(times)


def _ring_masks(batch: int, size: int, generator: torch.Generator) -> np.ndarray:
    """Random myocardium-like rings ``[B, 1, S, S]``: the loss's mask and distance-map input."""
    rows, cols = np.mgrid[:size, :size]
    centres = size * (0.4 + 0.2 * torch.rand((batch, 2), generator=generator).numpy())
    masks = np.empty((batch, 1, size, size), dtype=bool)
    for index, (row, col) in enumerate(centres):
        radius = np.hypot(rows - row, cols - col)
        masks[index, 0] = (radius >= 0.1 * size) & (radius <= 0.16 * size)
    return masks


def train_step_seconds(
    net: nn.Module,
    loss_fn: LossFn,
    image_size: int,
    batch_size: int,
    steps: int = 3,
    device: str | torch.device = "cpu",
    warmup: int = 1,
) -> float:
    """Median seconds of one training step on a random batch of ``batch_size`` images.

    A step is what the training loop does per batch: forward in train mode, ``loss_fn`` on the
    full-resolution logits (``segmentation_logits``) against a random ring mask and its signed
    distance map, plus the VAE term when the network returns one (``vae_loss``, weight 1: the
    weight does not change the work), backward and an Adam step (the paper's optimiser, lr 0.01).
    fp32 throughout: the paper's gradient scaler suggests mixed precision on its GPUs, which would
    be faster there. The distance maps are computed once, outside the timing, as the data pipeline
    does. ``warmup`` untimed steps go first: they allocate activations and Adam's moment buffers.

    Why a step, not an epoch: an epoch of 1000 images takes minutes on a CPU (``epoch_seconds``
    extrapolates). The steps change ``net``'s parameters; ``net`` must be on ``device`` and is
    left in the train/eval mode it had.
    """
    if steps < 1 or warmup < 0:
        raise ValueError(f"need steps >= 1 and warmup >= 0, got steps={steps}, warmup={warmup}")
    device = torch.device(device)
    generator = torch.Generator().manual_seed(0)
    image = torch.rand((batch_size, 1, image_size, image_size), generator=generator).to(device)
    masks = _ring_masks(batch_size, image_size, generator)
    target = torch.from_numpy(masks.astype(np.int64)).to(device)
    distance = torch.from_numpy(signed_distance_map(masks)).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        output = net(image)
        loss = loss_fn(segmentation_logits(net, output), target, distance)
        loss = loss[0] if isinstance(loss, tuple) else loss
        extra = vae_loss(output)
        if extra is not None:
            loss = loss + extra
        loss.backward()
        optimizer.step()
        _sync(device)

    modes = _modes(net)
    net.train()
    try:
        for _ in range(warmup):
            step()
        seconds = median_seconds(step, steps)
    finally:
        _restore(modes)
    return seconds


def epoch_seconds(step_seconds: float, images: int, batch_size: int) -> float:
    """Seconds per epoch of ``images`` at ``batch_size``, the last batch counted as a full one."""
    return step_seconds * math.ceil(images / batch_size)
