# Copyright (c) mmallnet contributors. All rights reserved.
"""Synthetic image degradations for the degraded multi-task benchmarks.

One concept per module:

- :mod:`.base`: the shared contract (``gt_clean_img``, ``degradation_type``,
  ``degradation_params``), the per-sample seeding (:func:`stable_int`,
  :func:`get_sample_key`, :func:`sample_rng`), :class:`BaseDegradation` and
  the identity :class:`CleanImage`;
- :mod:`.noise`: :func:`add_gaussian_noise`, :class:`GaussianNoise`;
- :mod:`.rain`: :func:`line_kernel`, :func:`rain_layer`,
  :func:`blend_rain`, :func:`add_rain`, :class:`RainStreaks`;
- :mod:`.fog`: :func:`normalize_depth`, :func:`depth_prior`,
  :func:`fog_transmission`, :func:`add_fog`, :class:`Fog`;
- :mod:`.motion_blur`: :func:`linear_motion_kernel`,
  :func:`trajectory_motion_kernel`, :func:`random_motion_kernel`,
  :func:`motion_blur`, :class:`MotionBlur`;
- :mod:`.random_degradation`: :data:`DEGRADATION_ALIASES`,
  :class:`RandomDegradation`.

Every name is re-exported here, so
``from mmallnet.datasets.transforms.degradations import X`` works for all of
them.
"""
from .base import (
    SAMPLE_KEYS,
    BaseDegradation,
    CleanImage,
    Range,
    get_sample_key,
    sample_rng,
    stable_int,
)
from .fog import Fog, add_fog, depth_prior, fog_transmission, normalize_depth
from .motion_blur import (
    MotionBlur,
    linear_motion_kernel,
    motion_blur,
    random_motion_kernel,
    trajectory_motion_kernel,
)
from .noise import GaussianNoise, add_gaussian_noise
from .rain import RainStreaks, add_rain, blend_rain, line_kernel, rain_layer
from .random_degradation import DEGRADATION_ALIASES, RandomDegradation

__all__ = [
    'SAMPLE_KEYS', 'Range', 'stable_int', 'get_sample_key', 'sample_rng',
    'BaseDegradation', 'CleanImage', 'add_gaussian_noise', 'GaussianNoise',
    'line_kernel', 'rain_layer', 'blend_rain', 'add_rain', 'RainStreaks',
    'normalize_depth', 'depth_prior', 'fog_transmission', 'add_fog', 'Fog',
    'linear_motion_kernel', 'trajectory_motion_kernel',
    'random_motion_kernel', 'motion_blur', 'MotionBlur',
    'DEGRADATION_ALIASES', 'RandomDegradation'
]
