# ALLNet's MaE neck inside MMSeg's UPerNet R-50 on degraded ADE20K: the
# reference upernet_r50_4xb4-160k_ade20k-degraded-512x512.py with mmallnet's
# MaENeck (output_mode='fused') between the stock ResNetV1c-50 and the stock
# UPerHead / FCNHead, under RoutedEncoderDecoder (MMSeg's EncoderDecoder
# plus the routing aux loss and the routing in each prediction). Data,
# schedule, heads and evaluation are the reference's. Not trained in this
# repository (GPU scale); the CPU demo of the same pair is
# upernet_r18-w32_mae-fused_1xb8-500_synthscenes-semseg-96x128.py.
_base_ = ['./upernet_r50_4xb4-160k_ade20k-degraded-512x512.py']
widths = [256, 512, 1024, 2048]
model = dict(
    type='RoutedEncoderDecoder',
    # One map per scale, P_s + J~_s, at the backbone's widths, so the heads
    # read it unchanged; 4 complexity experts per scale (widths C/1 .. C/8,
    # attention windows 4 .. 32), one per image, as in ALLNet's configs.
    # The neck is initialised from scratch; the backbone from ImageNet.
    neck=dict(
        type='MaENeck',
        in_channels=widths,
        num_experts=4,
        top_k=1,
        expert_channel_divisors=(1, 2, 4, 8),
        expert_windows=(4, 8, 16, 32),
        output_mode='fused'),
    # ALLNet's weight of the load-balancing aux loss.
    route_loss_weight=0.01)
# Validation also tabulates which expert each degradation type is routed
# to. The clean test set keeps MMSeg's IoUMetric.
val_evaluator = [
    dict(
        type='MultiTaskMetric',
        tasks=['semseg'],
        num_classes=150,
        restoration=False,
        per_degradation=True),
    dict(type='RoutingMetric', num_experts=4),
]
