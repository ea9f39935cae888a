# ALLNet with InternImage-T on degraded NYUD-v2 (semseg, depth, normals,
# boundary): 448x576 crops, batch 4, AdamW 6e-5 / wd 0.05, poly with a
# 1500-iteration linear warm-up, 40k iterations (the paper's and
# InternImage's segmentation recipe).
_base_ = [
    '../_base_/models/allnet_internimage-t.py',
    '../_base_/datasets/nyud_multi_task.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k_adamw.py',
]
data_preprocessor = dict(size=(448, 576), test_cfg=dict(size=(448, 576)))
model = dict(data_preprocessor=data_preprocessor)
# InternImage's recipe: no weight decay on norms, biases and 1-D
# parameters (layer decay rate 1.0 for T); the neck and head get layer id
# num_layers + 1, i.e. the base lr.
optim_wrapper = dict(
    constructor='CustomLayerDecayOptimizerConstructor',
    paramwise_cfg=dict(
        num_layers=30, layer_decay_rate=1.0, depths=[4, 4, 18, 4]))
