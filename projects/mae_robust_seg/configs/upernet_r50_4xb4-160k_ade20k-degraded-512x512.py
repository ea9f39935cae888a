# Reference for the MaE model of this project on degraded ADE20K: MMSeg's
# UPerNet R-50 recipe (MMSeg's upernet/upernet_r50_4xb4-160k_ade20k-512x512.py:
# ResNetV1c-50 from ImageNet weights, UPerHead, FCNHead auxiliary head, SGD
# 0.01, 160k iterations of batch 4 x 4 GPUs), trained on ADE20K with
# mmallnet's degradations and validated on a degraded val set
# (_base_/datasets/ade20k_degraded.py). The test set is MMSeg's clean one:
# tools/test.py scores it clean, tools/analysis_tools/robustness_test.py
# clean and under every degradation. The MaE model,
# upernet_r50_mae-fused_4xb4-160k_ade20k-degraded-512x512.py, differs only
# in the neck and the segmentor type.
_base_ = [
    'mmseg::_base_/models/upernet_r50.py',
    './_base_/datasets/ade20k_degraded.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py',
]
# The degradations, the metric and the routed segmentor live in mmallnet.
custom_imports = dict(imports=['mmallnet'], allow_failed_imports=False)
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=150),
    auxiliary_head=dict(num_classes=150))
# MMSeg's checkpoint schedule (every 16k iterations), saved crash-safe
# (written to a temporary file, then renamed) as every mmallnet config.
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
# The per-degradation mean (`mt/degraded_mean/...`) and the stop on a
# non-finite loss of mmallnet's runtime.
custom_hooks = [
    dict(type='DegradedBenchmarkAverageHook'),
    dict(type='NonFiniteLossHook'),
]
