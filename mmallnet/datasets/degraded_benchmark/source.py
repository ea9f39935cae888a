"""The clean dataset a degraded benchmark is made from.

A dataset instance or config (built with an empty pipeline: images are
read and degraded by the writer); each sample gives its ``img_id``, its
``img_path`` and, where the dataset has ground-truth depth, the depth
file the fog uses.
"""
import copy
import os.path as osp
from typing import List, Union

from mmengine.dataset import BaseDataset
from mmseg.registry import DATASETS


def _check_id(img_id: str) -> None:
    parts = str(img_id).replace('\\', '/').split('/')
    if (not img_id or osp.isabs(img_id)
            or any(p in ('', '.', '..') for p in parts)):
        raise ValueError(f'Image id {img_id!r} cannot name a file inside '
                         'the benchmark directory (empty, absolute or with '
                         "'.'/'..' components).")


def dataset_records(dataset: BaseDataset) -> List[dict]:
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


def describe_dataset(dataset: BaseDataset) -> dict:
    return dict(
        type=type(dataset).__name__,
        split=getattr(dataset, 'split', None),
        data_root=dataset.data_root,
        ann_file=dataset.ann_file,
        num_images=len(dataset))


def build_dataset(dataset: Union[BaseDataset, dict]) -> BaseDataset:
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
