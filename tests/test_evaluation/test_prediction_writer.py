import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData

from mmallnet.datasets.transforms.loading import load_normals
from mmallnet.evaluation.prediction_writer import write_predictions
from mmallnet.structures import MultiTaskDataSample


def _sample():
    sample = MultiTaskDataSample(metainfo=dict(img_id='0007'))
    sample.pred_sem_seg = PixelData(data=torch.tensor([[[0, 3], [9, 1]]]))
    sample.pred_depth = PixelData(data=torch.tensor([[[0.5, 1.0],
                                                      [2.5, 9.0]]]))
    normals = torch.tensor([[1., 0.], [0., 0.]]), torch.tensor(
        [[0., 0.], [-1., 0.]]), torch.tensor([[0., 1.], [0., -1.]])
    sample.pred_normal = PixelData(data=torch.stack(normals))
    sample.pred_boundary = PixelData(data=torch.tensor([[[0., 0.5],
                                                         [0.999, 1.]]]))
    sample.pred_saliency = PixelData(data=torch.tensor([[[0., 0.5],
                                                         [0.2, 1.]]]))
    sample.pred_restored = PixelData(data=torch.zeros(3, 2, 2))
    sample.pred_restored.data[0] = 1.0  # red
    return sample.to_dict()


def test_writes_every_output_in_its_format(tmp_path):
    out = str(tmp_path)
    tasks = ['semseg', 'depth', 'normals', 'boundary', 'saliency']
    write_predictions(_sample(), out, tasks)
    read = lambda d: cv2.imread(osp.join(out, d, '0007.png'),  # noqa: E731
                                cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(read('semseg'), [[0, 3], [9, 1]])
    np.testing.assert_array_equal(
        np.load(osp.join(out, 'depth', '0007.npy')), [[0.5, 1.0], [2.5, 9.0]])
    # normals decode back (RGB = xyz) within PNG quantisation
    decoded = load_normals(osp.join(out, 'normals', '0007.png'))
    np.testing.assert_allclose(decoded[0, 0], [1, 0, 0], atol=1.001 / 255)
    np.testing.assert_allclose(decoded[1, 0], [0, -1, 0], atol=1.001 / 255)
    # boundary: floor(255 p) as SEISM reads it; saliency: round(255 p)
    np.testing.assert_array_equal(read('boundary'), [[0, 127], [254, 255]])
    np.testing.assert_array_equal(read('saliency'), [[0, 128], [51, 255]])
    restored = read('restored')
    np.testing.assert_array_equal(restored[..., 2], 255)  # BGR on disk
    np.testing.assert_array_equal(restored[..., :2], 0)


def test_missing_prediction_names_field(tmp_path):
    sample = _sample()
    del sample['pred_depth']
    with pytest.raises(KeyError, match="'pred_depth' of task 'depth'"):
        write_predictions(sample, str(tmp_path), ['depth'])
