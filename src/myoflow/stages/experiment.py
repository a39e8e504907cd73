"""The generic experiment rules: train one model, predict one shard, evaluate one shard, report.

Each function is one Snakemake job of ``workflow/rules/experiments.smk`` (or of a method's own
rule file, for ``report_stage``) and hands the work to the experiment's method unit
(``myoflow.experiment.method_of``). What is the same for every method stays here: the CPU
thread count, the order of a method's models, and that an evaluation writes exactly the tables
its method declares, atomically, so that a failed job leaves nothing a later job could take for
a result.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from myoflow.experiment import method_of
from myoflow.io.atomic import write_tsv
from myoflow.methods.base import TrainingData

log = logging.getLogger("myoflow.stages")

PathLike = str | os.PathLike[str]


def _set_threads(threads: int | None) -> None:
    """Cap torch's CPU threads at the job's ``threads`` (a cluster job gets what it asked for)."""
    if threads:
        import torch

        torch.set_num_threads(threads)


def train_stage(
    experiment: Mapping[str, Any],
    model: str,
    data: TrainingData,
    out_dir: PathLike,
    device: str | None = None,
    threads: int | None = None,
    needs: Sequence[PathLike] = (),
) -> None:
    """Train ``model`` of the experiment into ``out_dir`` (resuming after a kill); ``needs``: the
    best weights of the models its method names (``Method.train_needs``), in order."""
    method = method_of(experiment["method"])
    _check_model(method.models(experiment), model, experiment)
    data = replace(data, needs=_needs(method.train_needs(experiment, model), needs, model))
    _set_threads(threads)
    method.train(experiment, model, data, out_dir, device)


def predict_stage(
    experiment: Mapping[str, Any],
    model: str,
    weights: PathLike,
    shard: PathLike,
    splits: PathLike,
    out: PathLike,
    device: str | None = None,
    threads: int | None = None,
    needs: Sequence[PathLike] = (),
) -> None:
    """Predict the evaluated split of one shard with ``model``'s best weights; ``needs``: the
    best weights of the other models its method names (``Method.predict_needs``), in order."""
    method = method_of(experiment["method"])
    _check_model(method.models(experiment), model, experiment)
    needed = _needs(method.predict_needs(experiment, model), needs, model)
    _set_threads(threads)
    method.predict(experiment, model, weights, shard, splits, out, device, needs=needed)


def evaluate_stage(
    experiment: Mapping[str, Any],
    shard: PathLike,
    splits: PathLike,
    predictions: Sequence[PathLike],
    out_dir: PathLike,
    tracked: Sequence[PathLike] = (),
) -> None:
    """Score one shard; write the method's ``eval_tables`` as ``<out_dir>/<table>.tsv``.

    ``predictions`` holds one prediction shard per model, in the method's model order. The
    folder appears complete or not at all: the tables are written into a sibling temporary
    folder that is renamed into place.
    """
    method = method_of(experiment["method"])
    models = method.models(experiment)
    if len(predictions) != len(models):
        raise ValueError(
            f"experiment {experiment['name']}: {len(predictions)} prediction shard(s) for "
            f"{len(models)} model(s) {models}"
        )
    tables = method.evaluate(experiment, shard, splits, dict(zip(models, predictions)), tracked)
    if set(tables) != set(method.eval_tables):
        raise ValueError(
            f"method {experiment['method']!r} returned tables {sorted(tables)}, "
            f"declared {sorted(method.eval_tables)}"
        )
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for name in method.eval_tables:
            write_tsv(tables[name], staging / f"{name}.tsv")
        if out.exists():
            shutil.rmtree(out)
        os.replace(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("%s: %s", out, ", ".join(f"{n} {len(tables[n])} rows" for n in method.eval_tables))


def report_stage(
    experiment: Mapping[str, Any],
    stage: str,
    inputs: Mapping[str, Sequence[str]],
    out_dir: PathLike,
) -> None:
    """Run the method's report stage ``stage`` (its tables or figures) into ``out_dir``."""
    method_of(experiment["method"]).report(stage, experiment, inputs, out_dir)


def _needs(names: Sequence[str], files: Sequence[PathLike], model: str) -> dict[str, PathLike]:
    """The weight files of the models ``names`` (a method's ``*_needs``), given in that order."""
    if len(files) != len(names):
        raise ValueError(f"model {model!r} needs the weights of {list(names)}, got {list(files)}")
    return dict(zip(names, files, strict=True))


def _check_model(models: Sequence[str], model: str, experiment: Mapping[str, Any]) -> None:
    if model not in models:
        raise ValueError(
            f"experiment {experiment['name']}: no model {model!r}; its models are {list(models)}"
        )
