# UperNet + InternImage-T on ADE20K, 512x512 crops, 160k iterations,
# 8 GPUs x 2 images: the official InternImage segmentation recipe
# (OpenGVLab/InternImage segmentation/configs/ade20k/
# upernet_internimage_t_512_160k_ade20k.py) in the MMSeg 1.x schema.
_base_ = [
    'mmseg::_base_/models/upernet_r50.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py',
]
default_scope = 'mmseg'
custom_imports = dict(imports=['mmallnet'], allow_failed_imports=False)

pretrained = ('https://huggingface.co/OpenGVLab/InternImage/resolve/main/'
              'internimage_t_1k_224.pth')
crop_size = (512, 512)
# SyncBN in the heads, as the original. A single-process run of
# tools/train.py (also on CPU) needs no change: MMEngine's runner reverts
# SyncBN to BN when it is not distributed. torch's SyncBatchNorm does not
# run on CPU, so a CPU distributed run (tools/dist_train.sh without a GPU,
# gloo) needs
#   --cfg-options model.decode_head.norm_cfg.type=BN \
#       model.auxiliary_head.norm_cfg.type=BN
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    # The base's ResNet-50 weights must not reach the backbone.
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='InternImage',
        arch='t',
        drop_path_rate=0.2,
        layer_scale=1.0,
        post_norm=False,
        with_cp=False,
        out_indices=(0, 1, 2, 3),
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    decode_head=dict(
        in_channels=[64, 128, 256, 512],
        channels=512,
        num_classes=150,
        norm_cfg=norm_cfg),
    auxiliary_head=dict(
        in_channels=256, in_index=2, num_classes=150, norm_cfg=norm_cfg),
    test_cfg=dict(mode='whole'))

# Whole-image test at (2048, 512) keeping the ratio, then resized to a
# multiple of 32 (the backbone's total stride).
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 512), keep_ratio=True),
    dict(type='ResizeToMultiple', size_divisor=32),
    # Annotations are loaded after the resizes: the prediction is resized
    # back to the original image.
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs')
]
train_dataloader = dict(batch_size=2)
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

# AdamW with InternImage's layer-wise lr decay constructor; the rate is 1.0
# for T (no decay), so only the weight-decay exemptions (norms, biases,
# 1-D params such as the layer-scale gammas) take effect.
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='CustomLayerDecayOptimizerConstructor',
    paramwise_cfg=dict(
        num_layers=30, layer_decay_rate=1.0, depths=[4, 4, 18, 4]),
    clip_grad=None)
# mmcv 1.x 'poly' with a linear warm-up: the poly decay runs over all 160k
# iterations and the warm-up factor (1e-6 -> 1 over 1500 iterations)
# multiplies it. Both schedulers start at 0 and compose multiplicatively.
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-6,
        by_epoch=False,
        begin=0,
        end=1500),
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=1.0,
        begin=0,
        end=160000,
        by_epoch=False),
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=160000, val_interval=16000)
default_hooks = dict(
    checkpoint=dict(
        type='AtomicCheckpointHook',
        by_epoch=False,
        interval=1000,
        max_keep_ckpts=1,
        save_best='mIoU'))
