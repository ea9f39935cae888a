# ADE20K (MMSeg's mmseg::_base_/datasets/ade20k.py) for robust semantic
# segmentation with mmallnet's synthetic degradations:
# - train: MMSeg's pipeline, then a fresh random degradation per sample;
# - val (tools/train.py): the 2000 val images, each with one fixed random
#   degradation, mIoU overall and per degradation type;
# - test: MMSeg's clean val set, untouched. tools/test.py gives the clean
#   mIoU; tools/analysis_tools/robustness_test.py degrades this test set
#   once per degradation type and level (it refuses a test pipeline that
#   degrades already) and reports clean, every set, their mean and the drop.
# Degradations as in the repository's SynthScenes / NYUD-v2 configs:
# Gaussian noise (sigma 15 / 25 / 50), rain streaks, fog, motion blur.
_base_ = ['mmseg::_base_/datasets/ade20k.py']
data_root = 'data/ade/ADEChallengeData2016'
crop_size = (512, 512)
degradations = [
    dict(type='GaussianNoise', sigmas=(15, 25, 50)),
    dict(type='RainStreaks'),
    # ADE20K has no depth: fog falls back to a vertical depth prior (far
    # at the top of the image).
    dict(type='Fog'),
    dict(type='MotionBlur'),
]
# PackSegInputs' default meta keys plus the degradation of each image, so
# the metric can score every degradation type on its own.
meta_keys = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape',
             'pad_shape', 'scale_factor', 'flip', 'flip_direction',
             'reduce_zero_label', 'degradation_type', 'degradation_params')
# MMSeg's ADE20K training pipeline; the degradation comes last, on the
# augmented crop (seed=None: drawn afresh per sample and iteration).
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(
        type='RandomResize',
        scale=(2048, 512),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='RandomDegradation', degradations=degradations, seed=None),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
# The image is degraded as stored, before MMSeg's test resize, as the
# robustness test does. seed=0 and the image's id (its path relative to
# the image folder, set by AddImageId): the same degraded set in every run,
# whatever the worker count, order or place of the dataset.
degraded_val_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='AddImageId', img_dir=f'{data_root}/images/validation'),
    dict(type='RandomDegradation', degradations=degradations, seed=0),
    dict(type='Resize', scale=(2048, 512), keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='ADE20KDataset',
        data_root=data_root,
        data_prefix=dict(
            img_path='images/validation',
            seg_map_path='annotations/validation'),
        pipeline=degraded_val_pipeline))
# mIoU over the degraded val set and per degradation type
# (`noise/semseg.mIoU`, ...); DegradedBenchmarkAverageHook adds their mean.
# MMSeg's IoUMetric would give the overall mIoU only.
val_evaluator = dict(
    _delete_=True,
    type='MultiTaskMetric',
    tasks=['semseg'],
    num_classes=150,
    restoration=False,
    per_degradation=True)
# test_dataloader / test_evaluator: MMSeg's (clean val images, IoUMetric).
