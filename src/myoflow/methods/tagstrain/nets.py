"""Paper 003's two networks: the ROI localisation CNN and the RNN-CNN landmark tracker.

Both follow the paper's Supplementary Figures 1-2 as built in its published TensorFlow code
(github.com/EdwardFerdian/mri-tagging-strain). Both regress plain numbers in whatever unit the
caller trains them in; the caller scales the targets so that they are O(1), e.g. box corners
divided by the image size and landmarks divided by the crop size, and scales predictions back.

Convolutions are "valid" (unpadded) as in that code: every output pixel then sees only real
image, with no zero border, and the shrinking maps keep the first dense layer smaller. The flatten
size therefore depends on the input size and is computed from it (``conv_output_size``), so the
same classes build the paper's networks and small demo ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

#: Landmarks per frame: 24 radial lines of 7 points, endocardium (0) to epicardium (6).
RADIAL_LINES = 24
POINTS_PER_LINE = 7
LANDMARKS = RADIAL_LINES * POINTS_PER_LINE


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Side of a square map after a convolution or pooling (floor rounding, as torch)."""
    return (size + 2 * padding - kernel) // stride + 1


def _checked(size: int, what: str, image_size: int) -> int:
    if size < 1:
        raise ValueError(f"image_size {image_size} is too small: the map vanishes at {what}")
    return size


def start_output_at(layer: nn.Module, values: torch.Tensor, weight_scale: float) -> None:
    """Make the linear output ``layer`` predict about ``values`` before any training: its bias
    becomes ``values`` (flattened) and its weights shrink by ``weight_scale``.

    Why: both networks regress positions, and a fresh output layer predicts about 0, a box or a
    ring of landmarks of no size. The paper's 12,408 slices leave tens of thousands of steps to
    leave it; a phantom-sized cohort has a few hundred, which it then spends finding the mean.
    """
    if not isinstance(layer, nn.Linear) or layer.bias is None:
        raise TypeError(f"expected a linear layer with a bias, got {layer!r}")
    with torch.no_grad():
        layer.bias.copy_(values.reshape(-1))
        layer.weight.mul_(weight_scale)


class RoiCNN(nn.Module):
    """ED frame ``[B, 1, S, S]`` -> box corners ``[B, 4]`` (x1, y1, x2, y2), paper 003 Suppl. Fig 1;
    ``in_channels`` 2 adds the series' motion image (``slices.motion_image``, beyond the paper).

    Five blocks of 3 x 3 valid conv + batch norm + ReLU + 3 x 3 max pool with stride 2, then
    dense ``dense`` + ReLU + dropout and a linear output of 4. The published code pools with
    TensorFlow's "valid" padding (``pool_padding=0``, the default): at S = 256 the maps are
    254 -> 126, 124 -> 61, 59 -> 29, 27 -> 13, 11 -> 5, so 128 x 5 x 5 features; at S = 128 the
    last map is 1 x 1, and below about 126 it vanishes. ``pool_padding=1`` gives the output size
    of TensorFlow "same" pooling (ceil(s / 2); for even s TF pads only the bottom/right, so the
    windows sit one pixel off, immaterial for a network trained from scratch) and lets inputs
    down to 64 x 64 through (62 -> 31, 29 -> 15, 13 -> 7, 5 -> 3, 1 -> 1).
    """

    def __init__(
        self,
        image_size: int = 256,
        filters: Sequence[int] = (32, 128, 128, 128, 128),
        dense: int = 1024,
        dropout: float = 0.2,
        pool_padding: int = 0,
        in_channels: int = 1,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels, size = in_channels, image_size
        for i, f in enumerate(filters):
            layers += [
                nn.Conv2d(channels, f, kernel_size=3),
                nn.BatchNorm2d(f),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=3, stride=2, padding=pool_padding),
            ]
            size = _checked(conv_output_size(size, 3), f"conv {i + 1}", image_size)
            size = _checked(conv_output_size(size, 3, 2, pool_padding), f"pool {i + 1}", image_size)
            channels = f
        self.image_size = image_size
        self.in_channels = in_channels
        self.features = nn.Sequential(*layers)
        self.flat_features = channels * size * size
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(self.flat_features, dense),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(dense, 4),
        )

    def start_at(self, corners: torch.Tensor, weight_scale: float = 0.1) -> None:
        """Beyond the paper: start from the box ``corners`` ``[4]`` (the training set's mean
        target, in the targets' unit) instead of a box of no size at 0 (``start_output_at``)."""
        if corners.shape != (4,):
            raise ValueError(f"corners must be [4], got {tuple(corners.shape)}")
        start_output_at(self.head[-1], corners, weight_scale)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """``[B, C, S, S]`` -> ``[B, 4]``, in the unit the targets were scaled to."""
        return self.head(self.features(image))


class RNNCNN(nn.Module):
    """Cropped cine ``[B, T, 1, S, S]`` -> landmarks ``[B, T, 2, 168]``, paper 003 Suppl. Fig 2.

    A per-frame CNN with shared weights (one module applied to the B * T frames as one batch):
    3 x 3 valid conv 32 + LeakyReLU(0.1) + 2 x 2 max pool, valid conv 64 + pool, valid conv 64 +
    pool, 3 x 3 "same" conv 128, flatten (channel-major, as the published code's transpose), dense
    ``dense`` + LeakyReLU. At S = 128: 126 -> 63, 61 -> 30, 28 -> 14, 14, so 128 x 14 x 14
    features. Filter counts are the paper's times ``width`` (rounded, at least 1).

    An LSTM of ``lstm_units`` runs over the frames with dropout on its output (the published
    code's ``DropoutWrapper``); it is unidirectional, so frame t's output depends on frames <= t
    only and trailing padded frames cannot change earlier ones. Then dense ``dense`` + ReLU +
    dropout and a linear layer of 336 per frame, read as ``[2, 168]``: the first 168 numbers are
    x, the next 168 y, landmark ``line * 7 + point``. torch's LSTM has two bias vectors where
    TensorFlow's ``BasicLSTMCell`` has one, so it has ``4 * lstm_units`` more parameters.

    ``frames`` is the longest sequence accepted (the paper fixes 20); the weights do not depend
    on it, and shorter sequences run unchanged.
    """

    def __init__(
        self,
        image_size: int = 128,
        frames: int = 20,
        width: float = 1.0,
        dense: int = 1024,
        lstm_units: int = 1024,
        dropout: float = 0.2,
        negative_slope: float = 0.1,
    ) -> None:
        super().__init__()
        c1, c2, c3, c4 = (max(1, round(f * width)) for f in (32, 64, 64, 128))

        def act() -> nn.Module:
            return nn.LeakyReLU(negative_slope)

        self.cnn = nn.Sequential(
            nn.Conv2d(1, c1, kernel_size=3),
            act(),
            nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, kernel_size=3),
            act(),
            nn.MaxPool2d(2),
            nn.Conv2d(c2, c3, kernel_size=3),
            act(),
            nn.MaxPool2d(2),
            nn.Conv2d(c3, c4, kernel_size=3, padding=1),
            act(),
            nn.Flatten(),
        )
        size = image_size
        for i in range(3):
            size = _checked(conv_output_size(size, 3), f"conv {i + 1}", image_size)
            size = _checked(conv_output_size(size, 2, 2), f"pool {i + 1}", image_size)
        self.image_size = image_size
        self.frames = frames
        self.flat_features = c4 * size * size
        self.embed = nn.Sequential(nn.Linear(self.flat_features, dense), act())
        self.lstm = nn.LSTM(dense, lstm_units, batch_first=True)
        self.lstm_dropout = nn.Dropout(dropout)
        self.head = nn.Sequential(
            nn.Linear(lstm_units, dense),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(dense, 2 * LANDMARKS),
        )

    def start_at(self, landmarks: torch.Tensor, weight_scale: float = 0.1) -> None:
        """Beyond the paper: start from the landmark configuration ``[2, 168]`` (the training
        set's mean, in the targets' unit) instead of from every landmark near 0
        (``start_output_at``). From a collapsed start the ED segment lengths are near 0 and the
        strain terms of the composite loss, which divide by them, explode."""
        if landmarks.shape != (2, LANDMARKS):
            raise ValueError(f"landmarks must be [2, {LANDMARKS}], got {tuple(landmarks.shape)}")
        start_output_at(self.head[-1], landmarks, weight_scale)

    def forward(self, cine: torch.Tensor) -> torch.Tensor:
        """``[B, T, 1, S, S]`` with ``T <= frames`` -> ``[B, T, 2, 168]``."""
        if cine.ndim != 5 or cine.shape[1] > self.frames:
            raise ValueError(f"expected [B, T<={self.frames}, 1, S, S], got {tuple(cine.shape)}")
        b, t = cine.shape[:2]
        features = self.embed(self.cnn(cine.reshape(b * t, *cine.shape[2:])))
        hidden, _ = self.lstm(features.reshape(b, t, -1))
        return self.head(self.lstm_dropout(hidden)).reshape(b, t, 2, LANDMARKS)
