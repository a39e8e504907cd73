"""Paper 003's composite loss against a direct float64 computation from eqn 2, and its
invariances: exact strains under scaling, translation-free strain terms, gradients, frame mask."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from myoflow.methods.tagstrain.losses import (
    CompositeLandmarkLoss,
    circumferential_strain,
    composite_landmark_loss,
    radial_strain,
)


def _rings(batch: int, frames: int, seed: int = 0) -> np.ndarray:
    """Plausible landmarks ``[B, T, 2, 168]``: 24 radial lines of 7 points from radius 1 to 1.6,
    each frame scaled and jittered, so segment lengths stay well away from zero."""
    rng = np.random.default_rng(seed)
    angle = np.repeat(2 * np.pi * np.arange(24) / 24, 7)
    radius = np.tile(1.0 + 0.1 * np.arange(7), 24)
    ring = np.stack([radius * np.cos(angle), radius * np.sin(angle)])  # [2, 168]
    scale = 1.0 + 0.1 * rng.standard_normal((batch, frames, 1, 1))
    return ring * scale + 0.03 * rng.standard_normal((batch, frames, 2, 168))


def _reference_terms(pred: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per-frame ``(MSE, |radial error|, |circumferential error|)``, each ``[B, T]``, by loops."""
    b_n, t_n = pred.shape[:2]

    def strains(x: np.ndarray, b: int) -> tuple[np.ndarray, np.ndarray]:
        def rad_len(t: int, k: int) -> float:
            return math.dist(x[b, t, :, 7 * k], x[b, t, :, 7 * k + 6])

        def circ_len(t: int, k: int) -> float:
            return math.dist(x[b, t, :, 7 * k + 3], x[b, t, :, 7 * ((k + 1) % 24) + 3])

        out = []
        for length in (rad_len, circ_len):
            out.append(
                np.array(
                    [
                        np.mean(
                            [
                                (length(t, k) ** 2 - length(0, k) ** 2) / (2 * length(0, k) ** 2)
                                for k in range(24)
                            ]
                        )
                        for t in range(t_n)
                    ]
                )
            )
        return out[0], out[1]

    mse = np.zeros((b_n, t_n))
    rad = np.zeros((b_n, t_n))
    circ = np.zeros((b_n, t_n))
    for b in range(b_n):
        for t in range(t_n):
            mse[b, t] = np.mean(
                [
                    (pred[b, t, 0, i] - ref[b, t, 0, i]) ** 2
                    + (pred[b, t, 1, i] - ref[b, t, 1, i]) ** 2
                    for i in range(168)
                ]
            )
        (pr, pc), (rr, rc) = strains(pred, b), strains(ref, b)
        rad[b], circ[b] = np.abs(pr - rr), np.abs(pc - rc)
    return mse, rad, circ


def _t(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x))


@pytest.mark.parametrize("weight", [5.0, 0.7])
def test_loss_matches_a_direct_float64_computation(weight: float) -> None:
    ref = _rings(2, 4)
    pred = ref + 0.05 * np.random.default_rng(1).standard_normal(ref.shape)
    mse, rad, circ = _reference_terms(pred, ref)
    parts = CompositeLandmarkLoss(strain_weight=weight)(_t(pred), _t(ref))
    expected = {"position": mse.mean(), "radial": rad.mean(), "circumferential": circ.mean()}
    expected["total"] = np.mean(mse + weight * (rad + circ))
    assert min(expected.values()) > 1e-4  # every term is really exercised
    for name, value in parts.as_floats().items():
        assert value == pytest.approx(expected[name], rel=1e-6), name


def test_float32_loss_agrees_with_float64() -> None:
    ref = _rings(1, 3, seed=2)
    pred = ref + 0.05 * np.random.default_rng(3).standard_normal(ref.shape)
    low = composite_landmark_loss(_t(pred).float(), _t(ref).float())
    high = composite_landmark_loss(_t(pred), _t(ref))
    assert float(low.total) == pytest.approx(float(high.total), rel=1e-4)


def test_loss_is_zero_when_prediction_equals_reference() -> None:
    ref = _t(_rings(2, 5))
    parts = composite_landmark_loss(ref.clone(), ref)
    assert parts.as_floats() == {"total": 0, "position": 0, "radial": 0, "circumferential": 0}


def test_uniform_scaling_of_a_frame_gives_the_green_strain_of_the_scale() -> None:
    ref = _rings(1, 6, seed=4)
    pred = ref.copy()
    a, t = 0.13, 4
    centroid = pred[0, 0].mean(axis=-1, keepdims=True)
    pred[0, t] = centroid + (1 + a) * (pred[0, 0] - centroid)  # frame t: the ED frame scaled
    expected = ((1 + a) ** 2 - 1) / 2
    for strain in (radial_strain, circumferential_strain):
        got, base = strain(_t(pred))[0], strain(_t(ref))[0]
        assert float(got[t]) == pytest.approx(expected, rel=1e-9)
        assert float(got[0]) == 0.0
        torch.testing.assert_close(got[:t], base[:t])  # the other frames are untouched
        # the reference's own frame t is not ED scaled by (1 + a), so the loss sees an error
        assert abs(float(got[t] - base[t])) > 1e-3


def test_rigid_translation_changes_the_position_term_only() -> None:
    ref = _rings(2, 4, seed=5)
    pred = ref + 0.05 * np.random.default_rng(6).standard_normal(ref.shape)
    moved = pred + np.array([0.3, -0.2])[:, None]
    before = composite_landmark_loss(_t(pred), _t(ref)).as_floats()
    after = composite_landmark_loss(_t(moved), _t(ref)).as_floats()
    assert after["position"] > before["position"] + 0.05
    for name in ("radial", "circumferential"):
        assert after[name] == pytest.approx(before[name], rel=1e-9)


def test_gradients_are_finite_and_nonzero() -> None:
    ref = _t(_rings(2, 4, seed=7)).float()
    pred = (ref + 0.05 * torch.randn_like(ref)).requires_grad_(True)
    composite_landmark_loss(pred, ref).total.backward()
    assert pred.grad is not None
    assert torch.isfinite(pred.grad).all()
    assert pred.grad.abs().sum(dim=(-1, -2)).min() > 0  # every frame gets a gradient


def test_collapsed_segments_keep_the_gradient_finite() -> None:
    ref = _t(_rings(1, 3, seed=8))
    pred = ref.clone()
    pred[0, 2, :, 6::7] = pred[0, 2, :, 0::7]  # epicardium on the endocardium: zero length
    pred[0, 0] = 0.0  # a degenerate ED: every length zero, guarded by the eps clamp
    pred.requires_grad_(True)
    parts = composite_landmark_loss(pred, ref)
    parts.total.backward()
    assert math.isfinite(float(parts.total.detach()))
    assert pred.grad is not None and torch.isfinite(pred.grad).all()


def test_masked_frames_are_left_out() -> None:
    ref = _rings(2, 6, seed=9)
    pred = ref + 0.05 * np.random.default_rng(10).standard_normal(ref.shape)
    valid = np.ones((2, 6), dtype=bool)
    valid[0, 4:] = False
    ref[0, 4:], pred[0, 4:] = np.nan, 1e6  # padded frames: garbage
    pred_t = _t(pred).requires_grad_(True)
    parts = composite_landmark_loss(pred_t, _t(ref), valid=torch.from_numpy(valid))
    parts.total.backward()

    alone = composite_landmark_loss(_t(pred[:1, :4]), _t(ref[:1, :4]))
    seq0 = np.array(_reference_terms(pred[:1, :4], ref[:1, :4]))  # [3, 1, 4]
    seq1 = np.array(_reference_terms(pred[1:], ref[1:]))  # [3, 1, 6]
    per_term = np.concatenate([seq0.reshape(3, -1), seq1.reshape(3, -1)], axis=1).mean(axis=1)
    got = parts.as_floats()
    assert got["position"] == pytest.approx(per_term[0], rel=1e-6)
    assert got["radial"] == pytest.approx(per_term[1], rel=1e-6)
    assert got["circumferential"] == pytest.approx(per_term[2], rel=1e-6)
    assert pred_t.grad is not None and torch.isfinite(pred_t.grad).all()
    assert float(pred_t.grad[0, 4:].abs().max()) == 0.0

    one = composite_landmark_loss(_t(pred[:1]), _t(ref[:1]), valid=torch.from_numpy(valid[:1]))
    assert float(one.total) == pytest.approx(float(alone.total), rel=1e-12)
