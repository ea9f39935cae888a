# ALLNet (configs/allnet/README.md): InternImage-T encoder -> MaE neck
# (Unified Expert + image-routed mixture of complexity experts, 'dual'
# streams) -> TCR head (SKFF, coarse-to-fine, CTI with task tokens, AFU)
# -> task heads and the restoration head. Routing aux loss weight 0.01.
norm_cfg = dict(type='BN', requires_grad=True)
widths = [64, 128, 256, 512]
data_preprocessor = dict(
    type='MultiTaskDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    size_divisor=32,
    test_cfg=dict(size_divisor=32))
model = dict(
    type='MultiTaskEncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='InternImage',
        arch='t',
        drop_path_rate=0.2,
        out_indices=(0, 1, 2, 3),
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://huggingface.co/OpenGVLab/InternImage/'
            'resolve/main/internimage_t_1k_224.pth')),
    neck=dict(
        type='MaENeck',
        in_channels=widths,
        num_experts=4,
        top_k=1,
        expert_channel_divisors=(1, 2, 4, 8),
        expert_windows=(4, 8, 16, 32),
        output_mode='dual'),
    decode_head=dict(
        type='TCRHead',
        in_channels=widths,
        in_index=[0, 1, 2, 3],
        channels=64,
        tasks=['semseg', 'depth', 'normals', 'boundary'],
        num_classes=40,
        use_cti=True,
        use_afu=True,
        use_image_tokens=True,
        norm_cfg=norm_cfg,
        align_corners=False,
        restoration=True),
    route_loss_weight=0.01,
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
