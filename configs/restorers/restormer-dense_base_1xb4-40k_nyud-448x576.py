# Dense all-in-one restorer (Restormer blocks, no experts; the AdaIR /
# PromptIR stand-in) at MoCE-IR's size ('base': width 48, encoder blocks
# 4/6/6/8, decoder 2/4/4) on
# degraded NYUD-v2: trained with on-the-fly noise / rain / fog / blur,
# tested on the clean val images and every set of the stored degraded
# copy (see configs/_base_/datasets/nyud_multi_task_degraded_benchmark.py
# for how to write it once). The restorer of a two-stage baseline.
_base_ = [
    '../_base_/datasets/nyud_multi_task_degraded_benchmark.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k_adamw.py',
]
# The network reads the [0, 1] RGB `degraded_img`; test images (~425x560)
# are padded to 448x576 like the multi-task models' and cropped back.
data_preprocessor = dict(
    type='MultiTaskDataPreProcessor',
    bgr_to_rgb=True,
    size=(448, 576),
    test_cfg=dict(size=(448, 576)))
model = dict(
    type='ImageRestorer',
    data_preprocessor=data_preprocessor,
    restorer=dict(type='DenseRestorer', arch='base'),
    loss=dict(type='RestorationLoss', l1_weight=1.0, fft_weight=0.1))
# MoCE-IR's learning rate (AdamW 2e-4); the warm-up + poly decay of the
# 40k schedule replaces its epoch-based warm-up + cosine.
optim_wrapper = dict(optimizer=dict(lr=2e-4, weight_decay=0.01))
val_evaluator = dict(
    _delete_=True,
    type='MultiTaskMetric',
    tasks=[],
    restoration=True,
    ssim=True,
    per_degradation=True)
test_evaluator = val_evaluator
