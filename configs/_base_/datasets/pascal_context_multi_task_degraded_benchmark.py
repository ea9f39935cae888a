# PASCAL-Context val as a fixed degraded benchmark (see
# nyud_multi_task_degraded_benchmark.py). Training and validation are those
# of pascal_context_multi_task.py; testing evaluates the clean val images
# and every set of the stored copy, plus the mean over the degraded sets.
# Fog uses Fog's depth prior (no ground-truth depth). Write the copy once:
#   python tools/misc/make_degraded_benchmark.py \
#       configs/_base_/datasets/pascal_context_multi_task.py \
#       --out data/PASCALContext_degraded/val --workers 4
_base_ = ['./pascal_context_multi_task.py']
degraded_root = 'data/PASCALContext_degraded/val'
benchmark_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadPascalContextAnnotations'),
    # clean image -> gt_clean_img, stored degraded image -> img
    dict(type='LoadDegradedImage'),
    dict(type='PackMultiTaskInputs'),
]
test_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        _delete_=True,
        type='DegradedBenchmarkDataset',
        dataset_type='PascalContextMultiTaskDataset',
        data_root='data/PASCALContext',
        split='val',
        tasks=['semseg', 'parts', 'saliency', 'normals', 'boundary'],
        degraded_root=degraded_root,
        sets=None,  # every set of the copy, in the manifest's order
        include_clean=True,
        pipeline=benchmark_pipeline))
test_evaluator = [
    dict(
        type='MultiTaskMetric',
        tasks=['semseg', 'parts', 'saliency', 'normals', 'boundary'],
        num_classes=21,
        num_parts_classes=7,
        per_degradation=True),
    dict(type='BoundarySEISMMetric', max_dist=0.0075),
]
# The mean over the degraded sets (`mt/degraded_mean/...`) is added by
# DegradedBenchmarkAverageHook, in default_runtime.py's `custom_hooks`.
