# The demo's multi-task baseline: a slim ResNet-18 trained from scratch
# on SynthScenes with random noise / rain / fog / blur, evaluated on the
# fixed degraded val split. Sized to train on a CPU (results and times:
# configs/mtl_baseline/README.md).
_base_ = [
    '../_base_/models/mtl_baseline_r18.py',
    '../_base_/datasets/synthscenes.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_500_cpu_demo.py',
]
tasks = ['semseg', 'depth', 'normals', 'boundary', 'saliency']
model = dict(
    backbone=dict(stem_channels=32, base_channels=32),
    decode_head=dict(
        in_channels=[32, 64, 128, 256],
        channels=64,
        tasks=tasks,
        num_classes=10))
