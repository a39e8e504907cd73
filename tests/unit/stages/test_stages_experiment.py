"""The generic experiment stages hand each job to the experiment's method and keep what is the
same for every method: the model order, the declared tables, atomic outputs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from support import fake_method

from myoflow.io.tables import read_tsv
from myoflow.methods.base import TrainingData
from myoflow.stages.experiment import evaluate_stage, predict_stage, train_stage

EXPERIMENT = {
    "name": "e",
    "method": "support.fake_method:METHOD",
    "settings": {"models": ["a", "b"]},
}


@pytest.fixture(autouse=True)
def fresh() -> None:
    fake_method.METHOD.tables = {}
    fake_method.METHOD.calls = []


def test_evaluation_writes_the_declared_tables_and_pairs_predictions_with_models(
    tmp_path: Path,
) -> None:
    fake_method.METHOD.tables = {
        "first": pd.DataFrame({"subject": ["NA", "0042"], "value": [1.5, 2.0]}),
        "second": pd.DataFrame({"x": [1]}),
    }
    out = tmp_path / "eval" / "shard-000"
    evaluate_stage(EXPERIMENT, "s.h5", "splits.tsv", ["pa.h5", "pb.h5"], out)
    assert sorted(p.name for p in out.iterdir()) == ["first.tsv", "second.tsv"]
    assert list(read_tsv(out / "first.tsv")["subject"]) == ["NA", "0042"]
    assert fake_method.METHOD.calls == [("evaluate", {"a": "pa.h5", "b": "pb.h5"})]
    assert [p.name for p in out.parent.iterdir()] == ["shard-000"], "no staging folder left"


def test_evaluation_refuses_tables_the_method_did_not_declare(tmp_path: Path) -> None:
    fake_method.METHOD.tables = {"first": pd.DataFrame(), "third": pd.DataFrame()}
    out = tmp_path / "shard-000"
    with pytest.raises(ValueError, match=r"returned tables \['first', 'third'\], declared"):
        evaluate_stage(EXPERIMENT, "s.h5", "splits.tsv", ["pa.h5", "pb.h5"], out)
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_a_rerun_replaces_the_whole_folder(tmp_path: Path) -> None:
    out = tmp_path / "shard-000"
    out.mkdir()
    (out / "stale.tsv").write_text("old\n")
    fake_method.METHOD.tables = {"first": pd.DataFrame({"v": [1]}), "second": pd.DataFrame()}
    evaluate_stage(EXPERIMENT, "s.h5", "splits.tsv", ["pa.h5", "pb.h5"], out)
    assert sorted(p.name for p in out.iterdir()) == ["first.tsv", "second.tsv"]


def test_models_must_be_the_experiments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"2 prediction shard\(s\) for 1 model"):
        one = {**EXPERIMENT, "settings": {"models": ["a"]}}
        evaluate_stage(one, "s.h5", "splits.tsv", ["pa.h5", "pb.h5"], tmp_path / "o")
    with pytest.raises(ValueError, match=r"no model 'c'; its models are \['a', 'b'\]"):
        train_stage(EXPERIMENT, "c", TrainingData([], []), tmp_path)
    with pytest.raises(ValueError, match=r"no model 'c'"):
        predict_stage(EXPERIMENT, "c", "w.pt", "s.h5", "splits.tsv", tmp_path / "p.h5")
    train_stage(EXPERIMENT, "b", TrainingData([], []), tmp_path)
    assert fake_method.METHOD.calls == [("train", "b")]


def test_a_prediction_gets_the_weights_of_the_models_it_needs_by_name(tmp_path: Path) -> None:
    needing = {**EXPERIMENT, "settings": {"models": ["a", "b"], "needs": {"b": ["a"]}}}
    predict_stage(needing, "b", "wb.pt", "s.h5", "splits.tsv", tmp_path / "p.h5", needs=["wa.pt"])
    predict_stage(needing, "a", "wa.pt", "s.h5", "splits.tsv", tmp_path / "p.h5")
    assert fake_method.METHOD.calls == [("predict", "b", {"a": "wa.pt"}), ("predict", "a", {})]
    with pytest.raises(ValueError, match=r"model 'b' needs the weights of \['a'\], got \[\]"):
        predict_stage(needing, "b", "wb.pt", "s.h5", "splits.tsv", tmp_path / "p.h5")


def test_a_training_gets_the_weights_of_the_models_it_starts_from_by_name(tmp_path: Path) -> None:
    needing = {**EXPERIMENT, "settings": {"models": ["a", "b"], "train_needs": {"b": ["a"]}}}
    train_stage(needing, "b", TrainingData([], []), tmp_path, needs=["wa.pt"])
    train_stage(needing, "a", TrainingData([], []), tmp_path)
    assert fake_method.METHOD.calls == [("train", "b", {"a": "wa.pt"}), ("train", "a")]
    with pytest.raises(ValueError, match=r"model 'b' needs the weights of \['a'\], got \[\]"):
        train_stage(needing, "b", TrainingData([], []), tmp_path)
