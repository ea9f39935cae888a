# ALLNet with MMPretrain's ConvNeXt-T encoder on degraded NYUD-v2: the
# InternImage-T config (allnet_internimage-t_1xb4-40k_nyud-448x576.py) with
# only the encoder swapped. Same MaE neck and TCR head (in_channels set to
# ConvNeXt-T's widths), data, 40k schedule and AdamW recipe; the layer-decay
# constructor is InternImage-specific, so its decay rule (rate 1.0 for T,
# i.e. no layer decay) is written with MMEngine's default constructor.
_base_ = [
    '../_base_/models/allnet_internimage-t.py',
    '../_base_/datasets/nyud_multi_task.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k_adamw.py',
]
# MMPretrain's encoder is built across scopes (`mmpretrain.` type prefix);
# its models are imported up front, as in MMSeg's ConvNeXt configs.
custom_imports = dict(
    imports=['mmallnet', 'mmpretrain.models'], allow_failed_imports=False)
# ImageNet-1k weights as MMSeg's UperNet ConvNeXt-T uses them (an
# MMPretrain classifier checkpoint, hence prefix='backbone.').
checkpoint_file = 'https://download.openmmlab.com/mmclassification/v0/convnext/downstream/convnext-tiny_3rdparty_32xb128-noema_in1k_20220301-795e9634.pth'  # noqa
widths = [96, 192, 384, 768]
data_preprocessor = dict(size=(448, 576), test_cfg=dict(size=(448, 576)))
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        _delete_=True,
        type='mmpretrain.ConvNeXt',
        arch='tiny',
        # all four stages, at strides 4/8/16/32, each through its own LN2d;
        # no global pooling, so they come out as NCHW maps
        out_indices=(0, 1, 2, 3),
        gap_before_final_norm=False,
        # MMSeg's ConvNeXt-T settings (the layer scales are loaded from
        # the checkpoint)
        drop_path_rate=0.4,
        layer_scale_init_value=1.0,
        init_cfg=dict(
            type='Pretrained', checkpoint=checkpoint_file,
            prefix='backbone.')),
    neck=dict(in_channels=widths),
    decode_head=dict(in_channels=widths))
# The InternImage-T configs' optimizer, AdamW 6e-5 / wd 0.05, with their
# no-decay rule: biases, 1-D parameters (norms, layer scales) and names
# with 'norm' or 'relative_position' (the MaE experts' position biases).
optim_wrapper = dict(
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        flat_decay_mult=0.0,
        custom_keys={
            'norm': dict(decay_mult=0.0),
            'relative_position': dict(decay_mult=0.0),
        }))
