# A small ALLNet for CPU: a slim InternImage (width 32, one to three blocks
# per stage, from scratch) + MaE neck + TCR head on SynthScenes with random
# noise / rain / fog / blur; same data, schedule and iterations as the
# multi-task baseline (mtl-baseline_r18-w32_1xb8-500_synthscenes-96x128.py).
# The demo (allnet_r18-w32_1xb8-500_synthscenes-96x128.py) puts this neck
# and head on the baseline's ResNet instead. Results and the runs behind
# the choices below: configs/allnet/README.md.
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
        arch=dict(channels=32, depths=[1, 2, 3, 1], groups=[2, 4, 8, 16]),
        drop_path_rate=0.0,
        out_indices=(0, 1, 2, 3)),
    neck=dict(in_channels=widths),
    # 48-channel task streams. CTI and AFU at 1/16 and 1/32 only, where
    # they are cheap on a CPU. Multi-scale fusion of each stream's states
    # before its head (UPerNet's FPN bottleneck), with 1x1 convs to keep
    # the CPU cost down. A 16-channel restoration branch (the baseline's
    # has 32): its convs run at full resolution.
    decode_head=dict(
        in_channels=widths,
        channels=48,
        tasks=tasks,
        num_classes=10,
        interaction_scales=(2, 3),
        multi_scale_fusion=True,
        fusion_kernel_size=1,
        restoration_channels=16))
# Also tabulate which expert each degradation type is routed to (logged,
# and drawn to vis_data/vis_image/mae_routing_*.png of the run).
val_evaluator = [
    dict(type='MultiTaskMetric', tasks=tasks, num_classes=10,
         per_degradation=True),
    dict(type='RoutingMetric', num_experts=4),
]
test_evaluator = val_evaluator
