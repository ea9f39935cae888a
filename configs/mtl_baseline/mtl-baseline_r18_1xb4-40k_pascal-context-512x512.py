# The ResNetV1c-18 MTL baseline on degraded PASCAL-Context (semseg, parts,
# saliency, normals, boundary), also the parent of the PASCAL-Context STL
# configs (configs/stl): the NYUD baseline's model, PASCAL-Context's data
# and classes, 512x512 padding, 40k iterations of batch 4.
_base_ = [
    '../_base_/models/mtl_baseline_r18.py',
    '../_base_/datasets/pascal_context_multi_task.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k_adamw.py',
]
tasks = ['semseg', 'parts', 'saliency', 'normals', 'boundary']
data_preprocessor = dict(size=(512, 512), test_cfg=dict(size=(512, 512)))
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(tasks=tasks, num_classes=21, num_parts_classes=7))
