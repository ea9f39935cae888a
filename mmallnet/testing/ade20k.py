"""A tiny ADE20K-layout dataset and a tiny stock MMSeg model, for tests.

:func:`write_ade20k` writes ``images/validation/ADE_val_<n>.jpg`` and
``annotations/validation/ADE_val_<n>.png`` (labels ``0..num_labels-1``; 0
is "other", ignored through ``reduce_zero_label`` as in ADE20K).
:func:`write_tiny_seg_config` writes a stock MMSeg config (MMSeg's
``ade20k.py``, ``default_runtime.py`` and ``schedule_20k.py`` bases, a
ResNetV1c-18 with 8 base channels and an ``FCNHead`` in an
``EncoderDecoder``) reading that tree as the first four ADE20K classes
(``metainfo=dict(classes=...)``: stored labels 1..4 are classes 0..3, so a
random model scores above 0), and :func:`save_tiny_seg_checkpoint` a
checkpoint (``state_dict`` and ``meta``) of its randomly initialised model.
"""
import os
import os.path as osp
from typing import Dict

import cv2
import numpy as np

TINY_SEG_CONFIG = """\
_base_ = ['mmseg::_base_/datasets/ade20k.py',
          'mmseg::_base_/default_runtime.py',
          'mmseg::_base_/schedules/schedule_20k.py']
data_root = {data_root!r}
# the first ADE20K classes: stored labels 1..4 after reduce_zero_label
classes = ('wall', 'building', 'sky', 'floor')
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNetV1c',
        depth=18,
        stem_channels=8,
        base_channels=8,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=True),
    decode_head=dict(
        type='FCNHead',
        in_channels=64,
        in_index=3,
        channels=16,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=len(classes),
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale={scale!r}, keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        metainfo=dict(classes=classes),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
default_hooks = dict(logger=dict(interval=1))
"""


def write_ade20k(root: str,
                 num_images: int = 3,
                 height: int = 32,
                 width: int = 48,
                 num_labels: int = 5,
                 seed: int = 0) -> Dict[str, object]:
    """Write a tiny ADE20K validation split.

    Each label map is a few random rectangles of labels ``0..num_labels-1``
    (0 = other, ignored); the image is a colour per label plus noise.

    Args:
        root (str): Dataset root (``ADEChallengeData2016``).
        num_images (int): Images. Defaults to 3.
        height (int): Image height. Defaults to 32.
        width (int): Image width. Defaults to 48.
        num_labels (int): Stored labels ``0..num_labels-1``. Defaults to 5.
        seed (int): Seed of the content. Defaults to 0.

    Returns:
        dict: ``root``, ``ids`` and ``labels`` (id -> stored label map).
    """
    img_dir = osp.join(root, 'images', 'validation')
    ann_dir = osp.join(root, 'annotations', 'validation')
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(ann_dir, exist_ok=True)
    rng = np.random.default_rng(seed)
    colours = rng.integers(0, 256, (num_labels, 3))
    ids, labels = [], {}
    for index in range(num_images):
        img_id = f'ADE_val_{index + 1:08d}'
        label = np.zeros((height, width), np.uint8)
        for _ in range(4):
            y, x = rng.integers(0, height // 2), rng.integers(0, width // 2)
            h, w = rng.integers(height // 4, height), rng.integers(
                width // 4, width)
            label[y:y + h, x:x + w] = rng.integers(0, num_labels)
        img = colours[label] + rng.normal(0, 10, (height, width, 3))
        img = np.clip(np.rint(img), 0, 255).astype(np.uint8)
        cv2.imwrite(osp.join(img_dir, img_id + '.jpg'), img)
        cv2.imwrite(osp.join(ann_dir, img_id + '.png'), label)
        ids.append(img_id)
        labels[img_id] = label
    return dict(root=root, ids=ids, labels=labels)


def write_tiny_seg_config(path: str, data_root: str,
                          scale: tuple = (96, 64)) -> str:
    """Write the tiny stock MMSeg config (see the module docstring).

    Args:
        path (str): Config file to write.
        data_root (str): Root of :func:`write_ade20k`'s tree.
        scale (tuple): ``Resize`` scale of the test pipeline (w, h).
            Defaults to (96, 64).

    Returns:
        str: ``path``.
    """
    with open(path, 'w') as f:
        f.write(TINY_SEG_CONFIG.format(data_root=data_root,
                                       scale=tuple(scale)))
    return str(path)


def save_tiny_seg_checkpoint(config: str, path: str, seed: int = 0) -> str:
    """Save ``{'state_dict', 'meta'}`` of the config's model, randomly
    initialised with ``seed``.

    Args:
        config (str): Config file (e.g. :func:`write_tiny_seg_config`).
        path (str): Checkpoint file to write.
        seed (int): Torch seed of the initialisation. Defaults to 0.

    Returns:
        str: ``path``.
    """
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    init_default_scope('mmseg')
    torch.manual_seed(seed)
    model = MODELS.build(Config.fromfile(config).model)
    model.init_weights()
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(note='tiny random model for tests', seed=seed)), path)
    return str(path)
