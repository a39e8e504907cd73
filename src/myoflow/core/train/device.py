"""Choosing the device, naming it, and making a model fast on it: memory layout and compile.

Both speed-ups are decided from measurements (``benchmarks/bench_nets.py``), not folklore; the
figures behind each rule are in ``prepare_model``'s docstring. The rules only fill in "auto": an
explicit ``True``/``False`` from the config always wins.
"""

from __future__ import annotations

import logging
from typing import cast

import torch
from torch import nn

log = logging.getLogger(__name__)

#: Planned optimizer steps from which "auto" compiles, per device type (see ``prepare_model``).
COMPILE_MIN_STEPS = {"cpu": 1000, "cuda": 5000}
#: Device types on which "auto" uses the channels_last_3d layout (see ``prepare_model``).
CHANNELS_LAST_DEVICES = frozenset({"cpu"})


def pick_device(requested: str | None = None) -> torch.device:
    """The device to train on: ``None``/"auto" takes the GPU when there is one, else the CPU.

    An explicit "cuda" or "cuda:N" that cannot be honoured raises instead of silently training on
    the CPU, which on the paper's sizes would turn minutes into days.
    """
    if requested is None or requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(requested)
    if device.type == "cpu":
        return device
    if device.type != "cuda":
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {requested!r}")
    if not torch.cuda.is_available():
        raise RuntimeError(
            f"device {requested!r} was requested but CUDA is not available "
            f"(torch {torch.__version__}); use 'cpu' or 'auto'"
        )
    if device.index is not None and device.index >= torch.cuda.device_count():
        raise RuntimeError(
            f"device {requested!r} was requested but only {torch.cuda.device_count()} "
            "CUDA device(s) are visible"
        )
    return device


def device_name(device: torch.device) -> str:
    """What ``model.tsv`` reports: "cpu", or the GPU's model name, which is what makes a
    training time comparable between runs ("cuda:0" names a different card on every node)."""
    return str(device) if device.type == "cpu" else torch.cuda.get_device_name(device)


def to_input(x: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """``x`` in the layout ``prepare_model`` chose: channels_last_3d when asked, else unchanged."""
    if not channels_last:
        return x
    if x.ndim != 5:
        raise ValueError(f"channels_last_3d needs a 5-D [B, C, T, H, W] tensor, got {x.ndim}-D")
    return x.contiguous(memory_format=torch.channels_last_3d)


class _CompiledOrEager(nn.Module):
    """Calls the compiled module; if compiling fails, warns once and stays eager for good.

    ``torch.compile`` is lazy: a missing C++ compiler or an unsupported operator only shows at
    the first call. A call that fails compiled is repeated eagerly; if that succeeds the failure
    was the compiler's and the run goes on eagerly, and if it fails too the error is the caller's
    and propagates unchanged. The backward graph is compiled at the first ``backward()``, outside
    this wrapper; a failure there propagates to the training loop.
    """

    def __init__(self, compiled: nn.Module, eager: nn.Module) -> None:
        super().__init__()
        self.compiled = compiled
        self.eager = eager
        self.failed = False

    def forward(self, *args: torch.Tensor) -> torch.Tensor:
        if not self.failed:
            try:
                return self.compiled(*args)
            except Exception as error:  # noqa: BLE001 (any compiler failure; see the docstring)
                out = self.eager(*args)
                self.failed = True
                log.warning("torch.compile failed, running eagerly instead: %s", error)
                return out
        return self.eager(*args)


def _resolve(value: str | bool, name: str) -> bool | None:
    """``True``/``False`` as given, ``None`` for "auto"; anything else is a config error."""
    if isinstance(value, bool):
        return value
    if value == "auto":
        return None
    raise ValueError(f"{name} must be true, false or 'auto', got {value!r}")


def prepare_model(
    model: nn.Module,
    device: torch.device,
    compile: str | bool = "auto",
    channels_last: str | bool = "auto",
    steps: int = 0,
) -> tuple[nn.Module, bool]:
    """Move ``model`` to ``device`` and make it fast there; returns (model to call, channels_last).

    The second value says whether inputs must go through ``to_input(x, True)``. The parameters
    of ``model`` itself are moved (and, for channels_last, re-laid out) in place, but their names
    never change: keep your own reference to ``model`` and save ``model.state_dict()``, not the
    returned module's, which may be a compiled wrapper with prefixed names.

    "auto" rules, from three runs of ``benchmarks/bench_nets.py`` on 2 CPU threads (AMD EPYC,
    torch 2.13, oneDNN), batch 4 x 1 x 20 x 128 x 128 unless noted:

    * channels_last on CPU: always. A training step took 10.4-12.1 -> 5.8-7.6 s (MyoNet) and
      4.4-5.7 -> 4.0-4.7 s (ResMyoNet) at the paper's width 16, and 1.6 -> 0.9 s and
      1.4 -> 0.9 s at the demo's width 4; MyoNet's inference ran about 2x faster. We attribute
      it to oneDNN's 3D convolutions working in NDHWC, so the default layout pays reorders
      around every convolution. At the tests' size (width 2, 2 x 1 x 8 x 32 x 32) both layouts
      take 0.02-0.03 s a step, so it does not hurt there either.
      On CUDA: off, unmeasured (no GPU was available); cuDNN's NCDHW fp32 path is the
      established one. Run the benchmark with ``--device cuda`` to revisit.
    * compile on CPU: when ``steps >= 1000``. With a cold Inductor cache (a fresh node),
      compiling the training graph cost 24-43 s and the eval graph (validation) another
      8-13 s, whatever the width; each new batch shape (a short last batch) recompiles. With
      channels_last on both sides a compiled step saved 1.9-3.1 s (MyoNet) and 1.1-1.5 s
      (ResMyoNet) at width 16, paying back after about 50 steps; 0.10-0.16 s at width 4,
      paying back after 300-1000 steps once recompiles count; 0.01 s at the tests' size, never
      in practice. 1000 steps compiles the paper's run (100 epochs of ~13 batches) and leaves
      demo and test runs eager. On CUDA: from 5000 steps, an unmeasured guess: GPU steps are
      short, so the same compile time needs many more steps to pay back.
    """
    use_channels_last = _resolve(channels_last, "channels_last")
    use_compile = _resolve(compile, "compile")
    if use_channels_last is None:
        # a network with 2-D convolutions (paper 002's slice-wise U-net) has rank-4 weights,
        # which the 3-D layout cannot take
        use_channels_last = device.type in CHANNELS_LAST_DEVICES and not any(
            p.dim() == 4 for p in model.parameters()
        )
    if use_compile is None:
        threshold = COMPILE_MIN_STEPS.get(device.type)
        use_compile = threshold is not None and steps >= threshold
    model.to(device)
    if use_channels_last:
        # Supported at run time; torch's type stubs for Module.to omit memory_format.
        model.to(memory_format=torch.channels_last_3d)  # type: ignore[call-overload]
    if not use_compile:
        return model, use_channels_last
    try:
        # Compiling a Module gives an OptimizedModule; the stubs only promise a callable.
        compiled = cast(nn.Module, torch.compile(model))
    except Exception as error:  # noqa: BLE001 (e.g. a Python that dynamo does not support)
        log.warning("torch.compile unavailable, running eagerly instead: %s", error)
        return model, use_channels_last
    return _CompiledOrEager(compiled, model), use_channels_last
