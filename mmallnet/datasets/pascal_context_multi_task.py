"""PASCAL-Context multi-task dataset in the PASCAL_MT layout."""
import os.path as osp
from typing import Dict, List, Sequence

from mmseg.registry import DATASETS

from mmallnet.structures import check_tasks

from .base_multi_task_dataset import BaseMultiTaskDataset

PASCAL_CONTEXT_MT_CLASSES = (
    'background', 'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus',
    'car', 'cat', 'chair', 'cow', 'diningtable', 'dog', 'horse', 'motorbike',
    'person', 'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor')

PASCAL_PARTS_CLASSES = ('background', 'head', 'torso', 'uarm', 'larm',
                        'uleg', 'lleg')


def voc_palette(num_classes: int) -> List[List[int]]:
    """The PASCAL VOC colour map (bits of the label spread over R, G, B).

    Bit ``3 k + c`` of a label sets bit ``7 - k`` of colour channel ``c``
    (R, G, B), so label 1 is dark red, 2 dark green, 15 (person) pink.

    Args:
        num_classes (int): Number of colours.

    Returns:
        list[list[int]]: RGB colour of each label.
    """
    palette = []
    for label in range(num_classes):
        rgb = [0, 0, 0]
        for k in range(8):
            for c in range(3):
                if label >> (3 * k + c) & 1:
                    rgb[c] |= 1 << (7 - k)
        palette.append(rgb)
    return palette


@DATASETS.register_module()
class PascalContextMultiTaskDataset(BaseMultiTaskDataset):
    """PASCAL-Context multi-task dataset (PASCAL_MT layout).

    Layout under ``data_root``::

        JPEGImages/<id>.jpg                  RGB image
        semseg/VOC12/<id>.png                21-class semseg (preferred)
        semseg/pascal-context/<id>.png       21-class semseg (otherwise)
        human_parts/<id>.mat                 PASCAL-Part ``anno`` struct
        sal_distill/<id>.png                 distilled saliency, 0..255
        normals_distill/<id>.png             distilled normals, 2 v/255 - 1
        pascal-context/trainval/<id>.mat     459-class ``LabelMap``
        ImageSets/Context/{train,val}.txt    one id per line

    Each data info holds ``img_path``, ``img_id``, ``ann_paths`` (task ->
    file; the boundary file is the ``LabelMap`` ``.mat``) and
    ``context_label_path`` for :class:`LoadPascalContextAnnotations`.
    Every file is checked when the dataset is built, so a missing file
    fails at once with its path. Human parts of images without a person
    with part annotations are all-ignore (decided when loading).

    Args:
        data_root (str): Dataset root.
        split (str): Split name; ids are read from
            ``ImageSets/Context/<split>.txt`` unless ``ann_file`` is given.
            Default 'train'.
        tasks (Sequence[str]): Tasks to load, among semseg, parts, saliency,
            normals, boundary. Default all five.
        ann_file (str): Id list, relative to ``data_root``. Default ''.
        **kwargs: Passed to :class:`BaseMultiTaskDataset`
            (``degraded_root`` and ``degradation``: a fixed degraded copy)
            and :class:`mmengine.dataset.BaseDataset`.
    """

    METAINFO = dict(
        classes=PASCAL_CONTEXT_MT_CLASSES,
        palette=voc_palette(len(PASCAL_CONTEXT_MT_CLASSES)),
        parts_classes=PASCAL_PARTS_CLASSES,
        parts_palette=voc_palette(len(PASCAL_PARTS_CLASSES)))

    SUPPORTED_TASKS = ('semseg', 'parts', 'saliency', 'normals', 'boundary')
    SPLIT_DIR = osp.join('ImageSets', 'Context')
    IMG_DIR = 'JPEGImages'
    IMG_SUFFIX = '.jpg'
    #: Semseg folders, in order of preference.
    SEMSEG_DIRS = (osp.join('semseg', 'VOC12'),
                   osp.join('semseg', 'pascal-context'))
    CONTEXT_LABEL_DIR = osp.join('pascal-context', 'trainval')
    TASK_FILES: Dict[str, Sequence[str]] = dict(
        parts=('human_parts', '.mat'),
        saliency=('sal_distill', '.png'),
        normals=('normals_distill', '.png'))

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 tasks: Sequence[str] = ('semseg', 'parts', 'saliency',
                                         'normals', 'boundary'),
                 ann_file: str = '',
                 **kwargs) -> None:
        where = f'{type(self).__name__}.tasks'
        self.tasks = check_tasks(tasks, where)
        for task in self.tasks:
            if task not in self.SUPPORTED_TASKS:
                raise KeyError(f'Task {task!r} in `{where}` has no '
                               'PASCAL-Context annotation; supported: '
                               f'{list(self.SUPPORTED_TASKS)}.')
        super().__init__(data_root=data_root, split=split, ann_file=ann_file,
                         **kwargs)

    def _semseg_path(self, img_id: str) -> str:
        candidates = [
            osp.join(self.data_root, d, img_id + '.png')
            for d in self.SEMSEG_DIRS
        ]
        for path in candidates:
            if osp.isfile(path):
                return path
        raise FileNotFoundError(
            f'{type(self).__name__}: no semseg file for id {img_id!r} '
            f'(listed by {self.ann_file}); looked for '
            f'{" and ".join(candidates)}.')

    def parse_data_info(self, img_id: str) -> dict:
        """Image and annotation paths of one id, all checked to exist.

        Args:
            img_id (str): Image id.

        Returns:
            dict: ``img_path``, ``img_id``, ``ann_paths`` (task -> file),
            ``seg_fields``, ``reduce_zero_label`` and, with normals,
            ``context_label_path``.
        """
        img_path = osp.join(self.data_root, self.IMG_DIR,
                            img_id + self.IMG_SUFFIX)
        self.check_file(img_path, img_id, 'image file')
        context_label_path = osp.join(self.data_root, self.CONTEXT_LABEL_DIR,
                                      img_id + '.mat')
        ann_paths = {}
        for task in self.tasks:
            if task == 'semseg':
                path = self._semseg_path(img_id)
            elif task == 'boundary':
                path = context_label_path
            else:
                folder, suffix = self.TASK_FILES[task]
                path = osp.join(self.data_root, folder, img_id + suffix)
            self.check_file(path, img_id, f'{task} annotation file')
            ann_paths[task] = path
        info = dict(
            img_path=img_path,
            img_id=img_id,
            ann_paths=ann_paths,
            seg_fields=[],
            reduce_zero_label=False)
        if 'normals' in self.tasks:
            self.check_file(context_label_path, img_id,
                            'Context LabelMap (normals mask) file')
            info['context_label_path'] = context_label_path
        return info


__all__ = [
    'PASCAL_CONTEXT_MT_CLASSES', 'PASCAL_PARTS_CLASSES',
    'PascalContextMultiTaskDataset', 'voc_palette'
]
