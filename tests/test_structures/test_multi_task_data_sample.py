import pytest
import torch
from mmengine.structures import PixelData

from mmallnet.structures import (
    ALL_TASKS,
    CLEAN_IMG_KEY,
    DEGRADED_IMG_KEY,
    RESTORED_IMG_KEY,
    TASK_SPECS,
    MultiTaskDataSample,
    check_tasks,
)

FIELDS = [s.gt_field for s in TASK_SPECS.values()] + [
    s.pred_field for s in TASK_SPECS.values()
] + [CLEAN_IMG_KEY, DEGRADED_IMG_KEY, RESTORED_IMG_KEY]


@pytest.mark.parametrize('field', FIELDS)
def test_typed_pixel_data_fields(field):
    sample = MultiTaskDataSample()
    data = PixelData(data=torch.zeros(1, 2, 3))
    setattr(sample, field, data)
    assert getattr(sample, field) is data
    assert field in sample and field in sample.to_dict()
    with pytest.raises(AssertionError):
        setattr(sample, field, torch.zeros(1, 2, 3))  # not a PixelData
    delattr(sample, field)
    assert field not in sample


def test_task_table():
    assert ALL_TASKS == ('semseg', 'depth', 'normals', 'boundary', 'parts',
                         'saliency')
    assert TASK_SPECS['depth'].ignore_value == 0
    assert TASK_SPECS['normals'].channels == 3
    assert TASK_SPECS['semseg'].pipeline_key == 'gt_seg_map'
    assert check_tasks(['depth', 'semseg']) == ['depth', 'semseg']
    with pytest.raises(KeyError, match=r"'edge'.*model.tasks"):
        check_tasks(['edge'], 'model.tasks')
    with pytest.raises(ValueError, match='Duplicate'):
        check_tasks(['depth', 'depth'])
