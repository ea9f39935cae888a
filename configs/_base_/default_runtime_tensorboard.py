# default_runtime.py with TensorBoard next to the local files: the logged
# scalars (losses, lr, metrics) and every picture the visualizer draws (the
# multi-task pictures of the visualization hook and `tools/test.py
# --show-dir`, RoutingMetric's heatmap) also go to an event file in
# <work_dir>/<timestamp>/vis_data/; `tensorboard --logdir work_dirs` shows
# them. Put this file in a config's `_base_` in place of default_runtime.py:
# MMEngine refuses two bases that set the same key, so it cannot be added
# next to it. Needs `pip install tensorboard` (requirements/tests.txt).
_base_ = ['./default_runtime.py']

vis_backends = [
    dict(type='LocalVisBackend'),
    dict(type='TensorboardVisBackend'),
]
visualizer = dict(vis_backends=vis_backends)
