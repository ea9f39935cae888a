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
    # Multi-scale fusion of each stream's states before its head (UPerNet's
    # FPN bottleneck): depth, normals, boundaries and PSNR gain on
    # SynthScenes. A 16-channel full-resolution restoration branch (the
    # baseline's has 32) keeps the demo under 15 minutes: its convs at
    # 96x128 are the costliest layers of the model on a CPU.
    decode_head=dict(
        in_channels=widths,
        channels=32,
        tasks=tasks,
        num_classes=10,
        interaction_scales=(1, 2, 3),
        multi_scale_fusion=True,
        restoration_channels=16))
# Also tabulate which expert each degradation type is routed to (logged,
# and drawn to vis_data/vis_image/mae_routing_*.png of the run).
val_evaluator = [
    dict(type='MultiTaskMetric', tasks=tasks, num_classes=10,
         per_degradation=True),
    dict(type='RoutingMetric', num_experts=4),
]
test_evaluator = val_evaluator
