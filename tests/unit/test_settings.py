"""The one settings parser: every mistake names the key, the value and what is allowed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pytest

from myoflow.errors import ConfigError
from myoflow.settings import bounded, defaults, parse


@dataclass(frozen=True)
class Inner:
    gamma: float = bounded(0.5, exclusive_minimum=0, maximum=1)


@dataclass(frozen=True)
class Toy:
    epochs: int = bounded(10, minimum=1)
    lr: float = 1e-3
    optimizer: Literal["adam", "rmsprop"] = "adam"
    width: int | None = None
    percentiles: tuple[float, float] = (1.0, 99.0)
    nets: list[str] = bounded(["a", "b"])  # noqa: RUF009 (bounded returns a dataclass field)
    weights: dict[str, float] = field(default_factory=dict)
    schedule: Inner = field(default_factory=Inner)
    flips: bool = True
    start: int | Literal["auto"] | None = bounded("auto", minimum=0)


def test_defaults_and_conversions() -> None:
    assert parse(Toy, None, "s") == Toy()
    got = parse(Toy, {"lr": 1, "percentiles": [2, 98], "schedule": {"gamma": 1}}, "s")
    assert got.lr == 1.0 and isinstance(got.lr, float)
    assert got.percentiles == (2.0, 98.0) and got.schedule == Inner(gamma=1.0)
    assert parse(Toy, {"width": None}, "s").width is None
    assert parse(Toy, {"width": 8}, "s").width == 8
    assert parse(Toy, {"weights": {"mse": 2}}, "s").weights == {"mse": 2.0}


def test_a_bounded_number_may_also_be_a_word() -> None:
    """``auto`` is one of the choices, not a number to compare with the bounds; a number is
    still bounded and another word still refused."""
    assert parse(Toy, {"start": "auto"}, "s").start == "auto"
    assert (
        parse(Toy, {"start": 3}, "s").start == 3 and parse(Toy, {"start": None}, "s").start is None
    )
    with pytest.raises(ConfigError, match="s.start: -1 is below the minimum 0"):
        parse(Toy, {"start": -1}, "s")
    with pytest.raises(ConfigError, match="s.start"):
        parse(Toy, {"start": "soon"}, "s")


def test_list_defaults_are_not_shared_between_instances() -> None:
    first, second = Toy(), Toy()
    assert first.nets == ["a", "b"] and first.nets is not second.nets


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"epoch": 3}, r"^exp\.settings: unknown option\(s\) \['epoch'\]; allowed: \[.*'epochs'"),
        ({"epochs": 0}, r"^exp\.settings\.epochs: 0 is below the minimum 1$"),
        ({"epochs": 2.5}, r"^exp\.settings\.epochs: 2\.5 is not an integer$"),
        ({"epochs": True}, r"^exp\.settings\.epochs: True is not an integer$"),
        ({"lr": "fast"}, r"^exp\.settings\.lr: 'fast' is not a number$"),
        (
            {"optimizer": "sgd"},
            r"^exp\.settings\.optimizer: 'sgd' is not allowed; choose one of \['adam', 'rmsprop'\]",
        ),
        ({"percentiles": [1]}, r"^exp\.settings\.percentiles: expected 2 values"),
        ({"nets": "a"}, r"^exp\.settings\.nets: expected a list"),
        ({"nets": ["a", 3]}, r"^exp\.settings\.nets\[1\]: 3 is not a string"),
        ({"schedule": {"gamma": 0}}, r"^exp\.settings\.schedule\.gamma: 0 must be greater than 0"),
        ({"schedule": {"gamma": 2}}, r"^exp\.settings\.schedule\.gamma: 2 is above the maximum 1"),
        ({"schedule": {"gama": 2}}, r"^exp\.settings\.schedule: unknown option\(s\) \['gama'\]"),
        ({"flips": 1}, r"^exp\.settings\.flips: 1 is not true or false$"),
        ({"weights": {"mse": "x"}}, r"^exp\.settings\.weights\.mse: 'x' is not a number$"),
    ],
)
def test_every_mistake_names_key_value_and_choices(given: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse(Toy, given, "exp.settings")


def test_a_literal_choice_is_not_matched_by_a_bool_equal_to_it() -> None:
    @dataclass(frozen=True)
    class Levels:
        level: Literal[0, 1] = 0

    assert parse(Levels, {"level": 1}, "s").level == 1
    with pytest.raises(ConfigError, match="True is not allowed"):
        parse(Levels, {"level": True}, "s")


def test_defaults_as_plain_values() -> None:
    assert defaults(Toy)["percentiles"] == [1.0, 99.0]
    assert defaults(Toy)["schedule"] == {"gamma": 0.5}
