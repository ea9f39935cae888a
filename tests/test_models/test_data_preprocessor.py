import torch
from mmengine.structures import PixelData

from mmallnet.models.data_preprocessor import MultiTaskDataPreProcessor
from mmallnet.structures import MultiTaskDataSample

MEAN, STD = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]


def _sample(h, w, seed):
    g = torch.Generator().manual_seed(seed)
    img = torch.randint(0, 256, (3, h, w), generator=g, dtype=torch.uint8)
    sample = MultiTaskDataSample()
    sample.gt_clean_img = PixelData(
        data=torch.randint(0, 256, (3, h, w), generator=g, dtype=torch.uint8))
    sample.gt_sem_seg = PixelData(data=torch.zeros(1, h, w, dtype=torch.long))
    sample.gt_depth = PixelData(data=torch.ones(1, h, w))
    sample.gt_normal = PixelData(data=torch.ones(3, h, w))
    sample.gt_boundary = PixelData(data=torch.zeros(1, h, w))
    return img, sample


def test_pads_every_target_with_its_ignore_value():
    pre = MultiTaskDataPreProcessor(mean=MEAN, std=STD, size_divisor=8)
    (img1, s1), (img2, s2) = _sample(5, 6, 0), _sample(7, 4, 1)
    out = pre(dict(inputs=[img1, img2], data_samples=[s1, s2]), True)
    assert out['inputs'].shape == (2, 3, 8, 8)
    s = out['data_samples'][0]
    assert s.img_padding_size == [0, 2, 0, 3]
    assert s.pad_shape == (8, 8) and s.img_shape == (5, 6)
    seg, depth = s.gt_sem_seg.data, s.gt_depth.data
    assert (seg[:, :5, :6] == 0).all() and (seg[:, 5:] == 255).all()
    assert (seg[:, :, 6:] == 255).all()
    assert (depth[:, :5, :6] == 1).all() and (depth[:, 5:] == 0).all()
    assert (s.gt_normal.data[:, :, 6:] == 0).all()
    assert (s.gt_boundary.data[:, 5:] == 255).all()


def test_normalises_rgb_and_keeps_unit_range_copies():
    pre = MultiTaskDataPreProcessor(mean=MEAN, std=STD, bgr_to_rgb=True)
    img, sample = _sample(4, 4, 2)
    clean_bgr = sample.gt_clean_img.data.clone()
    out = pre(dict(inputs=[img], data_samples=[sample]), False)
    rgb = img.float()[[2, 1, 0]]
    expected = (rgb - torch.tensor(MEAN).view(3, 1, 1)) / torch.tensor(
        STD).view(3, 1, 1)
    torch.testing.assert_close(out['inputs'][0], expected)
    s = out['data_samples'][0]
    torch.testing.assert_close(s.degraded_img.data, rgb / 255)
    torch.testing.assert_close(s.gt_clean_img.data,
                               clean_bgr.float()[[2, 1, 0]] / 255)


def test_test_cfg_fixed_size():
    pre = MultiTaskDataPreProcessor(
        mean=MEAN, std=STD, test_cfg=dict(size=(6, 8)))
    img, sample = _sample(4, 5, 3)
    out = pre(dict(inputs=[img], data_samples=[sample]), False)
    assert out['inputs'].shape == (1, 3, 6, 8)
    sample = out['data_samples'][0]
    assert sample.img_padding_size == [0, 3, 0, 2]
    assert sample.degraded_img.shape == (6, 8)
    # targets stay at the image size at test time
    assert sample.gt_sem_seg.shape == (4, 5)
    assert sample.gt_clean_img.shape == (4, 5)
