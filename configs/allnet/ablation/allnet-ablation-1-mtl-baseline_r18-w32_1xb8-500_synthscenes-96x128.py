# Ablation row 1 at the demo scale (MTL baseline): the demo's slim
# ResNet-18 with the plain multi-task decoder (shared FPN fusion, task heads,
# restoration head); no MaE, no TCR. The same model, data, schedule and
# iterations as the demo's baseline; rows 2-5 add to the demo encoder what
# the paper's ablation adds. Results: configs/allnet/README.md.
_base_ = [
    '../../mtl_baseline/'
    'mtl-baseline_r18-w32_1xb8-500_synthscenes-96x128.py'
]
