"""Writing (or completing) a fixed degraded copy of a dataset.

:func:`make_degraded_benchmark` checks the requested settings against an
existing manifest, then writes each set in turn (:func:`~.jobs.degrade_one`
per image, in this process or a pool), rewriting the manifest every
``flush_every`` images so an interrupted run keeps most of its work.
"""
import os
import os.path as osp
from collections import OrderedDict
from typing import Dict, Iterable, List, Optional, Union

import cv2
import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from mmallnet.version import __version__

from .jobs import degrade_one
from .manifest import (
    FORMAT_VERSION,
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    TMP_MARK,
    TOOL,
    compare_manifests,
    degraded_image_path,
    jsonable,
    load_manifest,
    manifest_path,
    write_manifest,
)
from .sets import CLEAN_TYPE, benchmark_sets, build_transform
from .source import build_dataset, dataset_records, describe_dataset


def make_degraded_benchmark(dataset: Union[BaseDataset, dict],
                            out_dir: str,
                            sets: Optional[Dict[str, dict]] = None,
                            seed: int = 0,
                            num_workers: int = 0,
                            progress: bool = True,
                            flush_every: int = 50) -> dict:
    """Write (or complete) a fixed degraded copy of a dataset.

    See :mod:`mmallnet.datasets.degraded_benchmark` for the layout, the
    seeding and the manifest.
    Each set is processed in turn, with a progress bar and a log line.
    Images of a set are degraded by :func:`degrade_one` in this process
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
    dataset = build_dataset(dataset)
    sets = jsonable(benchmark_sets() if sets is None else sets)
    if not sets:
        raise ValueError('sets is empty; nothing to write.')
    for name, spec in sets.items():
        if name == CLEAN_TYPE or '/' in name or not name:
            raise ValueError(f'Invalid set name {name!r} (not empty, no '
                             f"'/', not {CLEAN_TYPE!r}).")
        for key in ('type', 'transform'):
            if key not in spec:
                raise ValueError(f'Set {name!r} has no {key!r}: {spec}')
        build_transform(spec['transform'], int(seed), f'set {name!r}')
    records = dataset_records(dataset)
    wanted = dict(
        format=MANIFEST_FORMAT,
        format_version=FORMAT_VERSION,
        settings=dict(
            tool=TOOL,
            mmallnet_version=__version__,
            seed=int(seed),
            dataset=describe_dataset(dataset),
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
    wanted = jsonable(wanted)

    out_dir = str(out_dir)
    if osp.lexists(out_dir) and not osp.isdir(out_dir):
        raise NotADirectoryError(f'out_dir {out_dir} is not a directory.')
    if osp.isfile(manifest_path(out_dir)):
        existing = load_manifest(out_dir)
        diffs = compare_manifests(existing, wanted)
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
        if name.startswith(MANIFEST_NAME + TMP_MARK):
            os.remove(osp.join(out_dir, name))
    write_manifest(out_dir, manifest)

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
    results: Iterable = (pool.imap(degrade_one, jobs, chunksize=2)
                         if pool is not None else map(degrade_one, jobs))
    counts = dict(written=0, kept=0)
    pending = 0
    for img_id, record, status in results:
        images[img_id] = record
        counts[status] += 1
        pending += 1
        if pending >= flush_every:
            write_manifest(out_dir, manifest)
            pending = 0
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.file.write('\n')
    write_manifest(out_dir, manifest)
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


def _remove_stale_tmp(folder: str) -> None:
    """Remove temporary files an interrupted run left in ``folder``."""
    for dirpath, _, files in os.walk(folder):
        for name in files:
            if TMP_MARK in name:
                os.remove(osp.join(dirpath, name))
