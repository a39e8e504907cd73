"""Paper 002's report rules end to end on a tiny experiment (three test stacks of square rings,
two models laid out in their folders as the workflow writes them), and Fig. 4's choice of the
volume it shows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from myoflow.io.atomic import write_tsv
from myoflow.io.tables import read_tsv
from myoflow.io.volumes import StackGrid, SubjectVolumes, write_volumes
from myoflow.methods.attmnet import figures, report
from myoflow.methods.attmnet.evaluate import evaluate_stage
from myoflow.methods.attmnet.paper002 import EMPTY, SEGMENTATION

D, S = 11, 16
GRID = StackGrid((0, 5, 10), (0, 0), (0.2, 0.5, 0.5), 5, (S, S))
EXPERIMENT = {"name": "e", "settings": {"evaluate_split": "auto"}}
SUBJECTS = ("s0", "s1", "s2")


def _stack(shift: int = 0, drop_last: bool = False) -> np.ndarray:
    """Two frames of an 8 x 8 square ring (a 4 x 4 cavity at ED, 2 x 2 at ES) in every plane,
    moved ``shift`` columns; without the last acquired slice when ``drop_last``."""
    masks = np.zeros((2, D, S, S), np.uint8)
    for frame, inner in ((0, 4), (1, 2)):
        masks[frame, :, 4:12, 4 + shift : 12 + shift] = 1
        start = 8 - inner // 2
        masks[frame, :, start : start + inner, start + shift : start + inner + shift] = 0
    if drop_last:
        masks[:, GRID.planes[-1]] = 0
    return masks


def _subject(name: str, masks: np.ndarray) -> SubjectVolumes:
    rng = np.random.default_rng(sum(map(ord, name)))
    return SubjectVolumes(
        cohort="ph",
        subject=name,
        group="control",
        series="cine",
        images=rng.uniform(0.0, 1.0, (2, D, S, S)).astype(np.float32),
        masks=masks,
        grid=GRID,
        slice_ids=("0", "1", "2"),
        slice_positions_mm=(0.0, 1.0, 2.0),
        frame_times_ms=np.array([0.0, 50.0]),
        es_frame=1,
        extra={"covariates": {"stack_myocardial_volume_ml": 0.03}},
    )


@pytest.fixture(scope="module")
def experiment_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The truth shard, the models' predictions, records and the merged evaluation tables."""
    root = tmp_path_factory.mktemp("attmnet_report")
    truth = root / "stack3d" / "ph" / "shard-000.h5"
    truth.parent.mkdir(parents=True)
    write_volumes(truth, [_subject(s, _stack()) for s in SUBJECTS], D, S)
    splits = root / "splits.tsv"
    write_tsv(
        pd.DataFrame({"cohort": "ph", "subject": SUBJECTS, "group": "control", "split": "test"}),
        splits,
    )
    predicted = {
        "attmnet": [_stack(), _stack(shift=1), _stack()],
        "unet2d": [_stack(drop_last=True), _stack(shift=1), _stack(shift=2)],
    }
    predictions, infos = {}, []
    for model, masks in predicted.items():
        path = root / "predictions" / model / "ph" / "shard-000.h5"
        path.parent.mkdir(parents=True)
        write_volumes(path, [_subject(s, m) for s, m in zip(SUBJECTS, masks, strict=True)], D, S)
        predictions[model] = path
        info = root / "models" / model / "model.tsv"
        info.parent.mkdir(parents=True)
        write_tsv(pd.DataFrame([{"parameters": 1000 + len(model), "width": 0.25}]), info)
        infos.append(info)
    tables = evaluate_stage(EXPERIMENT, truth, splits, predictions)
    for name in ("segmentation", "volumes"):
        write_tsv(tables[name], root / f"{name}.tsv")
    return {"root": root, "truth": truth, "predictions": predictions, "infos": infos}


def test_tables_stage_writes_the_three_tables(experiment_files: dict[str, Any]) -> None:
    root = experiment_files["root"]
    out = root / "tables"
    report.tables_stage(
        EXPERIMENT, root / "segmentation.tsv", root / "volumes.tsv", experiment_files["infos"], out
    )
    for name in ("table1_models", "wilcoxon", "volume_agreement"):
        assert (out / f"{name}.tsv").is_file() and (out / f"{name}.md").is_file()
    table1 = read_tsv(out / "table1_models.tsv")
    assert list(table1["model"]) == ["attmnet", "unet2d", EMPTY]
    assert list(table1["parameters"].iloc[:2]) == [1007, 1006]
    assert list(table1["volumes"]) == [6, 6, 6]
    assert "interpolated grid" in (out / "table1_models.md").read_text()
    agreement = read_tsv(out / "volume_agreement.tsv")
    assert set(agreement["method"]) == {"reference", "attmnet", "unet2d"}
    # attmnet's volumes are the reference's (a ring moved one pixel keeps its area)
    same = agreement[(agreement["method"] == "attmnet") & (agreement["against"] == "reference")]
    assert np.allclose(same["ba_bias"], 0.0)
    wilcoxon = read_tsv(out / "wilcoxon.tsv")
    assert set(wilcoxon["grid"]) == {"interpolated", "acquired"}


def test_tables_stage_refuses_an_empty_evaluation(tmp_path: Path) -> None:
    write_tsv(pd.DataFrame(columns=SEGMENTATION), tmp_path / "segmentation.tsv")
    with pytest.raises(ValueError, match="no volume was scored"):
        report.tables_stage(
            EXPERIMENT, tmp_path / "segmentation.tsv", tmp_path / "v.tsv", [], tmp_path
        )


def test_figures_stage_draws_fig4(experiment_files: dict[str, Any], tmp_path: Path) -> None:
    report.figures_stage(
        EXPERIMENT,
        experiment_files["root"] / "segmentation.tsv",
        [experiment_files["truth"]],
        list(experiment_files["predictions"].values()),
        tmp_path,
    )
    png = tmp_path / "fig4_volume.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "fig4_volume.svg").stat().st_size > 0


def _rows(model: str, dice: list[float], **changes: Any) -> list[dict[str, Any]]:
    return [
        {
            "grid": "interpolated",
            "split": "test",
            "method": model,
            "is_ed": True,
            "cohort": "ph",
            "subject": f"s{i}",
            "frame": 0,
            "dice": d,
            **changes,
        }
        for i, d in enumerate(dice)
    ]


def test_pick_volume_is_the_median_ed_volume_of_the_best_model() -> None:
    rows = [
        *_rows("unet2d", [0.5, 0.6, 0.7]),
        *_rows("attmnet", [0.95, 0.80, 0.90]),
        *_rows("attmnet", [0.10, 0.10, 0.10], is_ed=False, frame=1),  # not ED
        *_rows("attmnet", [0.99, 0.99, 0.99], grid="acquired"),
        *_rows(EMPTY, [0.0, 0.0, 0.0]),
    ]
    choice = figures.pick_volume(pd.DataFrame(rows))
    assert choice == figures.VolumeChoice("ph", "s2", 0, "attmnet", 0.90)
    assert figures.pick_volume(pd.DataFrame(_rows(EMPTY, [0.0, 0.0]))) is None


def test_fig4_refuses_masks_of_another_shape(tmp_path: Path) -> None:
    images = np.zeros((3, S, S))
    with pytest.raises(ValueError, match="unet2d has shape"):
        figures.fig4_volume(
            images,
            np.zeros((3, S, S), bool),
            {"unet2d": np.zeros((2, S, S), bool)},
            {},
            ("0", "1", "2"),
            "t",
            tmp_path / "f",
        )
