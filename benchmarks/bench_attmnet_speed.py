#!/usr/bin/env python
"""Training and inference speed of paper 002's Att-Mnet and 3-D U-net on 96 x 96 x 36 stacks.

For each network, built by ``myoflow.methods.attmnet.networks.build`` at ``--width`` (1: our
counterparts of Table I's networks) with random weights and inputs (speed does not depend on
them), one Markdown row:

* trainable parameters, ours next to Table I's;
* a training step at ``--batch`` volumes of ``[1, 36, 96, 96]`` (D, H, W: the paper's 96 x 96 x
  36) as the training job runs it (``core.train.device.prepare_model``: channels_last_3d on
  CPU): forward in training mode, each model's own loss (Att-Mnet: the hybrid loss with deep
  supervision, ``attmnet.losses``; the 3-D U-net: class-balanced cross-entropy), backward and an
  Adam step at the paper's 1e-4; fp32; median of ``--repeats`` after one warm-up step;
* GFLOP of one training step, counted by ``torch.utils.flop_counter.FlopCounterMode`` over a
  whole step (forward and backward; convolutions and matrix products only, so a lower bound),
  and the rate that makes, also as a fraction of the GEMM ceiling;
* inference in volumes per second: eval mode under ``torch.inference_mode``, batches of
  ``--batch``, median of ``--repeats`` after one warm-up batch;
* peak memory (CPU): the resident set's high-water mark (``resource.getrusage(...).ru_maxrss``)
  of a fresh process that measures one network only, and its growth over the same process's mark
  just before the network was built (the interpreter and torch's libraries). ``tracemalloc`` is
  not used: it sees Python's allocations only, not torch's tensors. On a GPU (``--device
  cuda``): ``torch.cuda.max_memory_allocated``, and every timed call waits for the GPU.

How to read it: the fp32 GEMM rate at 4096 x 4096 (``myoflow.benchtools.matmul_gflops``, NumPy's
BLAS limited to ``--threads`` threads by threadpoolctl, as torch is in each measuring process)
is measured in this run as the machine's ceiling (on a GPU: fp32 ``torch.mm`` on it, TF32 off as
torch's default for matrix products, while cuDNN's convolutions may use TF32); the fraction of it
that a step reaches is comparable across machines where seconds are not. The paper reports no
speeds (it trained on two Titan V with batch 8).

Usage: ``python benchmarks/bench_attmnet_speed.py [--batch 2] [--width 1] [--repeats 3]
[--threads 2] [--device cpu|cuda]``
"""

from __future__ import annotations

import argparse
import resource
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import pandas as pd
import torch
from threadpoolctl import threadpool_limits
from torch.utils.flop_counter import FlopCounterMode

from myoflow.benchtools import matmul_gflops, median_seconds, synced, torch_matmul_gflops
from myoflow.core.train.device import prepare_model, to_input
from myoflow.methods.attmnet.losses import (
    AttMnetLoss,
    balanced_cross_entropy,
    deep_supervision_loss,
    distance_weights,
)
from myoflow.methods.attmnet.networks import PAPER_PARAMETERS, build, trainable_parameters

#: Paper 002's stacks in torch order: D (slices), H, W (section III.A).
VOLUME = (36, 96, 96)
NETWORKS = ("attmnet", "unet3d")
#: Adam's learning rate in the paper (section III.B).
LR = 1e-4


def _rss_mib() -> float:
    """This process's resident-set high-water mark in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _loss(
    outputs: torch.Tensor | tuple[torch.Tensor, ...], mask: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    """The training job's loss: Att-Mnet's hybrid loss over its outputs, else balanced CE."""
    if isinstance(outputs, tuple):
        return deep_supervision_loss(AttMnetLoss(), list(outputs), mask, weights)[0]
    return balanced_cross_entropy(outputs, mask)


def measure(
    name: str, width: float, batch: int, repeats: int, threads: int, device_name: str
) -> dict[str, float | int | str]:
    """One network's row, measured in the calling process (a fresh one per network, for RSS)."""
    torch.set_num_threads(threads)
    device = torch.device(device_name)
    start_rss = _rss_mib()
    torch.manual_seed(0)
    net = build(name, width)
    runner, channels_last = prepare_model(net, device, compile=False)
    mask = (torch.rand(batch, 1, *VOLUME) > 0.9).float()
    weights = torch.from_numpy(distance_weights(mask.numpy()[:, 0])[:, None]).to(device)
    image = to_input(torch.rand(batch, 1, *VOLUME).to(device), channels_last)
    mask = mask.to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=LR)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        _loss(runner(image), mask, weights).backward()
        optimizer.step()

    runner.train()
    step()  # warm-up: allocates activations and Adam's moments
    with FlopCounterMode(display=False) as counter:
        step()
    step_gflop = counter.get_total_flops() / 1e9
    step_s = median_seconds(synced(step, device), repeats)
    runner.eval()
    with torch.inference_mode():
        runner(image)
        infer_s = median_seconds(synced(lambda: runner(image), device), repeats)
    peak = _rss_mib()
    if device.type == "cuda":
        peak, start_rss = torch.cuda.max_memory_allocated(device) / 2**20, 0.0
    return {
        "network": name,
        "params": trainable_parameters(net),
        "params_paper": PAPER_PARAMETERS[name],
        "train_s_per_step": step_s,
        "train_gflop_per_step": step_gflop,
        "train_gflop_per_s": step_gflop / step_s,
        "infer_volumes_per_s": batch / infer_s,
        "peak_rss_mib": peak,
        "rss_growth_mib": peak - start_rss,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    args = parser.parse_args()
    with threadpool_limits(limits=args.threads):
        if args.device == "cpu":
            gemm = matmul_gflops(args.repeats)
        else:
            gemm = torch_matmul_gflops(args.repeats, torch.device(args.device))
    rows = []
    for name in NETWORKS:
        with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
            row = pool.submit(
                measure, name, args.width, args.batch, args.repeats, args.threads, args.device
            ).result()
        row["train_fraction_of_gemm"] = float(row["train_gflop_per_s"]) / gemm
        rows.append(row)
    where = f"{args.threads} CPU thread(s)" if args.device == "cpu" else args.device
    memory = (
        "ru_maxrss of a fresh process per network"
        if args.device == "cpu"
        else "torch.cuda.max_memory_allocated"
    )
    print(
        f"paper 002 networks, width {args.width:g}, D x H x W = {' x '.join(map(str, VOLUME))}, "
        f"batch {args.batch}, on {where}, median of {args.repeats}; GEMM ceiling {gemm:.1f} "
        f"GFLOP/s (fp32 4096², this run); peak memory: {memory}\n"
    )
    print(pd.DataFrame(rows).to_markdown(index=False, floatfmt=".3f"))


if __name__ == "__main__":
    main()
