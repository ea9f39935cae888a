# Sensitivity of the demo to the router temperature: a per-image T in
# [0.25, 4] instead of [0.5, 1.5].
# Results: configs/allnet/README.md ("Routing").
_base_ = ['../allnet_r18-w32_1xb8-500_synthscenes-96x128.py']
model = dict(neck=dict(temperature_range=(0.25, 4.0)))
