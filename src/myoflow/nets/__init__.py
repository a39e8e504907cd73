"""Networks, one module per architecture, built by name so that configs can choose them.

``build_net`` is the one entry point the training loop and the prediction stage use: the name in
an experiment's config maps to a class here, and an unknown name fails before any data is read.
"""

from __future__ import annotations

from torch import nn

from myoflow.nets.myonet import MyoNet
from myoflow.nets.resmyonet import ResMyoNet

_CLASSES: dict[str, type[nn.Module]] = {"myonet": MyoNet, "resmyonet": ResMyoNet}

#: Names accepted by :func:`build_net`, in the paper's order.
NETS: tuple[str, ...] = tuple(_CLASSES)


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
    if name not in _CLASSES:
        raise ValueError(f"unknown network {name!r}; expected one of {', '.join(NETS)}")
    return _CLASSES[name](
        base_width=base_width, levels=levels, in_channels=in_channels, out_channels=out_channels
    )


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (``requires_grad``), the figure papers report."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


__all__ = ["NETS", "MyoNet", "ResMyoNet", "build_net", "count_parameters"]
