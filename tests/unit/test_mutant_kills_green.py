"""Green-Lagrange strain maps: what mutation testing (``make mutants``) found untested.

``radial_circumferential`` documents NaN outside the ED myocardium. Mutants that filled those
pixels, or the one-sided derivative's missing neighbours, with ``None`` survived: the values
inside stayed right, but the maps became object arrays that NumPy's NaN-aware reductions and
HDF5 cannot take. Here the maps' type and their NaN pattern are checked on a translated ring.
"""

from __future__ import annotations

import numpy as np

from myoflow.strain.green import radial_circumferential


def test_maps_are_float_with_nan_exactly_outside_the_mask() -> None:
    rows, cols = np.indices((16, 16))
    r = np.hypot(rows - 7.5, cols - 7.5)
    mask = (r >= 3) & (r <= 6)
    u = np.zeros((2, 2, 16, 16))
    u[1, 0] = 0.5  # a rigid shift in x: no strain anywhere in the wall
    maps = radial_circumferential(u, (1.0, 1.0), np.array([7.5, 7.5]), mask)
    for name, values in maps.items():
        assert values.dtype == np.float64, name
        assert np.all(np.isnan(values[:, ~mask])), name
        np.testing.assert_allclose(values[:, mask], 0.0, atol=1e-12, err_msg=name)
