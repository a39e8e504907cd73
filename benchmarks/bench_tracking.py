#!/usr/bin/env python
"""Speed and accuracy of the tagged-image trackers (HARP, SinMod) on the phantom.

(a) Speed: frames per second per core at 128 x 128. A phantom slice (rat and human, 20 frames,
generated with a 128 x 128 matrix, SNR 20, tags 5 pixels apart) goes through
``myoflow.tracking.api.track_record`` (peak search, tracking, landmarks, conversion to mm: what a
tracking job does per slice) with every BLAS / OpenMP pool limited to one thread; frames/s is the
series' frame count over the median of ``--repeats`` timings. The issue's target is 100 frames/s
per core. Absolute times on a shared machine mean little, so the same process measures two
ceilings with the same single thread: the rate of ``scipy.fft.fft2`` on a 128 x 128 complex64
image, timed back to back with every tracking run so that load from other jobs hits both alike
(Fourier trackers are made of such transforms; "one frame costs N fft2 calls", the median of the
per-run ratios, is the figure to compare across machines and runs), and, before each row, the
fp32 4096 x 4096 matrix-multiply rate that every benchmark here prints.

(b) Accuracy: the validation sweep of ``myoflow.methods.tracking_validation.validation``
(trackers x species x realism preset x mask error x SNR x tag spacing in pixels, ``--slices``
phantom slices per cell, the zero-displacement baseline in every cell), printed as the Markdown
of the report's table: the aims at SNR 20 and pivots of the mean end-systolic error (px) over
SNR and tag spacing on the ideal phantom with the true mask, then what a user meets at SNR 20
per tracker x species x realism x mask error (mean / 95th percentile / maximum point error in
px, landmark ES error, |ES mid-wall Ecc and Err error| from the landmarks, |ES Ecc error| over
AHA segments, failed slices, frames/s) next to the zero baseline. Defaults: SNR 5/10/20/40,
spacing 3-6 px, rat and human, both realism presets, every mask error (none, erode1, dilate1,
dilate2, shift1, shift2), 3 slices per cell: 1152 slices, most of an hour on one core; ``--quick``
is SNR 10/20, spacing 4/5 px, one slice, and ``--snr 20 --spacing-px 5 --slices 2`` gives the
conditions table alone in a few minutes. ``--out-dir`` also writes the TSV / Markdown / figure
files of the workflow rule there (every cell is in the TSV; the printout leaves that table out).

Usage: ``python benchmarks/bench_tracking.py [--repeats 5] [--slices 3] [--quick]
[--trackers harp,sinmod] [--species rat,human] [--realism ideal,realistic]
[--mask-error none,erode1,dilate1,dilate2,shift1,shift2] [--snr 5,10,20,40]
[--spacing-px 3,4,5,6] [--seed 0] [--skip-speed] [--skip-accuracy] [--out-dir DIR]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial

import numpy as np
from scipy import fft
from threadpoolctl import threadpool_limits

from myoflow.benchtools import matmul_gflops
from myoflow.methods.tracking_validation.grid import MASK_ERRORS, REALISMS, SweepConfig
from myoflow.methods.tracking_validation.report import write_sweep
from myoflow.methods.tracking_validation.report_tables import validation_markdown
from myoflow.methods.tracking_validation.sweep import validation_specs
from myoflow.methods.tracking_validation.validation import run_sweep
from myoflow.phantom.cohort import generate
from myoflow.report.tables import markdown_table
from myoflow.tracking.api import TRACKERS, track_record

SIZE = 128
FRAMES = 20
SPEED_SNR = 20.0
SPEED_SPACING_PX = 5.0
TARGET_FPS = 100.0


def _fft2_batch(size: int = SIZE, batch: int = 100) -> Callable[[], None]:
    """``batch`` calls of ``scipy.fft.fft2`` on one ``size x size`` complex64 image, one worker."""
    rng = np.random.default_rng(0)
    image = (rng.standard_normal((size, size)) + 1j * rng.standard_normal((size, size))).astype(
        np.complex64
    )
    fft.fft2(image, workers=1)

    def run() -> None:
        for _ in range(batch):
            fft.fft2(image, workers=1)

    return run


def interleaved(
    work: Callable[[], object], ceiling: Callable[[], object], repeats: int
) -> tuple[float, float, float]:
    """Median seconds of ``work``, of ``ceiling``, and median of their per-repeat ratio.

    Each repeat times the two back to back, so a neighbour's job that slows the machine for a
    while slows both alike and the ratio keeps still where either time alone would not.
    """
    pairs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        work()
        t1 = time.perf_counter()
        ceiling()
        t2 = time.perf_counter()
        pairs.append((t1 - t0, t2 - t1))
    works, ceilings = zip(*pairs, strict=True)
    ratios = [w / c for w, c in pairs]
    return statistics.median(works), statistics.median(ceilings), statistics.median(ratios)


def speed_table(trackers: list[str], repeats: int) -> str:
    """The Markdown speed table, one row per tracker x species, one thread."""
    batch = 100
    lines = [
        (
            f"tracking speed: {SIZE}x{SIZE}, {FRAMES} frames, SNR {SPEED_SNR:g}, tags "
            f"{SPEED_SPACING_PX:g} px, track_record end to end, 1 thread, median of {repeats} "
            f"(each tracking run timed back to back with {batch} fft2 calls); target "
            f"{TARGET_FPS:g} frames/s per core"
        ),
        "",
        (
            "| tracker | species | frames/s | ms/frame | target met | fft2 128² complex64 /s "
            "| one frame costs N fft2 calls | fp32 matmul 4096² GFLOP/s | frames/s per GFLOP/s |"
        ),
        "|---|---|---:|---:|---|---:|---:|---:|---:|",
    ]
    records = {
        species: generate(validation_specs(species, SPEED_SNR, SPEED_SPACING_PX, 1, 0, SIZE)[0])
        for species in ("rat", "human")
    }
    ffts = _fft2_batch(batch=batch)
    with threadpool_limits(limits=1):
        for tracker in trackers:
            track_record(records["rat"], tracker)  # warm-up (imports, caches)
            for species, rec in records.items():
                gflops = matmul_gflops(max(1, min(repeats, 3)))
                seconds, fft_seconds, ratio = interleaved(
                    partial(track_record, rec, tracker), ffts, repeats
                )
                fps = rec.n_frames / seconds
                # one frame costs as much as this many fft2 calls (the per-repeat ratio)
                fft_per_frame = ratio * batch / rec.n_frames
                lines.append(
                    f"| {tracker} | {species} | {fps:.1f} | {1000 / fps:.2f} | "
                    f"{'yes' if fps >= TARGET_FPS else 'no'} | {batch / fft_seconds:.0f} | "
                    f"{fft_per_frame:.0f} | {gflops:.1f} | {fps / gflops:.3f} |"
                )
    return "\n".join(lines)


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in text.split(",") if v)


def _names(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5, help="timings per speed (median)")
    parser.add_argument("--trackers", default=",".join(TRACKERS), help="comma-separated")
    parser.add_argument("--species", default="rat,human", help="comma-separated")
    parser.add_argument(
        "--realism", default=",".join(REALISMS), help="comma-separated phantom presets"
    )
    parser.add_argument(
        "--mask-error", default=",".join(MASK_ERRORS), help="comma-separated mask errors"
    )
    parser.add_argument("--snr", default="5,10,20,40", help="comma-separated SNR values")
    parser.add_argument("--spacing-px", default="3,4,5,6", help="comma-separated tag spacings")
    parser.add_argument("--slices", type=int, default=3, help="phantom slices per cell")
    parser.add_argument("--seed", type=int, default=0, help="seed of the validation phantoms")
    parser.add_argument(
        "--quick", action="store_true", help="SNR 10,20; spacing 4,5 px; 1 slice per cell"
    )
    parser.add_argument("--skip-speed", action="store_true", help="accuracy table only")
    parser.add_argument("--skip-accuracy", action="store_true", help="speed table only")
    parser.add_argument("--out-dir", help="also write the validation TSV/MD/PNG/SVG here")
    args = parser.parse_args()
    trackers = list(_names(args.trackers))

    if not args.skip_speed:
        print(speed_table(trackers, args.repeats))
        print()
    if args.skip_accuracy:
        return
    snr, spacing, slices = _floats(args.snr), _floats(args.spacing_px), args.slices
    if args.quick:
        snr, spacing, slices = (10.0, 20.0), (4.0, 5.0), 1
    config = SweepConfig(
        trackers=tuple(trackers),
        species=_names(args.species),
        realism=_names(args.realism),
        mask_error=_names(args.mask_error),
        snr=snr,
        spacing_px=spacing,
        slices=slices,
        seed=args.seed,
    )
    start = time.perf_counter()
    with threadpool_limits(limits=1):
        result = run_sweep(config)
    cells = result.cells()
    print(
        f"accuracy: {len(list(config.cells()))} cells (species x realism x mask error x SNR x "
        f"spacing) x {slices} slice(s), {len(cells)} rows with the zero baseline; "
        f"{config.matrix}x{config.matrix}, {config.frames} frames, 1-3-3-1 tags, seed "
        f"{config.seed}; {time.perf_counter() - start:.0f} s on 1 thread\n"
    )
    markdown = validation_markdown(cells, every_cell=False)
    print(markdown.replace("# Tracking validation", "## Tracking validation"))
    failed = result.slices[result.slices["status"] != "ok"]
    if len(failed):
        print("\nfailed slices:\n")
        keys = ["method", "species", "realism", "mask_error", "snr", "spacing_px"]
        print(markdown_table(failed[[*keys, "subject", "position", "status"]]))
    if args.out_dir:
        for path in write_sweep(result, args.out_dir):
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
