"""A method unit without networks, for the generic stages' unit tests: its evaluation returns
whatever table set a test puts in ``TABLES``, and its stages record how they were called."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from myoflow.methods.base import Method, Path, TrainingData


@dataclass(frozen=True)
class FakeSettings:
    models: tuple[str, ...] = ("a", "b")
    #: model -> the other models its prediction runs (``Method.predict_needs``)
    needs: dict[str, list[str]] | None = None
    #: model -> the other models its training starts from (``Method.train_needs``)
    train_needs: dict[str, list[str]] | None = None


class Fake(Method):
    settings_class = FakeSettings
    eval_tables = ("first", "second")

    def __init__(self) -> None:
        self.tables: dict[str, pd.DataFrame] = {}
        self.calls: list[tuple[str, Any]] = []

    def models(self, experiment: Mapping[str, Any]) -> list[str]:
        return list(experiment["settings"]["models"])

    def train_needs(self, experiment: Mapping[str, Any], model: str) -> list[str]:
        return list((experiment["settings"].get("train_needs") or {}).get(model, []))

    def predict_needs(self, experiment: Mapping[str, Any], model: str) -> list[str]:
        return list((experiment["settings"].get("needs") or {}).get(model, []))

    def train(
        self,
        experiment: Mapping[str, Any],
        model: str,
        data: TrainingData,
        out_dir: Path,
        device: str | None = None,
    ) -> None:
        self.calls.append(("train", model, dict(data.needs)) if data.needs else ("train", model))

    def predict(
        self,
        experiment: Mapping[str, Any],
        model: str,
        weights: Path,
        shard: Path,
        splits: Path,
        out: Path,
        device: str | None = None,
        needs: Mapping[str, Path] | None = None,
    ) -> None:
        self.calls.append(("predict", model, dict(needs or {})))

    def evaluate(
        self,
        experiment: Mapping[str, Any],
        shard: Path,
        splits: Path,
        predictions: Mapping[str, Path],
        tracked: Sequence[Path] = (),
    ) -> dict[str, pd.DataFrame]:
        self.calls.append(("evaluate", dict(predictions)))
        return self.tables


METHOD = Fake()
