"""Checkpoint files: what a run leaves, atomic writes, the signature check, weights from elsewhere.

Files in a run's folder:

* ``last.pt``: everything needed to resume (weights, optimiser, scheduler and, with mixed
  precision, gradient-scaler states, history, the best selection value, the network signature,
  the run's settings and data (``run_key``), and ``init_from`` provenance when there is one),
  written atomically at the end of every epoch. A ``last.pt`` of other settings or data is not
  resumed: the run starts afresh (``stale_reason`` says why, in the log).
* ``best.pt``: ``{"signature", "state_dict", "epoch", "val_<metric>"}`` of the selected epoch.
  It is kept as ``selected.pt`` while training and copied to ``best.pt`` at the end: Snakemake
  deletes a killed job's declared outputs, and the selection must survive that as ``last.pt``
  does.
* ``history.tsv`` and ``model.tsv`` (``trainer``), written when training ends, so a killed job
  leaves no final output behind.

Every checkpoint is a plain dict of tensors, numbers and strings, loadable with
``torch.load(..., weights_only=True)``, so a checkpoint from an untrusted place cannot run code.
Each carries the ``signature`` of the network it was trained for (architecture and output scale,
whatever the method declares); a file whose signature differs from the configured one is refused
with the differing keys named, never silently reused.

A run with one network keeps the flat layout every prediction stage reads (``state_dict`` in
``best.pt``, ``model``/``optimizer`` in ``last.pt``); a run with several (a GAN's generators and
discriminators) stores one entry per name under the plural key (``state_dicts``, ``models``,
``optimizers``). ``pack`` and ``unpack`` are that one rule.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from myoflow.core.train.spec import TrainConfig
from myoflow.io.atomic import atomic_path


class TrainingError(RuntimeError):
    """Training cannot go on (non-finite loss, mismatching checkpoint, no training data)."""


def save_atomic(obj: Any, path: str | os.PathLike[str]) -> None:
    """``torch.save`` through a temporary sibling: a kill mid-write leaves the old file intact."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def load_checkpoint(path: str | os.PathLike[str], signature: dict[str, Any]) -> dict[str, Any]:
    """Load ``best.pt``/``last.pt`` and check that it was trained for ``signature``."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a truncated or foreign file: say which and why
        raise TrainingError(f"{path}: cannot read checkpoint ({error})") from error
    if not isinstance(state, dict) or "signature" not in state:
        raise TrainingError(f"{path}: not a myoflow checkpoint (no network signature)")
    if state["signature"] != signature:
        diff = {
            k: (state["signature"].get(k), signature.get(k))
            for k in sorted(set(state["signature"]) | set(signature))
            if state["signature"].get(k) != signature.get(k)
        }
        raise TrainingError(
            f"{path}: checkpoint does not match the configured network; differing "
            f"(checkpoint, config): {diff}. Restore the settings or delete the model folder."
        )
    return state


def pack(states: Mapping[str, Any], one: str, many: str) -> dict[str, Any]:
    """``{one: state}`` for a single entry, ``{many: {name: state}}`` for several, ``{}`` for
    none (a run without a scheduler stores no scheduler key)."""
    if not states:
        return {}
    if len(states) == 1:
        return {one: next(iter(states.values()))}
    return {many: dict(states)}


def unpack(
    state: Mapping[str, Any], one: str, many: str, names: list[str], path: str | os.PathLike[str]
) -> dict[str, Any]:
    """The entries ``pack`` stored for ``names``; a missing one means the run was configured
    differently (another number of networks, a scheduler added), which is refused by name."""
    if not names:
        return {}
    if len(names) == 1 and one in state:
        return {names[0]: state[one]}
    stored = state.get(many, {})
    missing = [name for name in names if name not in stored]
    if missing:
        raise TrainingError(
            f"{path}: no {many} state for {missing} (the checkpoint holds "
            f"{sorted(k for k in state if k in (one, many))}); the run was configured "
            "differently. Restore the settings or delete the model folder."
        )
    return {name: stored[name] for name in names}


def load_weights(
    models: Mapping[str, nn.Module], states: Mapping[str, Any], path: str | os.PathLike[str]
) -> None:
    """Load each model's state dict strictly; a mismatch names the file and the network."""
    for name, model in models.items():
        try:
            model.load_state_dict(states[name])
        except RuntimeError as error:
            raise TrainingError(f"{path}: weights do not fit network {name!r}: {error}") from error


#: Objects besides the weights whose ``state_dict`` ``last.pt`` keeps (optimisers, schedulers,
#: gradient scalers), each group under its ``(one, many)`` keys.
Stateful = Mapping[tuple[str, str], Mapping[str, Any]]


def run_key(
    config: TrainConfig, n_train: int, n_val: int, extra: Mapping[str, Any]
) -> dict[str, Any]:
    """What a run trains with besides its architecture: the core options that change the
    result (not ``epochs``: a longer run continues a shorter one; not the speed-ups), the size of
    its data and the method's own (``Trainer.run_settings``: loss weights, which samples).

    ``last.pt`` keeps it so that a rerun after a change of settings or data starts afresh
    instead of resuming, or even returning, a run trained for something else.
    """
    core = dataclasses.asdict(config)
    for name in ("epochs", "compile", "channels_last"):
        core.pop(name)
    key = {"core": core, "train_samples": n_train, "val_samples": n_val, "method": dict(extra)}
    # plain JSON types: last.pt is read back with torch.load(weights_only=True)
    plain: dict[str, Any] = json.loads(json.dumps(key, sort_keys=True, default=str))
    return plain


def stale_reason(state: Mapping[str, Any], key: Mapping[str, Any], epochs: int) -> str | None:
    """Why the run saved in ``state`` (a ``last.pt``) cannot be continued as one of ``epochs``
    epochs with ``key`` (``run_key``); None when it can."""
    saved = state.get("run")
    if saved is None:
        return "it records no run settings (an older checkpoint)"
    if saved != key:
        differing = _differences(saved, dict(key))
        return f"it was trained with other settings or data (differing: {differing})"
    if int(state["epoch"]) > epochs:
        return f"it ran {int(state['epoch'])} epochs, more than the {epochs} now configured"
    return None


def _differences(saved: Mapping[str, Any], now: Mapping[str, Any], where: str = "") -> list[str]:
    out = []
    for name in sorted(set(saved) | set(now)):
        old, new = saved.get(name), now.get(name)
        if isinstance(old, Mapping) and isinstance(new, Mapping):
            out += _differences(old, new, f"{where}{name}.")
        elif old != new:
            out.append(f"{where}{name}: {old!r} -> {new!r}")
    return out


def run_state(
    signature: dict[str, Any],
    run: dict[str, Any],
    models: Mapping[str, nn.Module],
    stateful: Stateful,
    history: list[dict[str, Any]],
    best: float,
    epoch: int,
    provenance: dict[str, Any],
) -> dict[str, Any]:
    """The content of ``last.pt`` after ``epoch`` of the run ``run`` (``run_key``)."""
    state = {"signature": signature, "run": run, **pack(_weights(models), "model", "models")}
    for (one, many), objects in stateful.items():
        state.update(pack({name: o.state_dict() for name, o in objects.items()}, one, many))
    state.update(history=history, best_val=best, epoch=epoch)
    if provenance:
        state["init_from"] = provenance
    return state


def selected_state(
    signature: dict[str, Any], models: Mapping[str, nn.Module], epoch: int, key: str, value: float
) -> dict[str, Any]:
    """The content of ``best.pt``: the weights of ``epoch``, whose ``key`` scored ``value``."""
    return {
        "signature": signature,
        **pack(_weights(models), "state_dict", "state_dicts"),
        "epoch": epoch,
        key: value,
    }


def restore(
    state: Mapping[str, Any],
    path: str | os.PathLike[str],
    models: Mapping[str, nn.Module],
    stateful: Stateful,
) -> None:
    """Load ``state`` (``last.pt`` read from ``path``) into ``models`` and ``stateful``."""
    load_weights(models, unpack(state, "model", "models", list(models), path), path)
    for (one, many), objects in stateful.items():
        for name, saved in unpack(state, one, many, list(objects), path).items():
            objects[name].load_state_dict(saved)


def _weights(models: Mapping[str, nn.Module]) -> dict[str, dict[str, torch.Tensor]]:
    return {name: model.state_dict() for name, model in models.items()}


def initialise_from(
    path: str | os.PathLike[str], signature: dict[str, Any], models: Mapping[str, nn.Module]
) -> dict[str, Any]:
    """Load another run's ``best.pt`` into ``models`` (pretrain, then fine-tune); returns its
    provenance for ``model.tsv``: the path as configured, the epoch selected there, and the
    file's SHA-256, which identifies the weights even after the file is moved or overwritten."""
    state = load_checkpoint(path, signature)
    load_weights(models, unpack(state, "state_dict", "state_dicts", list(models), path), path)
    with open(path, "rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    return {
        "init_from": str(Path(path)),
        "init_from_epoch": int(state["epoch"]),
        "init_from_sha256": digest,
    }
