# NYUD-v2 val as a fixed degraded benchmark. Training and validation are
# those of nyud_multi_task.py (on-the-fly degradations); testing evaluates
# the clean val images and every set of a stored degraded copy (noise_15,
# noise_25, noise_50, rain, fog, blur by default), each reported by
# MultiTaskMetric as its own degradation type, plus the mean over the
# degraded sets (DegradedBenchmarkAverageHook, 'mt/degraded_mean/...').
# Write the copy once with:
#   python tools/misc/make_degraded_benchmark.py \
#       configs/_base_/datasets/nyud_multi_task.py \
#       --out data/NYUDv2_degraded/val --workers 4
# Test-time protocol as nyud_multi_task.py: no resize; the data
# preprocessor pads to 448x576 and predictions are cropped back.
_base_ = ['./nyud_multi_task.py']
degraded_root = 'data/NYUDv2_degraded/val'
benchmark_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadMultiTaskAnnotations'),
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
        dataset_type='NYUDMultiTaskDataset',
        data_root='data/NYUDv2',
        split='val',
        tasks=['semseg', 'depth', 'normals', 'boundary'],
        degraded_root=degraded_root,
        sets=None,  # every set of the copy, in the manifest's order
        include_clean=True,
        pipeline=benchmark_pipeline))
test_evaluator = [
    dict(
        type='MultiTaskMetric',
        tasks=['semseg', 'depth', 'normals', 'boundary'],
        num_classes=40,
        per_degradation=True),
    dict(type='BoundarySEISMMetric', max_dist=0.011),
]
# The mean over the degraded sets (`mt/degraded_mean/...`) is added by
# DegradedBenchmarkAverageHook, in default_runtime.py's `custom_hooks`.
