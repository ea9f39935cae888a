"""Image ids for the samples of stock MMSeg datasets.

MMSeg's datasets (``ADE20KDataset``, ``CityscapesDataset``, ...) give each
sample an ``img_path`` but no ``img_id``. The degradations seed their
per-sample generator with the first of ``img_id``, ``img_path`` and
``sample_idx`` (:func:`~.degradations.get_sample_key`), and a fixed degraded
benchmark names its files by id. :func:`image_id_from_path` derives the id
the benchmark writer uses for such a dataset (the image path relative to
the dataset's image folder, without the file extension, e.g.
``'ADE_val_00000001'``) and :class:`AddImageId` sets it in a pipeline, so
on-the-fly degradations do not depend on where the dataset lies and give
the same images as the fixed benchmark.
"""
import os.path as osp
from typing import Optional

from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS


def image_id_from_path(img_path: str, img_dir: Optional[str] = None) -> str:
    """The id of an image: its path relative to ``img_dir``, no extension.

    Args:
        img_path (str): Image path (as the dataset's data info gives it).
        img_dir (str, optional): The dataset's image folder (its
            ``data_prefix['img_path']`` joined with ``data_root``). None or
            empty: the whole (normalised) path is used.

    Returns:
        str: The id, with ``/`` as separator, e.g. ``'ADE_val_00000001'``
        or ``'frankfurt/frankfurt_000000_000294_leftImg8bit'``.

    Raises:
        ValueError: ``img_path`` is not inside ``img_dir``.
    """
    path = osp.normpath(str(img_path))
    if img_dir:
        rel = osp.relpath(path, osp.normpath(str(img_dir)))
        if rel == '.' or rel.split(osp.sep)[0] == '..':
            raise ValueError(f'Image {img_path} is not inside the image '
                             f'folder {img_dir}; cannot derive its id.')
    else:
        rel = path
    return osp.splitext(rel)[0].replace(osp.sep, '/')


@TRANSFORMS.register_module()
class AddImageId(BaseTransform):
    """Set ``img_id`` from ``img_path`` (see :func:`image_id_from_path`).

    Put it after ``LoadImageFromFile`` and before a degradation, so the
    degradation is seeded by the dataset-relative id (the same wherever the
    dataset lies, and the id a fixed degraded benchmark of the dataset
    uses) instead of the path string. A sample that has an ``img_id``
    already (the multi-task datasets) keeps it.

    Required Keys:

    - img_path

    Added Keys:

    - img_id (str)

    Args:
        img_dir (str, optional): The dataset's image folder (``data_root``
            joined with ``data_prefix['img_path']``). Defaults to None (the
            whole path).
    """

    def __init__(self, img_dir: Optional[str] = None) -> None:
        self.img_dir = img_dir

    def transform(self, results: dict) -> dict:
        if results.get('img_id') is not None:
            return results
        if results.get('img_path') is None:
            raise KeyError("AddImageId needs results['img_path'] (set by the "
                           "dataset's data info); it is missing.")
        results['img_id'] = image_id_from_path(results['img_path'],
                                               self.img_dir)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(img_dir={self.img_dir!r})'
