# ALLNet with InternImage-S on degraded PASCAL-Context (see the T config).
_base_ = ['./allnet_internimage-t_1xb4-40k_pascal-context-512x512.py']
widths = [80, 160, 320, 640]
model = dict(
    backbone=dict(
        arch='s',
        drop_path_rate=0.3,
        init_cfg=dict(
            checkpoint='https://huggingface.co/OpenGVLab/InternImage/'
            'resolve/main/internimage_s_1k_224.pth')),
    neck=dict(in_channels=widths),
    decode_head=dict(in_channels=widths))
optim_wrapper = dict(
    paramwise_cfg=dict(num_layers=33, depths=[4, 4, 21, 4]))
