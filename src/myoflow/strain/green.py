"""Dense Green-Lagrange strain from a Lagrangian displacement field.

F = I + grad(u), E = 1/2 (F^T F - I); Err = e_r^T E e_r, Ecc = e_c^T E e_c with e_r, e_c from the
end-diastolic LV centroid (docs/architecture.md). Engineering strain along a direction n is the
stretch minus one: sqrt(1 + 2 n^T E n) - 1.

Gradients are central differences inside the mask. Where a neighbour lies outside the mask the
one-sided difference is used, and where both do the pixel gets NaN: displacement outside the
myocardium (blood, background, a network's unconstrained output) never leaks into the strain.
"""

from __future__ import annotations

import numpy as np

from myoflow.strain.aha import polar_grid


def _masked_derivative(f: np.ndarray, inside: np.ndarray, axis: int, step: float) -> np.ndarray:
    """Derivative of ``f`` [.., H, W] along ``axis`` (-2 rows, -1 columns) restricted to ``inside``."""
    fwd = np.roll(f, -1, axis=axis)
    bwd = np.roll(f, 1, axis=axis)
    in_fwd = np.roll(inside, -1, axis=axis)
    in_bwd = np.roll(inside, 1, axis=axis)
    n = inside.shape[axis]
    edge: list[slice | int] = [slice(None)] * inside.ndim
    edge[axis] = n - 1
    in_fwd[tuple(edge)] = False
    edge[axis] = 0
    in_bwd[tuple(edge)] = False
    central = (fwd - bwd) / (2.0 * step)
    forward = (fwd - f) / step
    backward = (f - bwd) / step
    out = np.where(
        in_fwd & in_bwd, central, np.where(in_fwd, forward, np.where(in_bwd, backward, np.nan))
    )
    return np.where(inside, out, np.nan)


def deformation_gradient(
    displacement: np.ndarray, spacing_mm: tuple[float, float], mask: np.ndarray | None = None
) -> np.ndarray:
    """``F`` as ``[T, 2, 2, H, W]`` (F[i, j] = d x_i / d X_j, index 0 = x) from ``u`` [T, 2, H, W] mm."""
    t, _, h, w = displacement.shape
    inside = np.ones((h, w), bool) if mask is None else mask.astype(bool)
    inside_t = np.broadcast_to(inside, (t, h, w))
    grad = np.empty((t, 2, 2, h, w))
    for i in range(2):
        grad[:, i, 0] = _masked_derivative(displacement[:, i], inside_t, -1, spacing_mm[1])
        grad[:, i, 1] = _masked_derivative(displacement[:, i], inside_t, -2, spacing_mm[0])
    grad[:, 0, 0] += 1.0
    grad[:, 1, 1] += 1.0
    return grad


def green_lagrange(f: np.ndarray) -> np.ndarray:
    """``E = 1/2 (F^T F - I)`` for F ``[..., 2, 2, H, W]``."""
    c = np.einsum("...kihw,...kjhw->...ijhw", f, f)
    c[..., 0, 0, :, :] -= 1.0
    c[..., 1, 1, :, :] -= 1.0
    return 0.5 * c


def directional(e: np.ndarray, n: np.ndarray) -> np.ndarray:
    """``n^T E n`` for E ``[..., 2, 2, H, W]`` and unit field n ``[2, H, W]``."""
    return np.einsum("ihw,...ijhw,jhw->...hw", n, e, n)


def green_to_engineering(e_nn: np.ndarray) -> np.ndarray:
    """Engineering strain (stretch - 1) from the Green-Lagrange normal strain along a direction."""
    return np.sqrt(1.0 + 2.0 * e_nn) - 1.0


def radial_circumferential(
    displacement: np.ndarray,
    spacing_mm: tuple[float, float],
    centroid_mm: np.ndarray,
    mask: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Per-pixel ``{'err_green', 'ecc_green', 'err_eng', 'ecc_eng'}`` maps, each ``[T, H, W]``.

    ``mask`` is the ED myocardium (the Lagrangian reference); pixels outside it are NaN.
    """
    return strain_from_deformation(
        deformation_gradient(displacement, spacing_mm, mask), spacing_mm, centroid_mm
    )


def strain_from_deformation(
    f: np.ndarray, spacing_mm: tuple[float, float], centroid_mm: np.ndarray
) -> dict[str, np.ndarray]:
    """The maps of ``radial_circumferential`` from a deformation gradient ``[T, 2, 2, H, W]``
    (mm units), for methods that measure F directly (HARP strain from phase gradients)."""
    e = green_lagrange(f)
    _, e_r, e_c = polar_grid(f.shape[-2:], spacing_mm, centroid_mm)
    err = directional(e, e_r)
    ecc = directional(e, e_c)
    return {
        "err_green": err,
        "ecc_green": ecc,
        "err_eng": green_to_engineering(err),
        "ecc_eng": green_to_engineering(ecc),
    }


def segment_means(strain: np.ndarray, segments: np.ndarray) -> dict[int, np.ndarray]:
    """Mean of a ``[T, H, W]`` strain map over each AHA segment of ``segments`` [H, W] -> ``[T]``."""
    out: dict[int, np.ndarray] = {}
    for seg in np.unique(segments[segments > 0]):
        sel = segments == seg
        out[int(seg)] = np.nanmean(strain[:, sel], axis=1)
    return out
