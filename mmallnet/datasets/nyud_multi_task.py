"""NYUD-v2 multi-task dataset in the InvPT-family layout."""
import os.path as osp
from typing import Dict, Optional, Sequence

from mmseg.registry import DATASETS

from mmallnet.structures import check_tasks
from mmallnet.visualization.color_maps import generate_palette

from .base_multi_task_dataset import BaseMultiTaskDataset

NYUD_CLASSES = (
    'wall', 'floor', 'cabinet', 'bed', 'chair', 'sofa', 'table', 'door',
    'window', 'bookshelf', 'picture', 'counter', 'blinds', 'desk', 'shelves',
    'curtain', 'dresser', 'pillow', 'mirror', 'floor mat', 'clothes',
    'ceiling', 'books', 'refridgerator', 'television', 'paper', 'towel',
    'shower curtain', 'box', 'whiteboard', 'person', 'night stand', 'toilet',
    'sink', 'lamp', 'bathtub', 'bag', 'otherstructure', 'otherfurniture',
    'otherprop')


@DATASETS.register_module()
class NYUDMultiTaskDataset(BaseMultiTaskDataset):
    """NYUD-v2 multi-task dataset (InvPT layout).

    Layout under ``data_root``::

        images/<id>.png          RGB image
        segmentation/<id>.png    0 = unlabelled, k = class k-1 (40 classes)
        depth/<id>.npy           metres, 0 = invalid
        normals/<id>.png         n = 2 v / 255 - 1, RGB = x, y, z
        edge/<id>.png            boundary, 0 / 255
        saliency/<id>.png        optional saliency mask, 0 / 255
        gt_sets/{train,val}.txt  one id per line

    Each data info holds ``img_path``, ``img_id`` and ``ann_paths`` (task ->
    file) for :class:`LoadMultiTaskAnnotations`. Every listed file is checked
    when the dataset is built, so a missing file fails at once with its path.

    Args:
        data_root (str): Dataset root.
        split (str): Split name; ids are read from ``gt_sets/<split>.txt``
            unless ``ann_file`` is given. Default 'train'.
        tasks (Sequence[str]): Tasks to load. Default semseg, depth,
            normals, boundary.
        ann_file (str): Id list, relative to ``data_root``. Default ''.
        task_dirs (dict, optional): Override the folder of a task.
        reduce_zero_label (bool): Semseg 0 = unlabelled. Default True.
        **kwargs: Passed to :class:`BaseMultiTaskDataset`
            (``degraded_root`` and ``degradation``: a fixed degraded copy)
            and :class:`mmengine.dataset.BaseDataset`.
    """

    METAINFO = dict(
        classes=NYUD_CLASSES, palette=generate_palette(40).tolist())

    SPLIT_DIR = 'gt_sets'
    IMG_DIR = 'images'
    IMG_SUFFIX = '.png'
    TASK_DIRS: Dict[str, str] = dict(
        semseg='segmentation',
        depth='depth',
        normals='normals',
        boundary='edge',
        saliency='saliency',
        parts='parts')
    TASK_SUFFIXES: Dict[str, str] = dict(
        semseg='.png',
        depth='.npy',
        normals='.png',
        boundary='.png',
        saliency='.png',
        parts='.png')

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 tasks: Sequence[str] = ('semseg', 'depth', 'normals',
                                         'boundary'),
                 ann_file: str = '',
                 task_dirs: Optional[Dict[str, str]] = None,
                 reduce_zero_label: bool = True,
                 **kwargs) -> None:
        self.tasks = check_tasks(tasks, f'{type(self).__name__}.tasks')
        self.task_dirs = {**self.TASK_DIRS, **(task_dirs or {})}
        self.reduce_zero_label = reduce_zero_label
        super().__init__(data_root=data_root, split=split, ann_file=ann_file,
                         **kwargs)

    def parse_data_info(self, img_id: str) -> dict:
        """Image and annotation paths of one id, all checked to exist.

        Args:
            img_id (str): Image id.

        Returns:
            dict: ``img_path``, ``img_id``, ``ann_paths`` (task -> file),
            ``seg_fields``, ``reduce_zero_label`` and ``num_classes`` (of
            the metainfo, for the label check of
            :class:`LoadMultiTaskAnnotations`; None without classes).
        """
        img_path = osp.join(self.data_root, self.IMG_DIR,
                            img_id + self.IMG_SUFFIX)
        ann_paths = {
            task: osp.join(self.data_root, self.task_dirs[task],
                           img_id + self.TASK_SUFFIXES[task])
            for task in self.tasks
        }
        for path in (img_path, *ann_paths.values()):
            self.check_file(path, img_id)
        classes = self.metainfo.get('classes')
        return dict(
            img_path=img_path,
            img_id=img_id,
            ann_paths=ann_paths,
            seg_fields=[],
            reduce_zero_label=self.reduce_zero_label,
            num_classes=None if classes is None else len(classes))
