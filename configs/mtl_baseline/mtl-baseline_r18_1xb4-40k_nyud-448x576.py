# Multi-task baseline on degraded NYUD-v2 (semseg, depth, normals, boundary).
_base_ = [
    '../_base_/models/mtl_baseline_r18.py',
    '../_base_/datasets/nyud_multi_task.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k_adamw.py',
]
data_preprocessor = dict(size=(448, 576), test_cfg=dict(size=(448, 576)))
model = dict(data_preprocessor=data_preprocessor)
