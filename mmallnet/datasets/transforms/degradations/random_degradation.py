# Copyright (c) mmallnet contributors. All rights reserved.
"""Random choice of one degradation per sample (:class:`RandomDegradation`).

See :mod:`mmallnet.datasets.transforms.degradations.base` for the shared
contract and the per-sample seeding.
"""
import math
import numbers
from typing import List, Optional, Sequence, Union

from mmseg.registry import TRANSFORMS

from .base import BaseDegradation, _check_img, get_sample_key, sample_rng

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
# transforms
# ---------------------------------------------------------------------------
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
