"""Mirror images of a cine and of a displacement field, for training's augmentation and for
test-time flips (``myoflow.methods.myonet.stages.predict_stage``).

Torch-free, so the prediction stage's helpers import it without the network stack. Mirroring
the columns maps a material point at x to W-1-x, so its x displacement changes sign (and
likewise rows and y).
"""

from __future__ import annotations

import numpy as np


def flip_cine(image: np.ndarray, flip_x: bool, flip_y: bool) -> np.ndarray:
    """An image ``[..., H, W]`` mirrored along its columns (x) and / or rows (y)."""
    if flip_x:
        image = image[..., ::-1]
    if flip_y:
        image = image[..., ::-1, :]
    return np.ascontiguousarray(image)


def flip_field(displacement: np.ndarray, flip_x: bool, flip_y: bool) -> np.ndarray:
    """A displacement ``[T, 2, H, W]`` mirrored like its image: mirroring columns also negates
    the x component, mirroring rows the y component. Its own inverse."""
    u = flip_cine(displacement, flip_x, flip_y).copy()
    if flip_x:
        u[:, 0] *= -1.0
    if flip_y:
        u[:, 1] *= -1.0
    return u
