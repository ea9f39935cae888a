"""Every output of one predicted sample: arrays, files and the picture.

Files below ``out_dir`` for a sample named ``<id>`` (its ``img_id``, else
its image file's stem):

- what ``tools/test.py --out`` writes, through the same writer
  (:func:`~mmallnet.evaluation.prediction_writer.write_predictions`):
  ``semseg/<id>.png`` and ``parts/<id>.png`` (uint8 labels),
  ``depth/<id>.npy`` (float32 metres), ``normals/<id>.png``,
  ``boundary/<id>.png``, ``saliency/<id>.png`` and ``restored/<id>.png``;
- colour pictures: ``semseg_color/<id>.png`` and ``parts_color/<id>.png``
  (the dataset palette, else a generated one) and ``depth_color/<id>.png``
  (turbo colour map over the image's depth range);
- ``vis/<id>.png``: the visualizer's grid of input, restoration and every
  task.
"""
import os
import os.path as osp
from typing import Any, Dict, Optional

import cv2
import numpy as np
from mmengine.structures import BaseDataElement

from mmallnet.evaluation.prediction_writer import (
    sample_name,
    write_predictions,
)
from mmallnet.structures import ALL_TASKS, RESTORED_IMG_KEY, TASK_SPECS
from mmallnet.visualization import (
    MultiTaskLocalVisualizer,
    depth_to_rgb,
    generate_palette,
    label_to_rgb,
)

#: Suffix of each file ``write_predictions`` writes, by folder.
PREDICTION_SUFFIXES = dict(
    semseg='.png', parts='.png', depth='.npy', normals='.png',
    boundary='.png', saliency='.png', restored='.png')

#: Dataset-meta key of the palette of each label task.
PALETTE_KEYS = dict(semseg='palette', parts='parts_palette')


def _numpy(sample: BaseDataElement, field: str) -> np.ndarray:
    return sample.get(field).data.detach().cpu().numpy()


def predicted_tasks(sample: BaseDataElement) -> list:
    """The tasks whose prediction field the sample holds, in task order."""
    return [t for t in ALL_TASKS if TASK_SPECS[t].pred_field in sample]


def prediction_arrays(sample: BaseDataElement) -> Dict[str, np.ndarray]:
    """The sample's predictions as numpy arrays, by task name.

    Args:
        sample (MultiTaskDataSample): A predicted sample.

    Returns:
        dict[str, np.ndarray]: ``semseg`` / ``parts`` (H, W) int64 labels,
        ``depth`` (H, W) float32 metres, ``normals`` (H, W, 3) float32
        unit vectors, ``boundary`` / ``saliency`` (H, W) float32
        probabilities, ``restored`` (H, W, 3) float32 RGB in [0, 1]; only
        those the model predicts.
    """
    arrays = {}
    for task in predicted_tasks(sample):
        pred = _numpy(sample, TASK_SPECS[task].pred_field)
        arrays[task] = (pred.transpose(1, 2, 0)
                        if TASK_SPECS[task].channels == 3 else pred[0])
    if RESTORED_IMG_KEY in sample:
        arrays['restored'] = _numpy(sample, RESTORED_IMG_KEY).transpose(
            1, 2, 0)
    return arrays


def _write_png(path: str, rgb: np.ndarray) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    if not cv2.imwrite(path, np.ascontiguousarray(rgb[..., ::-1])):
        raise OSError(f'Could not write {path}.')


def write_inference_outputs(
        sample: BaseDataElement,
        out_dir: str,
        dataset_meta: Optional[Dict[str, Any]] = None,
        visualizer: Optional[MultiTaskLocalVisualizer] = None,
        with_labels: bool = True) -> Dict[str, str]:
    """Write every output of one predicted sample below ``out_dir``.

    Args:
        sample (MultiTaskDataSample): A predicted sample with ``img_id`` or
            ``img_path`` metainfo (its file names).
        out_dir (str): Root folder; one sub-folder per output (module
            docstring).
        dataset_meta (dict, optional): ``palette`` / ``parts_palette`` for
            the colour pictures.
        visualizer (MultiTaskLocalVisualizer, optional): Draws
            ``vis/<id>.png``; None writes no picture.
        with_labels (bool): Write class names into the picture.

    Returns:
        dict[str, str]: Output name (``semseg``, ``semseg_color``,
        ``depth``, ``depth_color``, ..., ``restored``, ``vis``) -> path.
    """
    meta = dataset_meta or {}
    name = sample_name(sample.metainfo)
    tasks = predicted_tasks(sample)
    write_predictions(sample.to_dict(), out_dir, tasks)
    written = {
        folder: osp.join(out_dir, folder, name + PREDICTION_SUFFIXES[folder])
        for folder in tasks + (['restored'] if RESTORED_IMG_KEY in sample
                               else [])
    }
    arrays = prediction_arrays(sample)
    for task, key in PALETTE_KEYS.items():
        if task not in arrays:
            continue
        label = arrays[task]
        palette = meta.get(key)
        if palette is None:
            valid = label[label != TASK_SPECS[task].ignore_value]
            palette = generate_palette(int(valid.max(initial=-1)) + 1)
        path = osp.join(out_dir, f'{task}_color', name + '.png')
        _write_png(path, label_to_rgb(label, palette))
        written[f'{task}_color'] = path
    if 'depth' in arrays:
        path = osp.join(out_dir, 'depth_color', name + '.png')
        _write_png(path, depth_to_rgb(arrays['depth']))
        written['depth_color'] = path
    if visualizer is not None:
        path = osp.join(out_dir, 'vis', name + '.png')
        visualizer.add_datasample(
            name, None, sample, draw_gt=False, draw_pred=True,
            out_file=path, with_labels=with_labels)
        written['vis'] = path
    return written
