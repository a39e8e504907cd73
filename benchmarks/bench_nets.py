#!/usr/bin/env python
"""Training and inference speed of MyoNet and ResMyoNet, beside the machine's own GEMM ceiling.

For each network and each variant (eager; channels_last_3d; torch.compile, with or without
channels_last_3d) it times, on the CPU (or with ``--device cuda``, to calibrate the GPU rules of
``myoflow.core.train.device``):

* a training step (forward, paper 000's loss, backward and an RMSprop step), median of
  ``--repeats`` after one warm-up step, and the GFLOP/s that achieves, from the FLOPs of one step
  counted with ``torch.utils.flop_counter.FlopCounterMode`` (convolutions and matrix products in
  forward and backward; element-wise work is not counted, so the rate is a lower bound);
* inference: frames per second (batch x frames / median forward time under
  ``torch.inference_mode``, in eval mode) and its GFLOP/s;
* for compiled variants, the compile seconds: first call minus the median call, for the training
  step and for inference separately (eval mode and inference mode compile a second graph). They
  are cold-cache figures, what a job on a fresh node pays: Inductor's on-disk cache is pointed at
  an empty temporary folder unless ``--warm-cache`` keeps the user's (where a second run on the
  same machine compiles in a few seconds).

Absolute times on a shared machine mean little, so the same run measures the ceiling (fp32
4096 x 4096 ``torch.mm`` with the same thread count) right before each row, and prints each rate
as a fraction of that row's ceiling: other jobs on the machine slow both alike, while a single
ceiling from the start of a run many minutes long would not see them come and go.

The GEMM rate is the project's common yardstick, not the hardware's peak: on this AMD EPYC MKL's
sgemm reached about 170 GFLOP/s on 2 threads where a single oneDNN 3D convolution reached 410, so
convolution-heavy rows can show a fraction above 1.

Usage: ``python benchmarks/bench_nets.py [--repeats 3] [--base-width 16] [--size 128]
[--frames 20] [--batch 4] [--variants eager,channels_last,compile_channels_last]
[--device cpu]``
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.utils.flop_counter import FlopCounterMode

from myoflow.benchtools import median_seconds, synced, torch_matmul_gflops
from myoflow.core.nets import NETS, build_net, count_parameters
from myoflow.core.train.device import pick_device, prepare_model, to_input
from myoflow.methods.myonet.losses import DisplacementLoss

#: variant name -> (compile, channels_last) as passed to ``prepare_model``
VARIANTS = {
    "eager": (False, False),
    "channels_last": (False, True),
    "compile": (True, False),
    "compile_channels_last": (True, True),
}


@dataclass
class Row:
    """One table line: a network in one variant."""

    net: str
    variant: str
    params: int
    step_s: float
    train_gflops: float
    infer_fps: float
    infer_gflops: float
    compile_train_s: float | None
    compile_infer_s: float | None


def _batch(args: argparse.Namespace) -> tuple[torch.Tensor, ...]:
    """A random cine batch, targets in the paper's (0.125, 1) and a sparse myocardium mask."""
    generator = torch.Generator().manual_seed(1)
    shape = (args.batch, 1, args.frames, args.size, args.size)
    image = torch.rand(shape, generator=generator)
    target = 0.125 + 0.875 * torch.rand((args.batch, 2, *shape[2:]), generator=generator)
    mask = (torch.rand((args.batch, 1, 1, args.size, args.size), generator=generator) > 0.8).float()
    return tuple(t.to(args.device) for t in (image, target, mask))


def count_flops(fn: Callable[[], object]) -> int:
    """FLOPs that ``FlopCounterMode`` attributes to one call of ``fn``."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def _timed_first(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench(name: str, variant: str, args: argparse.Namespace) -> Row:
    """Time one network in one variant; see the module docstring for what is measured."""
    compile_, channels_last = VARIANTS[variant]
    torch.manual_seed(0)
    model = build_net(name, base_width=args.base_width)
    params = count_parameters(model)
    runner, as_cl = prepare_model(model, args.device, compile_, channels_last)
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)
    loss_fn = DisplacementLoss()
    image, target, mask = _batch(args)
    image = to_input(image, as_cl)

    def train_step_async() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss_fn(runner(image), target, mask).backward()
        optimizer.step()

    def infer_async() -> None:
        with torch.inference_mode():
            runner(image)

    train_step = synced(train_step_async, args.device)
    infer = synced(infer_async, args.device)

    model.train()
    first_train = _timed_first(train_step)
    step_s = median_seconds(train_step, args.repeats)
    model.eval()
    first_infer = _timed_first(infer)
    infer_s = median_seconds(infer, args.repeats)

    # Counted on the eager model: the arithmetic is the same whatever the variant.
    model.train()
    train_flops = count_flops(lambda: loss_fn(model(image), target, mask).backward())
    model.eval()
    infer_flops = count_flops(lambda: model(image).detach())
    return Row(
        net=name,
        variant=variant,
        params=params,
        step_s=step_s,
        train_gflops=train_flops / step_s / 1e9,
        infer_fps=args.batch * args.frames / infer_s,
        infer_gflops=infer_flops / infer_s / 1e9,
        compile_train_s=first_train - step_s if compile_ else None,
        compile_infer_s=first_infer - infer_s if compile_ else None,
    )


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="timings per figure (median)")
    parser.add_argument("--base-width", type=int, default=16, help="channels at level 0")
    parser.add_argument("--size", type=int, default=128, help="H = W in pixels")
    parser.add_argument("--frames", type=int, default=20, help="T, frames per series")
    parser.add_argument("--batch", type=int, default=4, help="series per batch")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="threads")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument(
        "--warm-cache", action="store_true", help="reuse Inductor's on-disk compile cache"
    )
    parser.add_argument("--nets", default=",".join(NETS), help=f"comma list of {NETS}")
    parser.add_argument(
        "--variants",
        default="eager,channels_last,compile_channels_last",
        help=f"comma list of {tuple(VARIANTS)}",
    )
    args = parser.parse_args()
    args.nets = args.nets.split(",")
    args.variants = args.variants.split(",")
    args.device = pick_device(args.device)
    unknown = sorted(set(args.variants) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variants {unknown}; choose from {tuple(VARIANTS)}")
    return args


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def main() -> None:
    args = _args()
    torch.set_num_threads(args.threads)
    if args.warm_cache:
        run(args)
        return
    with tempfile.TemporaryDirectory(prefix="bench_nets_inductor_") as cache:
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = cache  # read at each compile; none has run yet
        run(args)


def run(args: argparse.Namespace) -> None:
    """Print the table for the networks and variants in ``args``."""
    print(
        f"# torch {torch.__version__}, {args.device}, {args.threads} threads, input "
        f"{args.batch}x1x{args.frames}x{args.size}x{args.size}, base width {args.base_width}, "
        f"median of {args.repeats}"
    )
    header = (
        "| net | variant | params | mm GFLOP/s | train s/step | train GFLOP/s | of mm "
        "| infer frames/s | infer GFLOP/s | of mm | compile s train | compile s infer |"
    )
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for name in args.nets:
        for variant in args.variants:
            ceiling = torch_matmul_gflops(args.repeats, args.device)
            row = bench(name, variant, args)
            print(
                f"| {row.net} | {row.variant} | {row.params:,} | {ceiling:.0f} "
                f"| {row.step_s:.2f} | {row.train_gflops:.1f} | {row.train_gflops / ceiling:.2f} "
                f"| {row.infer_fps:.1f} | {row.infer_gflops:.1f} "
                f"| {row.infer_gflops / ceiling:.2f} "
                f"| {_fmt(row.compile_train_s)} | {_fmt(row.compile_infer_s)} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
