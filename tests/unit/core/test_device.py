"""Device choice, memory layout and the eager fallback when torch.compile fails."""

from __future__ import annotations

import logging

import pytest
import torch
from torch import nn

from myoflow.core.nets import build_net
from myoflow.core.train import device as device_module
from myoflow.core.train.device import pick_device, prepare_model, to_input

CPU = torch.device("cpu")


def _tiny_net() -> nn.Module:
    torch.manual_seed(0)
    return build_net("resmyonet", base_width=2).eval()


def test_cpu_and_auto() -> None:
    assert pick_device("cpu") == CPU
    assert pick_device(None).type == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine without CUDA")
@pytest.mark.parametrize("requested", ["cuda", "cuda:1"])
def test_cuda_without_cuda_raises(requested: str) -> None:
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        pick_device(requested)


def test_unknown_device_type_is_refused() -> None:
    with pytest.raises(ValueError, match="cuda:N"):
        pick_device("mps")


def test_channels_last_gives_the_same_outputs() -> None:
    x = torch.randn(2, 1, 4, 32, 32)
    with torch.no_grad():
        expected = _tiny_net()(x)
        model, as_cl = prepare_model(_tiny_net(), CPU, compile=False, channels_last=True)
        assert as_cl
        x_cl = to_input(x, as_cl)
        assert x_cl.is_contiguous(memory_format=torch.channels_last_3d)
        torch.testing.assert_close(model(x_cl), expected, rtol=1e-4, atol=1e-5)


def test_prepare_keeps_parameter_names_and_objects() -> None:
    # The training loop builds its optimiser and saves state dicts from the original module.
    net = _tiny_net()
    names = list(net.state_dict())
    params = [id(p) for p in net.parameters()]
    prepare_model(net, CPU, compile=False, channels_last=True)
    assert list(net.state_dict()) == names
    assert [id(p) for p in net.parameters()] == params


def test_to_input_refuses_non_5d() -> None:
    with pytest.raises(ValueError, match="5-D"):
        to_input(torch.zeros(2, 3, 4, 5), channels_last=True)
    flat = torch.zeros(2, 3)
    assert to_input(flat, channels_last=False) is flat


class _Broken(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("compiler exploded")


def test_compile_failure_falls_back_to_eager(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(device_module.torch, "compile", lambda model: _Broken())
    x = torch.randn(1, 1, 2, 16, 16)
    net = _tiny_net()
    with torch.no_grad():
        expected = net(x)
        model, as_cl = prepare_model(net, CPU, compile=True, channels_last=False)
        with caplog.at_level(logging.WARNING):
            torch.testing.assert_close(model(to_input(x, as_cl)), expected)
    assert "compiler exploded" in caplog.text
    with pytest.raises(ValueError, match="divisible"):  # the caller's own errors still surface
        model(torch.zeros(1, 1, 2, 15, 15))


def test_compile_that_raises_at_once_returns_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(model: nn.Module) -> nn.Module:
        raise RuntimeError("dynamo unsupported here")

    monkeypatch.setattr(device_module.torch, "compile", refuse)
    net = _tiny_net()
    model, _ = prepare_model(net, CPU, compile=True, channels_last=False)
    assert model is net


def test_auto_compiles_only_long_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(device_module.torch, "compile", lambda model: _Broken())
    threshold = device_module.COMPILE_MIN_STEPS["cpu"]
    net = _tiny_net()
    short, short_cl = prepare_model(net, CPU, steps=threshold - 1)
    long, _ = prepare_model(net, CPU, steps=threshold)
    assert short is net and short_cl == ("cpu" in device_module.CHANNELS_LAST_DEVICES)
    assert long is not net and net in list(long.modules())


def test_bad_flag_is_refused() -> None:
    with pytest.raises(ValueError, match="channels_last"):
        prepare_model(_tiny_net(), CPU, compile=False, channels_last="yes")


def test_auto_layout_is_3d_only_for_networks_without_2d_convolutions() -> None:
    _, three_d = prepare_model(_tiny_net(), CPU, compile=False, channels_last="auto")
    assert three_d
    flat = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1))
    _, two_d = prepare_model(flat, CPU, compile=False, channels_last="auto")
    assert not two_d
    assert flat[0].weight.is_contiguous()
