# ALLNet with MMPretrain's Swin-T encoder on degraded NYUD-v2: the
# InternImage-T config with only the encoder swapped, as in
# allnet_convnext-t_1xb4-40k_nyud-448x576.py (same neck, head, data,
# schedule and optimizer).
_base_ = [
    '../_base_/models/allnet_internimage-t.py',
    '../_base_/datasets/nyud_multi_task.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k_adamw.py',
]
# `mmpretrain.` types: see the ConvNeXt config
custom_imports = dict(
    imports=['mmallnet', 'mmpretrain.models'], allow_failed_imports=False)
# MMPretrain's ImageNet-1k Swin-T (swin-tiny_16xb64_in1k), a classifier
# checkpoint, hence prefix='backbone.'.
checkpoint_file = 'https://download.openmmlab.com/mmclassification/v0/swin-transformer/swin_tiny_224_b16x64_300e_imagenet_20210616_090925-66df6be6.pth'  # noqa
widths = [96, 192, 384, 768]
data_preprocessor = dict(size=(448, 576), test_cfg=dict(size=(448, 576)))
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        _delete_=True,
        type='mmpretrain.SwinTransformer',
        arch='tiny',
        img_size=224,
        window_size=7,
        # all four stages at strides 4/8/16/32 (out_after_downsample=False),
        # each through its own LN and returned as an NCHW map
        out_indices=(0, 1, 2, 3),
        # MMSeg's UperNet Swin-T value
        drop_path_rate=0.3,
        # The attention pads every map to a multiple of the window itself;
        # a map smaller than the window (below 224 px a side at 1/32, e.g.
        # small test or demo inputs) is padded too instead of failing.
        pad_small_map=True,
        init_cfg=dict(
            type='Pretrained', checkpoint=checkpoint_file,
            prefix='backbone.')),
    neck=dict(in_channels=widths),
    decode_head=dict(in_channels=widths))
# The InternImage-T configs' optimizer and no-decay rule (see the ConvNeXt
# config); 'relative_position' also covers Swin's position-bias tables.
optim_wrapper = dict(
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        flat_decay_mult=0.0,
        custom_keys={
            'norm': dict(decay_mult=0.0),
            'relative_position': dict(decay_mult=0.0),
        }))
