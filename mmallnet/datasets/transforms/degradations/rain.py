# Copyright (c) mmallnet contributors. All rights reserved.
"""Procedural rain-streak degradation.

The core maths is exposed as pure functions (:func:`line_kernel`,
:func:`rain_layer`, :func:`blend_rain`, :func:`add_rain`); the transform is
:class:`RainStreaks` (see :mod:`mmallnet.datasets.transforms.degradations.base`
for the shared contract and the per-sample seeding).
"""
import math
from typing import Optional, Tuple

import cv2
import numpy as np
from mmseg.registry import TRANSFORMS

from .base import (
    BaseDegradation,
    Range,
    _check_range,
    _randint,
    _to_uint8,
    _uniform,
)

#: Upper bounds of the rain parameters, well above the defaults (density
#: <= 0.008, length <= 40 px, width <= 2 px, blur <= 1 px): at density
#: 0.05 streaks of 20 px already cover the image (density x length >= 1);
#: the stamp kernel is (length + width + 1)^2 px, so longer streaks cost
#: quadratically more and exceed the height of the benchmark crops.
DENSITY_MAX = 0.05
LENGTH_MAX = 200
WIDTH_MAX = 10
BLUR_MAX = 10.0


# ---------------------------------------------------------------------------
# pure functions: rain
# ---------------------------------------------------------------------------
def line_kernel(length: int, angle: float, width: int) -> np.ndarray:
    """Anti-aliased streak stamp of peak value 1.

    The area coverage of a ``length`` x ``width`` px rectangle centred in an
    odd square kernel (estimated with 8x8 samples per pixel), divided by
    its maximum. ``angle`` is in degrees clockwise from the vertical (0 =
    vertical streaks, positive = the top of the streak leans to the right).
    The kernel is point-symmetric.

    Args:
        length (int): Streak length in pixels (>= 1).
        angle (float): Angle in degrees from the vertical.
        width (int): Streak width in pixels (>= 1).

    Returns:
        np.ndarray: float32 kernel with values in [0, 1].
    """
    ss = 8
    size = int(math.ceil(length + width)) + 1
    size += 1 - size % 2
    c = (size - 1) / 2
    pos = (np.arange(size * ss) + 0.5) / ss - 0.5 - c
    x, y = pos[None, :], pos[:, None]
    rad = math.radians(angle)
    along = x * math.sin(rad) - y * math.cos(rad)
    across = x * math.cos(rad) + y * math.sin(rad)
    inside = (np.abs(along) <= length / 2) & (np.abs(across) <= width / 2)
    kernel = inside.reshape(size, ss, size, ss).mean(axis=(1, 3))
    return (kernel / kernel.max()).astype(np.float32)


def rain_layer(shape: Tuple[int, int],
               rng: np.random.Generator,
               density: float,
               length: int,
               angle: float,
               width: int,
               blur: float,
               intensity: float) -> np.ndarray:
    """Procedural rain-streak layer in [0, 1].

    Sparse seeds (each pixel is a seed with probability ``density``, seed
    brightness ~ U(0.5, 1)) are stamped with :func:`line_kernel` (overlaps
    add), blurred with a Gaussian of std ``blur`` px (skipped when 0),
    scaled by ``intensity`` and clipped to [0, 1].

    Args:
        shape (tuple[int, int]): ``(H, W)``.
        rng (np.random.Generator): Generator (draws two HxW arrays).
        density (float): Seed probability per pixel.
        length (int): Streak length (px).
        angle (float): Streak angle (degrees from the vertical).
        width (int): Streak width (px).
        blur (float): Gaussian std (px).
        intensity (float): Peak layer value in [0, 1].

    Returns:
        np.ndarray: float32 HxW layer.
    """
    h, w = shape
    seeds = (rng.random((h, w)) < density) * rng.uniform(0.5, 1.0, (h, w))
    kernel = line_kernel(length, angle, width)
    # the kernel is point-symmetric, so correlation == convolution
    layer = cv2.filter2D(seeds.astype(np.float32), -1, kernel,
                         borderType=cv2.BORDER_REFLECT)
    if blur > 0:
        layer = cv2.GaussianBlur(layer, (0, 0), sigmaX=blur,
                                 borderType=cv2.BORDER_REFLECT)
    return np.clip(layer * intensity, 0.0, 1.0).astype(np.float32)


def blend_rain(img: np.ndarray,
               layer: np.ndarray,
               mode: str = 'screen') -> np.ndarray:
    """Blend a gray rain layer onto an image.

    With ``J = img / 255`` and ``R = layer``: ``'screen'`` gives
    ``1 - (1 - J)(1 - R)``, ``'add'`` gives ``min(J + R, 1)``; the result
    is scaled by 255 and rounded half to even. Both only brighten.

    Args:
        img (np.ndarray): HxWx3 uint8 image.
        layer (np.ndarray): HxW layer in [0, 1].
        mode (str): ``'screen'`` or ``'add'``.

    Returns:
        np.ndarray: uint8 image.
    """
    j = img.astype(np.float64) / 255.0
    r = layer.astype(np.float64)[..., None]
    if mode == 'screen':
        out = 1.0 - (1.0 - j) * (1.0 - r)
    elif mode == 'add':
        out = np.minimum(j + r, 1.0)
    else:
        raise ValueError(f"blend must be 'screen' or 'add', got {mode!r}")
    return _to_uint8(out * 255.0)


def add_rain(img: np.ndarray,
             rng: np.random.Generator,
             density: float = 0.005,
             length: int = 20,
             angle: float = 0.0,
             width: int = 1,
             blur: float = 0.7,
             intensity: float = 0.8,
             blend: str = 'screen') -> np.ndarray:
    """Add procedural rain streaks (:func:`rain_layer` + :func:`blend_rain`).

    Args:
        img (np.ndarray): HxWx3 uint8 image.
        rng (np.random.Generator): Generator.
        density, length, angle, width, blur, intensity: See
            :func:`rain_layer`.
        blend (str): See :func:`blend_rain`.

    Returns:
        np.ndarray: Rainy uint8 image.
    """
    layer = rain_layer(img.shape[:2], rng, density, length, angle, width,
                       blur, intensity)
    return blend_rain(img, layer, blend)

# ---------------------------------------------------------------------------
# transforms
# ---------------------------------------------------------------------------
@TRANSFORMS.register_module()
class RainStreaks(BaseDegradation):
    """Procedural rain streaks.

    Per sample draws density, length, angle, width, blur and intensity
    uniformly from their ranges (length and width as integers, inclusive)
    and applies :func:`add_rain`. A scalar fixes the value.
    ``degradation_type='rain'``; params record the drawn values, ``blend``
    and ``seed``.

    Args:
        density (float | tuple): Seed probability per pixel, at most
            :data:`DENSITY_MAX` (0.05). Defaults to (0.002, 0.008).
        length (int | tuple): Streak length (px), 1 to :data:`LENGTH_MAX`
            (200). Defaults to (10, 40).
        angle (float | tuple): Degrees clockwise from the vertical, in
            [-90, 90]. Defaults to (-30, 30).
        width (int | tuple): Streak width (px), 1 to :data:`WIDTH_MAX`
            (10). Defaults to (1, 2).
        blur (float | tuple): Gaussian std of the layer blur (px), 0 to
            :data:`BLUR_MAX` (10). Defaults to (0.5, 1.0).
        intensity (float | tuple): Peak streak value in [0, 1].
            Defaults to (0.6, 0.9).
        blend (str): ``'screen'`` or ``'add'``. Defaults to 'screen'.
        seed (int, optional): See :class:`BaseDegradation`.
    """

    degradation_type = 'rain'

    def __init__(self,
                 density: Range = (0.002, 0.008),
                 length: Range = (10, 40),
                 angle: Range = (-30.0, 30.0),
                 width: Range = (1, 2),
                 blur: Range = (0.5, 1.0),
                 intensity: Range = (0.6, 0.9),
                 blend: str = 'screen',
                 seed: Optional[int] = 0) -> None:
        super().__init__(seed)
        self.density = _check_range(
            density, 'density', 0.0, DENSITY_MAX,
            hint='density is the probability that a pixel seeds a streak '
            f'(defaults 0.002-0.008); {DENSITY_MAX:g} already covers the '
            'image. Did you give a percentage? 0.5 % is 0.005.')
        self.length = _check_range(
            length, 'length', 1, LENGTH_MAX, integer=True,
            hint='length is the streak length in pixels (defaults 10-40).')
        self.angle = _check_range(
            angle, 'angle', -90.0, 90.0,
            hint='angle is in degrees from the vertical; an angle and '
            'angle - 180 draw the same streaks.')
        self.width = _check_range(
            width, 'width', 1, WIDTH_MAX, integer=True,
            hint='width is the streak width in pixels (defaults 1-2).')
        self.blur = _check_range(
            blur, 'blur', 0.0, BLUR_MAX,
            hint='blur is the Gaussian std in pixels (defaults 0.5-1).')
        self.intensity = _check_range(
            intensity, 'intensity', 0.0, 1.0,
            hint='intensity is on a 0..1 scale; did you give it on 0..255? '
            'Divide by 255.')
        if blend not in ('screen', 'add'):
            raise ValueError(
                f"blend must be 'screen' or 'add', got {blend!r}")
        self.blend = blend

    def degrade(self, img, rng, results):
        params = dict(
            density=_uniform(rng, self.density),
            length=_randint(rng, self.length),
            angle=_uniform(rng, self.angle),
            width=_randint(rng, self.width),
            blur=_uniform(rng, self.blur),
            intensity=_uniform(rng, self.intensity))
        out = add_rain(img, rng, blend=self.blend, **params)
        params['blend'] = self.blend
        return out, params

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(density={self.density}, '
                f'length={self.length}, angle={self.angle}, '
                f'width={self.width}, blur={self.blur}, '
                f'intensity={self.intensity}, blend={self.blend!r}, '
                f'seed={self.seed})')
