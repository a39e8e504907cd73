"""What the workflow needs from a method: the ``Method`` interface every method unit implements.

A method (one published paper's pipeline) lives in ``myoflow/methods/<name>/`` and exposes one
``Method`` instance, named in ``myoflow.registry.METHODS``. The generic rules of
``workflow/rules/experiments.smk`` (train each model, predict each shard, evaluate each shard,
merge the tables) call it through this interface; the method's own rule file
(``workflow/rules/<name>.smk``) adds its paper's tables and figures through ``report``.

Why an interface rather than per-method rules for everything: the shard plans, the split, the
tracker references, resume, atomic outputs and the cluster resources are the same for every
method, and were copied per method before. A method now says only what differs: its settings,
its models, which preprocessing profile it reads, how it trains, predicts and scores.

The class attributes and ``settings``/``models``/``targets`` are torch-free: Snakemake's parse
step resolves every experiment through them, and a 10^5-slice dry run must not import torch.
``train``, ``predict``, ``evaluate`` and ``report`` run inside jobs and import what they need.
"""

from __future__ import annotations

import os
import pathlib
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from myoflow.settings import parse, plain

if TYPE_CHECKING:
    import pandas as pd

Path = str | os.PathLike[str]


@dataclass(frozen=True)
class TrainingData:
    """The files a training job gets: the preprocessed shards of every cohort of the experiment
    (the method's profile), their split tables, the tracking shards when a tracker computes
    the reference (else empty), and the ``best.pt`` of each model ``Method.train_needs`` names,
    by model."""

    shards: Sequence[Path]
    splits: Sequence[Path]
    tracked: Sequence[Path] = field(default_factory=tuple)
    needs: Mapping[str, Path] = field(default_factory=dict)


class Method(ABC):
    """One method unit. Subclass it, set the class attributes, implement the four stages."""

    #: The settings dataclass (frozen; defaults = the documented ones = the schema ``$def``'s),
    #: parsed from ``experiments.<name>.settings`` by ``myoflow.settings.parse``.
    settings_class: ClassVar[type]
    #: The preprocessing profile the method's stages read (``myoflow.preprocess.profiles``).
    profile: ClassVar[str] = "crop"
    #: Tables ``evaluate`` returns for one shard; each is merged over the experiment's shards into
    #: ``results/experiments/<exp>/tables/<table>.tsv``.
    eval_tables: ClassVar[tuple[str, ...]]

    def settings(self, config: Mapping[str, Any], name: str) -> dict[str, Any]:
        """Experiment ``name``'s settings with every default filled in, as JSON-able values.

        Override to fill settings that depend on the cohorts (call this first); raise
        ``ConfigError`` naming the key for a value no schema can check.
        """
        given = config["experiments"][name].get("settings")
        parsed: Any = parse(self.settings_class, given, f"config.experiments.{name}.settings")
        return plain(parsed)

    def models(self, experiment: Mapping[str, Any]) -> list[str]:
        """Names of the models trained for the experiment, one training job each (they become
        the ``model`` wildcard and ``results/models/<exp>/<model>/``)."""
        return ["model"]

    def train_needs(self, experiment: Mapping[str, Any], model: str) -> list[str]:
        """Other models of the experiment whose ``best.pt`` the training of ``model`` starts
        from or runs (none by default), trained first. Paper 001 fine-tunes a network pretrained
        on pseudo-tagged cine, and makes that cine tagged with its CycleGAN's generator."""
        return []

    def predict_needs(self, experiment: Mapping[str, Any], model: str) -> list[str]:
        """Other models whose ``best.pt`` the prediction of ``model`` also runs (none by
        default). Paper 003's tracker predicts from the tagged series alone, so its prediction
        first localises the heart with the experiment's ROI network."""
        return []

    def compared_trackers(self, experiment: Mapping[str, Any]) -> list[str]:
        """Tag trackers whose tracking shards the evaluation also reads, besides the reference
        tracker's (none by default): paper 003 shows them as Table 2's "uncorrected
        registration" rows. ``evaluate`` gets the reference tracker's shard first, then these,
        each once; a shard's tracker is the name of its folder."""
        return []

    def targets(self, experiment: Mapping[str, Any]) -> list[str]:
        """Files under ``results/experiments/<exp>/`` that ``rule all`` asks for; by default the
        merged evaluation tables. A method with a report rule file adds its tables and figures."""
        return [f"tables/{table}.tsv" for table in self.eval_tables]

    @abstractmethod
    def train(
        self,
        experiment: Mapping[str, Any],
        model: str,
        data: TrainingData,
        out_dir: Path,
        device: str | None = None,
    ) -> None:
        """Train ``model`` on the training split (selecting on the validation split) and write
        ``best.pt``, ``history.tsv`` and ``model.tsv`` into ``out_dir``; resume after a kill.
        ``myoflow.core.train.Trainer`` gives all of that once its hooks are overridden."""

    @abstractmethod
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
        """Predict the evaluated split of one preprocessed shard with ``weights`` (``best.pt``);
        write one output file ``out`` (a record shard, ``myoflow.io.shards``). ``needs``: the
        ``best.pt`` of each model ``predict_needs`` names, by model."""

    @abstractmethod
    def evaluate(
        self,
        experiment: Mapping[str, Any],
        shard: Path,
        splits: Path,
        predictions: Mapping[str, Path],
        tracked: Sequence[Path] = (),
    ) -> dict[str, pd.DataFrame]:
        """The tables ``eval_tables`` of one shard: every model's prediction (``predictions``:
        model -> its prediction shard of this shard) scored against the reference, with the
        trivial baseline beside it. ``tracked``: the shard's tracking shard when a tracker
        computes the reference, then those of ``compared_trackers``."""

    def report(
        self,
        stage: str,
        experiment: Mapping[str, Any],
        inputs: Mapping[str, Sequence[str]],
        out_dir: Path,
    ) -> None:
        """Run report stage ``stage`` (a rule of the method's own rule file) on the named input
        files, writing into ``out_dir``. Methods without report rules need not override it."""
        raise ValueError(f"{type(self).__name__} has no report stage {stage!r}")


def one_input(inputs: Mapping[str, Sequence[str]], name: str) -> str:
    """The one file of a report stage's named input ``name`` (``Method.report``)."""
    files = inputs[name]
    if len(files) != 1:
        raise ValueError(f"report input {name!r}: expected one file, got {list(files)}")
    return files[0]


def files_by_model(paths: Sequence[Path], level: int) -> dict[str, list[str]]:
    """A report stage's files grouped by model: the name of the folder ``level`` steps above
    each file (``results/models/<exp>/<model>/model.tsv``: 0; ``.../predictions/<model>/<cohort>/
    shard-NNN.h5``: 1), in the order first met."""
    out: dict[str, list[str]] = {}
    for path in paths:
        out.setdefault(pathlib.Path(path).parents[level].name, []).append(os.fspath(path))
    return out
