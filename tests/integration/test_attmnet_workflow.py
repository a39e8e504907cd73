"""Paper 002 end to end on a tiny config: a mouse stack cohort through the stack3d profile, two
models (the 3D Attention M-net and the slice-wise 2-D U-net) through the generic rules; the
report holds Table I filled on both grids, the Wilcoxon tests, the volume agreement and Fig. 4."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.workflow import completed_run, read_tsv

pytestmark = pytest.mark.integration

TINY_ATTMNET = {
    "preprocess": {"size": 32, "frames": 4},
    "split": {"train": 0.5, "val": 0.25, "test": 0.25},
    "export_nifti": False,
    "cohorts": {
        "mice": {
            "source": "synthetic",
            "species": "mouse",
            "seed": 8,
            "subjects": 4,
            "frames": 4,
            "matrix": 40,
            "pixel_mm": [0.3, 0.33],
            "stack": {"gap_mm": 0.8, "slices": 6},
            "realism": "realistic",
            "snr": 12,
            "preprocess": {"stack3d": {"z_spacing_mm": 0.4, "size": 32, "depth": 12}},
        }
    },
    "experiments": {
        "tiny": {
            "method": "attmnet",
            "cohorts": ["mice"],
            "settings": {
                "models": ["attmnet", "unet2d"],
                "width": 0.125,
                "epochs": 2,
                "batch_size": 2,
                "lr": 0.001,
                "shift_px": 2,
            },
        }
    },
    "tracking_validation": {"enabled": False},
}


@pytest.fixture(scope="module")
def attmnet_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return completed_run(tmp_path_factory.mktemp("attmnet"), TINY_ATTMNET)


def test_table_1_is_filled_on_both_grids(attmnet_run: Path) -> None:
    tables = attmnet_run / "results" / "experiments" / "tiny" / "tables"
    for name, grid in (("table1_models", "interpolated"), ("table1_acquired", "acquired")):
        table = read_tsv(tables / f"{name}.tsv")
        assert list(table["model"]) == ["attmnet", "unet2d", "empty_mask"]
        assert set(table["grid"]) == {grid}
        assert table["dice_mean"].between(0, 1).all() and (table["volumes"] > 0).all()
        assert table.loc[table["model"] == "empty_mask", "dice_mean"].iloc[0] == 0
        trained = table[table["model"] != "empty_mask"]
        assert (trained["parameters"] > 0).all()
        assert (tables / f"{name}.md").read_text().startswith("# ")
    wilcoxon = read_tsv(tables / "wilcoxon.tsv")
    assert {"attmnet", "unet2d"} == set(wilcoxon["model_a"]) | set(wilcoxon["model_b"])
    agreement = read_tsv(tables / "volume_agreement.tsv")
    assert {"attmnet", "unet2d"} <= set(agreement["method"])


def test_the_volumes_keep_the_phantoms_truth(attmnet_run: Path) -> None:
    volumes = read_tsv(attmnet_run / "results" / "experiments" / "tiny" / "tables" / "volumes.tsv")
    reference = volumes[(volumes["method"] == "reference") & (volumes["frame"] == 0)]
    # the reference masks measure the phantom's exact myocardial volume to a few per cent
    ratio = reference["myocardial_volume_ml"] / reference["truth_myocardial_volume_ml"]
    assert ratio.between(0.95, 1.05).all(), ratio


def test_figure_4_is_drawn(attmnet_run: Path) -> None:
    figures = attmnet_run / "results" / "experiments" / "tiny" / "figures"
    assert (figures / "fig4_volume.png").stat().st_size > 0
    assert (figures / "fig4_volume.svg").stat().st_size > 0
