"""Any dataset (e.g. MMSeg's ``ADE20KDataset``) read from a degraded copy."""
import copy
from typing import List

from mmengine.dataset import BaseDataset
from mmseg.registry import DATASETS

from .attach import attach_degraded_copy
from .source import dataset_image_id


@DATASETS.register_module()
class DegradedCopyDataset(BaseDataset):
    """One set of a fixed degraded benchmark of any dataset.

    The multi-task datasets read a copy themselves (``degraded_root`` /
    ``degradation``); this wrapper does the same for datasets without those
    arguments, such as MMSeg's (``ADE20KDataset``, ``CityscapesDataset``,
    ...). It builds the clean dataset (without pipeline), takes its data
    infos (annotation paths, ``reduce_zero_label``, ... unchanged), gives
    each its ``img_id`` (:func:`~.source.dataset_image_id`, as the writer
    does) and points it at its stored image with
    :func:`~.attach.attach_degraded_copy`; its metainfo is the clean
    dataset's. The pipeline needs
    :class:`~mmallnet.datasets.transforms.LoadDegradedImage` after
    ``LoadImageFromFile`` (and ``degradation_type`` /
    ``degradation_params`` in ``PackSegInputs``' ``meta_keys``).

    Args:
        dataset (dict): Config of the clean dataset; its ``pipeline`` is
            this dataset's pipeline.
        degraded_root (str): Benchmark directory.
        degradation (str): Set name, e.g. ``'noise_25'``.
        verify_sha256 (bool): Check every stored image against the
            manifest. Defaults to True.
        lazy_init (bool): See :class:`mmengine.dataset.BaseDataset`.
            Defaults to False.
    """

    def __init__(self,
                 dataset: dict,
                 degraded_root: str,
                 degradation: str,
                 verify_sha256: bool = True,
                 lazy_init: bool = False) -> None:
        if not isinstance(dataset, dict) or 'type' not in dataset:
            raise TypeError('DegradedCopyDataset: dataset must be a dataset '
                            "config dict with a 'type', got "
                            f'{type(dataset).__name__}')
        cfg = copy.deepcopy(dict(dataset))
        pipeline = cfg.pop('pipeline', [])
        self.source = DATASETS.build(dict(cfg, pipeline=[], lazy_init=True))
        self.degraded_root = degraded_root
        self.degradation = degradation
        self.verify_sha256 = verify_sha256
        super().__init__(pipeline=pipeline, lazy_init=lazy_init)
        self._metainfo = copy.deepcopy(self.source.metainfo)

    def load_data_list(self) -> List[dict]:
        """The clean dataset's data infos, pointed at the stored images."""
        self.source.full_init()
        data_list = []
        for index in range(len(self.source)):
            info = self.source.get_data_info(index)
            info.pop('sample_idx', None)
            info['img_id'] = dataset_image_id(self.source, info)
            data_list.append(info)
        return attach_degraded_copy(data_list, self.degraded_root,
                                    self.degradation,
                                    type(self.source).__name__,
                                    self.verify_sha256)
