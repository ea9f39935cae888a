# ALLNet with MMSeg's MiT-B1 (SegFormer's Mix Transformer) encoder on
# degraded NYUD-v2: the InternImage-T config with only the encoder swapped,
# as in allnet_convnext-t_1xb4-40k_nyud-448x576.py (same neck, head, data,
# schedule and optimizer).
_base_ = [
    '../_base_/models/allnet_internimage-t.py',
    '../_base_/datasets/nyud_multi_task.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k_adamw.py',
]
# MMSeg's converted ImageNet-1k MiT-B1 (backbone keys only, no prefix).
checkpoint_file = 'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/segformer/mit_b1_20220624-02e5a6a1.pth'  # noqa
widths = [64, 128, 320, 512]
data_preprocessor = dict(size=(448, 576), test_cfg=dict(size=(448, 576)))
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        _delete_=True,
        type='MixVisionTransformer',
        in_channels=3,
        # MiT-B1 as SegFormer-B1 uses it: widths 64 x heads (1, 2, 5, 8)
        embed_dims=64,
        num_stages=4,
        num_layers=[2, 2, 2, 2],
        num_heads=[1, 2, 5, 8],
        patch_sizes=[7, 3, 3, 3],
        sr_ratios=[8, 4, 2, 1],
        # every stage ends in an LN and is returned as an NCHW map, at
        # strides 4/8/16/32
        out_indices=(0, 1, 2, 3),
        mlp_ratio=4,
        qkv_bias=True,
        drop_rate=0.0,
        attn_drop_rate=0.0,
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint_file)),
    neck=dict(in_channels=widths),
    decode_head=dict(in_channels=widths))
# The InternImage-T configs' optimizer and no-decay rule (see the ConvNeXt
# config). SegFormer's 10x head lr is not used: ALLNet's neck and head keep
# the base lr in every config.
optim_wrapper = dict(
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        flat_decay_mult=0.0,
        custom_keys={
            'norm': dict(decay_mult=0.0),
            'relative_position': dict(decay_mult=0.0),
        }))
