"""Checkpoint loading: what mutation testing (``make mutants``) found untested.

``load_checkpoint`` promises ``torch.load(..., weights_only=True)`` (README: checkpoints load
without running pickled code), refuses a file that is not a myoflow checkpoint with a
TrainingError, and names every signature key that differs, including one that only one side
has. Mutants that loaded with ``weights_only=False``, let a dict without a signature through, or
named only the shared keys all survived the training tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from myoflow.core.train.checkpoint import TrainingError, load_checkpoint

SIGNATURE = {"net": "myonet", "base_width": 2, "levels": 3, "max_displacement_mm": 3.0}


class Payload:
    """Any class outside torch's allow-list: unpickling it would run arbitrary code paths."""


def test_pickled_objects_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "best.pt"
    torch.save({"signature": SIGNATURE, "state_dict": {}, "extra": Payload()}, path)
    with pytest.raises(TrainingError, match="cannot read checkpoint"):
        load_checkpoint(path, SIGNATURE)


def test_a_dict_without_signature_is_not_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "foreign.pt"
    torch.save({"state_dict": {"w": torch.zeros(2)}}, path)
    with pytest.raises(TrainingError, match="not a myoflow checkpoint"):
        load_checkpoint(path, SIGNATURE)


def test_every_differing_key_is_named_even_one_sided(tmp_path: Path) -> None:
    path = tmp_path / "old.pt"
    old = {k: v for k, v in SIGNATURE.items() if k != "levels"} | {"base_width": 4}
    torch.save({"signature": old, "state_dict": {}}, path)
    with pytest.raises(TrainingError, match="does not match") as info:
        load_checkpoint(path, SIGNATURE)
    assert "'base_width': (4, 2)" in str(info.value)
    assert "'levels': (None, 3)" in str(info.value)
    assert "'net'" not in str(info.value), "keys that agree are not listed"
