#!/usr/bin/env python
"""Throughput of paper 003's fully automatic inference: localise + crop + track + strain.

Times ``myoflow.methods.tagstrain.stages.Pipeline`` (the prediction job's own code: the ED box,
the bicubic crop of every frame, the RNN-CNN, the map back to millimetres) followed by the
landmark strain of every slice (``myoflow.strain.landmark_strain.slice_strain``), on 256 x 256 x
20 tagged series, at batch sizes 1 and 20, in frames per second (slices x 20 / seconds), each
stage's share beside it. Networks at the paper's size (localisation 32-128 filters, RNN-CNN at 128
pixels with 1024 LSTM units) and at the demo's size, with random weights (speed does not depend
on them); the localisation network reads the default input, the ED frame and the series' motion
image (``roi.motion_channel``). The fp32 GEMM rate (4096², ``torch.mm``, same threads) is
measured in the same run, as the machine's ceiling; the paper reports 260 frames/s on an NVIDIA
K40 (about 4.3 TFLOP/s fp32).

Usage: ``python benchmarks/bench_tagstrain_speed.py [--threads 2] [--repeats 3] [--device cpu]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import torch

from myoflow.benchtools import median_seconds
from myoflow.methods.tagstrain.nets import RNNCNN, RoiCNN
from myoflow.methods.tagstrain.stages import Pipeline
from myoflow.record import SliceRecord
from myoflow.strain.landmark_strain import slice_strain

FRAMES, SIZE = 20, 256
#: name -> (localisation filters, dense), (crop, width, units)
SIZES = {
    "paper": (((32, 128, 128, 128, 128), 1024), (128, 1.0, 1024)),
    "demo": (((8, 16, 16, 16, 16), 64), (64, 0.25, 128)),
}


def _records(n: int) -> list[SliceRecord]:
    rng = np.random.default_rng(0)
    return [
        SliceRecord(
            cohort="bench",
            subject=f"s{i}",
            slice_id="mid",
            position="mid",
            group="all",
            pixel_spacing_mm=(1.4, 1.4),
            frame_times_ms=np.arange(FRAMES) * 41.0,
            original_frames=FRAMES,
            tagged=rng.random((FRAMES, SIZE, SIZE), dtype=np.float32),
        )
        for i in range(n)
    ]


def _gemm_gflops(repeats: int) -> float:
    a, b = torch.rand(4096, 4096), torch.rand(4096, 4096)
    torch.mm(a, b)
    return 2 * 4096**3 / median_seconds(lambda: torch.mm(a, b), repeats) / 1e9


def _time(pipeline: Pipeline, records: list[SliceRecord], repeats: int) -> dict[str, float]:
    """Median seconds of each stage and of the whole over ``repeats`` runs on ``records``."""
    parts: dict[str, list[float]] = {"localise": [], "crop_track": [], "strain": [], "total": []}
    series = [r.tagged for r in records]
    spacing = [r.pixel_spacing_mm for r in records]
    pipeline.run(records[:1])  # warm-up
    for _ in range(repeats):
        t0 = time.perf_counter()
        boxes = pipeline.boxes(records)
        t1 = time.perf_counter()
        marks = pipeline.landmarks(series, boxes, spacing)
        t2 = time.perf_counter()
        for m in marks:
            slice_strain(m, "green")
        t3 = time.perf_counter()
        parts["localise"].append(t1 - t0)
        parts["crop_track"].append(t2 - t1)
        parts["strain"].append(t3 - t2)
        parts["total"].append(t3 - t0)
    return {k: float(np.median(v)) for k, v in parts.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    rows = []
    for name, ((filters, dense), (crop, width, units)) in SIZES.items():
        roi = RoiCNN(SIZE, filters, dense, in_channels=2).to(dev).eval()
        tracker = RNNCNN(crop, FRAMES, width, units, units).to(dev).eval()
        pipeline = Pipeline(roi, tracker, crop, dev)
        for batch in (1, 20):
            gemm = _gemm_gflops(args.repeats)
            with torch.inference_mode():
                seconds = _time(pipeline, _records(batch), args.repeats)
            fps = batch * FRAMES / seconds["total"]
            rows.append(
                {
                    "networks": name,
                    "batch": batch,
                    "frames_per_s": fps,
                    "target_100_met": fps >= 100,
                    **{
                        f"{k}_share": v / seconds["total"]
                        for k, v in seconds.items()
                        if k != "total"
                    },
                    "gemm_gflops": gemm,
                    "frames_per_s_per_gemm_gflop": fps / gemm,
                }
            )
    print(
        f"paper 003 inference, {SIZE}x{SIZE}x{FRAMES} tagged series, {args.threads} thread(s) on "
        f"{args.device}, median of {args.repeats}; paper: 260 frames/s on a K40\n"
    )
    print(pd.DataFrame(rows).to_markdown(index=False, floatfmt=".3f"))


if __name__ == "__main__":
    main()
