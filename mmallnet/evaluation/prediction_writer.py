"""Write per-image predictions in formats other tools read.

Layout under ``output_dir`` (one file per image id)::

    semseg/<id>.png      uint8 class ids (the dataset's 0-based labels)
    parts/<id>.png       uint8 part ids
    depth/<id>.npy       float32 metres
    normals/<id>.png     RGB uint8, v = round((n + 1) / 2 * 255)
    boundary/<id>.png    uint8 floor(255 * p): what the MATLAB SEISM tool
                         reads for odsF
    saliency/<id>.png    uint8 round(255 * p)
    restored/<id>.png    RGB restored image
"""
import os
import os.path as osp
from typing import Optional, Sequence

import cv2
import numpy as np

from mmallnet.structures import RESTORED_IMG_KEY, TASK_SPECS
from mmallnet.utils.dense_maps import encode_normals

from .functional import to_numpy


def _array(sample: dict, field: str) -> Optional[np.ndarray]:
    value = sample.get(field)
    if value is None:
        return None
    return to_numpy(value['data'] if isinstance(value, dict) else value.data)


def sample_name(sample: dict) -> str:
    """The file stem of a sample: ``img_id``, else the image file's stem."""
    if sample.get('img_id') is not None:
        return str(sample['img_id'])
    if sample.get('img_path'):
        return osp.splitext(osp.basename(sample['img_path']))[0]
    raise KeyError('Cannot name the prediction files: the data sample has '
                   'neither `img_id` nor `img_path` metainfo.')


def write_predictions(sample: dict, output_dir: str,
                      tasks: Sequence[str]) -> None:
    """Write one sample's predictions below ``output_dir``.

    Args:
        sample (dict): A data sample as a dict (``to_dict()``).
        output_dir (str): Root folder; one sub-folder per output.
        tasks (Sequence[str]): Tasks whose predictions are written.
    """
    name = sample_name(sample)

    def save(folder: str, suffix: str, array: np.ndarray) -> None:
        os.makedirs(osp.join(output_dir, folder), exist_ok=True)
        path = osp.join(output_dir, folder, name + suffix)
        if suffix == '.npy':
            np.save(path, array)
        elif not cv2.imwrite(path, array):
            raise OSError(f'Could not write prediction file {path}.')

    for task in tasks:
        pred = _array(sample, TASK_SPECS[task].pred_field)
        if pred is None:
            raise KeyError(f'Prediction field '
                           f'{TASK_SPECS[task].pred_field!r} of task '
                           f'{task!r} is missing; cannot write it.')
        if task in ('semseg', 'parts'):
            save(task, '.png', pred[0].astype(np.uint8))
        elif task == 'depth':
            save(task, '.npy', pred[0].astype(np.float32))
        elif task == 'normals':
            save(task, '.png',
                 encode_normals(pred.transpose(1, 2, 0))[..., ::-1])
        elif task == 'boundary':
            save(task, '.png',
                 np.floor(np.clip(pred[0], 0, 1) * 255).astype(np.uint8))
        elif task == 'saliency':
            save(task, '.png',
                 np.round(np.clip(pred[0], 0, 1) * 255).astype(np.uint8))
    restored = _array(sample, RESTORED_IMG_KEY)
    if restored is not None:
        rgb = np.round(np.clip(restored, 0, 1) * 255).astype(np.uint8)
        save('restored', '.png', rgb.transpose(1, 2, 0)[..., ::-1])
