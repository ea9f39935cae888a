# SynthScenes (embedded, procedural) with on-the-fly degradations.
# Generated on first use under data/synthscenes (see tools/misc/).
dataset_type = 'SynthScenesDataset'
data_root = 'data/synthscenes'
tasks = ['semseg', 'depth', 'normals', 'boundary', 'saliency']
generate = dict(num_train=200, num_val=50, height=120, width=160, seed=0)
crop_size = (96, 128)

# Train: a fresh random degradation per sample and iteration (seed=None).
# Test: a fixed degraded benchmark, reproducible per (seed, image id).
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
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        tasks=tasks,
        generate=generate,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='val',
        tasks=tasks,
        generate=generate,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='MultiTaskMetric', tasks=tasks, num_classes=10, per_degradation=True)
test_evaluator = val_evaluator
