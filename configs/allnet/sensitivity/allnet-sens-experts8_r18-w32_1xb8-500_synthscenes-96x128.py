# Sensitivity of the demo to the expert count: n = 8, two experts at each
# of the demo's four complexity levels, instead of 4.
# Results: configs/allnet/README.md ("Routing").
_base_ = ['../allnet_r18-w32_1xb8-500_synthscenes-96x128.py']
model = dict(
    neck=dict(
        num_experts=8,
        expert_channel_divisors=(1, 1, 2, 2, 4, 4, 8, 8),
        expert_windows=(4, 4, 8, 8, 16, 16, 32, 32),
        expert_kernel_sizes=(3, 3, 5, 5, 7, 7, 9, 9)))
val_evaluator = [
    dict(type='MultiTaskMetric', tasks={{_base_.tasks}}, num_classes=10,
         per_degradation=True),
    dict(type='RoutingMetric', num_experts=8),
]
test_evaluator = val_evaluator
