"""The sets of a degraded benchmark: one per degradation type and level.

A set is a JSON-serialisable dict ``type``, ``level``, ``level_param``,
``transform`` (the degradation's config); a type with levels gives one
set per level, named ``<type>_<level>`` (``noise_15``), whose transform
has :data:`LEVEL_PARAMS` of the type fixed to the level.
"""
from collections import OrderedDict
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
from mmseg.registry import TRANSFORMS

from ..transforms.degradations import DEGRADATION_ALIASES, BaseDegradation
from .manifest import jsonable

#: Degradation types of a benchmark, in their default order.
BENCHMARK_TYPES = ('noise', 'rain', 'fog', 'blur')
#: The transform argument a severity level sets, per type.
LEVEL_PARAMS = {
    'noise': 'sigmas',
    'rain': 'density',
    'fog': 'beta',
    'blur': 'kernel_size',
}
#: The ``degradation_params`` key that records the level, per type (what
#: the transform draws from the :data:`LEVEL_PARAMS` argument).
LEVEL_RECORD_KEYS = {
    'noise': 'sigma',
    'rain': 'density',
    'fog': 'beta',
    'blur': 'kernel_size',
}
#: Levels used when none are given: noise at sigma 15, 25 and 50 as three
#: sets; the other types as one set each, with the transform's own ranges.
DEFAULT_LEVELS: Dict[str, Optional[Tuple[float, ...]]] = {
    'noise': (15, 25, 50),
    'rain': None,
    'fog': None,
    'blur': None,
}
#: Clean images in a benchmark are labelled with this degradation type.
CLEAN_TYPE = 'clean'


def _level_name(level: float) -> str:
    return format(float(level), 'g')


def set_name(kind: str, level: Optional[float] = None) -> str:
    """The name of a set: ``<type>`` or ``<type>_<level>``.

    Args:
        kind (str): Degradation type, e.g. ``'noise'``.
        level (float, optional): Severity level (``'g'`` format: 15 ->
            ``'15'``, 0.005 -> ``'0.005'``). None: no level.

    Returns:
        str: e.g. ``'noise_15'`` or ``'rain'``.
    """
    return kind if level is None else f'{kind}_{_level_name(level)}'


def benchmark_sets(
        types: Sequence[str] = BENCHMARK_TYPES,
        levels: Optional[Dict[str, Optional[Sequence[float]]]] = None,
        transforms: Optional[Dict[str, dict]] = None) -> Dict[str, dict]:
    """Define the sets of a benchmark: one per type and severity level.

    A type with levels gives one set per level, named ``<type>_<level>``
    (``noise_15``), whose transform has the argument named in
    :data:`LEVEL_PARAMS` fixed to the level (noise ``sigmas``, rain
    ``density``, fog ``beta``, blur ``kernel_size``; every other parameter
    keeps its range). A type without levels gives one set named
    ``<type>`` with the transform's ranges.

    Args:
        types (Sequence[str]): Degradation types, among ``'noise'``,
            ``'rain'``, ``'fog'``, ``'blur'``. Defaults to all four.
        levels (dict, optional): Type -> levels (None or empty: one set).
            Merged over :data:`DEFAULT_LEVELS` (noise 15, 25, 50).
        transforms (dict, optional): Type -> base transform config (e.g. the
            entries of a config's ``degradations`` list), default
            ``dict(type=<the type's class>)``. Its ``seed`` is ignored (the
            benchmark seed is used).

    Returns:
        dict: Set name -> ``dict(type, level, level_param, transform)``,
        in order, JSON-serialisable.

    Raises:
        ValueError: An unknown or repeated type, a bad level, or a
            transform config of another type.
    """
    if isinstance(types, str) or not isinstance(types, Sequence) or not types:
        raise ValueError('types must be a non-empty list of degradation '
                         f'types among {list(BENCHMARK_TYPES)}, got '
                         f'{types!r}')
    all_levels = dict(DEFAULT_LEVELS)
    for key, value in (levels or {}).items():
        if key not in LEVEL_PARAMS:
            raise ValueError(f'levels has unknown type {key!r}; known: '
                             f'{list(LEVEL_PARAMS)}')
        all_levels[key] = value
    transforms = dict(transforms or {})
    for key in transforms:
        if key not in LEVEL_PARAMS:
            raise ValueError(f'transforms has unknown type {key!r}; known: '
                             f'{list(LEVEL_PARAMS)}')
    sets: Dict[str, dict] = OrderedDict()
    for kind in types:
        if kind not in LEVEL_PARAMS:
            raise ValueError(f'Unknown degradation type {kind!r} in types; '
                             f'known: {list(BENCHMARK_TYPES)}')
        if any(spec['type'] == kind for spec in sets.values()):
            raise ValueError(f'Degradation type {kind!r} is listed twice '
                             'in types.')
        base = dict(transforms.get(kind) or {})
        class_name = DEGRADATION_ALIASES[kind]
        base_type = DEGRADATION_ALIASES.get(base.get('type', class_name),
                                            base.get('type', class_name))
        if base_type != class_name:
            raise ValueError(f'transforms[{kind!r}] has type '
                             f'{base.get("type")!r}; expected {kind!r} or '
                             f'{class_name!r}')
        base['type'] = class_name
        base.pop('seed', None)
        kind_levels = all_levels.get(kind)
        param = LEVEL_PARAMS[kind]
        if not kind_levels:
            sets[kind] = jsonable(
                dict(type=kind, level=None, level_param=param,
                     transform=base))
            continue
        for level in kind_levels:
            if (isinstance(level, bool) or not isinstance(level, (int, float))
                    or not np.isfinite(level)):
                raise ValueError(f'Levels of {kind!r} must be numbers, got '
                                 f'{level!r}')
            name = set_name(kind, level)
            if name in sets:
                raise ValueError(f'Level {level!r} of {kind!r} is listed '
                                 'twice.')
            value = int(level) if float(level).is_integer() else float(level)
            sets[name] = jsonable(
                dict(type=kind, level=value, level_param=param,
                     transform={**base, param: value}))
    for name, spec in sets.items():
        build_transform(spec['transform'], 0, where=f'set {name!r}')
    return sets


def build_transform(cfg: dict, seed: int, where: str) -> BaseDegradation:
    cfg = dict(cfg, seed=seed)
    try:
        transform = TRANSFORMS.build(cfg)
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f'The transform of {where} ({cfg}) cannot be '
                         f'built: {err}') from err
    if not isinstance(transform, BaseDegradation):
        raise ValueError(f'The transform of {where} ({cfg}) is not a '
                         'degradation (BaseDegradation).')
    return transform
