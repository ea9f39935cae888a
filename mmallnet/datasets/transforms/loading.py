"""Loading of the NYUD-v2 multi-task annotation formats (InvPT layout).

Every reader checks what it reads (:mod:`mmallnet.datasets.annotation_checks`)
and raises an :class:`~mmallnet.utils.dense_maps.AnnotationError` naming
the file; :class:`LoadMultiTaskAnnotations` adds the sample id.
"""
from typing import Dict, Optional, Sequence

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from mmallnet.structures import TASK_SPECS, check_tasks
from mmallnet.utils.dense_maps import decode_normals, sample_context

from ..annotation_checks import (
    DEFAULT_MAX_DEPTH,
    check_depth,
    check_labels,
    check_normals,
    check_normals_png,
    load_npy,
    read_image_file,
)

#: Classes of the human-parts task (background + 6 parts).
NUM_PARTS_CLASSES = 7


def _read_png(path: str, flag: int) -> np.ndarray:
    return read_image_file(path, flag, 'a PNG readable by OpenCV')


def load_semseg(path: str,
                reduce_zero_label: bool = True,
                num_classes: Optional[int] = None,
                task: str = 'semseg') -> np.ndarray:
    """Load a label PNG; with ``reduce_zero_label`` 0 -> 255, k -> k-1.

    Args:
        path (str): PNG with one label per pixel.
        reduce_zero_label (bool): Whether 0 means unlabelled.
        num_classes (int, optional): Number of classes; a label (after the
            reduction) other than ``0 .. num_classes - 1`` and 255 raises.
            None: no check.
        task (str): The task, for the message. Defaults to 'semseg'.

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
    check_labels(label, path, num_classes, what=task,
                 offset=int(reduce_zero_label))
    return label


def load_depth(path: str,
               max_depth: Optional[float] = DEFAULT_MAX_DEPTH) -> np.ndarray:
    """Load a depth map in metres from ``.npy`` (0 = invalid).

    Args:
        path (str): ``.npy`` of shape (H, W), (1, H, W) or (H, W, 1).
        max_depth (float, optional): Largest plausible depth (m); a larger
            value raises (millimetres?). None: no bound. Defaults to
            :data:`~mmallnet.datasets.annotation_checks.DEFAULT_MAX_DEPTH`.

    Returns:
        np.ndarray: (H, W) float32.

    Raises:
        AnnotationError: Unreadable file, wrong shape, integer dtype,
            non-finite or negative values, values above ``max_depth``.
    """
    depth = load_npy(path)
    if depth.ndim == 3 and 1 in (depth.shape[0], depth.shape[-1]):
        depth = depth.reshape(depth.shape[1:] if depth.shape[0] == 1 else
                              depth.shape[:2])
    if depth.ndim != 2:
        raise ValueError(f'{path}: expected an (H, W) depth array, got '
                         f'shape {depth.shape}.')
    check_depth(depth, path, max_depth)
    return depth.astype(np.float32)


def load_normals(path: str, check: bool = True) -> np.ndarray:
    """Decode a normals PNG: n = 2 v / 255 - 1, channels R, G, B = x, y, z.

    Args:
        path (str): 8-bit 3-channel PNG.
        check (bool): Check that the decoded vectors are unit or zero
            (:func:`~mmallnet.datasets.annotation_checks.check_normals`).
            Defaults to True.

    Returns:
        np.ndarray: (H, W, 3) float32 (not re-normalised), see
        :func:`mmallnet.utils.dense_maps.decode_normals`.

    Raises:
        AnnotationError: Unreadable file, not 8-bit 3-channel, or (with
            ``check``) too many vectors of implausible norm.
    """
    raw = _read_png(path, cv2.IMREAD_UNCHANGED)
    check_normals_png(raw, path)
    normals = decode_normals(cv2.cvtColor(raw, cv2.COLOR_BGR2RGB))
    if check:
        check_normals(normals, path)
    return normals


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
    ``LoadImageFromFile``). Optional keys: ``img_id`` (named in errors),
    ``num_classes`` (set by the datasets). Added keys: the pipeline key of
    every task (``gt_seg_map``, ``gt_depth``, ``gt_normal``,
    ``gt_boundary``, ``gt_parts``, ``gt_saliency``) and ``seg_fields``.

    Every file is checked as it is read (depth in float metres, normals
    unit or zero, labels within the classes; see
    :mod:`mmallnet.datasets.annotation_checks`); a bad file raises an
    :class:`~mmallnet.utils.dense_maps.AnnotationError` naming it and the
    sample id.

    Args:
        tasks (Sequence[str], optional): Tasks to load; default every task in
            ``ann_paths``. A task asked for but missing from ``ann_paths``
            raises a KeyError.
        reduce_zero_label (bool, optional): Semseg 0 -> ignore, k -> k-1.
            Default: take ``results['reduce_zero_label']``, else True.
        num_classes (int, optional): Semseg classes; a label (after the
            reduction) other than ``0 .. num_classes - 1`` and 255 raises.
            Default: ``results['num_classes']`` (the dataset's class count),
            else no check.
        num_parts_classes (int): Human-part classes (labels are not
            shifted). Defaults to 7.
        max_depth (float, optional): Largest plausible depth (m); a larger
            value raises (millimetres?). None: no bound. Defaults to 100.
    """

    def __init__(self,
                 tasks: Optional[Sequence[str]] = None,
                 reduce_zero_label: Optional[bool] = None,
                 num_classes: Optional[int] = None,
                 num_parts_classes: int = NUM_PARTS_CLASSES,
                 max_depth: Optional[float] = DEFAULT_MAX_DEPTH) -> None:
        self.tasks = None if tasks is None else check_tasks(
            tasks, 'LoadMultiTaskAnnotations.tasks')
        self.reduce_zero_label = reduce_zero_label
        self.num_classes = None if num_classes is None else int(num_classes)
        self.num_parts_classes = int(num_parts_classes)
        if max_depth is not None and not max_depth > 0:
            raise ValueError('LoadMultiTaskAnnotations: max_depth must be '
                             f'positive or None, got {max_depth!r}.')
        self.max_depth = max_depth

    def _load(self, task: str, path: str, results: Dict,
              reduce_zero_label: bool) -> np.ndarray:
        if task == 'semseg':
            num_classes = self.num_classes
            if num_classes is None:
                num_classes = results.get('num_classes')
            return load_semseg(path, reduce_zero_label, num_classes)
        if task == 'parts':
            # part labels have no "unlabelled = 0" shift
            return load_semseg(path, False, self.num_parts_classes, 'parts')
        if task == 'depth':
            return load_depth(path, self.max_depth)
        return _LOADERS[task](path)

    def transform(self, results: Dict) -> Dict:
        ann_paths = annotation_paths(results, 'LoadMultiTaskAnnotations')
        tasks = self.tasks if self.tasks is not None else check_tasks(
            ann_paths, "results['ann_paths']")
        reduce_zero_label = self.reduce_zero_label
        if reduce_zero_label is None:
            reduce_zero_label = results.get('reduce_zero_label', True)
        for task in tasks:
            path = annotation_path(results, task)
            with sample_context(results.get('img_id')):
                target = self._load(task, path, results, reduce_zero_label)
            store_annotation(results, task, target, path)
        results['reduce_zero_label'] = reduce_zero_label
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(tasks={self.tasks}, '
                f'reduce_zero_label={self.reduce_zero_label}, '
                f'num_classes={self.num_classes}, '
                f'num_parts_classes={self.num_parts_classes}, '
                f'max_depth={self.max_depth})')
