# PASCAL-Context multi-task (PASCAL_MT layout) with the degraded-benchmark
# protocol: 512x512 training crops, test at native size (longest side
# <= 500) padded to 512x512 by the data preprocessor.
dataset_type = 'PascalContextMultiTaskDataset'
data_root = 'data/PASCALContext'
tasks = ['semseg', 'parts', 'saliency', 'normals', 'boundary']
crop_size = (512, 512)
# No ground-truth depth: Fog falls back to its documented depth prior.
degradations = [
    dict(type='GaussianNoise', sigmas=(15, 25, 50)),
    dict(type='RainStreaks'),
    dict(type='Fog'),
    dict(type='MotionBlur'),
]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadPascalContextAnnotations'),
    dict(type='MultiTaskRandomResize', ratio_range=(0.5, 2.0)),
    dict(type='MultiTaskRandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='MultiTaskRandomFlip', prob=0.5),
    # crops without any part pixel -> all-ignore parts (AddIgnoreRegions)
    dict(type='IgnoreEmptyParts'),
    dict(type='PhotoMetricDistortion'),
    dict(type='RandomDegradation', degradations=degradations, seed=None),
    dict(type='PackMultiTaskInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadPascalContextAnnotations'),
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
    type='MultiTaskMetric',
    tasks=tasks,
    num_classes=21,
    num_parts_classes=7,
    per_degradation=True)
# Testing adds the SEISM boundary protocol (odsF / oisF / AP, maxDist
# 0.0075 of the diagonal). To score the 2,498-image subset the published
# tables use, add id_list_file='<SEISM>/gt_sets/PASCALContext/test_new.txt'
# (and report_full=True for all 5,105); gt_dir='<root>/pascal-context/
# trainval' scores against SEISM's own ground truth (seg2bmap of LabelMap).
test_evaluator = [
    val_evaluator,
    dict(type='BoundarySEISMMetric', max_dist=0.0075),
]
