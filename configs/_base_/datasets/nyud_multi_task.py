# NYUD-v2 multi-task (InvPT layout) with the degraded-benchmark protocol:
# 448x576 training crops, test at native size padded to 448x576.
dataset_type = 'NYUDMultiTaskDataset'
data_root = 'data/NYUDv2'
tasks = ['semseg', 'depth', 'normals', 'boundary']
crop_size = (448, 576)
degradations = [
    dict(type='GaussianNoise', sigmas=(15, 25, 50)),
    dict(type='RainStreaks'),
    dict(type='Fog'),
    dict(type='MotionBlur'),
]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadMultiTaskAnnotations'),
    dict(type='MultiTaskRandomResize', ratio_range=(0.5, 2.0)),
    dict(type='MultiTaskRandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='MultiTaskRandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='RandomDegradation', degradations=degradations, seed=None),
    dict(type='PackMultiTaskInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadMultiTaskAnnotations'),
    dict(type='RandomDegradation', degradations=degradations, seed=0),
    dict(type='PackMultiTaskInputs'),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        tasks=tasks,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='val',
        tasks=tasks,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='MultiTaskMetric', tasks=tasks, num_classes=40, per_degradation=True)
# Testing adds the SEISM boundary protocol (odsF / oisF / AP, maxDist
# 0.011 of the diagonal, all 654 images), the number the papers report;
# MultiTaskMetric's boundary.odsF_proxy is only a cheap stand-in.
test_evaluator = [
    val_evaluator,
    dict(type='BoundarySEISMMetric', max_dist=0.011),
]
