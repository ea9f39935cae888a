# Copyright (c) mmallnet contributors. All rights reserved.
"""Additive Gaussian noise degradation.

The core maths is the pure function :func:`add_gaussian_noise`; the
transform is :class:`GaussianNoise` (see
:mod:`mmallnet.datasets.transforms.degradations.base` for the shared
contract and the per-sample seeding).
"""
import math
import numbers
from typing import Optional, Sequence, Union

import numpy as np
from mmseg.registry import TRANSFORMS

from .base import BaseDegradation, _to_uint8

#: Allowed noise std on the 0..255 scale, ``SIGMA_MIN < sigma <=
#: SIGMA_MAX``. The benchmark levels are 15, 25 and 50 and ImageNet-C's
#: strongest is ~97; above 128 (half the range) clipping leaves mostly
#: black and white pixels. A sigma of 1 or less is invisible on 0..255 and
#: almost always a 0..1-scale value.
SIGMA_MIN = 1.0
SIGMA_MAX = 128.0


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
# transforms
# ---------------------------------------------------------------------------
@TRANSFORMS.register_module()
class GaussianNoise(BaseDegradation):
    """Additive Gaussian noise with a per-sample sigma from ``sigmas``.

    See :func:`add_gaussian_noise`. ``degradation_type='noise'``, params
    ``{'sigma', 'seed'}``.

    Args:
        sigmas (float | Sequence[float]): Noise levels on the 0..255 scale,
            each in ``(1, 128]`` (:data:`SIGMA_MIN`, :data:`SIGMA_MAX`);
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
        small = [s for s in sigmas if s <= SIGMA_MIN]
        if small:
            raise ValueError(
                f'sigmas must be > {SIGMA_MIN:g} on the 0..255 scale, got '
                f'{small[0]!r}: did you give sigma on a 0..1 scale? Multiply '
                f'by 255 (e.g. {small[0]!r} -> {small[0] * 255:g}).')
        large = [s for s in sigmas if s > SIGMA_MAX]
        if large:
            raise ValueError(
                f'sigmas must be <= {SIGMA_MAX:g} on the 0..255 scale, got '
                f'{large[0]!r} (benchmark levels 15, 25, 50; beyond '
                f'{SIGMA_MAX:g} clipping leaves a black-and-white image).')
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
