"""Fixed degraded benchmarks: a degraded copy of a val set, written once.

:func:`make_degraded_benchmark` applies each benchmark *set* (one
degradation type, optionally at one severity level, e.g. ``noise_25``) to
every image of a dataset and writes the results as lossless PNGs with a JSON
manifest. Layout under the output directory ``DIR``::

    DIR/manifest.json               settings, sets, per-image records
    DIR/<set>/images/<id>.png       degraded image (8-bit, 3 channels)

``<set>`` is ``<type>`` (``rain``) or ``<type>_<level>`` (``noise_15``);
see :func:`benchmark_sets`. The PNG holds the degraded version of the image
that ``LoadImageFromFile`` reads for ``<id>``, so reading it back the same
way gives the exact uint8 array the degradation produced.

Randomness: image ``<id>`` of a set of type ``t`` is degraded by the set's
transform with ``seed=S`` (the benchmark seed), i.e. with the generator
``default_rng([S, stable_int(<id>), stable_int(t)])`` of
:mod:`mmallnet.datasets.transforms.degradations.base`. The bytes therefore
depend only on (seed, type, id, parameters) -- not on the worker count or
the order -- and equal what the same transform produces on the fly in a
pipeline. The noise levels of one image share one normal draw (they differ
only in sigma).

The manifest (``manifest.json``)::

    format, format_version
    settings:  tool, mmallnet_version, seed, dataset {type, split,
               data_root, ann_file, num_images}, layout, randomness
    ids:       the dataset's image ids, in order
    sets:      <set> -> {type, level, level_param, transform (config)}
    images:    <set> -> <id> -> {sha256 (of the PNG file), source_sha256
               (of the clean image file), [depth_sha256], degradation_params}
    environment: numpy / opencv versions (information only)

Re-running on an existing ``DIR`` resumes: images whose file exists and
matches its record are kept, the others are written (to a temporary file,
then renamed), and the manifest is rewritten with the merged records. New
sets may be added to an existing ``DIR``; a different seed, dataset (type,
split or ids), mmallnet version, format version, a different definition
of an existing set or a clean image (or depth map) that changed since the
copy was made raises a :class:`ValueError` instead of mixing copies.

Fog uses the dataset's ground-truth depth when it has one (NYUD-v2,
SynthScenes) and otherwise the documented depth prior of
:class:`~mmallnet.datasets.transforms.Fog`, as on the fly; each record's
``degradation_params['depth_source']`` says which.

Reading a copy back: :func:`attach_degraded_copy` (the ``degraded_root`` /
``degradation`` arguments of the multi-task datasets), the transform
:class:`~mmallnet.datasets.transforms.LoadDegradedImage` and the dataset
:class:`DegradedBenchmarkDataset` (clean set + every stored set).
"""
import copy
import hashlib
import json
import os
import os.path as osp
from collections import OrderedDict
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import cv2
import mmcv
import numpy as np
from mmengine.dataset import BaseDataset, ConcatDataset
from mmengine.logging import print_log
from mmseg.registry import DATASETS, TRANSFORMS

from mmallnet.version import __version__

from .transforms.degradations import DEGRADATION_ALIASES, BaseDegradation
from .transforms.loading import load_depth

#: Name and version of the manifest format.
MANIFEST_FORMAT = 'mmallnet-degraded-benchmark'
FORMAT_VERSION = 1
MANIFEST_NAME = 'manifest.json'
#: The script that writes copies (recorded in the manifest).
TOOL = 'tools/misc/make_degraded_benchmark.py'

#: Degradation types of a benchmark, in their default order.
BENCHMARK_TYPES = ('noise', 'rain', 'fog', 'blur')
#: The transform argument a severity level sets, per type.
LEVEL_PARAMS = {
    'noise': 'sigmas',
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
_PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 3]
_TMP_MARK = '.tmp-'


# ---------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------
def _jsonable(value):
    """Plain JSON types (tuples become lists), as a manifest stores them."""
    return json.loads(json.dumps(value))


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_bytes(path: str, what: str) -> bytes:
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} file not found: {path}')
    with open(path, 'rb') as f:
        return f.read()


def _level_name(level: float) -> str:
    return format(float(level), 'g')


def _check_id(img_id: str) -> None:
    parts = str(img_id).replace('\\', '/').split('/')
    if (not img_id or osp.isabs(img_id)
            or any(p in ('', '.', '..') for p in parts)):
        raise ValueError(f'Image id {img_id!r} cannot name a file inside '
                         'the benchmark directory (empty, absolute or with '
                         "'.'/'..' components).")


def degraded_image_path(root: str, set_name: str, img_id: str) -> str:
    """Path of one stored degraded image: ``root/<set>/images/<id>.png``.

    Args:
        root (str): Benchmark directory.
        set_name (str): Set name, e.g. ``'noise_15'``.
        img_id (str): Image id.

    Returns:
        str: The PNG path.
    """
    return osp.join(root, set_name, 'images', f'{img_id}.png')


# ---------------------------------------------------------------------------
# benchmark sets
# ---------------------------------------------------------------------------
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
            sets[kind] = _jsonable(
                dict(type=kind, level=None, level_param=param,
                     transform=base))
            continue
        for level in kind_levels:
            if (isinstance(level, bool) or not isinstance(level, (int, float))
                    or not np.isfinite(level)):
                raise ValueError(f'Levels of {kind!r} must be numbers, got '
                                 f'{level!r}')
            name = f'{kind}_{_level_name(level)}'
            if name in sets:
                raise ValueError(f'Level {level!r} of {kind!r} is listed '
                                 'twice.')
            value = int(level) if float(level).is_integer() else float(level)
            sets[name] = _jsonable(
                dict(type=kind, level=value, level_param=param,
                     transform={**base, param: value}))
    for name, spec in sets.items():
        _build_transform(spec['transform'], 0, where=f'set {name!r}')
    return sets


def _build_transform(cfg: dict, seed: int, where: str) -> BaseDegradation:
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


# ---------------------------------------------------------------------------
# manifest
# ---------------------------------------------------------------------------
def manifest_path(root: str) -> str:
    """``root/manifest.json``."""
    return osp.join(root, MANIFEST_NAME)


def load_manifest(root: str) -> dict:
    """Read and check the manifest of a benchmark directory.

    Args:
        root (str): Benchmark directory.

    Returns:
        dict: The manifest.

    Raises:
        FileNotFoundError: No ``manifest.json`` in ``root``.
        ValueError: It is not a readable manifest of this format.
    """
    path = manifest_path(root)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'No degraded benchmark manifest at {path}; write the copy with '
            f'`python {TOOL} CONFIG_OR_DATASET --out {root}`.')
    try:
        with open(path, encoding='utf-8') as f:
            manifest = json.load(f)
    except ValueError as err:
        raise ValueError(f'{path} is not valid JSON: {err}') from err
    if not isinstance(manifest, dict) or manifest.get(
            'format') != MANIFEST_FORMAT:
        raise ValueError(f'{path} is not a degraded benchmark manifest '
                         f"(expected format {MANIFEST_FORMAT!r}).")
    for key in ('settings', 'ids', 'sets', 'images'):
        if key not in manifest:
            raise ValueError(f'{path} has no {key!r} field.')
    return manifest


def _write_manifest(root: str, manifest: dict) -> None:
    """Write the manifest atomically, images ordered as ``ids``."""
    order = {img_id: i for i, img_id in enumerate(manifest['ids'])}
    images = OrderedDict()
    for name in manifest['sets']:
        records = manifest['images'].get(name, {})
        images[name] = OrderedDict(
            sorted(records.items(), key=lambda kv: order[kv[0]]))
    out = dict(manifest, images=images)
    path = manifest_path(root)
    tmp = f'{path}{_TMP_MARK}{os.getpid()}'
    with open(tmp, 'w', encoding='utf-8') as f:
        json.dump(out, f, indent=1)
        f.write('\n')
    os.replace(tmp, path)


def _compare_manifests(existing: dict, wanted: dict) -> List[str]:
    """Differences that forbid writing ``wanted`` into ``existing``'s dir."""
    diffs = []
    if existing.get('format_version') != wanted['format_version']:
        diffs.append(f'format_version: {existing.get("format_version")!r} '
                     f'!= {wanted["format_version"]!r}')
    old, new = existing['settings'], wanted['settings']
    for key in ('seed', 'mmallnet_version'):
        if old.get(key) != new[key]:
            diffs.append(f'{key}: {old.get(key)!r} != {new[key]!r}')
    old_ds, new_ds = old.get('dataset', {}), new['dataset']
    for key in ('type', 'split'):
        if old_ds.get(key) != new_ds[key]:
            diffs.append(f'dataset.{key}: {old_ds.get(key)!r} != '
                         f'{new_ds[key]!r}')
    if existing['ids'] != wanted['ids']:
        diffs.append(f'ids: {len(existing["ids"])} ids != '
                     f'{len(wanted["ids"])} ids (or another order)')
    for name, spec in wanted['sets'].items():
        if name in existing['sets'] and existing['sets'][name] != spec:
            diffs.append(f'sets.{name}: {existing["sets"][name]} != {spec}')
    return diffs


# ---------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------
def _dataset_records(dataset: BaseDataset) -> List[dict]:
    """Image id, image path and depth path (or None) of every sample."""
    records = []
    task_dirs = getattr(dataset, 'task_dirs', None) or {}
    suffixes = getattr(dataset, 'TASK_SUFFIXES', None) or {}
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        for key in ('img_id', 'img_path'):
            if key not in info:
                raise KeyError(f'{type(dataset).__name__}: data info {index} '
                               f'has no {key!r}; a degraded benchmark needs '
                               'img_id and img_path per sample.')
        img_id = str(info['img_id'])
        _check_id(img_id)
        depth = (info.get('ann_paths') or {}).get('depth')
        if depth is None and 'depth' in task_dirs and 'depth' in suffixes:
            # the dataset has gt depth even when its tasks do not load it
            candidate = osp.join(dataset.data_root, task_dirs['depth'],
                                 img_id + suffixes['depth'])
            depth = candidate if osp.isfile(candidate) else None
        records.append(
            dict(img_id=img_id, img_path=info['img_path'], depth_path=depth))
    ids = [r['img_id'] for r in records]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f'{type(dataset).__name__} lists ids more than '
                         f'once: {dup[:10]}')
    if not records:
        raise ValueError(f'{type(dataset).__name__} has no samples.')
    return records


_TRANSFORM_CACHE: Dict[str, BaseDegradation] = {}


def _cached_transform(cfg: dict, seed: int) -> BaseDegradation:
    key = json.dumps([cfg, seed], sort_keys=True)
    if key not in _TRANSFORM_CACHE:
        _TRANSFORM_CACHE[key] = _build_transform(cfg, seed, 'a benchmark set')
    return _TRANSFORM_CACHE[key]


def _check_sources(expected: Optional[dict], source_sha: str,
                   depth_sha: Optional[str], job: dict) -> None:
    if expected is None:
        return
    if expected.get('source_sha256') != source_sha:
        raise ValueError(
            f'The clean image {job["img_path"]} (id {job["img_id"]!r}) '
            f'differs from the one the copy in {job["root"]} was made '
            f'from (sha256 {source_sha} != {expected.get("source_sha256")} '
            f'in {MANIFEST_NAME}); write the copy of this data to a new '
            'directory.')
    if depth_sha is not None and expected.get('depth_sha256') not in (
            None, depth_sha):
        raise ValueError(
            f'The depth map {job["depth_path"]} (id {job["img_id"]!r}) '
            f'differs from the one the copy in {job["root"]} was made '
            f'from; write the copy of this data to a new directory.')


def _degrade_one(job: dict) -> Tuple[str, dict, str]:
    """Write (or verify) one degraded image. Runs in worker processes.

    Args:
        job (dict): ``root``, ``set``, ``transform``, ``seed``, ``img_id``,
            ``img_path``, ``depth_path``, ``out_path`` and ``expected`` (the
            manifest record, or None).

    Returns:
        tuple[str, dict, str]: The id, its manifest record and
        ``'written'`` or ``'kept'``.
    """
    expected = job['expected']
    src_bytes = _read_bytes(job['img_path'], 'Image')
    source_sha = _sha256_bytes(src_bytes)
    out_path = job['out_path']
    if expected is not None and osp.isfile(out_path):
        with open(out_path, 'rb') as f:
            if _sha256_bytes(f.read()) == expected.get('sha256'):
                depth_sha = None
                if expected.get('depth_sha256') and job['depth_path']:
                    depth_sha = _sha256_bytes(
                        _read_bytes(job['depth_path'], 'Depth'))
                _check_sources(expected, source_sha, depth_sha, job)
                return job['img_id'], expected, 'kept'
    transform = _cached_transform(job['transform'], job['seed'])
    img = mmcv.imfrombytes(src_bytes, flag='color', backend='cv2')
    if img is None:
        raise ValueError(f'Could not decode image {job["img_path"]}.')
    results = dict(
        img=img, img_id=job['img_id'], img_path=job['img_path'],
        img_shape=img.shape[:2], ori_shape=img.shape[:2])
    depth_sha = None
    depth_key = getattr(transform, 'depth_key', None)
    if depth_key is not None and job['depth_path'] is not None:
        depth_bytes = _read_bytes(job['depth_path'], 'Depth')
        depth_sha = _sha256_bytes(depth_bytes)
        results[depth_key] = load_depth(job['depth_path'])
    _check_sources(expected, source_sha, depth_sha, job)
    results = transform(results)
    ok, encoded = cv2.imencode('.png', results['img'], _PNG_PARAMS)
    if not ok:
        raise OSError(f'Could not encode the degraded {job["img_id"]!r} as '
                      'PNG.')
    data = encoded.tobytes()
    record = dict(
        sha256=_sha256_bytes(data),
        source_sha256=source_sha,
        degradation_params=_jsonable(results['degradation_params']))
    if depth_sha is not None:
        record['depth_sha256'] = depth_sha
    if expected is not None and expected.get('sha256') != record['sha256']:
        raise RuntimeError(
            f'Re-creating {out_path} gave other bytes than the copy records '
            f'(sha256 {record["sha256"]} != {expected.get("sha256")}): the '
            'degradation code or the numpy / OpenCV versions changed since '
            f'the copy in {job["root"]} was made. Write a new copy to a new '
            'directory.')
    os.makedirs(osp.dirname(out_path), exist_ok=True)
    tmp = f'{out_path}{_TMP_MARK}{os.getpid()}'
    with open(tmp, 'wb') as f:
        f.write(data)
    os.replace(tmp, out_path)
    return job['img_id'], record, 'written'


def _remove_stale_tmp(folder: str) -> None:
    """Remove temporary files an interrupted run left in ``folder``."""
    for dirpath, _, files in os.walk(folder):
        for name in files:
            if _TMP_MARK in name:
                os.remove(osp.join(dirpath, name))


def _describe_dataset(dataset: BaseDataset) -> dict:
    return dict(
        type=type(dataset).__name__,
        split=getattr(dataset, 'split', None),
        data_root=dataset.data_root,
        ann_file=dataset.ann_file,
        num_images=len(dataset))


def _build_dataset(dataset: Union[BaseDataset, dict]) -> BaseDataset:
    if isinstance(dataset, BaseDataset):
        return dataset
    if not isinstance(dataset, dict) or 'type' not in dataset:
        raise TypeError('dataset must be a BaseDataset or a dataset config '
                        f"dict with a 'type', got {type(dataset).__name__}")
    cfg = copy.deepcopy(dict(dataset))
    cfg['pipeline'] = []  # images are read and degraded here
    cfg.pop('degraded_root', None)
    cfg.pop('degradation', None)
    return DATASETS.build(cfg)


def make_degraded_benchmark(dataset: Union[BaseDataset, dict],
                            out_dir: str,
                            sets: Optional[Dict[str, dict]] = None,
                            seed: int = 0,
                            num_workers: int = 0,
                            progress: bool = True,
                            flush_every: int = 50) -> dict:
    """Write (or complete) a fixed degraded copy of a dataset.

    See the module docstring for the layout, the seeding and the manifest.
    Each set is processed in turn, with a progress bar and a log line.
    Images of a set are degraded by :func:`_degrade_one` in this process
    (``num_workers=0``) or in a pool; the output does not depend on it.
    Fog reads the dataset's ground-truth depth (``ann_paths['depth']`` or,
    for the NYUD-layout datasets, the ``depth/<id>.npy`` file even when
    the depth task is not loaded); without depth it uses its documented
    prior, as in the on-the-fly pipeline (``depth_source`` in the params).

    Args:
        dataset (BaseDataset | dict): The clean dataset (e.g. the val set),
            or its config (its pipeline is ignored). Its data infos need
            ``img_id`` and ``img_path``.
        out_dir (str): Benchmark directory (created if needed).
        sets (dict, optional): Set name -> spec from
            :func:`benchmark_sets`. Defaults to ``benchmark_sets()``: noise
            at 15, 25 and 50, rain, fog and blur.
        seed (int): Base seed of every set. Defaults to 0.
        num_workers (int): Worker processes (0: none). Defaults to 0.
        progress (bool): Show a progress bar per set. Defaults to True.
        flush_every (int): Rewrite the manifest after this many images so
            an interrupted run keeps most of its work. Defaults to 50.

    Returns:
        dict: The manifest (also in ``out_dir/manifest.json``).

    Raises:
        ValueError: ``out_dir`` holds a copy made with other settings, a
            non-empty ``out_dir`` has no manifest, or a clean image changed.
    """
    if (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
            or seed < 0):
        raise ValueError(f'seed must be a non-negative int, got {seed!r}')
    if (isinstance(num_workers, bool) or not isinstance(num_workers, int)
            or num_workers < 0):
        raise ValueError('num_workers must be a non-negative int, got '
                         f'{num_workers!r}')
    dataset = _build_dataset(dataset)
    sets = _jsonable(benchmark_sets() if sets is None else sets)
    if not sets:
        raise ValueError('sets is empty; nothing to write.')
    for name, spec in sets.items():
        if name == CLEAN_TYPE or '/' in name or not name:
            raise ValueError(f'Invalid set name {name!r} (not empty, no '
                             f"'/', not {CLEAN_TYPE!r}).")
        for key in ('type', 'transform'):
            if key not in spec:
                raise ValueError(f'Set {name!r} has no {key!r}: {spec}')
        _build_transform(spec['transform'], int(seed), f'set {name!r}')
    records = _dataset_records(dataset)
    wanted = dict(
        format=MANIFEST_FORMAT,
        format_version=FORMAT_VERSION,
        settings=dict(
            tool=TOOL,
            mmallnet_version=__version__,
            seed=int(seed),
            dataset=_describe_dataset(dataset),
            layout='<set>/images/<id>.png',
            image_format='lossless PNG, 8-bit, 3 channels, in the channel '
            'order LoadImageFromFile reads',
            randomness='per image: the set transform with seed=seed, i.e. '
            'numpy default_rng([seed, stable_int(img_id), '
            'stable_int(type)])'),
        ids=[r['img_id'] for r in records],
        sets=OrderedDict(),
        images=OrderedDict(),
        environment=dict(numpy=np.__version__, opencv=cv2.__version__))
    wanted['sets'].update(sets)
    wanted = _jsonable(wanted)

    out_dir = str(out_dir)
    if osp.lexists(out_dir) and not osp.isdir(out_dir):
        raise NotADirectoryError(f'out_dir {out_dir} is not a directory.')
    if osp.isfile(manifest_path(out_dir)):
        existing = load_manifest(out_dir)
        diffs = _compare_manifests(existing, wanted)
        if diffs:
            raise ValueError(
                f'{out_dir} holds a degraded copy made with other settings '
                f'({"; ".join(diffs)}; recorded != requested). Use another '
                '--out directory or the recorded settings.')
        manifest = dict(existing)
        manifest['settings'] = wanted['settings']
        manifest['environment'] = wanted['environment']
        manifest['sets'] = OrderedDict(existing['sets'])
        for name, spec in sets.items():
            manifest['sets'].setdefault(name, spec)
        manifest['images'] = {
            name: dict(existing['images'].get(name, {}))
            for name in manifest['sets']
        }
    else:
        if osp.isdir(out_dir) and os.listdir(out_dir):
            raise ValueError(
                f'{out_dir} is not empty but has no {MANIFEST_NAME}; '
                'choose an empty or new --out directory.')
        manifest = dict(wanted)
        manifest['images'] = {name: {} for name in sets}
    os.makedirs(out_dir, exist_ok=True)
    for name in os.listdir(out_dir):
        if name.startswith(MANIFEST_NAME + _TMP_MARK):
            os.remove(osp.join(out_dir, name))
    _write_manifest(out_dir, manifest)

    pool = None
    if num_workers > 0:
        import multiprocessing
        pool = multiprocessing.Pool(num_workers)
    try:
        for name, spec in sets.items():
            _write_set(out_dir, name, spec, int(seed), records, manifest,
                       pool, progress, flush_every)
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    return load_manifest(out_dir)


def _write_set(out_dir: str, name: str, spec: dict, seed: int,
               records: List[dict], manifest: dict, pool, progress: bool,
               flush_every: int) -> None:
    set_dir = osp.join(out_dir, name)
    os.makedirs(osp.join(set_dir, 'images'), exist_ok=True)
    _remove_stale_tmp(set_dir)
    images = manifest['images'][name]
    jobs = [
        dict(root=out_dir, set=name, transform=spec['transform'], seed=seed,
             img_id=r['img_id'], img_path=r['img_path'],
             depth_path=r['depth_path'],
             out_path=degraded_image_path(out_dir, name, r['img_id']),
             expected=images.get(r['img_id'])) for r in records
    ]
    bar = None
    if progress:
        from mmengine.utils import ProgressBar
        print_log(f'Degraded benchmark: writing set {name!r} '
                  f'({len(jobs)} images) to {set_dir}', logger='current')
        bar = ProgressBar(len(jobs))
    results: Iterable = (pool.imap(_degrade_one, jobs, chunksize=2)
                         if pool is not None else map(_degrade_one, jobs))
    counts = dict(written=0, kept=0)
    pending = 0
    for img_id, record, status in results:
        images[img_id] = record
        counts[status] += 1
        pending += 1
        if pending >= flush_every:
            _write_manifest(out_dir, manifest)
            pending = 0
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.file.write('\n')
    _write_manifest(out_dir, manifest)
    extra = ''
    if spec['type'] == 'fog':
        sources = [images[r['img_id']]['degradation_params'].get(
            'depth_source') for r in records]
        extra = (f'; depth: {sources.count("gt")} ground truth, '
                 f'{sources.count("prior")} prior')
    level = ('full parameter ranges' if spec.get('level') is None else
             f'{spec.get("level_param")}={spec["level"]}')
    print_log(f'Degraded benchmark set {name!r} ({spec["type"]}, {level}): '
              f'{len(records)} images, {counts["written"]} written, '
              f'{counts["kept"]} verified and kept{extra}.',
              logger='current')


# ---------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------
def attach_degraded_copy(data_list: List[dict], degraded_root: str,
                         degradation: str, owner: str) -> List[dict]:
    """Point every data info at its stored degraded image.

    Adds ``degraded_img_path``, ``degradation_type`` (the set name, e.g.
    ``'noise_15'``, so metrics break results down per set) and
    ``degradation_params`` (the manifest's record) to each info, for
    :class:`~mmallnet.datasets.transforms.LoadDegradedImage`.

    Args:
        data_list (list[dict]): Data infos with ``img_id``.
        degraded_root (str): Benchmark directory.
        degradation (str): Set name.
        owner (str): Dataset class name, for error messages.

    Returns:
        list[dict]: The same list, updated in place.

    Raises:
        KeyError: Unknown set, or ids missing from the copy.
        FileNotFoundError: A recorded image file does not exist.
    """
    manifest = load_manifest(degraded_root)
    if degradation not in manifest['sets']:
        raise KeyError(f'{owner}: degradation {degradation!r} is not a set '
                       f'of the degraded copy {degraded_root}; it has '
                       f'{list(manifest["sets"])}.')
    images = manifest['images'].get(degradation, {})
    missing = [
        str(info['img_id']) for info in data_list
        if str(info['img_id']) not in images
    ]
    if missing:
        raise KeyError(
            f'{owner}: {len(missing)} of {len(data_list)} ids are missing '
            f'from set {degradation!r} of the degraded copy {degraded_root} '
            f'(e.g. {missing[:5]}); the copy was made from another split or '
            'is incomplete (re-run the tool with the same settings to '
            'finish it).')
    for info in data_list:
        img_id = str(info['img_id'])
        path = degraded_image_path(degraded_root, degradation, img_id)
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'{owner}: degraded image {path} (id {img_id!r}, set '
                f'{degradation!r}) is recorded in {MANIFEST_NAME} but does '
                'not exist; re-run the tool to restore it.')
        info['degraded_img_path'] = path
        info['degradation_type'] = degradation
        info['degradation_params'] = copy.deepcopy(
            images[img_id]['degradation_params'])
    return data_list


@DATASETS.register_module()
class DegradedBenchmarkDataset(ConcatDataset):
    """The clean set and every stored degraded copy of it, concatenated.

    Builds ``dataset_type(**dataset_kwargs)`` once clean (samples labelled
    ``degradation_type='clean'``) and once per set with
    ``degraded_root``/``degradation``, so
    ``MultiTaskMetric(per_degradation=True)`` reports the clean set, each
    set and (``all``) everything pooled. The pipeline must hold
    :class:`~mmallnet.datasets.transforms.LoadDegradedImage` after
    ``LoadImageFromFile``. Its keyword arguments are those of the wrapped
    dataset, so a config can turn a test dataset into a benchmark by
    changing ``type`` and adding ``dataset_type`` and ``degraded_root``.

    Args:
        dataset_type (str): Registered multi-task dataset class.
        degraded_root (str): Benchmark directory written by
            :func:`make_degraded_benchmark`.
        sets (Sequence[str], optional): Sets to evaluate, in order. None:
            every set of the manifest.
        include_clean (bool): Also evaluate the clean images. Defaults to
            True.
        lazy_init (bool): See :class:`mmengine.dataset.ConcatDataset`.
        **dataset_kwargs: Arguments of ``dataset_type`` (``data_root``,
            ``split``, ``tasks``, ``pipeline``, ...).
    """

    def __init__(self,
                 dataset_type: str,
                 degraded_root: str,
                 sets: Optional[Sequence[str]] = None,
                 include_clean: bool = True,
                 lazy_init: bool = False,
                 **dataset_kwargs) -> None:
        for key in ('degraded_root', 'degradation', 'type'):
            dataset_kwargs.pop(key, None)
        manifest = load_manifest(degraded_root)
        if sets is None:
            sets = list(manifest['sets'])
        unknown = [s for s in sets if s not in manifest['sets']]
        if unknown:
            raise KeyError(f'DegradedBenchmarkDataset: sets {unknown} are '
                           f'not in the degraded copy {degraded_root}; it '
                           f'has {list(manifest["sets"])}.')
        if not sets and not include_clean:
            raise ValueError('DegradedBenchmarkDataset: no set to evaluate '
                             '(sets is empty and include_clean is False).')
        self.degraded_root = degraded_root
        self.sets = list(sets)
        self.include_clean = include_clean
        cfgs = [dict(type=dataset_type, **dataset_kwargs)
                ] if include_clean else []
        cfgs += [
            dict(type=dataset_type, degraded_root=degraded_root,
                 degradation=name, **dataset_kwargs) for name in self.sets
        ]
        super().__init__(
            datasets=[copy.deepcopy(cfg) for cfg in cfgs],
            lazy_init=lazy_init)


__all__ = [
    'BENCHMARK_TYPES', 'LEVEL_PARAMS', 'DEFAULT_LEVELS', 'MANIFEST_NAME',
    'FORMAT_VERSION', 'benchmark_sets', 'make_degraded_benchmark',
    'load_manifest', 'manifest_path', 'degraded_image_path',
    'attach_degraded_copy', 'DegradedBenchmarkDataset'
]
