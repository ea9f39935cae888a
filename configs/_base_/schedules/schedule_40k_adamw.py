# InternImage-style segmentation schedule (the paper's recipe): AdamW lr
# 6e-5, wd 0.05, poly decay over all 40k iterations multiplied by a 1500-iter
# linear warm-up (mmcv 1.x 'poly' with warmup; the two schedulers start at
# 0 and compose multiplicatively).
_base_ = ['mmseg::_base_/schedules/schedule_40k.py']

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.05),
    clip_grad=None)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0,
        end=1500),
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=1.0,
        begin=0,
        end=40000,
        by_epoch=False),
]
# Crash-safe checkpoints (mmallnet/engine/hooks/atomic_checkpoint_hook.py);
# the other settings of mmseg's schedule_40k checkpoint hook are kept.
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
