"""Checkpoint bookkeeping: what mutation testing (``make mutants``) found untested.

``myoflow.core.train.checkpoint`` decides whether a ``last.pt`` may be resumed and loads its
entries by name. Mutants survived the training tests that: resumed a run that had already
trained more epochs than now configured, or restarted one that had exactly as many; listed only
the settings both runs share (an added or removed one went unnamed); let a run of one network
load into a run of two; stopped naming the missing entries, the file or what it holds; and
restored or initialised from a checkpoint without naming the file in the error. Each test states
the documented behaviour on plain dictionaries, without training.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from myoflow.core.train.checkpoint import (
    TrainingError,
    initialise_from,
    restore,
    stale_reason,
    unpack,
)

KEY = {"core": {"lr": 0.1, "seed": 0}, "train_samples": 4, "val_samples": 1, "method": {}}


def test_a_run_of_exactly_the_configured_epochs_is_resumed_not_restarted() -> None:
    """``epoch`` in ``last.pt`` counts finished epochs: 10 of 10 is a finished run to return,
    10 when 9 are configured is a different run."""
    state = {"run": KEY, "epoch": 10}
    assert stale_reason(state, KEY, 10) is None
    assert stale_reason(state, KEY, 12) is None  # a longer run continues a shorter one
    reason = stale_reason(state, KEY, 9)
    assert reason is not None and "10 epochs, more than the 9" in reason


def test_the_reason_names_every_changed_added_or_removed_setting_by_its_path() -> None:
    saved = {"core": {"lr": 0.1, "seed": 0}, "train_samples": 4, "method": {"w": 1}}
    now = {"core": {"lr": 0.2, "seed": 0}, "train_samples": 4, "val_samples": 1, "method": {}}
    reason = stale_reason({"run": saved, "epoch": 1}, now, 5)
    assert reason is not None
    assert "'core.lr: 0.1 -> 0.2'" in reason
    assert "'val_samples: None -> 1'" in reason  # only the new run has it
    assert "'method.w: 1 -> None'" in reason  # only the saved run had it
    assert "seed" not in reason and "train_samples" not in reason, "equal settings are not listed"
    old = stale_reason({"epoch": 1}, now, 5)
    assert old == "it records no run settings (an older checkpoint)"


def test_one_network_does_not_unpack_into_two() -> None:
    state = {"model": {"w": 1}}
    assert unpack(state, "model", "models", ["net"], "last.pt") == {"net": {"w": 1}}
    with pytest.raises(TrainingError) as info:
        unpack(state, "model", "models", ["generator", "critic"], "runs/gan/last.pt")
    message = str(info.value)
    assert message.startswith("runs/gan/last.pt: no models state for ['generator', 'critic']")
    assert "(the checkpoint holds ['model'])" in message
    assert message.endswith(
        "configured differently. Restore the settings or delete the model folder."
    )


def test_a_missing_entry_of_several_is_named() -> None:
    state = {"models": {"generator": 1}, "optimizer": 2}
    with pytest.raises(TrainingError, match=r"no models state for \['critic'\]"):
        unpack(state, "model", "models", ["generator", "critic"], "last.pt")
    with pytest.raises(TrainingError, match=r"no models state for \['net'\]"):
        unpack({}, "model", "models", ["net"], "last.pt")


def test_restoring_a_run_of_other_networks_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "last.pt"
    net = nn.Linear(2, 1)
    state = {"model": net.state_dict()}
    with pytest.raises(TrainingError, match=f"^{path}: no models state"):
        restore(state, path, {"a": nn.Linear(2, 1), "b": nn.Linear(2, 1)}, {})
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    stateful = {("optimizer", "optimizers"): {"net": optimizer}}
    with pytest.raises(TrainingError, match=f"^{path}: no optimizers state"):
        restore(state, path, {"net": net}, stateful)
    wrong = {"model": nn.Linear(3, 1).state_dict()}
    with pytest.raises(TrainingError, match=f"^{path}: weights do not fit network 'net'"):
        restore(wrong, path, {"net": net}, {})


def test_initialising_from_another_run_names_the_file(tmp_path: Path) -> None:
    signature = {"net": "toy"}
    path = tmp_path / "best.pt"
    torch.save({"signature": signature, "state_dict": nn.Linear(3, 1).state_dict()}, path)
    with pytest.raises(TrainingError, match=f"^{path}: weights do not fit network 'net'"):
        initialise_from(path, signature, {"net": nn.Linear(2, 1)})
    with pytest.raises(TrainingError, match=f"^{path}: no state_dicts state"):
        initialise_from(path, signature, {"a": nn.Linear(3, 1), "b": nn.Linear(3, 1)})
