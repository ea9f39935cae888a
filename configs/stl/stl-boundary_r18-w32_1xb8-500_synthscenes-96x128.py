# Single-task reference for Delta_MTL: the SynthScenes demo's MTL
# baseline trained on boundary alone (same encoder, decoder, data and schedule;
# no restoration branch). The dataset keeps loading every label, so crops
# (cat_max_ratio on semseg) and fog (ground-truth depth) are those the MTL
# baseline sees. See configs/stl/README.md.
_base_ = [
    '../mtl_baseline/mtl-baseline_r18-w32_1xb8-500_synthscenes-96x128.py'
]
stl_tasks = ['boundary']
model = dict(decode_head=dict(tasks=stl_tasks, restoration=False))
val_evaluator = dict(tasks=stl_tasks, restoration=False)
test_evaluator = val_evaluator
