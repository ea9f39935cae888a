# A small ALLNet for CPU: a slim InternImage (width 32, one or two blocks per
# stage, from scratch) + MaE neck + TCR head on SynthScenes with random
# noise / rain / fog / blur; same data, schedule and iterations as the
# baseline demo (mtl-baseline_r18-w32_1xb8-500_synthscenes-96x128.py).
_base_ = [
    '../_base_/models/allnet_internimage-t.py',
    '../_base_/datasets/synthscenes.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_500_cpu_demo.py',
]
tasks = ['semseg', 'depth', 'normals', 'boundary', 'saliency']
widths = [32, 64, 128, 256]
model = dict(
    backbone=dict(
        _delete_=True,
        type='InternImage',
        arch=dict(channels=32, depths=[1, 1, 2, 1], groups=[2, 4, 8, 16]),
        drop_path_rate=0.0,
        out_indices=(0, 1, 2, 3)),
    neck=dict(in_channels=widths),
    # CTI and AFU at 1/8..1/32 only: at 1/4 they would double the head's
    # CPU time (measured: head fwd+bwd 1.05 s -> 0.65 s per batch of 8).
    decode_head=dict(
        in_channels=widths,
        channels=32,
        tasks=tasks,
        num_classes=10,
        interaction_scales=(1, 2, 3)))
