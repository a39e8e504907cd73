"""The prediction stage gives millimetres: the scale D and the axes, from a known network output.

The network's output is made known, so the expected displacement follows from the definition of the
scaling alone (docs/configuration.md, ``max_displacement_mm``; paper 000, section 2.1): ``[-D, D]``
mm maps affinely onto grey levels ``[32, 255]``, divided by 255. The test writes that map itself
(``_network_value``) rather than calling ``preprocess.scaling``, and predictions must come back as
``[T, 2, H, W]`` mm with channel 0 = x along the columns and 1 = y down the rows
(docs/configuration.md, Conventions). ``D`` is not 1 and x and y differ in sign and size, so a wrong
``D`` or swapped channels show.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from support.cohorts import write_tiny_cohort
from torch import nn

import myoflow.core.nets
from myoflow.core.nets import build_net
from myoflow.io.shards import read_displacements, read_shard
from myoflow.methods.myonet.stages import LEVELS, net_signature, predict_stage
from myoflow.samples import read_splits

D_MM = 2.5
#: The constant displacement the constant network draws: x and y differ in sign and size.
U_X_MM, U_Y_MM = 1.75, -0.6
#: Float32 network output: a few ulps of a value below 1 (~2e-7) times d(mm)/d(value) =
#: 2D * 255/223 (5.7 mm for D = 2.5) is ~1e-6 mm; 1e-5 mm leaves room for the float32 inverse.
ATOL_MM = 1e-5


def _network_value(u_mm: np.ndarray | torch.Tensor, d: float) -> Any:
    """The network value of a displacement, from the definition: grey ``32 + (u + D) * 223 /
    (2D)``, over 255."""
    return (32.0 + (u_mm + d) * (255.0 - 32.0) / (2.0 * d)) / 255.0


def _experiment(test_time_flips: bool = False) -> dict[str, Any]:
    return {
        "name": "predict",
        "settings": {
            "base_width": 2,
            "max_displacement_mm": D_MM,
            "evaluate_split": "test",
            "test_time_flips": test_time_flips,
        },
    }


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``(shard, splits)`` of the six-rat tiny cohort (32 x 32, 8 frames; two test subjects)."""
    return write_tiny_cohort(tmp_path_factory.mktemp("predict_cohort"))


def _test_keys(cohort: tuple[Path, Path]) -> set[str]:
    shard, splits = cohort
    table = read_splits([splits])
    test = set(table.loc[table["split"] == "test", "subject"])
    return {rec.key for rec in read_shard(shard) if rec.subject in test}


def _save_checkpoint(state_dict: dict[str, torch.Tensor], path: Path) -> Path:
    """A checkpoint as training writes ``best.pt``, for the experiment's MyoNet signature."""
    signature = net_signature(_experiment(), "myonet")
    torch.save(
        {"signature": signature, "state_dict": state_dict, "epoch": 1, "val_loss": 0.0}, path
    )
    return path


def _predict(
    cohort: tuple[Path, Path], weights: Path, out: Path, test_time_flips: bool = False
) -> dict[str, np.ndarray]:
    shard, splits = cohort
    experiment = _experiment(test_time_flips)
    predict_stage(experiment, "myonet", weights, shard, splits, out, device="cpu")
    return read_displacements(out)


def test_constant_network_output_gives_its_displacement_in_mm(
    cohort: tuple[Path, Path], tmp_path: Path
) -> None:
    """The real MyoNet whose head ignores its features (weights 0) and whose biases are the
    logits of the network values of ``(U_X, U_Y)`` outputs those values everywhere: every pixel
    of every frame must come back as ``U_X`` mm in channel 0 and ``U_Y`` mm in channel 1."""
    torch.manual_seed(0)
    model = build_net("myonet", base_width=2, levels=LEVELS)
    values = _network_value(torch.tensor([U_X_MM, U_Y_MM], dtype=torch.float64), D_MM)
    with torch.no_grad():
        model.head.conv.weight.zero_()
        model.head.conv.bias.copy_(torch.logit(values))
    weights = _save_checkpoint(model.state_dict(), tmp_path / "best.pt")
    predicted = _predict(cohort, weights, tmp_path / "pred.h5")
    assert set(predicted) == _test_keys(cohort)
    for key, u in predicted.items():
        assert u.shape == (8, 2, 32, 32), key
        np.testing.assert_allclose(u[:, 0], U_X_MM, rtol=0, atol=ATOL_MM, err_msg=f"{key}: x")
        np.testing.assert_allclose(u[:, 1], U_Y_MM, rtol=0, atol=ATOL_MM, err_msg=f"{key}: y")


#: The known field of ``KnownField`` in mm: x grows along the columns and with the frame, y down
#: the rows and with the cine's intensity (in [0, 1]); all inside ``±D``.
X_PER_COLUMN, X_PER_FRAME, Y_PER_ROW, Y_PER_INTENSITY = 0.08, 0.05, -0.06, 0.5


def _known_field(cine: np.ndarray) -> np.ndarray:
    """``[T, 2, H, W]`` mm that ``KnownField`` draws for ``cine`` ``[T, H, W]``."""
    t, h, w = cine.shape
    frames, rows, cols = np.meshgrid(np.arange(t), np.arange(h), np.arange(w), indexing="ij")
    ux = X_PER_COLUMN * (cols - (w - 1) / 2) + X_PER_FRAME * frames
    uy = Y_PER_ROW * (rows - (h - 1) / 2) + Y_PER_INTENSITY * cine.astype(np.float64)
    return np.stack([ux, uy], axis=1)


class KnownField(nn.Module):
    """A stand-in network drawing ``_known_field`` of its input in network values.

    Unlike a constant it tells the axes apart: the frame, row and column of every output value,
    and which record's cine it came from, are visible in the millimetres that come back.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, _, t, h, w = x.shape
        frames = torch.arange(t, dtype=x.dtype).view(t, 1, 1)
        rows = torch.arange(h, dtype=x.dtype).view(1, h, 1)
        cols = torch.arange(w, dtype=x.dtype).view(1, 1, w)
        ux = X_PER_COLUMN * (cols - (w - 1) / 2) + X_PER_FRAME * frames
        uy = Y_PER_ROW * (rows - (h - 1) / 2) + Y_PER_INTENSITY * x[:, 0]
        ux = ux.expand_as(uy)
        return torch.stack([_network_value(ux, D_MM), _network_value(uy, D_MM)], dim=1)


def test_prediction_keeps_frames_rows_and_columns_of_the_network_output(
    cohort: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the same stage, a network drawing a field that varies along every axis comes back
    as that field in mm, frame by frame, x in channel 0 along the columns, y in channel 1."""
    assert np.abs(_known_field(np.ones((8, 32, 32)))).max() < D_MM  # in the network's range
    monkeypatch.setattr(myoflow.core.nets, "build_net", lambda *args, **kwargs: KnownField())
    weights = _save_checkpoint({}, tmp_path / "best.pt")  # KnownField has no parameters
    predicted = _predict(cohort, weights, tmp_path / "pred.h5")
    shard, _ = cohort
    cines = {rec.key: rec.cine for rec in read_shard(shard)}
    assert set(predicted) == _test_keys(cohort)
    for key, u in predicted.items():
        np.testing.assert_allclose(u, _known_field(cines[key]), rtol=0, atol=ATOL_MM, err_msg=key)


def test_test_time_flips_keep_the_part_of_the_field_that_mirrors_with_the_image(
    cohort: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Averaged over the cine and its mirror images, each prediction mirrored back (its mirrored
    component negated), ``KnownField`` keeps exactly its terms that mirror with the image: x
    proportional to the column offset, y to the row offset. The terms a mirror does not carry
    (x growing with the frame, y with the intensity) cancel: a flip undone on the wrong axis,
    or without the sign, would leave them or lose the others."""
    monkeypatch.setattr(myoflow.core.nets, "build_net", lambda *args, **kwargs: KnownField())
    weights = _save_checkpoint({}, tmp_path / "best.pt")
    predicted = _predict(cohort, weights, tmp_path / "pred.h5", test_time_flips=True)
    assert set(predicted) == _test_keys(cohort)
    for key, u in predicted.items():
        t, _, h, w = u.shape
        rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
        expected_x = np.broadcast_to(X_PER_COLUMN * (cols - (w - 1) / 2), (t, h, w))
        expected_y = np.broadcast_to(Y_PER_ROW * (rows - (h - 1) / 2), (t, h, w))
        np.testing.assert_allclose(u[:, 0], expected_x, rtol=0, atol=ATOL_MM, err_msg=key)
        np.testing.assert_allclose(u[:, 1], expected_y, rtol=0, atol=ATOL_MM, err_msg=key)
