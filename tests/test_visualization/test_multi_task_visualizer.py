import itertools

import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.registry import VISUALIZERS

from mmallnet.evaluation.functional import psnr
from mmallnet.structures import MultiTaskDataSample
from mmallnet.visualization.color_maps import (
    depth_to_rgb,
    depth_value_range,
    generate_palette,
    label_to_rgb,
    normal_to_rgb,
    prob_to_gray,
)
from mmallnet.visualization.multi_task_visualizer import (
    MultiTaskLocalVisualizer,
    degradation_title,
    draw_multi_task_sample,
)

H, W = 8, 10  # map size == tile size, so tiles are not resized
TITLE = 6
CELL_H = H + TITLE
_names = itertools.count()


def _unique_name() -> str:
    return f'mtl_vis_test_{next(_names)}'


def _cell(canvas: np.ndarray, row: int, col: int) -> np.ndarray:
    """The tile (without its title strip) at grid position (row, col)."""
    top = row * CELL_H + TITLE
    return canvas[top:top + H, col * W:(col + 1) * W]


def _full_sample() -> MultiTaskDataSample:
    gen = torch.Generator().manual_seed(0)
    sample = MultiTaskDataSample()
    sample.set_metainfo(
        dict(
            img_shape=(H, W),
            degradation_type='noise',
            degradation_params=dict(sigma=25)))
    # images padded by 4 pixels, as after the data preprocessor
    sample.degraded_img = PixelData(
        data=torch.rand(3, H + 4, W + 4, generator=gen))
    sample.gt_clean_img = PixelData(
        data=torch.rand(3, H + 4, W + 4, generator=gen))
    sample.pred_restored = PixelData(data=torch.rand(3, H, W, generator=gen))
    for field in ('pred_sem_seg', 'gt_sem_seg', 'pred_parts', 'gt_parts'):
        setattr(sample, field,
                PixelData(data=torch.randint(0, 4, (1, H, W), generator=gen)))
    sample.gt_sem_seg.data[0, 0, :] = 255
    depth = torch.rand(1, H, W, generator=gen) + 0.5
    sample.pred_depth = PixelData(data=depth * 1.5)
    sample.gt_depth = PixelData(data=depth.clone())
    normal = torch.nn.functional.normalize(
        torch.randn(3, H, W, generator=gen), dim=0)
    sample.pred_normal = PixelData(data=normal)
    sample.gt_normal = PixelData(data=normal.clone())
    sample.pred_boundary = PixelData(data=torch.rand(1, H, W, generator=gen))
    sample.gt_boundary = PixelData(
        data=torch.randint(0, 2, (1, H, W), generator=gen).float())
    sample.pred_saliency = PixelData(data=torch.rand(1, H, W, generator=gen))
    sample.gt_saliency = PixelData(
        data=torch.randint(0, 2, (1, H, W), generator=gen))
    return sample


def _draw(sample, **kwargs) -> np.ndarray:
    return draw_multi_task_sample(
        sample, tile_size=(H, W), title_height=TITLE, **kwargs)


# ---------------------------------------------------------------- colours
def test_normal_colour_coding_exact():
    normal = np.array([[[0, 0, 1], [1, 0, 0], [0, -1, 0], [0, 0, 0],
                        [np.nan, 0, 1]]], dtype=np.float32)
    rgb = normal_to_rgb(normal)
    assert rgb.dtype == np.uint8 and rgb.shape == (1, 5, 3)
    assert rgb[0].tolist() == [[128, 128, 255], [255, 128, 128],
                               [128, 0, 128], [0, 0, 0], [0, 0, 0]]


def test_label_to_rgb_palette_and_ignore():
    palette = [[10, 20, 30], [40, 50, 60]]
    label = np.array([[0, 1], [255, 0]])
    rgb = label_to_rgb(label, palette)
    assert rgb.tolist() == [[[10, 20, 30], [40, 50, 60]],
                            [[0, 0, 0], [10, 20, 30]]]
    with pytest.raises(ValueError, match=r'labels \[2\]'):
        label_to_rgb(np.array([[2]]), palette)


def test_prob_to_gray_values():
    prob = np.array([[0.0, 1.0, 0.5, 255]])
    assert prob_to_gray(prob)[0, :, 0].tolist() == [0, 255, 128, 0]
    assert np.all(prob_to_gray(prob) == prob_to_gray(prob)[..., :1])
    with pytest.raises(ValueError, match='must lie in'):
        prob_to_gray(np.array([[1.5]]))


def test_depth_colours_use_given_range():
    depth = np.array([[1.0, 2.0, 3.0, 0.0]])
    assert depth_value_range(depth, np.array([[5.0, -1.0]])) == (1.0, 5.0)
    assert depth_value_range(np.zeros((2, 2))) is None
    rgb = depth_to_rgb(depth, value_range=(1.0, 5.0))
    ramp = cv2.applyColorMap(
        np.array([[0, 64, 128]], dtype=np.uint8), cv2.COLORMAP_TURBO)
    assert rgb[0, :3].tolist() == ramp[0, :, ::-1].tolist()
    assert rgb[0, 3].tolist() == [0, 0, 0]  # invalid depth drawn black


def test_generated_palette_deterministic():
    palette = generate_palette(40)
    assert palette.shape == (40, 3) and palette.dtype == np.uint8
    assert np.array_equal(generate_palette(5), palette[:5])
    assert len({tuple(c) for c in palette.tolist()}) == 40
    assert palette.max(axis=1).min() > 0  # no black (black = ignore)


def test_psnr_and_degradation_title():
    clean = np.full((2, 2, 3), 0.5)
    assert psnr(clean + 0.1, clean) == pytest.approx(20.0)
    assert psnr(clean, clean) == 100.0  # PSNR_MAX caps identical images
    assert degradation_title(
        dict(degradation_type='noise',
             degradation_params=dict(seed=3, sigma=25))) == \
        'degraded: noise sigma=25'
    assert degradation_title(
        dict(degradation_type='fog',
             degradation_params=dict(A=0.8, beta=1.2))) == \
        'degraded: fog beta=1.2'
    assert degradation_title({}) == 'degraded'


# ---------------------------------------------------------------- layout
def test_full_sample_layout_and_tiles():
    sample = _full_sample()
    canvas = _draw(sample, palette=[[255, 0, 0], [0, 255, 0], [0, 0, 255],
                                    [255, 255, 0]])
    # 1 image row + 6 task rows; 3 image columns (degraded, clean, restored)
    assert canvas.dtype == np.uint8
    assert canvas.shape == (7 * CELL_H, 3 * W, 3)
    # padded images are cropped to img_shape, not resized
    degraded = sample.degraded_img.data[:, :H, :W].permute(1, 2, 0)
    assert np.array_equal(_cell(canvas, 0, 0),
                          np.round(degraded.numpy() * 255).astype(np.uint8))
    # row 1: semseg pred | gt ; ignored first row of gt drawn black
    gt_tile = _cell(canvas, 1, 1)
    assert np.all(gt_tile[0] == 0)
    assert np.array_equal(
        gt_tile[1:],
        label_to_rgb(sample.gt_sem_seg.data[0, 1:].numpy(),
                     [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0]]))
    # row 3: normals pred == gt -> identical tiles; third column is blank
    assert np.array_equal(_cell(canvas, 3, 0), _cell(canvas, 3, 1))
    assert np.all(canvas[3 * CELL_H:4 * CELL_H, 2 * W:] == 0)


def test_depth_pred_equal_gt_gives_identical_tiles():
    sample = MultiTaskDataSample()
    depth = torch.rand(1, H, W) + 1
    depth[0, 0, 0] = 0  # invalid
    sample.pred_depth = PixelData(data=depth.clone())
    sample.gt_depth = PixelData(data=depth.clone())
    canvas = _draw(sample)
    assert canvas.shape == (CELL_H, 2 * W, 3)
    assert np.array_equal(_cell(canvas, 0, 0), _cell(canvas, 0, 1))
    assert _cell(canvas, 0, 1)[0, 0].tolist() == [0, 0, 0]


def test_depth_range_shared_between_pred_and_gt():
    sample = MultiTaskDataSample()
    gt = torch.full((1, H, W), 2.0)
    gt[0, 0, 0] = 1.0
    sample.gt_depth = PixelData(data=gt)
    sample.pred_depth = PixelData(data=torch.full((1, H, W), 3.0))
    canvas = _draw(sample)
    ramp = cv2.applyColorMap(
        np.array([[0, 128, 255]], dtype=np.uint8),
        cv2.COLORMAP_TURBO)[0, :, ::-1]
    pred, gt_tile = _cell(canvas, 0, 0), _cell(canvas, 0, 1)
    assert np.all(pred == ramp[2])  # 3 m is the shared maximum
    assert gt_tile[0, 0].tolist() == ramp[0].tolist()  # 1 m the minimum
    assert gt_tile[1, 1].tolist() == ramp[1].tolist()


def test_layout_depends_on_present_fields():
    sample = _full_sample()
    # no ground truth: degraded + restored, prediction column only
    canvas = _draw(sample, draw_gt=False)
    assert canvas.shape == (7 * CELL_H, 2 * W, 3)
    # predictions only for two tasks, no images
    pred_only = MultiTaskDataSample()
    pred_only.pred_depth = sample.pred_depth
    pred_only.pred_boundary = sample.pred_boundary
    assert _draw(pred_only).shape == (2 * CELL_H, W, 3)
    # ground truth of one task plus the given input image
    gt_only = MultiTaskDataSample()
    gt_only.gt_saliency = sample.gt_saliency
    image = np.full((H, W, 3), 7, dtype=np.uint8)
    canvas = _draw(gt_only, image=image)
    assert canvas.shape == (2 * CELL_H, W, 3)
    assert np.all(_cell(canvas, 0, 0) == 7)
    # image only
    assert _draw(None, image=image).shape == (CELL_H, W, 3)


def test_tiles_resized_to_one_size():
    sample = MultiTaskDataSample()
    sample.gt_clean_img = PixelData(data=torch.rand(3, 2 * H, 2 * W))
    sample.pred_sem_seg = PixelData(data=torch.zeros(1, H // 2, W // 2,
                                                     dtype=torch.long))
    canvas = draw_multi_task_sample(sample, palette=[[9, 9, 9]],
                                    title_height=TITLE)
    # tile size = first drawn source (the clean image)
    assert canvas.shape == (2 * (2 * H + TITLE), 2 * W, 3)
    assert np.all(canvas[-2 * H:] == 9)


def test_bad_inputs_raise():
    sample = MultiTaskDataSample()
    sample.pred_depth = PixelData(data=torch.rand(2, H, W))
    with pytest.raises(ValueError, match='pred_depth'):
        _draw(sample)
    sample = MultiTaskDataSample()
    sample.pred_sem_seg = PixelData(data=torch.full((1, H, W), 5))
    with pytest.raises(ValueError, match='pred_sem_seg'):
        _draw(sample, palette=[[1, 2, 3]])
    with pytest.raises(ValueError, match='Nothing to draw'):
        _draw(MultiTaskDataSample())
    with pytest.raises(ValueError, match='Nothing to draw'):
        _draw(sample, draw_pred=False)  # only a prediction, not drawn


# ---------------------------------------------------------------- visualizer
def test_registry_build_add_datasample_writes_file(tmp_path):
    name = _unique_name()
    vis = VISUALIZERS.build(
        dict(
            type='MultiTaskLocalVisualizer',
            name=name,
            vis_backends=[dict(type='LocalVisBackend')],
            save_dir=str(tmp_path / 'backend'),
            tile_size=(H, W),
            title_height=TITLE))
    assert isinstance(vis, MultiTaskLocalVisualizer)
    assert vis.dataset_meta == {}  # no cityscapes default
    palette = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0]]
    vis.dataset_meta = dict(classes=['a', 'b', 'c', 'd'], palette=palette)
    sample = _full_sample()
    image = np.zeros((H, W, 3), dtype=np.uint8)
    out_file = tmp_path / 'sub' / 'vis.png'
    vis.add_datasample('sample', image, sample, out_file=str(out_file),
                       step=3, with_labels=False)
    expected = _draw(sample, palette=palette, classes=['a', 'b', 'c', 'd'])
    written = cv2.imread(str(out_file))
    assert written is not None
    assert np.array_equal(written[..., ::-1], expected)
    backend_file = (
        tmp_path / 'backend' / 'vis_data' / 'vis_image' / 'sample_3.png')
    assert np.array_equal(cv2.imread(str(backend_file))[..., ::-1], expected)


def test_constructor_classes_and_palette():
    vis = MultiTaskLocalVisualizer(
        name=_unique_name(), classes=['x', 'y'], palette=[[1, 2, 3],
                                                          [4, 5, 6]])
    assert vis.dataset_meta == dict(
        classes=['x', 'y'], palette=[[1, 2, 3], [4, 5, 6]])
    with pytest.raises(ValueError, match='same length'):
        MultiTaskLocalVisualizer(
            name=_unique_name(), classes=['x'], palette=[[1, 2, 3],
                                                         [4, 5, 6]])
