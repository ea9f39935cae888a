"""Writing a SynthScenes dataset in the NYUD-v2 multi-task layout.

Image ``i`` is ``render_scene(seed, height, width, index=i)``, written as
PNG / ``.npy`` files by one job per image (in this process or a pool; the
bytes do not depend on it); ``meta.json`` comes last, atomically.
"""
import json
import os
import os.path as osp
import shutil
from typing import Tuple

import cv2
import numpy as np

from mmallnet.utils.dense_maps import encode_normals

from .meta import (
    expected_meta,
    image_ids,
    is_synthscenes_complete,
    meta_differences,
    read_meta,
)
from .render import render_scene
from .settings import (
    SYNTHSCENES_CLASSES,
    SYNTHSCENES_SUBDIRS,
    check_seed,
    check_size,
)


def _remove_generated(out_dir: str) -> None:
    """Remove only what the generator writes; other files are kept."""
    meta = osp.join(out_dir, 'meta.json')
    if osp.lexists(meta):
        os.remove(meta)
    for sub in list(SYNTHSCENES_SUBDIRS) + ['gt_sets']:
        path = osp.join(out_dir, sub)
        if osp.isdir(path) and not osp.islink(path):
            shutil.rmtree(path)
        elif osp.lexists(path):
            os.remove(path)


def _write_png(path: str, array: np.ndarray) -> None:
    if array.ndim == 3:
        array = cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(path, array):
        raise OSError(f'cv2.imwrite failed to write {path}')



def _render_and_write(args: Tuple[str, str, int, int, int, int]) -> list:
    out_dir, img_id, seed, index, height, width = args
    sample = render_scene(seed, height, width, index=index)
    _write_png(osp.join(out_dir, 'images', img_id + '.png'), sample['img'])
    _write_png(osp.join(out_dir, 'segmentation', img_id + '.png'),
               sample['semseg'] + np.uint8(1))
    np.save(osp.join(out_dir, 'depth', img_id + '.npy'), sample['depth'])
    _write_png(osp.join(out_dir, 'normals', img_id + '.png'),
               encode_normals(sample['normals']))
    _write_png(osp.join(out_dir, 'edge', img_id + '.png'),
               sample['boundary'] * np.uint8(255))
    _write_png(osp.join(out_dir, 'saliency', img_id + '.png'),
               sample['saliency'] * np.uint8(255))
    counts = np.bincount(sample['semseg'].ravel(),
                         minlength=len(SYNTHSCENES_CLASSES))
    return [int(c) for c in counts]


def generate_synthscenes(out_dir: str,
                         num_train: int = 200,
                         num_val: int = 50,
                         height: int = 120,
                         width: int = 160,
                         seed: int = 0,
                         overwrite: bool = False,
                         progress: bool = True,
                         num_workers: int = 0) -> dict:
    """Write a SynthScenes dataset in the NYUD-v2 multi-task layout.

    Layout under ``out_dir``: ``images/<id>.png`` (RGB), ``segmentation/
    <id>.png`` (class k stored as k + 1), ``depth/<id>.npy`` (float32
    metres), ``normals/<id>.png``, ``edge/<id>.png`` (0/255),
    ``saliency/<id>.png`` (0/255), ``gt_sets/{train,val}.txt`` and
    ``meta.json`` (written last). Ids are zero-padded 4-digit indices,
    train first, then val; image ``i`` is ``render_scene(seed, height,
    width, index=i)``.

    Args:
        out_dir (str): Dataset root.
        num_train (int): Number of training images. Defaults to 200.
        num_val (int): Number of validation images. Defaults to 50.
        height (int): Image height. Defaults to 120.
        width (int): Image width. Defaults to 160.
        seed (int): Dataset seed. Defaults to 0.
        overwrite (bool): Regenerate even if ``out_dir`` already holds a
            dataset (only the generator's own files are removed).
            Defaults to False.
        progress (bool): Show a progress bar. Defaults to True.
        num_workers (int): Worker processes; 0 renders in this process.
            The output does not depend on it. Defaults to 0.

    Returns:
        dict: The meta data (also in ``meta.json``). With
        ``overwrite=False`` and a complete dataset with the same settings
        in ``out_dir``, that dataset's meta is returned and nothing is
        rendered.

    Raises:
        FileExistsError: ``out_dir`` is not empty and holds no complete
            dataset with the same settings, and ``overwrite`` is False.
    """
    for name, value in (('num_train', num_train), ('num_val', num_val),
                        ('num_workers', num_workers)):
        check_seed(value, name)
    if num_train + num_val < 1:
        raise ValueError('num_train + num_val must be at least 1')
    check_seed(seed, 'seed')
    check_size(height, width)
    out_dir = str(out_dir)
    expected = expected_meta(num_train, num_val, height, width, seed)

    if osp.lexists(out_dir) and not osp.isdir(out_dir):
        raise NotADirectoryError(f'out_dir {out_dir} is not a directory')
    if osp.isdir(out_dir) and os.listdir(out_dir):
        if is_synthscenes_complete(out_dir):
            existing = read_meta(out_dir)
            diffs = meta_differences(existing, expected)
            if not overwrite:
                if not diffs:
                    return existing
                raise FileExistsError(
                    f'{out_dir} holds a SynthScenes dataset made with other '
                    f'settings ({"; ".join(diffs)}); pass overwrite=True '
                    '(--overwrite) to regenerate it or choose another '
                    'out_dir')
        elif not overwrite:
            raise FileExistsError(
                f'{out_dir} exists and is not empty but holds no complete '
                'SynthScenes dataset (meta.json, gt_sets or data files '
                'missing); pass overwrite=True (--overwrite) to regenerate '
                'it or choose another out_dir')
        _remove_generated(out_dir)

    for sub in list(SYNTHSCENES_SUBDIRS) + ['gt_sets']:
        os.makedirs(osp.join(out_dir, sub), exist_ok=True)
    train_ids, val_ids = image_ids(num_train, num_val)
    tasks = [(out_dir, img_id, seed, i, height, width)
             for i, img_id in enumerate(train_ids + val_ids)]

    bar = None
    if progress:
        from mmengine.utils import ProgressBar
        bar = ProgressBar(len(tasks))
    counts = []
    if num_workers > 0:
        import multiprocessing
        with multiprocessing.Pool(num_workers) as pool:
            for c in pool.imap(_render_and_write, tasks, chunksize=4):
                counts.append(c)
                if bar is not None:
                    bar.update()
    else:
        for task in tasks:
            counts.append(_render_and_write(task))
            if bar is not None:
                bar.update()
    if bar is not None:
        bar.file.write('\n')

    for split, ids in (('train', train_ids), ('val', val_ids)):
        with open(osp.join(out_dir, 'gt_sets', f'{split}.txt'), 'w',
                  encoding='utf-8') as f:
            f.write(''.join(i + '\n' for i in ids))
    counts_arr = np.array(counts, dtype=np.int64).reshape(
        -1, len(SYNTHSCENES_CLASSES))
    meta = dict(expected)
    meta['class_pixel_counts'] = dict(
        train=[int(c) for c in counts_arr[:num_train].sum(0)],
        val=[int(c) for c in counts_arr[num_train:].sum(0)])
    tmp = osp.join(out_dir, 'meta.json.tmp')
    with open(tmp, 'w', encoding='utf-8') as f:
        json.dump(meta, f, indent=2)
    os.replace(tmp, osp.join(out_dir, 'meta.json'))
    return meta
