"""The clean dataset a degraded benchmark is made from.

A dataset instance or config (built with an empty pipeline: images are
read and degraded by the writer); each sample gives its ``img_id``, its
``img_path`` and, where the dataset has ground-truth depth, the depth
file the fog uses. Stock MMSeg datasets (``ADE20KDataset``, ...) give no
``img_id``: their id is the image path relative to the dataset's image
folder, without the extension (:func:`dataset_image_id`), and they have no
depth the fog reads (it uses its depth prior).
"""
import copy
import os.path as osp
from typing import List, Optional, Union

from mmengine.dataset import BaseDataset
from mmseg.registry import DATASETS

from ..transforms.image_id import image_id_from_path


def _check_id(img_id: str) -> None:
    parts = str(img_id).replace('\\', '/').split('/')
    if (not img_id or osp.isabs(img_id)
            or any(p in ('', '.', '..') for p in parts)):
        raise ValueError(f'Image id {img_id!r} cannot name a file inside '
                         'the benchmark directory (empty, absolute or with '
                         "'.'/'..' components).")


def image_dir(dataset: BaseDataset) -> Optional[str]:
    """The image folder of a dataset (``data_prefix['img_path']``).

    Args:
        dataset (BaseDataset): A built dataset (its prefixes joined with
            ``data_root``).

    Returns:
        str, optional: The folder, or None when the dataset has none.
    """
    prefix = getattr(dataset, 'data_prefix', None) or {}
    return prefix.get('img_path') or None


def dataset_image_id(dataset: BaseDataset, info: dict) -> str:
    """A sample's ``img_id``, derived from its path where it has none.

    Args:
        dataset (BaseDataset): The dataset.
        info (dict): One of its data infos.

    Returns:
        str: ``info['img_id']``, else :func:`image_id_from_path` of
        ``info['img_path']`` relative to :func:`image_dir` (MMSeg's
        datasets, e.g. ``'ADE_val_00000001'``).
    """
    if info.get('img_id') is not None:
        return str(info['img_id'])
    return image_id_from_path(info['img_path'], image_dir(dataset))


def dataset_records(dataset: BaseDataset) -> List[dict]:
    """Image id, image path and depth path (or None) of every sample."""
    records = []
    task_dirs = getattr(dataset, 'task_dirs', None) or {}
    suffixes = getattr(dataset, 'TASK_SUFFIXES', None) or {}
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        if 'img_path' not in info:
            raise KeyError(f'{type(dataset).__name__}: data info {index} '
                           "has no 'img_path'; a degraded benchmark needs "
                           'the image path (and an img_id, or an image '
                           'folder in data_prefix to derive it) per '
                           'sample.')
        img_id = dataset_image_id(dataset, info)
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
    """Type, split, root, annotation file and size of a dataset.

    A dataset whose data infos have no ``img_id`` (MMSeg's) also records
    ``img_dir`` and how its ids are derived.
    """
    out = dict(
        type=type(dataset).__name__,
        split=getattr(dataset, 'split', None),
        data_root=dataset.data_root,
        ann_file=dataset.ann_file,
        num_images=len(dataset))
    if len(dataset) and dataset.get_data_info(0).get('img_id') is None:
        out['img_dir'] = image_dir(dataset)
        out['img_id'] = 'img_path relative to img_dir, without extension'
    return out


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
