#!/usr/bin/env python
"""Training and inference speed of paper 001's two networks, beside its Table 2 and our GEMM rate.

For MONAI's DynUNet (the paper's nnU-Net) and SegResNetVAE (its ResNetVAE), built by
``myoflow.methods.tagseg.nets`` at ``--width`` (1: the paper's networks) for ``--size`` square
images (256: the paper's), with random weights and inputs (speed does not depend on them), it
prints one Markdown row per network:

* trainable parameters, ours next to Table 2's (equal at width 1 and size 256; a smaller size
  gives DynUNet fewer levels and SegResNetVAE smaller dense layers, hence fewer);
* a training step at ``--batch`` (``myoflow.methods.tagseg.timing.train_step_seconds``: forward,
  paper 001's loss plus the VAE term, backward, Adam; fp32; median of ``--steps`` after one
  warm-up step), the images per second that makes, and the seconds per epoch of the paper's 1000
  training images estimated from it (``step x ceil(1000 / batch)``, no data loading);
* inference of one image, mean ± SD in ms over 7 runs after 2 warm-up runs (``inference_ms``,
  Table 2's protocol);
* the forward GFLOP of one image, counted by ``torch.utils.flop_counter.FlopCounterMode``
  (convolutions and matrix products only, so a lower bound), and the inference rate in GFLOP/s
  as a fraction of the GEMM ceiling.

How to read it: Table 2's figures come from two TITAN RTX (about 16 TFLOP/s fp32 each) at batch
128, ours from this machine at ``--batch``, so absolute times are not comparable; the ratio of the
two networks' times, and the fraction of the GEMM ceiling (fp32 4096 x 4096 matrix product,
``myoflow.benchtools.matmul_gflops`` on the CPU or ``torch.mm`` on a GPU, measured in this run)
are. The paper's epoch time also includes its augmentation pipeline, ours does not.

Usage: ``python benchmarks/bench_tagseg_speed.py [--size 256] [--width 1] [--batch 8]
[--threads 2] [--steps 3] [--device cpu]``
"""

from __future__ import annotations

import argparse

import pandas as pd
import torch
from torch.utils.flop_counter import FlopCounterMode

from myoflow.benchtools import matmul_gflops, torch_matmul_gflops
from myoflow.methods.tagseg.losses import SegmentationLoss
from myoflow.methods.tagseg.nets import PAPER_PARAMETERS, dynunet, segresnetvae
from myoflow.methods.tagseg.nets import trainable_parameters as count
from myoflow.methods.tagseg.timing import epoch_seconds, inference_ms, train_step_seconds

#: Paper 001, Table 2 (batches of 128 images of 256 x 256 on two TITAN RTX; inference: 7 runs of
#: a batch of one): seconds per training epoch and inference ms mean, SD.
PAPER_TABLE_2 = {"dynunet": (163.2, 661.0, 274.0), "segresnetvae": (64.3, 112.0, 28.7)}
TRAIN_IMAGES = 1000
RUNS = 7


def forward_gflop(net: torch.nn.Module, size: int, device: torch.device) -> float:
    """GFLOP of one eval-mode forward pass of a ``[1, 1, size, size]`` image."""
    net.eval()
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        net(torch.rand(1, 1, size, size, device=device))
    return counter.get_total_flops() / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    gemm = matmul_gflops(3) if device.type != "cuda" else torch_matmul_gflops(3, device)
    rows = []
    for name, build in (("dynunet", dynunet), ("segresnetvae", segresnetvae)):
        torch.manual_seed(0)
        net = build(width=args.width, image_size=args.size).to(device)
        step = train_step_seconds(
            net, SegmentationLoss(), args.size, args.batch, steps=args.steps, device=device
        )
        mean, sd = inference_ms(net, args.size, runs=RUNS, device=device)
        gflop = forward_gflop(net, args.size, device)
        paper_epoch, paper_mean, paper_sd = PAPER_TABLE_2[name]
        rows.append(
            {
                "network": name,
                "params": count(net),
                "params_paper": PAPER_PARAMETERS[name],
                "train_s_per_step": step,
                "train_images_per_s": args.batch / step,
                f"epoch_s_{TRAIN_IMAGES}_est": epoch_seconds(step, TRAIN_IMAGES, args.batch),
                "epoch_s_paper": paper_epoch,
                "infer_ms": f"{mean:.1f} ± {sd:.1f}",
                "infer_ms_paper": f"{paper_mean:g} ± {paper_sd:g}",
                "fwd_gflop_per_image": gflop,
                "infer_fraction_of_gemm": gflop / (mean / 1e3) / gemm,
            }
        )
    print(
        f"paper 001 networks, width {args.width:g}, {args.size}x{args.size} images, training "
        f"batch {args.batch}, {args.threads} thread(s) on {args.device}; GEMM ceiling "
        f"{gemm:.1f} GFLOP/s (fp32 4096², this run); paper: batch 128, 256x256, 2 TITAN RTX\n"
    )
    print(pd.DataFrame(rows).to_markdown(index=False, floatfmt=".3f"))


if __name__ == "__main__":
    main()
