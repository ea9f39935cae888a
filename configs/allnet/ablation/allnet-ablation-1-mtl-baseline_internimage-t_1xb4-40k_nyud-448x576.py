# Ablation row 1 (MTL baseline): InternImage-T + the plain multi-task
# decoder (shared FPN fusion, task heads, restoration head); no MaE, no TCR.
_base_ = ['../allnet_internimage-t_1xb4-40k_nyud-448x576.py']
model = dict(
    neck=None,
    decode_head=dict(
        _delete_=True,
        type='MultiTaskFPNHead',
        in_channels=[64, 128, 256, 512],
        in_index=[0, 1, 2, 3],
        channels=64,
        tasks=['semseg', 'depth', 'normals', 'boundary'],
        num_classes=40,
        norm_cfg=dict(type='BN', requires_grad=True),
        align_corners=False,
        restoration=True))
