# MaE as an independent all-in-one restorer (MoCE-IR-shaped encoder-decoder
# with routed complexity experts), 'tiny' preset, trained on SynthScenes
# with random noise / rain / fog / blur and evaluated (PSNR/SSIM per
# degradation type) on the fixed degraded val split. CPU demo size; see
# configs/restorers/README.md.
_base_ = [
    '../_base_/datasets/synthscenes.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_500_cpu_demo.py',
]
# The network reads the [0, 1] RGB `degraded_img` the preprocessor keeps;
# it pads to a multiple of 8 itself, so no normalisation or padding here.
data_preprocessor = dict(type='MultiTaskDataPreProcessor', bgr_to_rgb=True)
model = dict(
    type='ImageRestorer',
    data_preprocessor=data_preprocessor,
    restorer=dict(type='MaERestorer', arch='tiny', num_experts=4, top_k=1),
    loss=dict(type='RestorationLoss', l1_weight=1.0, fft_weight=0.1),
    route_loss_weight=0.01)
val_evaluator = dict(
    _delete_=True,
    type='MultiTaskMetric',
    tasks=[],
    restoration=True,
    ssim=True,
    per_degradation=True)
test_evaluator = val_evaluator
