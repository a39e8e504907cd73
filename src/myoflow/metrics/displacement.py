"""Displacement accuracy: SSIM of the x and y fields, RMSE per component and end-point error.

Which pixels. The fields are Lagrangian from ED, so a pixel of the ED myocardium mask is one
material point followed through the cycle; outside it the reference means nothing (the phantom's
blood and background motion only serve the images, a network's output there is unconstrained).
Every metric is therefore taken over the reference's ED myocardium, and over frames 1..T-1: frame
0 is the reference configuration, zero by definition, and scoring it would only dilute the errors.

RMSE and EPE are in mm. SSIM follows paper 000, which scores the x and y displacement "images" in
the network's normalised units: each component goes through ``to_network`` with the same ``D``
and mask as the training targets (myocardium in ``[32/255, 1]``, background 0), so SSIM sees the
field the network was trained to draw. Values beyond ``±D`` are clipped there, so SSIM cannot see
errors beyond ``D``; RMSE and EPE, in mm, do.

The SSIM map (Gaussian window, sigma 1.5, the usual constants for data range 1) is averaged over
the ED myocardium rather than the whole image: the background is 0 in both images, identical by
construction, and would push the image-wide mean toward 1 in proportion to its area, so that the
same myocardial error would score better on a larger field of view. Near the mask edge the window
still covers some background (0 in both images), as in the paper's whole-image SSIM: only where
the map is averaged differs.
"""

from __future__ import annotations

import numpy as np
from skimage.metrics import structural_similarity

from myoflow.preprocess.scaling import to_network

SSIM_SIGMA = 1.5


def _check(pred_mm: np.ndarray, ref_mm: np.ndarray, mask_ed: np.ndarray) -> np.ndarray:
    """The ED mask as bool after checking that the fields are ``[T >= 2, 2, H, W]`` and agree."""
    pred, ref, mask = np.shape(pred_mm), np.shape(ref_mm), np.shape(mask_ed)
    if len(ref) != 4 or ref[1] != 2 or ref[0] < 2:
        raise ValueError(f"reference displacement must be [T >= 2, 2, H, W], got shape {ref}")
    if pred != ref:
        raise ValueError(f"predicted displacement has shape {pred} but the reference {ref}")
    if mask != ref[2:]:
        raise ValueError(f"ED mask has shape {mask} but the displacement fields are {ref}")
    inside = np.asarray(mask_ed).astype(bool)
    if not inside.any():
        raise ValueError(f"ED mask of shape {mask} is empty: no material points to compare")
    return inside


def _masked_ssim(pred: np.ndarray, ref: np.ndarray, inside: np.ndarray) -> float:
    """Mean over ``inside`` of the SSIM map of two ``[H, W]`` images in ``[0, 1]``."""
    _, ssim_map = structural_similarity(
        pred,
        ref,
        data_range=1.0,
        gaussian_weights=True,
        sigma=SSIM_SIGMA,
        use_sample_covariance=False,
        full=True,
    )
    return float(ssim_map[inside].mean())


def displacement_metrics(
    pred_mm: np.ndarray, ref_mm: np.ndarray, mask_ed: np.ndarray, max_displacement_mm: float
) -> dict[str, float]:
    """``{ssim_x, ssim_y, rmse_x_mm, rmse_y_mm, epe_mm}`` of ``pred_mm`` against ``ref_mm``.

    Both fields are ``[T, 2, H, W]`` in mm (channel 0 = x), Lagrangian from frame 0; ``mask_ed``
    ``[H, W]`` is the reference's ED myocardium. Metrics cover the mask's pixels in frames
    1..T-1 (see the module docstring); ``max_displacement_mm`` is the ``D`` of ``to_network``
    used for SSIM. Raises ValueError on mismatched shapes or an empty mask.
    """
    inside = _check(pred_mm, ref_mm, mask_ed)
    pred = np.asarray(pred_mm, dtype=np.float64)[1:]
    ref = np.asarray(ref_mm, dtype=np.float64)[1:]
    err = (pred - ref)[:, :, inside]  # [T - 1, 2, N]
    net_pred = to_network(pred, max_displacement_mm, inside)
    net_ref = to_network(ref, max_displacement_mm, inside)
    ssim = [
        np.mean([_masked_ssim(net_pred[t, c], net_ref[t, c], inside) for t in range(len(pred))])
        for c in (0, 1)
    ]
    return {
        "ssim_x": float(ssim[0]),
        "ssim_y": float(ssim[1]),
        "rmse_x_mm": float(np.sqrt(np.mean(err[:, 0] ** 2))),
        "rmse_y_mm": float(np.sqrt(np.mean(err[:, 1] ** 2))),
        "epe_mm": float(np.mean(np.hypot(err[:, 0], err[:, 1]))),
    }
