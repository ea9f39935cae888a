"""Data sample carrying every dense task's ground truth and prediction."""
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from .tasks import (
    CLEAN_IMG_KEY,
    DEGRADED_IMG_KEY,
    RESTORED_IMG_KEY,
    TASK_SPECS,
)


def _pixel_data_property(field: str) -> property:
    private = '_' + field

    def getter(self):
        return getattr(self, private)

    def setter(self, value: PixelData) -> None:
        self.set_field(value, private, dtype=PixelData)

    def deleter(self) -> None:
        delattr(self, private)

    return property(getter, setter, deleter,
                    doc=f'PixelData field ``{field}``.')


class MultiTaskDataSample(SegDataSample):
    """A :class:`SegDataSample` with typed fields for all dense tasks.

    Ground truth: ``gt_sem_seg``, ``gt_depth``, ``gt_normal``,
    ``gt_boundary``, ``gt_parts``, ``gt_saliency``, ``gt_clean_img``.
    Predictions: ``pred_sem_seg``, ``pred_depth``, ``pred_normal``,
    ``pred_boundary``, ``pred_parts``, ``pred_saliency``, ``pred_restored``.
    The network input as a [0, 1] RGB image: ``degraded_img``. Degradation
    type and parameters are metainfo (``degradation_type``,
    ``degradation_params``).

    Examples:
        >>> import torch
        >>> from mmengine.structures import PixelData
        >>> sample = MultiTaskDataSample()
        >>> sample.gt_depth = PixelData(data=torch.ones(1, 4, 4))
        >>> sample.gt_depth.shape
        (4, 4)
    """


for _spec in TASK_SPECS.values():
    for _field in (_spec.gt_field, _spec.pred_field):
        if not hasattr(MultiTaskDataSample, _field):
            setattr(MultiTaskDataSample, _field, _pixel_data_property(_field))
for _field in (CLEAN_IMG_KEY, DEGRADED_IMG_KEY, RESTORED_IMG_KEY):
    setattr(MultiTaskDataSample, _field, _pixel_data_property(_field))
