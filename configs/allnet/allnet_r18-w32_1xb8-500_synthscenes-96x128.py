# The demo (tools/run_demo.sh): a small ALLNet on the multi-task
# baseline's encoder. The MaE neck and TCR head of the small ALLNet
# (allnet_internimage-slim-w32_1xb8-500_synthscenes-96x128.py) on the slim
# ResNet-18 (width 32) of mtl-baseline_r18-w32_1xb8-500_synthscenes-96x128.py,
# both from scratch; same data, schedule and iterations as that baseline, so
# the two differ only in what ALLNet adds after the encoder (as in the
# paper's ablation, where every row shares one encoder). 3x3 multi-scale
# fusion convs: the ResNet is cheaper than the slim InternImage.
# Results and times: configs/allnet/README.md.
_base_ = ['./allnet_internimage-slim-w32_1xb8-500_synthscenes-96x128.py']
model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNetV1c',
        depth=18,
        stem_channels=32,
        base_channels=32,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 1, 1),
        strides=(1, 2, 2, 2),
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        contract_dilation=True),
    decode_head=dict(fusion_kernel_size=3))
