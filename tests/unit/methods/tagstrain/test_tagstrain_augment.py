"""The localisation network's orientation augmentation: the box of the transformed myocardium is
the transformed box, for each of the eight orientations of a square image."""

from __future__ import annotations

import numpy as np
import pytest

from myoflow.methods.tagstrain.boxes import box_of_mask, dihedral_image


@pytest.mark.parametrize("mirror", [False, True])
@pytest.mark.parametrize("turns", [0, 1, 2, 3])
def test_the_box_moves_with_the_image(turns: int, mirror: bool) -> None:
    mask = np.zeros((40, 40), bool)
    mask[5:12, 20:33] = True  # off-centre and not square: every map moves it differently
    moved = box_of_mask(dihedral_image(mask, turns, mirror), 0.6)
    np.testing.assert_allclose(
        box_of_mask(mask, 0.6).dihedral(turns, mirror, 40).corners, moved.corners, atol=1e-12
    )


def test_the_eight_orientations_are_distinct_and_a_full_turn_is_none() -> None:
    image = np.arange(16.0).reshape(4, 4)
    shapes = {dihedral_image(image, t, m).tobytes() for t in range(4) for m in (False, True)}
    assert len(shapes) == 8
    np.testing.assert_array_equal(dihedral_image(image, 4, False), image)
