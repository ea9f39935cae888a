# The MaE neck of ALLNet inside a stock MMSeg segmentation model at CPU
# demo size: the reference UPerNet of
# upernet_r18-w32_1xb8-500_synthscenes-semseg-96x128.py with mmallnet's
# MaENeck between the stock ResNetV1c-18 and the stock UPerHead, under
# RoutedEncoderDecoder (MMSeg's EncoderDecoder plus the routing aux loss
# and the routing written into each prediction). Data, schedule, heads and
# evaluation are the reference's.
_base_ = ['./upernet_r18-w32_1xb8-500_synthscenes-semseg-96x128.py']
widths = [32, 64, 128, 256]
model = dict(
    type='RoutedEncoderDecoder',
    # output_mode='fused': one map per scale, P_s + J~_s (the Unified
    # Expert's prediction stream plus the routed restoration stream), with
    # the backbone's widths, so UPerHead and the FCNHead auxiliary head
    # read it unchanged. 4 complexity experts per scale, one per image
    # (top_k=1), expert widths C/1 .. C/8, as in ALLNet's configs.
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
# Also tabulate which expert each degradation type is routed to (logged,
# and drawn to vis_data/vis_image/mae_routing_*.png of the run).
val_evaluator = [
    dict(
        type='MultiTaskMetric',
        tasks=['semseg'],
        num_classes=10,
        restoration=False,
        per_degradation=True),
    dict(type='RoutingMetric', num_experts=4),
]
test_evaluator = val_evaluator
