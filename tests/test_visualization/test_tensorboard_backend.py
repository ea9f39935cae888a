"""TensorBoard as a visualizer backend: the visualizer of
``configs/_base_/default_runtime_tensorboard.py`` writes the scalars and
the multi-task pictures to an event file as well as to the local files."""
import glob
import json
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.structures import PixelData
from mmseg.registry import VISUALIZERS
from tensorboard.backend.event_processing.event_accumulator import (
    EventAccumulator,
)

from mmallnet.structures import MultiTaskDataSample
from mmallnet.visualization.multi_task_visualizer import (
    draw_multi_task_sample,
)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', '_base_', 'default_runtime_tensorboard.py')
H, W, TITLE = 12, 16, 6


def _sample() -> MultiTaskDataSample:
    """Images, semseg and depth: three columns, three rows."""
    gen = torch.Generator().manual_seed(0)
    sample = MultiTaskDataSample(
        metainfo=dict(img_shape=(H, W), degradation_type='rain'))
    for field in ('degraded_img', 'gt_clean_img', 'pred_restored'):
        setattr(sample, field,
                PixelData(data=torch.rand(3, H, W, generator=gen)))
    for field in ('pred_sem_seg', 'gt_sem_seg'):
        setattr(sample, field,
                PixelData(data=torch.randint(0, 3, (1, H, W), generator=gen)))
    depth = torch.rand(1, H, W, generator=gen) + 0.5
    sample.pred_depth = PixelData(data=depth * 2)
    sample.gt_depth = PixelData(data=depth)
    return sample


def test_config_adds_tensorboard_to_the_local_backend():
    cfg = Config.fromfile(CONFIG)
    assert cfg.visualizer.type == 'MultiTaskLocalVisualizer'
    assert [b.type for b in cfg.visualizer.vis_backends] == [
        'LocalVisBackend', 'TensorboardVisBackend'
    ]
    # the rest of the runtime is default_runtime.py's
    base = Config.fromfile(osp.join(REPO, 'configs', '_base_',
                                    'default_runtime.py'))
    for key in ('custom_hooks', 'custom_imports', 'default_scope',
                'default_hooks', 'log_processor'):
        assert cfg.get(key) == base.get(key), key


def test_scalars_and_multi_task_picture_reach_the_event_file(tmp_path):
    cfg = Config.fromfile(CONFIG).visualizer
    cfg.update(
        name=f'tensorboard_test_{tmp_path.name}',
        save_dir=str(tmp_path),
        tile_size=(H, W),
        title_height=TITLE)
    vis = VISUALIZERS.build(cfg)
    palette = [[255, 0, 0], [0, 255, 0], [0, 0, 255]]
    vis.dataset_meta = dict(classes=['a', 'b', 'c'], palette=palette)
    vis.add_scalars({'decode.loss_depth': 0.25, 'lr': 6e-5}, step=5)
    sample = _sample()
    vis.add_datasample('val_img', np.zeros((H, W, 3), np.uint8), sample,
                       step=7, with_labels=False)
    vis.close()  # flushes the event file

    expected = draw_multi_task_sample(
        sample, palette=palette, tile_size=(H, W), title_height=TITLE)
    assert expected.shape == (3 * (H + TITLE), 3 * W, 3)
    vis_data = tmp_path / 'vis_data'
    assert len(glob.glob(str(vis_data / 'events.out.tfevents.*'))) == 1
    events = EventAccumulator(str(vis_data))
    events.Reload()
    assert set(events.Tags()['scalars']) == {'decode.loss_depth', 'lr'}
    [loss] = events.Scalars('decode.loss_depth')
    assert (loss.step, loss.value) == (5, 0.25)
    [image] = events.Images('val_img')
    assert image.step == 7
    assert (image.height, image.width) == expected.shape[:2]
    decoded = cv2.imdecode(
        np.frombuffer(image.encoded_image_string, np.uint8),
        cv2.IMREAD_COLOR)
    assert np.array_equal(decoded[..., ::-1], expected)  # PNG: lossless

    # the local backend still writes its files
    with open(vis_data / 'scalars.json') as f:
        assert json.loads(f.readline())['decode.loss_depth'] == 0.25
    local = cv2.imread(str(vis_data / 'vis_image' / 'val_img_7.png'))
    assert np.array_equal(local[..., ::-1], expected)


@pytest.mark.usefixtures('single_thread')
def test_training_run_writes_scalars_and_pictures(tmp_path):
    """The documented one-line override on the demo config: one training
    iteration and its validation put the losses, the metrics and the
    pictures of the visualization hook and of RoutingMetric into the event
    file of the run."""
    from mmengine.runner import Runner

    from mmallnet.datasets.synthscenes_generator import generate_synthscenes
    root = str(tmp_path / 'synthscenes')
    generate_synthscenes(root, num_train=2, num_val=2, height=48, width=64,
                         progress=False)
    demo = osp.join(REPO, 'configs', 'allnet',
                    'allnet_r18-w32_1xb8-500_synthscenes-96x128.py')
    child = tmp_path / 'demo_tensorboard.py'
    child.write_text(
        f'_base_ = [{demo!r}]\n'
        "visualizer = dict(vis_backends=[dict(type='LocalVisBackend'), "
        "dict(type='TensorboardVisBackend')])\n")
    cfg = Config.fromfile(str(child))
    cfg.work_dir = str(tmp_path / 'work')
    # default_runtime.py names the visualizer 'visualizer': MMEngine would
    # hand back an instance an earlier test built under that name, and the
    # visualization hook would draw with the latest one built (another
    # test's palette). A name of its own gives this run a fresh one.
    cfg.visualizer.name = f'tensorboard_run_{tmp_path.name}'
    for split in ('train', 'val', 'test'):
        cfg[f'{split}_dataloader'].update(num_workers=0,
                                          persistent_workers=False)
        cfg[f'{split}_dataloader'].dataset.update(data_root=root,
                                                  generate=None)
    cfg.train_dataloader.batch_size = 2
    cfg.train_cfg.update(max_iters=1, val_interval=1)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint.interval = -1
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.visualization = dict(
        type='SegVisualizationHook', draw=True, interval=1)
    runner = Runner.from_cfg(cfg)
    runner.train()
    runner.visualizer.close()

    [event_file] = glob.glob(
        osp.join(cfg.work_dir, '*', 'vis_data', 'events.out.tfevents.*'))
    events = EventAccumulator(osp.dirname(event_file))
    events.Reload()
    scalars = set(events.Tags()['scalars'])
    assert {'loss', 'lr', 'decode.loss_restoration', 'route.loss_aux',
            'mt/semseg.mIoU', 'mt/restoration.psnr'} <= scalars
    [loss] = events.Scalars('loss')
    assert loss.step == 1 and np.isfinite(loss.value)
    # one picture per val image (named after its file), the routing map
    images = sorted(events.Tags()['images'])
    assert len(images) == 3 and images[0] == 'mae_routing'
    assert all(name.startswith('val_') for name in images[1:])
