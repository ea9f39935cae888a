# Copyright (c) mmallnet contributors. All rights reserved.
"""Shared parts of the synthetic image degradations.

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

Only ``img`` and one of the sample keys are needed, so the transforms work
in stock MMSeg pipelines as well (``LoadImageFromFile`` ->
``LoadAnnotations`` -> degradation -> ``Resize`` -> ``PackSegInputs``;
list ``degradation_type`` and ``degradation_params`` in PackSegInputs'
``meta_keys`` to keep them). MMSeg's datasets give no ``img_id``, so the
path string seeds the generator unless
:class:`~mmallnet.datasets.transforms.AddImageId` sets a
dataset-relative id first (as ``tools/analysis_tools/robustness_test.py``
does).

The degradations are channel-symmetric (noise is i.i.d. per channel, rain
streaks and the fog airlight are gray, blur uses one kernel for all
channels), so BGR versus RGB order does not matter.

This module holds the per-sample seeding (:data:`SAMPLE_KEYS`,
:func:`stable_int`, :func:`get_sample_key`, :func:`sample_rng`), the
argument checks shared by the transforms, :class:`BaseDegradation` and the
identity :class:`CleanImage`.
"""
import hashlib
import math
import numbers
from typing import Optional, Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

Range = Union[float, Sequence[float]]

#: Keys tried, in order, for the per-sample random generator.
SAMPLE_KEYS = ('img_id', 'img_path', 'sample_idx')


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
        hint = ''
        if isinstance(img, np.ndarray) and img.dtype.kind == 'f':
            hint = ('; load it as uint8 (LoadImageFromFile without '
                    'to_float32=True) and put the degradation before any '
                    'transform that converts or normalises the image')
        raise TypeError("results['img'] must be an HxWx3 uint8 BGR "
                        f'numpy array, got {what}{hint}')
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
                 integer: bool = False,
                 hint: str = '') -> Tuple[float, float]:
    """Validate a scalar or a ``(min, max)`` pair inside ``[low, high]``.

    Args:
        value (float | Sequence[float]): The scalar or pair.
        name (str): Parameter name, for the message.
        low (float): Smallest allowed value.
        high (float): Largest allowed value.
        integer (bool): Whether the values must be integers.
        hint (str): Appended to the message when a value is outside
            ``[low, high]`` (why the bound, what the scale is).

    Returns:
        tuple: ``(min, max)``, ints when ``integer``.
    """
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
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f'{name} must be finite, got {value!r}')
    if integer and (int(lo) != lo or int(hi) != hi):
        raise ValueError(f'{name} must hold integers, got {value!r}')
    if not (low <= lo and hi <= high):
        raise ValueError(f'{name} must satisfy {low:g} <= min <= max <= '
                         f'{high:g}, got {value!r}.' +
                         (f' {hint}' if hint else ''))
    if lo > hi:
        raise ValueError(f'{name} must satisfy {low:g} <= min <= max <= '
                         f'{high:g}, got {value!r} (min > max).')
    if integer:
        return int(lo), int(hi)
    return float(lo), float(hi)


def _uniform(rng: np.random.Generator, pair: Tuple[float, float]) -> float:
    return float(rng.uniform(pair[0], pair[1]))


def _randint(rng: np.random.Generator, pair: Tuple[int, int]) -> int:
    return int(rng.integers(pair[0], pair[1] + 1))

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
