# Runtime shared by mmallnet configs: MMSeg's runtime + our modules and
# the multi-task visualizer.
_base_ = ['mmseg::_base_/default_runtime.py']

custom_imports = dict(imports=['mmallnet'], allow_failed_imports=False)
default_scope = 'mmseg'
# Local files under <work_dir>/<timestamp>/vis_data/. To write the
# scalars and pictures to TensorBoard as well, use
# default_runtime_tensorboard.py in place of this file, or add to a config:
# visualizer = dict(vis_backends=[dict(type='LocalVisBackend'),
#                                 dict(type='TensorboardVisBackend')])
# (docs/user_guides/train_test.md#tensorboard).
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='MultiTaskLocalVisualizer', vis_backends=vis_backends,
    name='visualizer')
# Hooks every mmallnet run gets. A config that sets `custom_hooks` replaces
# this list (MMEngine does not merge lists): repeat these entries there. A
# dataset base config must not set it (two bases defining one key is an
# error in MMEngine).
# - TaskConsistencyHook: the head's, datasets' and metrics' tasks must
#   agree (checked before training / validation / testing).
# - DegradedBenchmarkAverageHook: adds `mt/degraded_mean/<metric>`, the
#   mean over the degradation types (sets) of MultiTaskMetric's per-type
#   results, `clean` excluded; nothing without per-type results.
# - NonFiniteLossHook: a NaN/inf loss stops training before the optimizer
#   step and before any checkpoint of that state; action='skip' drops such
#   steps instead and counts them (`skipped_nonfinite_steps` in the log),
#   e.g. --cfg-options custom_hooks.2.action=skip.
custom_hooks = [
    dict(type='TaskConsistencyHook'),
    dict(type='DegradedBenchmarkAverageHook'),
    dict(type='NonFiniteLossHook'),
]
