# Copyright (c) mmallnet contributors. All rights reserved.
"""Depth-aware fog degradation (atmospheric scattering).

The core maths is exposed as pure functions (:func:`normalize_depth`,
:func:`depth_prior`, :func:`fog_transmission`, :func:`add_fog`); the
transform is :class:`Fog` (see
:mod:`mmallnet.datasets.transforms.degradations.base` for the shared
contract and the per-sample seeding).
"""
import math
import numbers
from typing import Optional, Tuple

import numpy as np
from mmseg.registry import TRANSFORMS

from .base import BaseDegradation, Range, _check_range, _to_uint8, _uniform

#: Largest scattering coefficient per unit of normalised depth. RESIDE's
#: indoor set uses 0.6-1.8 and 3D Common Corruptions at most 20; at 100
#: the transmission is below 5e-5 beyond a tenth of ``max_depth``, so the
#: image is airlight only.
BETA_MAX = 100.0
#: Largest ``max_depth`` (m): Foggy Cityscapes' distances reach hundreds of
#: metres; larger values are depth in millimetres.
MAX_DEPTH_MAX = 1000.0


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
# transforms
# ---------------------------------------------------------------------------
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
            depth, in [0, :data:`BETA_MAX`] (100). Defaults to (0.6, 1.8)
            (RESIDE ITS).
        airlight (float | tuple): Gray airlight in [0, 1].
            Defaults to (0.7, 1.0).
        depth_key (str, optional): Key of the metric depth map (HxW, metres,
            0 = invalid). Defaults to 'gt_depth'.
        max_depth (float): Depth (m) mapped to normalised depth 1, at most
            :data:`MAX_DEPTH_MAX` (1000). Defaults to 10.0 (NYUD-v2 range).
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
        self.beta = _check_range(
            beta, 'beta', 0.0, BETA_MAX,
            hint='beta is per unit of normalised depth d = depth / '
            'max_depth in [0, 1] (RESIDE indoor 0.6-1.8, 3D Common '
            'Corruptions <= 20); a beta per metre times max_depth gives it.')
        self.airlight = _check_range(
            airlight, 'airlight', 0.0, 1.0,
            hint='airlight is on a 0..1 scale; did you give it on 0..255? '
            'Divide by 255.')
        if not (isinstance(max_depth, numbers.Real) and max_depth > 0
                and math.isfinite(max_depth)):
            raise ValueError(
                f'max_depth must be a positive number, got {max_depth!r}')
        if max_depth > MAX_DEPTH_MAX:
            raise ValueError(
                f'max_depth must be <= {MAX_DEPTH_MAX:g} m, got '
                f'{max_depth!r}: it is in metres (NYUD-v2 about 10); did '
                'you give millimetres? Divide by 1000.')
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
