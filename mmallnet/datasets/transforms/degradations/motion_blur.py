# Copyright (c) mmallnet contributors. All rights reserved.
"""Motion-blur degradation (linear and camera-shake trajectory kernels).

The core maths is exposed as pure functions (:func:`linear_motion_kernel`,
:func:`trajectory_motion_kernel`, :func:`random_motion_kernel`,
:func:`motion_blur`); the transform is :class:`MotionBlur` (see
:mod:`mmallnet.datasets.transforms.degradations.base` for the shared
contract and the per-sample seeding).
"""
import math
from typing import Dict, Optional, Tuple, Union

import cv2
import numpy as np
from mmseg.registry import TRANSFORMS

from .base import BaseDegradation, _check_range, _to_uint8

#: Largest kernel size (px): ~5x the default 21 and above the 64-px canvas
#: of DeblurGAN's camera-shake trajectories; a longer blur erases the
#: image at the benchmark resolutions.
KERNEL_SIZE_MAX = 99


# ---------------------------------------------------------------------------
# pure functions: motion blur
# ---------------------------------------------------------------------------
def _splat(points: np.ndarray, size: int) -> np.ndarray:
    """Bilinear (sub-pixel) splatting of equally weighted points.

    ``points`` is (N, 2) as (x, y) kernel coordinates; the result is
    normalised to sum 1.
    """
    pts = np.clip(points, 0.0, size - 1.0)
    x0 = np.floor(pts[:, 0]).astype(np.int64)
    y0 = np.floor(pts[:, 1]).astype(np.int64)
    fx = pts[:, 0] - x0
    fy = pts[:, 1] - y0
    canvas = np.zeros((size + 1, size + 1), np.float64)
    np.add.at(canvas, (y0, x0), (1 - fx) * (1 - fy))
    np.add.at(canvas, (y0, x0 + 1), fx * (1 - fy))
    np.add.at(canvas, (y0 + 1, x0), (1 - fx) * fy)
    np.add.at(canvas, (y0 + 1, x0 + 1), fx * fy)
    kernel = canvas[:size, :size]
    return kernel / kernel.sum()


def _densify(path: np.ndarray, step: float = 0.25) -> np.ndarray:
    """Resample a polyline so consecutive points are <= ``step`` apart."""
    out = [path[:1]]
    for a, b in zip(path[:-1], path[1:]):
        n = max(1, int(math.ceil(np.hypot(*(b - a)) / step)))
        t = np.arange(1, n + 1)[:, None] / n
        out.append(a + (b - a) * t)
    return np.concatenate(out, axis=0)


def linear_motion_kernel(size: int, angle: float,
                         length: float) -> np.ndarray:
    """Straight motion-blur kernel.

    A segment of ``length`` px centred in a ``size`` x ``size`` kernel,
    ``angle`` in degrees counter-clockwise from the +x axis (0 =
    horizontal, 90 = vertical), rasterised with sub-pixel splatting and
    normalised to sum 1. ``length`` 0 gives the identity kernel.

    Args:
        size (int): Odd kernel size.
        angle (float): Angle in degrees.
        length (float): Segment length in px, ``0 <= length <= size - 1``.

    Returns:
        np.ndarray: float64 kernel (sum 1, non-negative).
    """
    if size < 1 or size % 2 == 0:
        raise ValueError(f'kernel size must be a positive odd int, got '
                         f'{size}')
    if not 0 <= length <= size - 1:
        raise ValueError(f'length must lie in [0, {size - 1}], got {length}')
    c = (size - 1) / 2
    rad = math.radians(angle)
    d = np.array([math.cos(rad), -math.sin(rad)]) * (length / 2)
    n = max(2, int(math.ceil(length * 4)) + 1)
    t = np.linspace(-1.0, 1.0, n)[:, None]
    return _splat(c + t * d[None], size)


def trajectory_motion_kernel(
        rng: np.random.Generator,
        size: int,
        length: Optional[float] = None,
        num_steps: int = 64) -> Tuple[np.ndarray, Dict[str, float]]:
    """Camera-shake kernel from a random trajectory.

    A particle moves at constant speed for ``num_steps`` steps (total path
    ``length`` px, default ~U(size/2, 2*size)); its velocity keeps
    its direction (inertia) and is perturbed each step by Gaussian shake,
    a pull toward the start (centripetal term) and rare jerks that reverse
    part of the motion, in the spirit of Boracchi & Foi (2012). The path is
    centred on its bounding box, shrunk to fit the kernel when larger,
    resampled every 0.25 px and splatted bilinearly (equal exposure per
    distance), then normalised to sum 1.

    Args:
        rng (np.random.Generator): Generator.
        size (int): Odd kernel size.
        length (float, optional): Path length in px.
        num_steps (int): Trajectory steps.

    Returns:
        tuple[np.ndarray, dict]: The float64 kernel and
        ``{'length', 'angle'}`` (final path length in px after fitting,
        initial direction in degrees counter-clockwise from +x).
    """
    if size < 1 or size % 2 == 0:
        raise ValueError(f'kernel size must be a positive odd int, got '
                         f'{size}')
    if length is None:
        length = float(rng.uniform(size / 2, 2 * size))
    step = length / num_steps
    angle = float(rng.uniform(0.0, 360.0))
    shake = float(rng.uniform(0.0, 0.7))
    centripetal = float(rng.uniform(0.0, 0.3))
    jerk_prob = float(rng.uniform(0.0, 0.1))
    v = step * np.exp(1j * math.radians(angle))
    x = 0j
    path = [x]
    for _ in range(num_steps):
        dv = shake * step * complex(*rng.standard_normal(2))
        dv -= centripetal * x / num_steps
        if rng.random() < jerk_prob:
            dv -= v * float(rng.uniform(0.5, 1.5))
        v = v + dv
        speed = abs(v)
        v = v * (step / speed) if speed > 0 else step + 0j
        x = x + v
        path.append(x)
    pts = np.stack([np.real(path), -np.imag(path)], axis=1)
    pts -= (pts.min(0) + pts.max(0)) / 2
    extent = float(np.ptp(pts, axis=0).max())
    scale = min(1.0, (size - 1) / extent) if extent > 0 else 1.0
    pts = pts * scale + (size - 1) / 2
    kernel = _splat(_densify(pts), size)
    return kernel, {'length': float(length * scale), 'angle': angle}


def random_motion_kernel(
        rng: np.random.Generator,
        size: int,
        mode: str = 'random') -> Tuple[np.ndarray, Dict[str, object]]:
    """Draw a motion-blur kernel.

    ``'linear'``: angle ~ U(0, 180) deg, length ~ U((size-1)/2, size-1)
    px (:func:`linear_motion_kernel`). ``'trajectory'``:
    :func:`trajectory_motion_kernel`. ``'random'``: one of the two with
    probability 1/2.

    Args:
        rng (np.random.Generator): Generator.
        size (int): Odd kernel size.
        mode (str): ``'linear'``, ``'trajectory'`` or ``'random'``.

    Returns:
        tuple[np.ndarray, dict]: Kernel and ``{'mode', 'kernel_size',
        'angle', 'length'}``.
    """
    if mode not in ('linear', 'trajectory', 'random'):
        raise ValueError("mode must be 'linear', 'trajectory' or 'random', "
                         f'got {mode!r}')
    if mode == 'random':
        mode = 'linear' if rng.random() < 0.5 else 'trajectory'
    if mode == 'linear':
        angle = float(rng.uniform(0.0, 180.0))
        length = float(rng.uniform((size - 1) / 2, size - 1))
        kernel = linear_motion_kernel(size, angle, length)
        info = {'angle': angle, 'length': length}
    else:
        kernel, info = trajectory_motion_kernel(rng, size)
    return kernel, {'mode': mode, 'kernel_size': int(size), **info}


def motion_blur(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolve an image with a blur kernel.

    True convolution (the kernel is flipped for ``cv2.filter2D``'s
    correlation) in float32 with ``cv2.BORDER_REFLECT`` borders, then
    rounded half to even to uint8. Every channel uses the same kernel.

    Args:
        img (np.ndarray): HxWx3 uint8 image.
        kernel (np.ndarray): 2-D odd-sized kernel (sum 1).

    Returns:
        np.ndarray: Blurred uint8 image.
    """
    flipped = np.ascontiguousarray(kernel[::-1, ::-1], dtype=np.float32)
    out = cv2.filter2D(img.astype(np.float32), -1, flipped,
                       borderType=cv2.BORDER_REFLECT)
    return _to_uint8(out)

# ---------------------------------------------------------------------------
# transforms
# ---------------------------------------------------------------------------
@TRANSFORMS.register_module()
class MotionBlur(BaseDegradation):
    """Motion blur with linear or camera-shake trajectory kernels.

    The kernel size is drawn uniformly from the odd integers in
    ``kernel_size``; the kernel from :func:`random_motion_kernel`; the image
    is blurred with :func:`motion_blur`. ``degradation_type='blur'``;
    params ``{'mode', 'kernel_size', 'angle', 'length', 'seed'}`` (the
    kernel itself is not stored).

    Args:
        kernel_size (int | tuple[int, int]): Odd size or (min, max) range,
            1 to :data:`KERNEL_SIZE_MAX` (99). Defaults to (7, 21).
        mode (str): ``'random'`` (linear or trajectory, 1/2 each),
            ``'linear'`` or ``'trajectory'``. Defaults to 'random'.
        seed (int, optional): See :class:`BaseDegradation`.
    """

    degradation_type = 'blur'

    def __init__(self,
                 kernel_size: Union[int, Tuple[int, int]] = (7, 21),
                 mode: str = 'random',
                 seed: Optional[int] = 0) -> None:
        super().__init__(seed)
        lo, hi = _check_range(
            kernel_size, 'kernel_size', 1, KERNEL_SIZE_MAX, integer=True,
            hint='kernel_size is the blur kernel side in pixels (defaults '
            '7-21).')
        self.sizes = [k for k in range(lo, hi + 1) if k % 2 == 1]
        if not self.sizes:
            raise ValueError('kernel_size must contain an odd size, got '
                             f'{kernel_size!r}')
        if mode not in ('random', 'linear', 'trajectory'):
            raise ValueError("mode must be 'random', 'linear' or "
                             f"'trajectory', got {mode!r}")
        self.kernel_size = (lo, hi)
        self.mode = mode

    def degrade(self, img, rng, results):
        size = self.sizes[int(rng.integers(len(self.sizes)))]
        kernel, params = random_motion_kernel(rng, size, self.mode)
        return motion_blur(img, kernel), params

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(kernel_size={self.kernel_size}, '
                f'mode={self.mode!r}, seed={self.seed})')
