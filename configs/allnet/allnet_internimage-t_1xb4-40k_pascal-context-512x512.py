# ALLNet with InternImage-T on degraded PASCAL-Context (semseg, human parts,
# saliency, normals, boundary): 512x512 crops, batch 4, AdamW 6e-5 / wd
# 0.05, poly with a 1500-iteration linear warm-up, 40k iterations; task
# loss weights semseg 1, parts 2, saliency 5, normals 10, boundary 50
# (the InvPT-family weights, BaseMultiTaskHead's defaults).
_base_ = [
    '../_base_/models/allnet_internimage-t.py',
    '../_base_/datasets/pascal_context_multi_task.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k_adamw.py',
]
tasks = ['semseg', 'parts', 'saliency', 'normals', 'boundary']
data_preprocessor = dict(size=(512, 512), test_cfg=dict(size=(512, 512)))
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(tasks=tasks, num_classes=21, num_parts_classes=7))
# InternImage's recipe, as in the NYUD config: no weight decay on norms,
# biases and 1-D parameters; neck and head at the base lr.
optim_wrapper = dict(
    constructor='CustomLayerDecayOptimizerConstructor',
    paramwise_cfg=dict(
        num_layers=30, layer_decay_rate=1.0, depths=[4, 4, 18, 4]))
