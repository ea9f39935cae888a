# The demo with renormalised top-k gates (1 for top-1): the task loss no
# longer pulls the chosen expert's probability up, so the router learns from
# the balancing aux loss alone (the paper's weight, 0.01) and the chosen
# expert's output enters unscaled.
# Results: configs/allnet/README.md ("Routing").
_base_ = ['../allnet_r18-w32_1xb8-500_synthscenes-96x128.py']
model = dict(neck=dict(gate_mode='renorm'))
