# Reference for the MaE model of this project at CPU demo size: MMSeg's
# UPerNet (stock ResNetV1c-18 + UPerHead + FCNHead auxiliary head under a
# stock EncoderDecoder) trained for semantic segmentation alone on
# SynthScenes with random noise / rain / fog / blur, evaluated on the fixed
# degraded val split, mIoU overall and per degradation type.
# upernet_r18-w32_mae-fused_1xb8-500_synthscenes-semseg-96x128.py is this
# config plus the MaE neck, the routed segmentor and a routing table in the
# evaluation: nothing else differs.
_base_ = [
    # SynthScenes as every demo of the repository uses it: the same crops,
    # degradations and fixed degraded val images (README.md, "Data and
    # evaluation").
    '../../../configs/_base_/datasets/synthscenes.py',
    # mmallnet's runtime: MMSeg's, plus `custom_imports` of mmallnet and
    # its hooks (task checks, per-degradation mean, non-finite loss stop).
    '../../../configs/_base_/default_runtime.py',
    # 500 iterations of AdamW 2e-3, as the other SynthScenes demos.
    '../../../configs/_base_/schedules/schedule_500_cpu_demo.py',
]
crop_size = (96, 128)
num_classes = 10
# MMSeg's UPerNet norm is SyncBN (multi-GPU); plain BN runs on a CPU.
norm_cfg = dict(type='BN', requires_grad=True)
# The stock preprocessor: pads training batches to the crop and test
# images (120x160) to a multiple of 32, then crops the prediction back.
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=crop_size,
    test_cfg=dict(size_divisor=32))
# The slim ResNet-18 (width 32) of the repository's SynthScenes demos,
# from scratch (no pretrained weights at demo scale).
widths = [32, 64, 128, 256]
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNetV1c',
        depth=18,
        stem_channels=32,
        base_channels=32,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 1, 1),
        strides=(1, 2, 2, 2),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=True),
    # UPerNet's head as in mmseg::_base_/models/upernet_r50.py, narrowed
    # to 64 channels (PPM at 1/32 of a 96x128 crop: a 3x4 map).
    decode_head=dict(
        type='UPerHead',
        in_channels=widths,
        in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6),
        channels=64,
        dropout_ratio=0.1,
        num_classes=num_classes,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=widths[2],
        in_index=2,
        channels=32,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=num_classes,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
# The dataset keeps loading every label (as the semseg-only STL reference
# of configs/stl/ does): the crops (cat_max_ratio on semseg) and the fog
# (rendered from the ground-truth depth) stay those of the other demos.
# The stock segmentor reads `gt_sem_seg` only (the samples are
# MultiTaskDataSamples, a SegDataSample subclass).
# Scores: semseg mIoU and aAcc, overall and per degradation type
# (`mt/noise/semseg.mIoU`, ...; `mt/degraded_mean/...` over the types).
val_evaluator = dict(
    type='MultiTaskMetric',
    tasks=['semseg'],
    num_classes=num_classes,
    restoration=False,
    per_degradation=True)
test_evaluator = val_evaluator
