# Two-stage "restore, then segment" with a stock MMSeg segmentor: the dense
# 'tiny' restorer (frozen, loaded from its checkpoint as in
# cascade_dense-restorer-tiny_mtl-baseline-r18_1xb8-500_synthscenes-96x128.py),
# then MMSeg's own EncoderDecoder (ResNetV1c-18 at the demo width, MMSeg's
# FPNHead) trained for semantic segmentation alone on the restored images.
# The test metrics: semseg mIoU and restoration PSNR/SSIM, per degradation.
_base_ = ['./cascade_dense-restorer-tiny_mtl-baseline-r18_1xb8-500_'
          'synthscenes-96x128.py']
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    predictor=dict(
        _delete_=True,
        type='EncoderDecoder',
        backbone=dict(
            type='ResNetV1c',
            depth=18,
            stem_channels=32,
            base_channels=32,
            num_stages=4,
            out_indices=(0, 1, 2, 3),
            norm_cfg=norm_cfg,
            style='pytorch',
            contract_dilation=True),
        decode_head=dict(
            type='FPNHead',
            in_channels=[32, 64, 128, 256],
            in_index=[0, 1, 2, 3],
            feature_strides=[4, 8, 16, 32],
            channels=64,
            dropout_ratio=0.1,
            num_classes=10,
            norm_cfg=norm_cfg,
            align_corners=False,
            loss_decode=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
        train_cfg=dict(),
        test_cfg=dict(mode='whole')))
val_evaluator = dict(tasks=['semseg'])
test_evaluator = val_evaluator
