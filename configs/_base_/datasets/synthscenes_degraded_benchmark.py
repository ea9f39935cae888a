# SynthScenes val as a fixed degraded benchmark (see
# nyud_multi_task_degraded_benchmark.py). Training and validation are those
# of synthscenes.py; testing evaluates the clean val images and every set
# of the stored copy, plus the mean over the degraded sets. Write the copy
# once with:
#   python tools/misc/make_degraded_benchmark.py \
#       configs/_base_/datasets/synthscenes.py \
#       --out data/synthscenes_degraded/val
_base_ = ['./synthscenes.py']
degraded_root = 'data/synthscenes_degraded/val'
benchmark_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadMultiTaskAnnotations'),
    # clean image -> gt_clean_img, stored degraded image -> img
    dict(type='LoadDegradedImage'),
    dict(type='PackMultiTaskInputs'),
]
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        _delete_=True,
        type='DegradedBenchmarkDataset',
        dataset_type='SynthScenesDataset',
        data_root='data/synthscenes',
        split='val',
        tasks=['semseg', 'depth', 'normals', 'boundary', 'saliency'],
        degraded_root=degraded_root,
        sets=None,  # every set of the copy, in the manifest's order
        include_clean=True,
        pipeline=benchmark_pipeline))
test_evaluator = dict(
    type='MultiTaskMetric',
    tasks=['semseg', 'depth', 'normals', 'boundary', 'saliency'],
    num_classes=10,
    per_degradation=True)
# The mean over the degraded sets (`mt/degraded_mean/...`) is added by
# DegradedBenchmarkAverageHook, in default_runtime.py's `custom_hooks`.
