"""Base class of the multi-task datasets: split file, file checks, copies.

A multi-task dataset lists its images in a split file (one id per line,
``<SPLIT_DIR>/<split>.txt`` under ``data_root`` unless ``ann_file`` is
given) and turns each id into one data info (:meth:`parse_data_info`)
holding at least ``img_path`` and ``img_id``. Every file a data info
names is checked when the dataset is built (:meth:`check_file`), so a
missing file fails at once with its path. With ``degraded_root`` and
``degradation`` every data info also points at its image in a fixed
degraded copy (:func:`~.degraded_benchmark.attach_degraded_copy`).
Subclasses give their layout: :attr:`SPLIT_DIR`, :meth:`parse_data_info`
and their ``METAINFO``.
"""
import os.path as osp
from abc import ABCMeta, abstractmethod
from typing import Dict, List, Optional

from mmengine.dataset import BaseDataset

from mmallnet.utils.dense_maps import AnnotationError

from .degraded_benchmark import attach_degraded_copy


def read_id_list(ann_file: str, owner: str, split: str) -> List[str]:
    """Read the non-empty, stripped lines of a split file.

    Args:
        ann_file (str): The split file.
        owner (str): Name of the dataset class, for error messages.
        split (str): The split name, for error messages.

    Returns:
        list[str]: The ids, in file order.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: The file lists no ids.
        AnnotationError: The file lists an id twice (names the id and
            both line numbers).
    """
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'{owner}: split file not found: {ann_file} '
                                f'(split={split!r}).')
    first_line: Dict[str, int] = {}
    with open(ann_file) as f:
        for number, line in enumerate(f, start=1):
            img_id = line.strip()
            if not img_id:
                continue
            if img_id in first_line:
                raise AnnotationError(
                    ann_file, f'{owner}: id {img_id!r} is listed twice, on '
                    f'lines {first_line[img_id]} and {number} '
                    f'(split={split!r}); expected each id once.')
            first_line[img_id] = number
    if not first_line:
        raise ValueError(f'Split file {ann_file} lists no ids.')
    return list(first_line)


class BaseMultiTaskDataset(BaseDataset, metaclass=ABCMeta):
    """Base class of the multi-task datasets.

    Args:
        data_root (str): Dataset root.
        split (str): Split name; ids are read from
            ``<SPLIT_DIR>/<split>.txt`` unless ``ann_file`` is given.
            Default 'train'.
        ann_file (str): Id list, relative to ``data_root``. Default ''.
        degraded_root (str, optional): A fixed degraded copy of this split
            (``tools/misc/make_degraded_benchmark.py``). With
            ``degradation``, each data info also gets ``degraded_img_path``
            and the manifest's ``degradation_type`` (set name) and
            ``degradation_params``, for :class:`LoadDegradedImage`; an id
            missing from the copy raises. Default None.
        degradation (str, optional): Set of the copy, e.g. ``'noise_25'``,
            ``'fog'``. Default None.
        verify_sha256 (bool): Check every stored image of the degraded copy
            against the manifest's SHA-256 (once per image per process; a
            mismatch raises naming set, id and file). Default True.
        **kwargs: Passed to :class:`mmengine.dataset.BaseDataset`.

    Raises:
        ValueError: Only one of ``degraded_root`` and ``degradation`` is
            given.
    """

    #: Folder of the split files, relative to ``data_root``.
    SPLIT_DIR: str = ''

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 ann_file: str = '',
                 degraded_root: Optional[str] = None,
                 degradation: Optional[str] = None,
                 verify_sha256: bool = True,
                 **kwargs) -> None:
        if (degraded_root is None) != (degradation is None):
            raise ValueError(f'{type(self).__name__}: give both '
                             '`degraded_root` and `degradation` or neither.')
        self.split = split
        self.degraded_root = degraded_root
        self.degradation = degradation
        self.verify_sha256 = verify_sha256
        ann_file = ann_file or osp.join(self.SPLIT_DIR, f'{split}.txt')
        super().__init__(data_root=data_root, ann_file=ann_file, **kwargs)

    @abstractmethod
    def parse_data_info(self, img_id: str) -> dict:
        """The data info of one id of the split file.

        Args:
            img_id (str): Image id (the raw annotation of a split file).

        Returns:
            dict: At least ``img_path`` and ``img_id``; every file it names
            exists (checked with :meth:`check_file`).
        """

    def check_file(self, path: str, img_id: str, what: str = 'file') -> None:
        """Raise a FileNotFoundError naming ``path`` if it does not exist.

        Args:
            path (str): The file.
            img_id (str): The id that lists it.
            what (str): What the file is, for the message. Default 'file'.
        """
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'{type(self).__name__}: {what} {path} listed by '
                f'{self.ann_file} (id {img_id!r}) does not exist.')

    def load_data_list(self) -> List[dict]:
        """Read the id list and check every image and annotation file.

        Returns:
            list[dict]: One data info per id, in split-file order.
        """
        ids = read_id_list(self.ann_file, type(self).__name__, self.split)
        data_list = [self.parse_data_info(img_id) for img_id in ids]
        if self.degraded_root is not None:
            attach_degraded_copy(data_list, self.degraded_root,
                                 self.degradation, type(self).__name__,
                                 self.verify_sha256)
        return data_list
