# The demo with a warm-up of the routing aux weight: 1.0 at the start (the
# weight at which the router specialises by degradation), down to the
# paper's 0.01 by a half cosine over the first 250 of 500 iterations.
# Results: configs/allnet/README.md ("Routing").
_base_ = ['../allnet_r18-w32_1xb8-500_synthscenes-96x128.py']
custom_hooks = [
    dict(type='TaskConsistencyHook'),
    dict(type='DegradedBenchmarkAverageHook'),
    dict(type='NonFiniteLossHook'),
    dict(type='RouteLossWeightHook', start_weight=1.0, iters=250),
]
