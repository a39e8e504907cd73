"""Deep supervision: the weights, the loss over several scales, and a method trained on it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from support.toy_trainers import DeepSupervisionTrainer, smoothing_pairs

from myoflow.core.train.optim import OptimizerSpec
from myoflow.core.train.spec import TrainConfig
from myoflow.core.train.supervision import deep_supervision_loss, halving_weights


def squared_error(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return ((output - target.float()) ** 2).mean()


def test_halving_weights() -> None:
    """1, 1/2, 1/4 normalised: 4/7, 2/7, 1/7 (equal up to the rounding of the division)."""
    assert halving_weights(3) == pytest.approx([4 / 7, 2 / 7, 1 / 7], rel=1e-15)
    assert halving_weights(1) == [1.0]
    with pytest.raises(ValueError, match="at least one output"):
        halving_weights(0)


def test_one_target_resized_to_each_output_by_nearest_neighbour() -> None:
    """Labels 0..15 on 4 x 4 against all-zero outputs at 4 x 4 and 2 x 2: the squared labels
    average 1240 / 16 = 77.5 at full size; nearest neighbour keeps every other row and column
    (labels 0, 2, 8, 10: mean square 42), so the loss is 2/3 * 77.5 + 1/3 * 42."""
    labels = torch.arange(16).reshape(1, 1, 4, 4)
    outputs = [torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 2, 2)]
    loss = deep_supervision_loss(squared_error, outputs, labels)
    # float32 sums of integers below 2^24 are exact; the weights are rounded once.
    assert float(loss) == pytest.approx(2 / 3 * 77.5 + 42 / 3, rel=1e-6)


def test_given_targets_and_weights_are_used_as_they_are() -> None:
    outputs = [torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 2, 2)]
    targets = [torch.ones(1, 1, 4, 4), torch.full((1, 1, 2, 2), 3.0)]
    loss = deep_supervision_loss(squared_error, outputs, targets, weights=[1.0, 0.5])
    assert float(loss) == 1.0 * 1 + 0.5 * 9


@pytest.mark.parametrize(
    ("weights", "mode", "message"),
    [
        ([1.0], "nearest", "1 weights for 2 outputs"),
        ([1.0, -1.0], "nearest", "positive sum"),
        (None, "bilinear", "integer targets resize by nearest neighbour only"),
    ],
)
def test_inconsistent_arguments_are_refused(
    weights: list[float] | None, mode: str, message: str
) -> None:
    outputs = [torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 2, 2)]
    labels = torch.zeros(1, 1, 4, 4, dtype=torch.long)
    with pytest.raises(ValueError, match=message):
        deep_supervision_loss(F.mse_loss, outputs, labels, weights=weights, mode=mode)


def test_a_deeply_supervised_method_trains(tmp_path: Path) -> None:
    """A convolution learning a 3 x 3 smoothing from its outputs at two scales: the validation
    loss falls more than tenfold in 10 epochs (measured 0.09 -> 0.001)."""
    config = TrainConfig(10, 8, OptimizerSpec("adam", 0.05), seed=5)
    history = DeepSupervisionTrainer(
        config,
        {"net": "two-scale"},
        smoothing_pairs(32, 1),
        smoothing_pairs(16, 2),
        tmp_path,
        torch.device("cpu"),
    ).fit()
    assert history["val_loss"].iloc[-1] < history["val_loss"].iloc[0] / 10
