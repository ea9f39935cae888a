"""Robustness test of any MMSeg model: its test set, degraded on the fly.

:func:`robustness_test_config` rewrites a config's test dataloader into a
concatenation of one copy of the test set per degradation set (``clean``
plus one per type and level of :func:`robustness_sets`), each with the
set's degradation inserted into the test pipeline right after the image
(and any annotation) loading, before resizing and packing, and its test
evaluator into :class:`~.metrics.PerDegradationIoUMetric`. One pass of the
test loop then evaluates every set. Used by
``tools/analysis_tools/robustness_test.py``.

The degradations are seeded per image with the dataset-relative image id
(:class:`~mmallnet.datasets.transforms.AddImageId`) and the seed, so the
degraded images are the same on every run and equal the images a fixed
degraded benchmark (:func:`~mmallnet.datasets.make_degraded_benchmark`)
of the same dataset stores. Stock MMSeg datasets have no depth the fog
reads, so fog uses its documented depth prior
(:func:`~mmallnet.datasets.transforms.degradations.depth_prior`).
"""
import copy
import inspect
import math
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

from mmengine.config import Config
from mmseg.datasets.transforms import PackSegInputs
from mmseg.registry import TRANSFORMS

from mmallnet.datasets.degraded_benchmark.sets import (
    BENCHMARK_TYPES,
    CLEAN_TYPE,
    DEFAULT_LEVELS,
    LEVEL_PARAMS,
    LEVEL_RECORD_KEYS,
    benchmark_sets,
)
from mmallnet.datasets.transforms.degradations import BaseDegradation

#: Meta keys PackSegInputs must keep for the per-set metric.
DEGRADATION_META_KEYS = ('degradation_type', 'degradation_params')
#: Where the rewritten pipeline lives in a config.
PIPELINE_KEY = 'test_dataloader.dataset.pipeline'
_EVALUATOR_ARGS = ('ignore_index', 'iou_metrics', 'nan_to_num', 'beta')


def parse_levels(items: Optional[Sequence[str]]) -> Dict[str, Optional[list]]:
    """Parse ``--levels`` items ``TYPE=L1,L2,...``.

    ``TYPE=`` (or ``TYPE=none``) gives one set with the transform's full
    parameter range.

    Args:
        items (Sequence[str], optional): e.g. ``['noise=15,25',
            'fog=0.6,1.8', 'rain=']``.

    Returns:
        dict: Type -> list of levels (floats), or None for one set.

    Raises:
        ValueError: An item without ``=``, an unknown type, a type given
            twice or a level that is not a finite number.
    """
    levels: Dict[str, Optional[list]] = OrderedDict()
    for item in items or []:
        kind, sep, values = str(item).partition('=')
        if not sep:
            raise ValueError(
                f'--levels {item!r}: expected TYPE=L1,L2,... (e.g. '
                'noise=15,25,50 or fog=0.6,1.8; TYPE= for one set with the '
                f'full range), TYPE one of {list(BENCHMARK_TYPES)}.')
        if kind not in LEVEL_PARAMS:
            raise ValueError(f'--levels {item!r}: unknown degradation '
                             f'{kind!r}; valid: {list(BENCHMARK_TYPES)}.')
        if kind in levels:
            raise ValueError(f'--levels gives {kind!r} twice.')
        if values.strip().lower() in ('', 'none'):
            levels[kind] = None
            continue
        parsed = []
        for value in values.split(','):
            try:
                number = float(value)
            except ValueError:
                number = math.nan
            if not math.isfinite(number):
                raise ValueError(
                    f'--levels {item!r}: level {value!r} is not a finite '
                    f'number; expected {LEVEL_PARAMS[kind]} values of '
                    f'{kind}, e.g. {_level_example(kind)}.')
            parsed.append(int(number) if number.is_integer() else number)
        levels[kind] = parsed
    return levels


def _level_example(kind: str) -> str:
    return {
        'noise': 'noise=15,25,50 (sigma on 0..255)',
        'rain': 'rain=0.002,0.005 (streak density per pixel)',
        'fog': 'fog=0.6,1.8 (beta per unit normalised depth)',
        'blur': 'blur=9,15,21 (odd kernel sizes)',
    }[kind]


def robustness_sets(
        degradations: Sequence[str] = BENCHMARK_TYPES,
        levels: Optional[Dict[str, Optional[list]]] = None
) -> Dict[str, dict]:
    """The degraded sets of a robustness test (``clean`` not included).

    Args:
        degradations (Sequence[str]): Types among ``noise``, ``rain``,
            ``fog``, ``blur``. Defaults to all four.
        levels (dict, optional): Type -> levels (None: one set with the
            full range), merged over the defaults (noise at 15, 25, 50;
            the others one set each); see :func:`parse_levels`.

    Returns:
        dict: Set name -> spec (``type``, ``level``, ``level_param``,
        ``transform``), as :func:`~mmallnet.datasets.benchmark_sets`.

    Raises:
        ValueError: An unknown or repeated degradation, levels of a type
            that is not tested, or a level the transform refuses.
    """
    if isinstance(degradations, str) or not degradations:
        raise ValueError('--degradations must list at least one of '
                         f'{list(BENCHMARK_TYPES)}, got {degradations!r}.')
    for kind in degradations:
        if kind not in BENCHMARK_TYPES:
            raise ValueError(f'Unknown degradation {kind!r} in '
                             f'--degradations; valid: '
                             f'{list(BENCHMARK_TYPES)}.')
        if list(degradations).count(kind) > 1:
            raise ValueError(f'--degradations lists {kind!r} twice.')
    levels = dict(levels or {})
    for kind in levels:
        if kind not in LEVEL_PARAMS:
            raise ValueError(f'--levels: unknown degradation {kind!r}; '
                             f'valid: {list(BENCHMARK_TYPES)}.')
        if kind not in degradations:
            raise ValueError(f'--levels gives levels of {kind!r}, which is '
                             f'not in --degradations {list(degradations)}.')
    for kind, values in levels.items():
        try:
            benchmark_sets([kind], {kind: values})
        except ValueError as err:
            shown = ','.join(format(v, 'g') for v in values or [])
            raise ValueError(
                f'--levels {kind}={shown}: invalid level of {kind} '
                f'({LEVEL_PARAMS[kind]}): {err} Expected e.g. '
                f'{_level_example(kind)}.') from err
    return benchmark_sets(
        list(degradations), {**DEFAULT_LEVELS, **levels})


def severity_keys(sets: Dict[str, dict]) -> Dict[str, str]:
    """The metric's ``severity_keys`` for sets from :func:`robustness_sets`.

    Args:
        sets (dict): Set name -> spec.

    Returns:
        dict[str, str]: Type -> the params key of its level, for the types
        tested at fixed levels.
    """
    return {
        spec['type']: LEVEL_RECORD_KEYS[spec['type']]
        for spec in sets.values() if spec.get('level') is not None
    }


def _type_name(transform) -> str:
    kind = transform.get('type') if isinstance(transform, dict) else None
    if isinstance(kind, type):
        kind = kind.__name__
    return str(kind).rpartition('.')[2] if kind is not None else ''


def _is_degradation(name: str) -> bool:
    cls = TRANSFORMS.get(name) if name else None
    return name == 'LoadDegradedImage' or (
        isinstance(cls, type) and issubclass(cls, BaseDegradation))


def image_dir_of(dataset: dict) -> Optional[str]:
    """The image folder a dataset config lists its images from.

    ``data_root`` joined with ``data_prefix['img_path']``, as MMEngine's
    ``BaseDataset`` joins them.

    Args:
        dataset (dict): Dataset config.

    Returns:
        str, optional: The folder, or None when neither is set.
    """
    root = dataset.get('data_root') or ''
    prefix = (dataset.get('data_prefix') or {}).get('img_path') or ''
    if prefix and (osp.isabs(prefix) or not root):
        return prefix
    return osp.join(root, prefix) if root else None


def degraded_pipeline(pipeline: Sequence[dict], degradation: dict,
                      img_dir: Optional[str], where: str) -> List[dict]:
    """A test pipeline with a degradation inserted after the loading.

    The degradation (preceded by :class:`AddImageId`) goes right after
    ``LoadImageFromFile`` and the loading transforms that directly follow
    it (``LoadAnnotations``, ...), so before any resizing; the
    ``PackSegInputs`` transforms keep ``degradation_type`` and
    ``degradation_params`` in their ``meta_keys``.

    Args:
        pipeline (Sequence[dict]): The test pipeline.
        degradation (dict): Config of the degradation transform.
        img_dir (str, optional): The dataset's image folder, for the ids.
        where (str): The config file, for messages.

    Returns:
        list[dict]: The new pipeline (the input is not changed).

    Raises:
        ValueError: No ``LoadImageFromFile``, no ``PackSegInputs``, or the
            pipeline degrades its images already.
    """
    names = [_type_name(t) for t in pipeline]
    if 'LoadImageFromFile' not in names:
        raise ValueError(
            f'{where}: {PIPELINE_KEY} has no LoadImageFromFile (its '
            f'transforms: {names}); the robustness test inserts the '
            'degradation right after the image is loaded, so the test '
            'pipeline must read images with LoadImageFromFile.')
    present = [n for n in names if _is_degradation(n)]
    if present:
        raise ValueError(
            f'{where}: {PIPELINE_KEY} already degrades its images '
            f'({present}); give the config of the clean test set, the '
            'robustness test inserts its own degradations.')
    if 'PackSegInputs' not in names:
        raise ValueError(
            f'{where}: {PIPELINE_KEY} has no PackSegInputs (its '
            f'transforms: {names}); expected a stock MMSeg test pipeline '
            'ending with PackSegInputs.')
    index = names.index('LoadImageFromFile') + 1
    while index < len(names) and names[index].startswith('Load'):
        index += 1
    out = [copy.deepcopy(dict(t)) for t in pipeline]
    out[index:index] = [
        dict(type='AddImageId', img_dir=img_dir),
        copy.deepcopy(degradation)
    ]
    for transform in out:
        if _type_name(transform) == 'PackSegInputs':
            keys = transform.get('meta_keys')
            if keys is None:
                keys = inspect.signature(PackSegInputs).parameters[
                    'meta_keys'].default
            keys = list(keys)
            transform['meta_keys'] = tuple(
                keys + [k for k in DEGRADATION_META_KEYS if k not in keys])
    return out


def _evaluator_args(evaluator) -> dict:
    entries = evaluator if isinstance(evaluator, (list, tuple)) else [
        evaluator
    ]
    for entry in entries:
        if isinstance(entry, dict) and _type_name(entry) == 'IoUMetric':
            return {k: entry[k] for k in _EVALUATOR_ARGS if k in entry}
    return {}


def robustness_test_config(cfg: Config,
                           sets: Dict[str, dict],
                           seed: int = 0,
                           where: Optional[str] = None) -> Config:
    """Rewrite a config's test loop into a robustness test.

    ``test_dataloader.dataset`` becomes a ``ConcatDataset`` of one copy
    per set (``clean`` first, then ``sets`` in order), each with
    :func:`degraded_pipeline`; ``test_evaluator`` becomes
    :class:`~.metrics.PerDegradationIoUMetric` with the ``ignore_index``,
    ``iou_metrics``, ``nan_to_num`` and ``beta`` of the config's
    ``IoUMetric`` (if it has one).

    Args:
        cfg (Config): The config, modified in place.
        sets (dict): Set name -> spec, from :func:`robustness_sets`.
        seed (int): Seed of every degradation. Defaults to 0.
        where (str, optional): The config file, for messages. Defaults to
            ``cfg.filename``.

    Returns:
        Config: ``cfg``.

    Raises:
        KeyError: The config has no ``test_dataloader.dataset``.
        ValueError: See :func:`degraded_pipeline`; a dataset without a
            pipeline.
    """
    where = where or cfg.filename
    loader = cfg.get('test_dataloader')
    if not loader or 'dataset' not in loader:
        raise KeyError(f'{where} has no test_dataloader.dataset; the '
                       'robustness test rewrites its test set.')
    dataset = copy.deepcopy(loader['dataset'])
    dataset = dataset.to_dict() if hasattr(dataset, 'to_dict') else dict(
        dataset)
    if 'pipeline' not in dataset:
        raise ValueError(
            f'{where}: test_dataloader.dataset ({dataset.get("type")}) has '
            f'no pipeline; expected {PIPELINE_KEY}, the test pipeline the '
            'degradations are inserted into.')
    img_dir = image_dir_of(dataset)
    transforms = OrderedDict([(CLEAN_TYPE, dict(type='CleanImage'))])
    for name, spec in sets.items():
        transforms[name] = dict(spec['transform'], seed=int(seed))
    datasets = []
    for name, transform in transforms.items():
        copy_cfg = copy.deepcopy(dataset)
        copy_cfg['pipeline'] = degraded_pipeline(dataset['pipeline'],
                                                 transform, img_dir, where)
        datasets.append(copy_cfg)
    cfg.test_dataloader.dataset = dict(type='ConcatDataset', datasets=datasets)
    cfg.test_evaluator = dict(
        type='PerDegradationIoUMetric',
        severity_keys=severity_keys(sets),
        **_evaluator_args(cfg.get('test_evaluator')))
    return cfg
