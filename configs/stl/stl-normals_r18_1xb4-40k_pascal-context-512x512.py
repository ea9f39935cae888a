# Single-task reference for Delta_MTL on degraded PASCAL-Context: the
# ResNetV1c-18 MTL baseline (40k iterations, batch 4) trained on one task,
# normals, without the restoration branch. The dataset keeps loading every
# label, so crops are those of the MTL baseline.
# See configs/stl/README.md.
_base_ = [
    '../mtl_baseline/mtl-baseline_r18_1xb4-40k_pascal-context-512x512.py'
]
stl_tasks = ['normals']
model = dict(decode_head=dict(tasks=stl_tasks, restoration=False))
val_evaluator = dict(
    type='MultiTaskMetric',
    tasks=stl_tasks,
    num_classes=21,
    num_parts_classes=7,
    restoration=False,
    per_degradation=True)
# No BoundarySEISMMetric: it scores boundaries, which this head
# does not predict.
test_evaluator = [val_evaluator]
