# Copyright (c) mmallnet contributors. All rights reserved.
"""Synthetic image degradations for the degraded multi-task benchmarks.

Every transform keeps a clean copy of the input image in
``results['gt_clean_img']`` (created by the first degradation if absent),
replaces ``results['img']`` (HxWx3 uint8, BGR) with the degraded image and
records ``results['degradation_type']`` (``'clean'``, ``'noise'``,
``'rain'``, ``'fog'`` or ``'blur'``) and ``results['degradation_params']``
(a JSON-serialisable dict of plain python scalars / lists, including the
``seed`` used).

Randomness is per sample: each call builds
``np.random.default_rng([seed, stable_int(sample_key), salt])`` where
``sample_key`` is ``results['img_id']`` if present, else
``results['img_path']`` (the path string as given, so prefer ``img_id``
when a dataset may move), else ``results['sample_idx']``;
:func:`stable_int` is a SHA-256 based hash (stable across processes, unlike
python's ``hash``) and ``salt`` is derived from the degradation type. A
degraded test set is therefore identical whatever the worker count or the
order of the samples. With ``seed=None`` an integer seed is first drawn from
numpy's global RNG (fresh on every call; mmengine seeds it per dataloader
worker), and that drawn seed is recorded, so a training sample can still be
reproduced from its ``degradation_params``.

The degradations are channel-symmetric (noise is i.i.d. per channel, rain
streaks and the fog airlight are gray, blur uses one kernel for all
channels), so BGR versus RGB order does not matter.

The core maths is exposed as pure functions (:func:`add_gaussian_noise`,
:func:`rain_layer`, :func:`blend_rain`, :func:`add_rain`,
:func:`normalize_depth`, :func:`depth_prior`, :func:`fog_transmission`,
:func:`add_fog`, :func:`linear_motion_kernel`,
:func:`trajectory_motion_kernel`, :func:`random_motion_kernel`,
:func:`motion_blur`).
"""
import hashlib
import math
import numbers
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

Range = Union[float, Sequence[float]]

#: Keys tried, in order, for the per-sample random generator.
SAMPLE_KEYS = ('img_id', 'img_path', 'sample_idx')

#: Short names accepted by :class:`RandomDegradation` (degradation type ->
#: transform class name).
DEGRADATION_ALIASES = {
    'clean': 'CleanImage',
    'noise': 'GaussianNoise',
    'rain': 'RainStreaks',
    'fog': 'Fog',
    'blur': 'MotionBlur',
}


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def stable_int(value) -> int:
    """Hash ``str(value)`` to a 64-bit integer, stable across processes.

    Args:
        value: Any object; its ``str`` is hashed (so ``'1'`` and ``1``
            collide, ``'0001'`` and ``1`` do not).

    Returns:
        int: An integer in ``[0, 2**64)``.
    """
    digest = hashlib.sha256(str(value).encode('utf-8')).digest()
    return int.from_bytes(digest[:8], 'little')


def get_sample_key(results: dict):
    """Return the per-sample key used to seed the generator.

    Args:
        results (dict): Transform results.

    Returns:
        The value of the first present (not None) key of ``img_id``,
        ``img_path``, ``sample_idx``.
    """
    for key in SAMPLE_KEYS:
        if results.get(key) is not None:
            return results[key]
    raise KeyError(
        'A degradation needs a per-sample key to seed its generator: none '
        f'of {list(SAMPLE_KEYS)} is in the results (keys present: '
        f'{sorted(results)}).')


def sample_rng(seed: int, sample_key, salt: Union[int,
                                                  str]) -> np.random.Generator:
    """Build the per-sample generator ``default_rng([seed, key, salt])``.

    Args:
        seed (int): Non-negative base seed.
        sample_key: Sample key (hashed with :func:`stable_int`).
        salt (int | str): Distinguishes transform types; a str is hashed.

    Returns:
        np.random.Generator: The generator.
    """
    if isinstance(salt, str):
        salt = stable_int(salt)
    return np.random.default_rng([int(seed), stable_int(sample_key), salt])


def _check_seed(seed) -> Optional[int]:
    if seed is None:
        return None
    if (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)
            or seed < 0):
        raise ValueError(
            f'seed must be None or a non-negative int, got {seed!r}')
    return int(seed)


def _check_img(results: dict) -> np.ndarray:
    if 'img' not in results:
        raise KeyError("A degradation needs results['img'] (HxWx3 uint8 "
                       'BGR image); it is missing.')
    img = results['img']
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8:
        what = (f'{type(img).__name__} of dtype {img.dtype}' if isinstance(
            img, np.ndarray) else type(img).__name__)
        raise TypeError("results['img'] must be an HxWx3 uint8 BGR "
                        f'numpy array, got {what}')
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError("results['img'] must be an HxWx3 uint8 BGR "
                         f'image, got shape {img.shape}')
    return np.ascontiguousarray(img)


def _to_uint8(x: np.ndarray, rounding: str = 'round') -> np.ndarray:
    """Clip to [0, 255] and round ('round': half to even) or truncate."""
    x = np.clip(x, 0, 255)
    x = np.floor(x) if rounding == 'floor' else np.rint(x)
    return x.astype(np.uint8)


def _check_range(value: Range,
                 name: str,
                 low: float = -math.inf,
                 high: float = math.inf,
                 integer: bool = False) -> Tuple[float, float]:
    """Validate a scalar or a ``(min, max)`` pair inside ``[low, high]``."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        pair = (value, value)
    elif (isinstance(value, Sequence) and len(value) == 2 and all(
            isinstance(v, numbers.Real) and not isinstance(v, bool)
            for v in value)):
        pair = tuple(value)
    else:
        raise ValueError(
            f'{name} must be a number or a (min, max) pair, got {value!r}')
    lo, hi = pair
    if integer and (int(lo) != lo or int(hi) != hi):
        raise ValueError(f'{name} must hold integers, got {value!r}')
    if not (math.isfinite(lo) and math.isfinite(hi) and low <= lo <= hi
            and hi <= high):
        raise ValueError(f'{name} must satisfy {low} <= min <= max <= '
                         f'{high}, got {value!r}')
    if integer:
        return int(lo), int(hi)
    return float(lo), float(hi)


def _uniform(rng: np.random.Generator, pair: Tuple[float, float]) -> float:
    return float(rng.uniform(pair[0], pair[1]))


def _randint(rng: np.random.Generator, pair: Tuple[int, int]) -> int:
    return int(rng.integers(pair[0], pair[1] + 1))


# ---------------------------------------------------------------------------
# pure functions: noise
# ---------------------------------------------------------------------------
def add_gaussian_noise(img: np.ndarray,
                       sigma: float,
                       rng: np.random.Generator,
                       rounding: str = 'round') -> np.ndarray:
    """Add i.i.d. Gaussian noise on the 0..255 scale.

    ``out = Q(clip(img + sigma * n, 0, 255))`` with
    ``n = rng.standard_normal(img.shape)`` (float64, one draw per pixel and
    channel) and ``Q`` = round half to even (``'round'``, unbiased) or
    truncation (``'floor'``, the AirNet/PromptIR protocol, mean bias about
    -0.5 grey levels).

    Args:
        img (np.ndarray): uint8 image.
        sigma (float): Noise standard deviation on the 0..255 scale.
        rng (np.random.Generator): Generator.
        rounding (str): ``'round'`` or ``'floor'``.

    Returns:
        np.ndarray: Noisy uint8 image.
    """
    noise = rng.standard_normal(img.shape)
    return _to_uint8(img.astype(np.float64) + sigma * noise, rounding)


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
# pure functions: fog
# ---------------------------------------------------------------------------
def normalize_depth(depth: np.ndarray, max_depth: float) -> np.ndarray:
    """Metric depth -> normalised depth ``clip(depth / max_depth, 0, 1)``.

    Invalid pixels (``depth <= 0`` or NaN) get the maximum valid depth of
    the map (they are mostly far or specular surfaces, as in 3D Common
    Corruptions). A map without any valid pixel is treated as depth 0
    everywhere, so fog leaves such an image unchanged.

    Args:
        depth (np.ndarray): HxW depth in metres, 0 = invalid.
        max_depth (float): Depth (m) mapped to normalised depth 1.

    Returns:
        np.ndarray: float64 HxW normalised depth in [0, 1].
    """
    depth = np.asarray(depth, dtype=np.float64)
    valid = depth > 0
    if not valid.any():
        return np.zeros(depth.shape, np.float64)
    filled = np.where(valid, depth, depth[valid].max())
    return np.clip(filled / max_depth, 0.0, 1.0)


def depth_prior(height: int,
                width: int,
                near: float = 0.2,
                far: float = 1.0) -> np.ndarray:
    """Vertical-ramp depth prior for images without depth.

    Normalised depth falls linearly from ``far`` on the top row to ``near``
    on the bottom row (ground near the camera, horizon/ceiling far), the
    same for every column.

    Args:
        height (int): Image height.
        width (int): Image width.
        near (float): Normalised depth of the bottom row.
        far (float): Normalised depth of the top row.

    Returns:
        np.ndarray: float64 HxW normalised depth.
    """
    ramp = np.linspace(far, near, height) if height > 1 else np.array([far])
    return np.repeat(ramp[:, None], width, axis=1).astype(np.float64)


def fog_transmission(depth: np.ndarray, beta: float) -> np.ndarray:
    """Transmission ``t = exp(-beta * d)`` of normalised depth ``d``."""
    return np.exp(-beta * np.asarray(depth, dtype=np.float64))


def add_fog(img: np.ndarray, depth: np.ndarray, beta: float,
            airlight: float) -> np.ndarray:
    """Atmospheric scattering ``I = J t + A (1 - t)``, ``t = exp(-beta d)``.

    Computed on the 0..255 scale with a gray airlight ``255 * airlight``
    for all channels, then rounded half to even. ``d = 0`` gives ``t = 1``
    and returns ``img`` exactly.

    Args:
        img (np.ndarray): HxWx3 uint8 image.
        depth (np.ndarray): HxW normalised depth (see
            :func:`normalize_depth`).
        beta (float): Scattering coefficient (per unit normalised depth).
        airlight (float): Gray airlight A in [0, 1].

    Returns:
        np.ndarray: Foggy uint8 image.
    """
    t = fog_transmission(depth, beta)[..., None]
    out = img.astype(np.float64) * t + (255.0 * airlight) * (1.0 - t)
    return _to_uint8(out)


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
class BaseDegradation(BaseTransform):
    """Base class of per-sample reproducible degradations.

    Subclasses set ``degradation_type`` and implement :meth:`degrade`.

    Required Keys:

    - img (np.uint8, HxWx3, BGR)
    - img_id / img_path / sample_idx (the first present seeds the RNG)

    Modified Keys:

    - img

    Added Keys:

    - gt_clean_img (only if absent: a copy of the input ``img``)
    - degradation_type (str)
    - degradation_params (dict)

    Args:
        seed (int, optional): Base seed of the per-sample generator. None
            draws a seed from numpy's global RNG on every call. Defaults
            to 0.
    """

    degradation_type = 'clean'

    def __init__(self, seed: Optional[int] = 0) -> None:
        self.seed = _check_seed(seed)

    @property
    def salt(self) -> int:
        """Per-type salt of the per-sample generator."""
        return stable_int(self.degradation_type)

    def resolve_seed(self, seed: Optional[int]) -> int:
        """Return ``seed`` or, if None, a fresh draw of numpy's RNG."""
        if seed is None:
            return int(np.random.randint(0, 2**31 - 1))
        return seed

    def degrade(self, img: np.ndarray, rng: np.random.Generator,
                results: dict) -> Tuple[np.ndarray, dict]:
        """Degrade ``img``; return the uint8 image and the params."""
        raise NotImplementedError

    def apply(self, results: dict, seed: Optional[int]) -> dict:
        """Degrade ``results`` with an explicit base seed.

        Args:
            results (dict): Transform results.
            seed (int, optional): Base seed (None: drawn globally).

        Returns:
            dict: The updated results.
        """
        img = _check_img(results)
        key = get_sample_key(results)
        if 'gt_clean_img' not in results:
            results['gt_clean_img'] = img.copy()
        seed = self.resolve_seed(seed)
        rng = sample_rng(seed, key, self.salt)
        out, params = self.degrade(img, rng, results)
        params['seed'] = int(seed)
        results['img'] = out
        results['degradation_type'] = self.degradation_type
        results['degradation_params'] = params
        return results

    def transform(self, results: dict) -> dict:
        """Apply the degradation with this transform's seed."""
        return self.apply(results, self.seed)


@TRANSFORMS.register_module()
class CleanImage(BaseDegradation):
    """Identity degradation for clean evaluation.

    Sets ``gt_clean_img`` (if absent), ``degradation_type='clean'`` and
    ``degradation_params={}``; ``img`` is unchanged.

    Args:
        seed (int, optional): Unused; kept for a uniform interface.
    """

    degradation_type = 'clean'

    def apply(self, results: dict, seed: Optional[int] = None) -> dict:
        img = _check_img(results)
        if 'gt_clean_img' not in results:
            results['gt_clean_img'] = img.copy()
        results['degradation_type'] = 'clean'
        results['degradation_params'] = {}
        return results


@TRANSFORMS.register_module()
class GaussianNoise(BaseDegradation):
    """Additive Gaussian noise with a per-sample sigma from ``sigmas``.

    See :func:`add_gaussian_noise`. ``degradation_type='noise'``, params
    ``{'sigma', 'seed'}``.

    Args:
        sigmas (float | Sequence[float]): Noise levels on the 0..255 scale;
            one is picked uniformly per sample. Defaults to (15, 25, 50).
        rounding (str): ``'round'`` (round half to even, unbiased) or
            ``'floor'`` (truncation as in AirNet/PromptIR).
            Defaults to 'round'.
        seed (int, optional): See :class:`BaseDegradation`.
    """

    degradation_type = 'noise'

    def __init__(self,
                 sigmas: Union[float, Sequence[float]] = (15, 25, 50),
                 rounding: str = 'round',
                 seed: Optional[int] = 0) -> None:
        super().__init__(seed)
        if isinstance(sigmas, numbers.Real):
            sigmas = (sigmas, )
        if (not isinstance(sigmas, Sequence) or len(sigmas) == 0 or not all(
                isinstance(s, numbers.Real) and not isinstance(s, bool)
                and math.isfinite(s) and s > 0 for s in sigmas)):
            raise ValueError('sigmas must be a positive number or a '
                             f'non-empty list of them, got {sigmas!r}')
        if rounding not in ('round', 'floor'):
            raise ValueError("rounding must be 'round' or 'floor', got "
                             f'{rounding!r}')
        self.sigmas = [float(s) for s in sigmas]
        self.rounding = rounding

    def degrade(self, img, rng, results):
        sigma = self.sigmas[int(rng.integers(len(self.sigmas)))]
        out = add_gaussian_noise(img, sigma, rng, self.rounding)
        return out, {'sigma': sigma}

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(sigmas={self.sigmas}, '
                f'rounding={self.rounding!r}, seed={self.seed})')


@TRANSFORMS.register_module()
class RainStreaks(BaseDegradation):
    """Procedural rain streaks.

    Per sample draws density, length, angle, width, blur and intensity
    uniformly from their ranges (length and width as integers, inclusive)
    and applies :func:`add_rain`. A scalar fixes the value.
    ``degradation_type='rain'``; params record the drawn values, ``blend``
    and ``seed``.

    Args:
        density (float | tuple): Seed probability per pixel.
            Defaults to (0.002, 0.008).
        length (int | tuple): Streak length (px). Defaults to (10, 40).
        angle (float | tuple): Degrees clockwise from the vertical.
            Defaults to (-30, 30).
        width (int | tuple): Streak width (px). Defaults to (1, 2).
        blur (float | tuple): Gaussian std of the layer blur (px).
            Defaults to (0.5, 1.0).
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
        self.density = _check_range(density, 'density', 0.0, 1.0)
        self.length = _check_range(length, 'length', 1, integer=True)
        self.angle = _check_range(angle, 'angle', -90.0, 90.0)
        self.width = _check_range(width, 'width', 1, integer=True)
        self.blur = _check_range(blur, 'blur', 0.0)
        self.intensity = _check_range(intensity, 'intensity', 0.0, 1.0)
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


@TRANSFORMS.register_module()
class Fog(BaseDegradation):
    """Depth-aware fog by atmospheric scattering.

    ``I = J t + A (1 - t)``, ``t = exp(-beta d)`` (:func:`add_fog`) with a
    gray airlight A and ``d = clip(depth / max_depth, 0, 1)`` the
    normalised depth (:func:`normalize_depth`: invalid pixels, depth <= 0,
    take the maximum valid depth; a map with no valid pixel counts as depth
    0, i.e. no fog). beta ~ U(beta), A ~ U(airlight) per sample.
    Without ``results[depth_key]`` (or with ``depth_key=None``) the
    vertical ramp :func:`depth_prior` is used (far at the top).
    ``degradation_type='fog'``; params ``{'beta', 'airlight', 'max_depth',
    'depth_source': 'gt' | 'prior', 'seed'}``.

    Args:
        beta (float | tuple): Scattering coefficient per unit of normalised
            depth. Defaults to (0.6, 1.8) (RESIDE ITS).
        airlight (float | tuple): Gray airlight in [0, 1].
            Defaults to (0.7, 1.0).
        depth_key (str, optional): Key of the metric depth map (HxW, metres,
            0 = invalid). Defaults to 'gt_depth'.
        max_depth (float): Depth (m) mapped to normalised depth 1.
            Defaults to 10.0 (NYUD-v2 range).
        prior_depth (tuple[float, float]): Normalised depth of the prior's
            (bottom, top) rows. Defaults to (0.2, 1.0).
        seed (int, optional): See :class:`BaseDegradation`.
    """

    degradation_type = 'fog'

    def __init__(self,
                 beta: Range = (0.6, 1.8),
                 airlight: Range = (0.7, 1.0),
                 depth_key: Optional[str] = 'gt_depth',
                 max_depth: float = 10.0,
                 prior_depth: Tuple[float, float] = (0.2, 1.0),
                 seed: Optional[int] = 0) -> None:
        super().__init__(seed)
        self.beta = _check_range(beta, 'beta', 0.0)
        self.airlight = _check_range(airlight, 'airlight', 0.0, 1.0)
        if not (isinstance(max_depth, numbers.Real) and max_depth > 0
                and math.isfinite(max_depth)):
            raise ValueError(
                f'max_depth must be a positive number, got {max_depth!r}')
        near, far = _check_range(prior_depth, 'prior_depth', 0.0, 1.0)
        self.depth_key = depth_key
        self.max_depth = float(max_depth)
        self.prior_depth = (near, far)

    def get_depth(self, results: dict, shape: Tuple[int, int]):
        """Normalised depth and its source (``'gt'`` or ``'prior'``)."""
        if self.depth_key is None or self.depth_key not in results:
            return depth_prior(shape[0], shape[1], *self.prior_depth), 'prior'
        depth = results[self.depth_key]
        if not isinstance(depth, np.ndarray):
            raise TypeError(f"results['{self.depth_key}'] must be an HxW "
                            f'numpy array, got {type(depth).__name__}')
        if depth.shape != tuple(shape):
            raise ValueError(
                f"results['{self.depth_key}'] has shape {depth.shape} but "
                f"results['img'] has spatial shape {tuple(shape)}; expected "
                'an HxW depth map of the image size')
        return normalize_depth(depth, self.max_depth), 'gt'

    def degrade(self, img, rng, results):
        beta = _uniform(rng, self.beta)
        airlight = _uniform(rng, self.airlight)
        depth, source = self.get_depth(results, img.shape[:2])
        out = add_fog(img, depth, beta, airlight)
        return out, {
            'beta': beta,
            'airlight': airlight,
            'max_depth': self.max_depth,
            'depth_source': source
        }

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(beta={self.beta}, '
                f'airlight={self.airlight}, depth_key={self.depth_key!r}, '
                f'max_depth={self.max_depth}, '
                f'prior_depth={self.prior_depth}, seed={self.seed})')


@TRANSFORMS.register_module()
class MotionBlur(BaseDegradation):
    """Motion blur with linear or camera-shake trajectory kernels.

    The kernel size is drawn uniformly from the odd integers in
    ``kernel_size``; the kernel from :func:`random_motion_kernel`; the image
    is blurred with :func:`motion_blur`. ``degradation_type='blur'``;
    params ``{'mode', 'kernel_size', 'angle', 'length', 'seed'}`` (the
    kernel itself is not stored).

    Args:
        kernel_size (int | tuple[int, int]): Odd size or (min, max) range.
            Defaults to (7, 21).
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
        lo, hi = _check_range(kernel_size, 'kernel_size', 1, integer=True)
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


@TRANSFORMS.register_module()
class RandomDegradation(BaseDegradation):
    """Pick one degradation per sample (or none).

    Per sample, the generator ``default_rng([seed, key, 'random'])`` draws
    ``u ~ U(0, 1)``, an index ``i ~ probs`` and a derived seed; if
    ``u < clean_prob`` the sample stays clean (``'clean'``, params ``{}``),
    otherwise ``degradations[i]`` is applied with the derived seed in place
    of its own (recorded as its params' ``seed``, so re-applying that
    transform with this seed reproduces the sample).

    Args:
        degradations (list): Transform configs (``dict(type=...)``),
            short names (``'noise'``, ``'rain'``, ``'fog'``, ``'blur'``,
            ``'clean'``), registered class names, or
            :class:`BaseDegradation` instances.
        probs (Sequence[float], optional): Relative weights of the
            degradations (normalised to sum 1). None: uniform.
        clean_prob (float): Probability of leaving a sample clean.
            Defaults to 0.
        seed (int, optional): See :class:`BaseDegradation`.
    """

    degradation_type = 'random'

    def __init__(self,
                 degradations: List[Union[dict, str, BaseDegradation]],
                 probs: Optional[Sequence[float]] = None,
                 clean_prob: float = 0.0,
                 seed: Optional[int] = 0) -> None:
        super().__init__(seed)
        if (not isinstance(degradations, Sequence)
                or isinstance(degradations, str) or len(degradations) == 0):
            raise ValueError('degradations must be a non-empty list, got '
                             f'{degradations!r}')
        self.degradations = [
            self._build(cfg, i) for i, cfg in enumerate(degradations)
        ]
        n = len(self.degradations)
        if probs is None:
            probs = [1.0] * n
        if (not isinstance(probs, Sequence) or len(probs) != n or not all(
                isinstance(p, numbers.Real) and math.isfinite(p) and p >= 0
                for p in probs) or sum(probs) <= 0):
            raise ValueError(f'probs must be {n} non-negative weights (one '
                             'per degradation) with a positive sum, got '
                             f'{probs!r}')
        total = float(sum(probs))
        self.probs = [float(p) / total for p in probs]
        if not (isinstance(clean_prob, numbers.Real)
                and 0.0 <= clean_prob <= 1.0):
            raise ValueError(
                f'clean_prob must lie in [0, 1], got {clean_prob!r}')
        self.clean_prob = float(clean_prob)

    @staticmethod
    def known_degradations() -> List[str]:
        """Short names and registered degradation class names."""
        names = [
            name for name, cls in TRANSFORMS.module_dict.items()
            if isinstance(cls, type) and issubclass(cls, BaseDegradation)
        ]
        return sorted(DEGRADATION_ALIASES) + sorted(names)

    def _build(self, cfg, index: int) -> BaseDegradation:
        where = f'degradations[{index}]'
        if isinstance(cfg, BaseDegradation):
            return cfg
        if isinstance(cfg, str):
            cfg = dict(type=cfg)
        if not isinstance(cfg, dict):
            raise TypeError(f'{where} must be a config dict, a name or a '
                            f'BaseDegradation, got {type(cfg).__name__}')
        if 'type' not in cfg:
            raise KeyError(f"{where} has no 'type' key; known degradations: "
                           f'{self.known_degradations()}')
        cfg = dict(cfg)
        name = cfg['type']
        if isinstance(name, str):
            name = DEGRADATION_ALIASES.get(name, name)
            cfg['type'] = name
            if TRANSFORMS.get(name) is None:
                raise KeyError(
                    f"{where}['type'] = {cfg['type']!r} is not a known "
                    f'degradation; known: {self.known_degradations()}')
        try:
            transform = TRANSFORMS.build(cfg)
        except KeyError as err:
            raise KeyError(f"{where}['type'] = {cfg['type']!r} could not be "
                           f'built ({err}); known degradations: '
                           f'{self.known_degradations()}') from err
        if not isinstance(transform, BaseDegradation):
            raise TypeError(
                f"{where}['type'] = {cfg['type']!r} is not a degradation "
                f'(BaseDegradation); known: {self.known_degradations()}')
        return transform

    def apply(self, results: dict, seed: Optional[int]) -> dict:
        img = _check_img(results)
        key = get_sample_key(results)
        seed = self.resolve_seed(seed)
        rng = sample_rng(seed, key, self.salt)
        u = float(rng.random())
        index = int(rng.choice(len(self.degradations), p=self.probs))
        child_seed = int(rng.integers(0, 2**31 - 1))
        if u < self.clean_prob:
            if 'gt_clean_img' not in results:
                results['gt_clean_img'] = img.copy()
            results['degradation_type'] = 'clean'
            results['degradation_params'] = {}
            return results
        return self.degradations[index].apply(results, child_seed)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(degradations='
                f'{self.degradations}, probs={self.probs}, '
                f'clean_prob={self.clean_prob}, seed={self.seed})')
