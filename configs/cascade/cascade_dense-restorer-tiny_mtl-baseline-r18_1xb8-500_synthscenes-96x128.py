# Two-stage baseline "restore, then predict" on SynthScenes (CPU demo
# size): the dense 'tiny' restorer of
# configs/restorers/restormer-dense_tiny_1xb8-500_synthscenes-96x128.py,
# frozen and loaded from its checkpoint, then the slim ResNet-18 MTL
# baseline of configs/mtl_baseline/ trained from scratch on the restored
# training images (recipe: configs/cascade/README.md).
_base_ = [
    '../mtl_baseline/mtl-baseline_r18-w32_1xb8-500_synthscenes-96x128.py'
]
# tools/train.py's default work dir of the restorer config.
restorer_work_dir = ('work_dirs/'
                     'restormer-dense_tiny_1xb8-500_synthscenes-96x128')
model = dict(
    _delete_=True,
    type='TwoStageCascade',
    # Normalises the degraded input and keeps its [0, 1] RGB copy, which
    # the restorer reads; the predictor's own data preprocessor is unused,
    # the restored image is normalised with predictor_mean / predictor_std
    # (default: this preprocessor's mean / std, the baseline's).
    data_preprocessor={{_base_.data_preprocessor}},
    # The restorer model as configs/restorers/ trains it (ImageRestorer),
    # so the keys of its checkpoint are this model's own.
    restorer=dict(
        type='ImageRestorer',
        restorer=dict(type='DenseRestorer', arch='tiny'),
        loss=dict(type='RestorationLoss', l1_weight=1.0, fft_weight=0.1)),
    restorer_checkpoint=f'{restorer_work_dir}/iter_500.pth',
    predictor={{_base_.model}},
    predictor_checkpoint=None,
    freeze_restorer=True,
    freeze_predictor=False)
