# Runtime shared by mmallnet configs: MMSeg's runtime + our modules and
# the multi-task visualizer.
_base_ = ['mmseg::_base_/default_runtime.py']

custom_imports = dict(imports=['mmallnet'], allow_failed_imports=False)
default_scope = 'mmseg'
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='MultiTaskLocalVisualizer', vis_backends=vis_backends,
    name='visualizer')
