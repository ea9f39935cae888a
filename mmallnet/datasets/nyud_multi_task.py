"""NYUD-v2 multi-task dataset in the InvPT-family layout."""
import os.path as osp
from typing import Dict, List, Optional, Sequence

from mmengine.dataset import BaseDataset
from mmseg.registry import DATASETS

from mmallnet.structures import check_tasks
from mmallnet.visualization.color_maps import generate_palette

from .degraded_benchmark import attach_degraded_copy
from .id_list import read_id_list

NYUD_CLASSES = (
    'wall', 'floor', 'cabinet', 'bed', 'chair', 'sofa', 'table', 'door',
    'window', 'bookshelf', 'picture', 'counter', 'blinds', 'desk', 'shelves',
    'curtain', 'dresser', 'pillow', 'mirror', 'floor mat', 'clothes',
    'ceiling', 'books', 'refridgerator', 'television', 'paper', 'towel',
    'shower curtain', 'box', 'whiteboard', 'person', 'night stand', 'toilet',
    'sink', 'lamp', 'bathtub', 'bag', 'otherstructure', 'otherfurniture',
    'otherprop')


@DATASETS.register_module()
class NYUDMultiTaskDataset(BaseDataset):
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
        degraded_root (str, optional): A fixed degraded copy of this split
            (``tools/misc/make_degraded_benchmark.py``). With
            ``degradation``, each data info also gets ``degraded_img_path``
            and the manifest's ``degradation_type`` (set name) and
            ``degradation_params``, for :class:`LoadDegradedImage`; an id
            missing from the copy raises. Default None.
        degradation (str, optional): Set of the copy, e.g. ``'noise_25'``,
            ``'fog'``. Default None.
        **kwargs: Passed to :class:`mmengine.dataset.BaseDataset`.
    """

    METAINFO = dict(
        classes=NYUD_CLASSES, palette=generate_palette(40).tolist())

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
                 degraded_root: Optional[str] = None,
                 degradation: Optional[str] = None,
                 **kwargs) -> None:
        self.tasks = check_tasks(tasks, f'{type(self).__name__}.tasks')
        self.split = split
        self.task_dirs = {**self.TASK_DIRS, **(task_dirs or {})}
        self.reduce_zero_label = reduce_zero_label
        if (degraded_root is None) != (degradation is None):
            raise ValueError(f'{type(self).__name__}: give both '
                             '`degraded_root` and `degradation` or neither.')
        self.degraded_root = degraded_root
        self.degradation = degradation
        ann_file = ann_file or osp.join('gt_sets', f'{split}.txt')
        super().__init__(data_root=data_root, ann_file=ann_file, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read the id list and check every image and annotation file.

        Returns:
            list[dict]: One data info per id.
        """
        ids = read_id_list(self.ann_file, type(self).__name__, self.split)
        data_list = []
        for img_id in ids:
            img_path = osp.join(self.data_root, self.IMG_DIR,
                                img_id + self.IMG_SUFFIX)
            ann_paths = {
                task: osp.join(self.data_root, self.task_dirs[task],
                               img_id + self.TASK_SUFFIXES[task])
                for task in self.tasks
            }
            for path in (img_path, *ann_paths.values()):
                if not osp.isfile(path):
                    raise FileNotFoundError(
                        f'{type(self).__name__}: file {path} listed by '
                        f'{self.ann_file} (id {img_id!r}) does not exist.')
            data_list.append(
                dict(
                    img_path=img_path,
                    img_id=img_id,
                    ann_paths=ann_paths,
                    seg_fields=[],
                    reduce_zero_label=self.reduce_zero_label))
        if self.degraded_root is not None:
            attach_degraded_copy(data_list, self.degraded_root,
                                 self.degradation, type(self).__name__)
        return data_list
