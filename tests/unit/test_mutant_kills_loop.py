"""Checkpoint loading and MyoNet's training record: what mutation testing (``make mutants``)
found untested.

``load_checkpoint`` promises ``torch.load(..., weights_only=True)`` (README: checkpoints load
without running pickled code), refuses a file that is not a myoflow checkpoint with a
TrainingError, and names every signature key that differs, including one that only one side
has. Mutants that loaded with ``weights_only=False``, let a dict without a signature through, or
named only the shared keys all survived the training tests. So did MyoNet trainer mutants that
dropped the seed on its way to the core, recorded the validation data's augmentation instead of
the training data's, or named columns of ``model.tsv`` otherwise; and the key of a tracked
target was its file name alone, the same for HARP's and SinMod's shards (a bug: switching the
reference resumed the other tracker's run).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from myoflow.core.train.checkpoint import TrainingError, load_checkpoint
from myoflow.methods.myonet.data import DisplacementDataset
from myoflow.methods.myonet.trainer import MyoNetTrainer, TrainSettings
from myoflow.samples import SampleRef

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


# -- MyoNet's trainer: what its checkpoint records (myoflow.methods.myonet.trainer) -------------


def _trainer(
    tmp_path: Path, train_refs: list[SampleRef], augment: bool = True, shift_px: int = 0
) -> MyoNetTrainer:
    val = [SampleRef("v.h5", "s9/mid", "c")]
    return MyoNetTrainer(
        nn.Conv2d(1, 1, 3),
        {"net": "myonet"},
        DisplacementDataset(train_refs, 1.5, augment=augment, margin_px=3, shift_px=shift_px),
        DisplacementDataset(val, 1.5),
        TrainSettings(seed=7, compile=False, channels_last=False),
        tmp_path,
        torch.device("cpu"),
    )


def test_the_training_settings_reach_the_core_and_only_they_are_taken() -> None:
    settings = TrainSettings.from_settings(
        {"seed": 7, "compile": True, "channels_last": True, "lr": 0.01, "nets": ["myonet"]}
    )
    config = settings.config()
    assert (config.seed, config.compile, config.channels_last) == (7, True, True)
    assert config.optimizer.lr == 0.01


def test_the_run_records_the_training_data_augmentation_and_target_files(
    tmp_path: Path,
) -> None:
    """A rerun with augmentation switched off or shifts switched on, or with another tracker's
    targets for the same slices, is another run (``stale_reason``), so the recorded settings must
    differ."""
    refs = [SampleRef("p.h5", "s1/mid", "c", target="results/c/tracking/harp/shard-000.h5")]
    trainer = _trainer(tmp_path, refs)
    assert trainer.config == TrainSettings(seed=7, compile=False, channels_last=False).config()
    base = trainer.run_settings()
    assert base["augment"] is True and base["margin_px"] == 3
    assert _trainer(tmp_path, refs, augment=False).run_settings() != base
    assert base["shift_px"] == 0 and _trainer(tmp_path, refs, shift_px=2).run_settings() != base
    other = [SampleRef("p.h5", "s1/mid", "c", target="results/c/tracking/sinmod/shard-000.h5")]
    assert _trainer(tmp_path, other).run_settings()["samples"] != base["samples"]
    assert set(base) == {"loss", "augment", "margin_px", "shift_px", "samples"}


def test_model_table_columns_are_the_ones_the_timing_table_reads(tmp_path: Path) -> None:
    info = _trainer(tmp_path, [SampleRef("p.h5", "s1/mid", "c")]).model_info()
    assert info == {
        "net": "myonet",
        "parameters": 10,  # a 3 x 3 convolution, one channel in and out, and its bias
        "device": "cpu",
        "threads": torch.get_num_threads(),
        "train_slices": 1,
        "val_slices": 1,
    }
