"""Loading of the NYUD-v2 multi-task annotation formats (InvPT layout)."""
import os.path as osp
from typing import Dict, Optional, Sequence

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from mmallnet.structures import TASK_SPECS, check_tasks
from mmallnet.utils.dense_maps import decode_normals


def _read_png(path: str, flag: int) -> np.ndarray:
    if not osp.isfile(path):
        raise FileNotFoundError(f'Annotation file not found: {path}')
    array = cv2.imread(path, flag)
    if array is None:
        raise ValueError(f'Could not decode image file {path}; expected a '
                         'PNG readable by OpenCV.')
    return array


def load_semseg(path: str, reduce_zero_label: bool = True) -> np.ndarray:
    """Load a label PNG; with ``reduce_zero_label`` 0 -> 255, k -> k-1.

    Args:
        path (str): PNG with one label per pixel.
        reduce_zero_label (bool): Whether 0 means unlabelled.

    Returns:
        np.ndarray: (H, W) uint8 labels, 255 = ignore.
    """
    label = _read_png(path, cv2.IMREAD_UNCHANGED)
    if label.ndim != 2:
        raise ValueError(f'{path}: expected a single-channel label PNG, got '
                         f'shape {label.shape}.')
    if label.dtype != np.uint8:
        raise ValueError(f'{path}: expected an 8-bit label PNG, got '
                         f'{label.dtype}.')
    if reduce_zero_label:
        # As MMSeg: 0 -> 255, k -> k - 1, and 255 stays 255.
        label = label - np.uint8(1)  # 0 wraps to 255
        label[label == 254] = 255
    return label


def load_depth(path: str) -> np.ndarray:
    """Load a depth map in metres from ``.npy`` (0 = invalid).

    Returns:
        np.ndarray: (H, W) float32.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'Annotation file not found: {path}')
    depth = np.load(path)
    if depth.ndim == 3 and 1 in (depth.shape[0], depth.shape[-1]):
        depth = depth.reshape(depth.shape[1:] if depth.shape[0] == 1 else
                              depth.shape[:2])
    if depth.ndim != 2:
        raise ValueError(f'{path}: expected an (H, W) depth array, got '
                         f'shape {depth.shape}.')
    depth = np.nan_to_num(depth.astype(np.float32), nan=0.0)
    return depth


def load_normals(path: str) -> np.ndarray:
    """Decode a normals PNG: n = 2 v / 255 - 1, channels R, G, B = x, y, z.

    Returns:
        np.ndarray: (H, W, 3) float32 (not re-normalised), see
        :func:`mmallnet.utils.dense_maps.decode_normals`.
    """
    normals = _read_png(path, cv2.IMREAD_COLOR)
    return decode_normals(cv2.cvtColor(normals, cv2.COLOR_BGR2RGB))


def load_binary(path: str) -> np.ndarray:
    """Load a binary map stored as 0/255 (values above 127 are positive).

    Values of exactly 255 in a PNG with other values are positives too;
    there is no ignore label in these files.

    Returns:
        np.ndarray: (H, W) uint8 in {0, 1}.
    """
    mask = _read_png(path, cv2.IMREAD_GRAYSCALE)
    return (mask > 127).astype(np.uint8)


#: Loaders of the tasks whose files need no dataset option.
_LOADERS = {
    'depth': load_depth,
    'normals': load_normals,
    'boundary': load_binary,
    'saliency': load_binary,
}


def annotation_paths(results: Dict, owner: str) -> Dict[str, str]:
    """``results['ann_paths']``, the task -> file dict set by the dataset.

    Args:
        results (dict): Transform results.
        owner (str): The transform, for the error message.

    Returns:
        dict[str, str]: Task -> annotation file.

    Raises:
        KeyError: ``results`` has no ``ann_paths``.
    """
    ann_paths = results.get('ann_paths')
    if ann_paths is None:
        raise KeyError(f"{owner} needs results['ann_paths'] (dict task -> "
                       'annotation file) from the dataset.')
    return ann_paths


def annotation_path(results: Dict, task: str) -> str:
    """The annotation file of ``task`` from ``results['ann_paths']``.

    Args:
        results (dict): Transform results with ``ann_paths`` (task -> path).
        task (str): Task name.

    Returns:
        str: The path.

    Raises:
        KeyError: The task has no annotation file; names the image and the
            tasks that have one.
    """
    ann_paths = results['ann_paths']
    if task not in ann_paths:
        raise KeyError(f'Task {task!r} has no annotation file for '
                       f"{results.get('img_path')}; ann_paths has "
                       f'{sorted(ann_paths)}.')
    return ann_paths[task]


def store_annotation(results: Dict, task: str, target: np.ndarray,
                     path: str) -> None:
    """Check a loaded target against the image size and store it.

    Puts ``target`` under the task's pipeline key
    (:data:`mmallnet.structures.TASK_SPECS`) and registers that key in
    ``results['seg_fields']`` so geometric transforms apply to it.

    Args:
        results (dict): Transform results; ``img_shape`` is checked when
            present.
        task (str): Task name.
        target (np.ndarray): The loaded ``(H, W[, C])`` target.
        path (str): Its annotation file, for the error message.

    Raises:
        ValueError: The target's size differs from the image's.
    """
    img_shape = results.get('img_shape')
    if img_shape is not None and target.shape[:2] != tuple(img_shape[:2]):
        raise ValueError(
            f'Size mismatch: {task} annotation {path} is '
            f'{target.shape[:2]} but image '
            f"{results.get('img_path')} is {tuple(img_shape[:2])}.")
    key = TASK_SPECS[task].pipeline_key
    results[key] = target
    seg_fields = results.setdefault('seg_fields', [])
    if key not in seg_fields:
        seg_fields.append(key)


@TRANSFORMS.register_module()
class LoadMultiTaskAnnotations(BaseTransform):
    """Load the dense targets of every task listed in ``results['ann_paths']``.

    Required keys: ``ann_paths`` (dict task -> file), ``img_shape`` (from
    ``LoadImageFromFile``). Added keys: the pipeline key of every task
    (``gt_seg_map``, ``gt_depth``, ``gt_normal``, ``gt_boundary``,
    ``gt_parts``, ``gt_saliency``) and ``seg_fields``.

    Args:
        tasks (Sequence[str], optional): Tasks to load; default every task in
            ``ann_paths``. A task asked for but missing from ``ann_paths``
            raises a KeyError.
        reduce_zero_label (bool, optional): Semseg 0 -> ignore, k -> k-1.
            Default: take ``results['reduce_zero_label']``, else True.
    """

    def __init__(self,
                 tasks: Optional[Sequence[str]] = None,
                 reduce_zero_label: Optional[bool] = None) -> None:
        self.tasks = None if tasks is None else check_tasks(
            tasks, 'LoadMultiTaskAnnotations.tasks')
        self.reduce_zero_label = reduce_zero_label

    def transform(self, results: Dict) -> Dict:
        ann_paths = annotation_paths(results, 'LoadMultiTaskAnnotations')
        tasks = self.tasks if self.tasks is not None else check_tasks(
            ann_paths, "results['ann_paths']")
        reduce_zero_label = self.reduce_zero_label
        if reduce_zero_label is None:
            reduce_zero_label = results.get('reduce_zero_label', True)
        for task in tasks:
            path = annotation_path(results, task)
            if task in ('semseg', 'parts'):
                # part labels have no "unlabelled = 0" shift
                target = load_semseg(path, reduce_zero_label
                                     and task == 'semseg')
            else:
                target = _LOADERS[task](path)
            store_annotation(results, task, target, path)
        results['reduce_zero_label'] = reduce_zero_label
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(tasks={self.tasks}, '
                f'reduce_zero_label={self.reduce_zero_label})')
