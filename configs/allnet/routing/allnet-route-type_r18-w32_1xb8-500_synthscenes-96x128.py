# The demo plus a routing loss that rewards telling the degradation types
# apart: 0.1 x H(degradation type | expert) of each batch's soft routing,
# averaged over the scales (the training samples' degradation_type, which
# the train pipeline's RandomDegradation sets; which expert takes which
# type is left to the model). Not in the paper. Results:
# configs/allnet/README.md ("Routing").
_base_ = ['../allnet_r18-w32_1xb8-500_synthscenes-96x128.py']
model = dict(route_type_loss_weight=0.1)
