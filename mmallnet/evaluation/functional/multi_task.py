"""Multi-task performance Delta_MTL against single-task baselines.

``Delta = (1/T) sum_t (-1)^{l_t} (M_t - B_t) / B_t x 100`` over one primary
metric per task (Maninis et al., CVPR 2019), with ``l_t = 1`` where lower
is better (:data:`DEFAULT_LOWER_IS_BETTER`). In %, positive = better than
the baselines.
"""
from typing import Dict, Optional

from .utils import fsum

#: Whether lower is better, per metric name (the part after the last '/').
DEFAULT_LOWER_IS_BETTER: Dict[str, bool] = {
    'semseg.mIoU': False,
    'semseg.mIoU_nanmean': False,
    'semseg.aAcc': False,
    'parts.mIoU': False,
    'parts.mIoU_nanmean': False,
    'parts.aAcc': False,
    'depth.rmse': True,
    'depth.abs_rel': True,
    'depth.log_rmse': True,
    'depth.delta1': False,
    'normals.mean': True,
    'normals.median': True,
    'normals.11.25': False,
    'normals.22.5': False,
    'normals.30': False,
    'boundary.odsF': False,
    'boundary.odsF_proxy': False,
    'saliency.maxF': False,
    'saliency.maxF_legacy': False,
    'restoration.psnr': False,
    'restoration.ssim': False,
}


def delta_mtl(metrics: Dict[str, float],
              baselines: Dict[str, float],
              lower_is_better: Optional[Dict[str, bool]] = None) -> float:
    """Multi-task performance Δ_MTL in %.

    ``Δ = (1/T) Σ_t (−1)^{l_t} (M_t − B_t) / B_t × 100`` over the T metrics
    named in ``baselines`` (one primary metric per task, e.g.
    ``{'semseg.mIoU': 40.0, 'depth.rmse': 0.5}``), where ``l_t = 1`` if
    lower is better.

    Args:
        metrics (dict): Metric values of the evaluated model; must contain
            every key of ``baselines``.
        baselines (dict): Single-task baseline values.
        lower_is_better (dict, optional): Per-key direction. Keys missing
            here are looked up in :data:`DEFAULT_LOWER_IS_BETTER` by the
            name after the last '/' (so ``'mt/noise/depth.rmse'`` works).

    Returns:
        float: Δ_MTL in percent (positive = better than the baselines).

    Raises:
        KeyError: A baseline key is missing from ``metrics`` or has no
            known direction.
        ValueError: Empty baselines or a zero baseline value.
    """
    if not baselines:
        raise ValueError('delta_mtl: `baselines` is empty.')
    lower_is_better = dict(lower_is_better or {})
    total = []
    for key, base in baselines.items():
        if key not in metrics:
            raise KeyError(f'delta_mtl: metric {key!r} of `baselines` is '
                           f'missing from `metrics` (keys: '
                           f'{sorted(metrics)}).')
        if key in lower_is_better:
            lower = lower_is_better[key]
        elif key.rsplit('/', 1)[-1] in DEFAULT_LOWER_IS_BETTER:
            lower = DEFAULT_LOWER_IS_BETTER[key.rsplit('/', 1)[-1]]
        else:
            raise KeyError(f'delta_mtl: unknown direction for {key!r}; pass '
                           f'`lower_is_better={{{key!r}: True/False}}`.')
        if base == 0:
            raise ValueError(f'delta_mtl: baseline of {key!r} is 0.')
        sign = -1.0 if lower else 1.0
        total.append(sign * (metrics[key] - base) / base)
    return fsum(total) / len(total) * 100
