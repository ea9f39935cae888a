# The routing warm-up (allnet-route-warmup_...) with router logits from the
# degradation prior alone (lambda * W_p GAP(|HP(x)|), no content gate): the
# choice can depend on the feature only through its high-frequency energy.
# Results: configs/allnet/README.md ("Routing").
_base_ = ['./allnet-route-warmup_r18-w32_1xb8-500_synthscenes-96x128.py']
model = dict(neck=dict(logit_source='prior'))
