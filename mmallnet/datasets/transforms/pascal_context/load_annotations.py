"""The transform loading every PASCAL-Context multi-task target of a sample.

File formats: see :mod:`mmallnet.datasets.transforms.pascal_context`.
"""
from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from mmallnet.structures import check_tasks
from mmallnet.utils.dense_maps import load_context_label_map, sample_context

from ...annotation_checks import check_labels, check_normals
from ..loading import (
    NUM_PARTS_CLASSES,
    annotation_path,
    annotation_paths,
    load_normals,
    store_annotation,
)
from .classes import NORMALS_VALID_CONTEXT_CLASSES
from .context_targets import context_label_edges, mask_normals
from .human_parts import load_human_parts
from .readers import load_label_png, load_saliency


@TRANSFORMS.register_module()
class LoadPascalContextAnnotations(BaseTransform):
    """Load the PASCAL-Context multi-task targets of one sample.

    Required keys: ``ann_paths`` (dict task -> file, from
    :class:`PascalContextMultiTaskDataset`), ``context_label_path`` (the
    ``LabelMap`` ``.mat`` used to mask the normals) when normals are
    loaded, and ``img_shape`` (from ``LoadImageFromFile``). Added keys: the
    pipeline key of every task (``gt_seg_map``, ``gt_parts``,
    ``gt_saliency``, ``gt_normal``, ``gt_boundary``) and ``seg_fields``.

    ``ann_paths`` formats: semseg label PNG; parts ``anno`` ``.mat``;
    saliency PNG; normals PNG; boundary the Context ``LabelMap`` ``.mat``
    (the edge map is computed from it).

    Every file is checked as it is read (labels within the classes,
    normals unit or zero where they are kept; see
    :mod:`mmallnet.datasets.annotation_checks`); a bad file raises an
    :class:`~mmallnet.utils.dense_maps.AnnotationError` naming it and the
    sample id (``results['img_id']``).

    Args:
        tasks (Sequence[str], optional): Tasks to load; default every task
            in ``ann_paths``. A task asked for but missing from
            ``ann_paths`` raises a KeyError.
        normals_valid_classes (Sequence[int], optional): Context ids whose
            normals are kept. Default :data:`NORMALS_VALID_CONTEXT_CLASSES`.
        num_classes (int): Semseg classes; a label other than 0 ..
            ``num_classes - 1`` and 255 raises an AnnotationError.
            Default 21.
        num_parts_classes (int): Human-part classes; a part label other
            than 0 .. ``num_parts_classes - 1`` and 255 raises. Default 7.
    """

    SUPPORTED_TASKS = ('semseg', 'parts', 'saliency', 'normals', 'boundary')

    def __init__(self,
                 tasks: Optional[Sequence[str]] = None,
                 normals_valid_classes: Optional[Sequence[int]] = None,
                 num_classes: int = 21,
                 num_parts_classes: int = NUM_PARTS_CLASSES) -> None:
        self.tasks = None if tasks is None else self._check(
            tasks, 'LoadPascalContextAnnotations.tasks')
        self.num_classes = int(num_classes)
        self.num_parts_classes = int(num_parts_classes)
        if normals_valid_classes is None:
            normals_valid_classes = sorted(NORMALS_VALID_CONTEXT_CLASSES)
        self.normals_valid_classes = tuple(
            int(c) for c in normals_valid_classes)

    def _check(self, tasks, where: str):
        tasks = check_tasks(tasks, where)
        for task in tasks:
            if task not in self.SUPPORTED_TASKS:
                raise KeyError(f'Task {task!r} in `{where}` has no '
                               'PASCAL-Context annotation; supported: '
                               f'{list(self.SUPPORTED_TASKS)}.')
        return tasks

    def _load(self, task: str, path: str, results: Dict,
              shape: Optional[Tuple[int, int]],
              context_labels: Callable[[str], np.ndarray]) -> np.ndarray:
        if task == 'semseg':
            target = load_label_png(path)
            check_labels(target, path, self.num_classes)
        elif task == 'parts':
            target = load_human_parts(path, shape)
            check_labels(target, path, self.num_parts_classes, what='parts')
        elif task == 'saliency':
            target = load_saliency(path)
        elif task == 'boundary':
            target = context_label_edges(context_labels(path))
        else:  # normals
            label_path = results.get('context_label_path')
            if label_path is None:
                raise KeyError(
                    'LoadPascalContextAnnotations needs '
                    "results['context_label_path'] (the LabelMap .mat) "
                    f"to mask the normals of {results.get('img_path')}.")
            normals = load_normals(path, check=False)
            labels = context_labels(label_path)
            if labels.shape != normals.shape[:2]:
                raise ValueError(
                    f'Size mismatch: LabelMap of {label_path} is '
                    f'{labels.shape} but normals {path} are '
                    f'{normals.shape[:2]}.')
            target = mask_normals(normals, labels,
                                  self.normals_valid_classes)
            # only the kept pixels must be unit normals
            check_normals(target, path)
        return target

    def transform(self, results: Dict) -> Dict:
        ann_paths = annotation_paths(results, 'LoadPascalContextAnnotations')
        tasks = self.tasks if self.tasks is not None else self._check(
            ann_paths, "results['ann_paths']")
        img_shape = results.get('img_shape')
        shape = None if img_shape is None else tuple(img_shape[:2])
        label_maps: Dict[str, np.ndarray] = {}

        def context_labels(path: str) -> np.ndarray:
            if path not in label_maps:
                label_maps[path] = load_context_label_map(path)
            return label_maps[path]

        for task in tasks:
            path = annotation_path(results, task)
            with sample_context(results.get('img_id')):
                target = self._load(task, path, results, shape,
                                    context_labels)
            store_annotation(results, task, target, path)
        results['reduce_zero_label'] = False
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(tasks={self.tasks}, '
                f'normals_valid_classes=<{len(self.normals_valid_classes)} '
                f'ids>, num_classes={self.num_classes}, '
                f'num_parts_classes={self.num_parts_classes})')
