"""Networks, one module per architecture, built by name so that configs can choose them.

``build_net`` is the one entry point the training loop and the prediction stage use: the name in
an experiment's config maps to a class through ``myoflow.registry.NETS``, and an unknown name
fails before any data is read.
"""

from __future__ import annotations

from torch import nn

from myoflow.registry import NETS, load


def build_net(
    name: str,
    base_width: int = 16,
    levels: int = 5,
    in_channels: int = 1,
    out_channels: int = 2,
) -> nn.Module:
    """A freshly initialised network by name; seed with ``torch.manual_seed`` for reproducibility.

    ``base_width`` 16 and 5 levels are the paper's sizes (16..256 channels); tests use 2.
    """
    if name not in NETS:
        raise ValueError(f"unknown network {name!r}; expected one of {', '.join(NETS)}")
    net: nn.Module = load(NETS[name])(
        base_width=base_width, levels=levels, in_channels=in_channels, out_channels=out_channels
    )
    return net


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (``requires_grad``), the figure papers report."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
