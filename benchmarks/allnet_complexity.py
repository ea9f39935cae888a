"""Parameters, FLOPs and CPU latency of ALLNet against the MTL baseline.

Builds each model from its config (no pretrained weights are loaded; the
weights do not change the cost), in eval mode, and measures one image of
``--size`` (default 448x576, NYUD's crop):

- parameters (all, including every expert);
- FLOPs with :func:`mmallnet.utils.get_model_complexity` (one
  multiply-add = one FLOP; DCNv3 counted with the official convention,
  attention matrix products counted, softmax not);
- CPU latency: median of ``--repeats`` forward passes under
  ``torch.inference_mode`` after one warm-up.

Models: the ablation's MTL baseline (InternImage-T + plain multi-task
decoder), ALLNet-T and ALLNet-S, and ALLNet-T with *dense* MaE (every
expert runs for every image, ``top_k = num_experts``) against the default
sparse top-1 routing. Ratios are printed against the baseline (and dense
against sparse) from this one run.

Example::

    PYTHONPATH=. python benchmarks/allnet_complexity.py --threads 2
"""
import argparse
import os.path as osp
import statistics
import sys
import time
from typing import Dict, List

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

from mmseg.registry import MODELS  # noqa: E402

import mmallnet  # noqa: E402,F401
from mmallnet.utils import (  # noqa: E402
    TensorModeWrapper,
    get_model_complexity,
)

CONFIGS = {
    'MTL baseline (InternImage-T)':
    'configs/allnet/ablation/allnet-ablation-1-mtl-baseline_'
    'internimage-t_1xb4-40k_nyud-448x576.py',
    'ALLNet-T':
    'configs/allnet/allnet_internimage-t_1xb4-40k_nyud-448x576.py',
    'ALLNet-S':
    'configs/allnet/allnet_internimage-s_1xb4-40k_nyud-448x576.py',
}


def build(path: str, dense: bool = False) -> torch.nn.Module:
    """Build a config's model in eval mode; ``dense`` runs every expert."""
    cfg = Config.fromfile(osp.join(REPO, path))
    model = MODELS.build(cfg.model).eval()
    if dense:
        for mixture in model.neck.mixtures:
            mixture.router.top_k = len(mixture.experts)
    return model


def latency(model: torch.nn.Module, x: torch.Tensor, repeats: int) -> float:
    """Median seconds of ``model(x, mode='tensor')`` after a warm-up."""
    times = []
    with torch.inference_mode():
        model(x, mode='tensor')
        for _ in range(repeats):
            start = time.perf_counter()
            model(x, mode='tensor')
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(model: torch.nn.Module, x: torch.Tensor, repeats: int,
            skip_latency: bool) -> Dict[str, float]:
    """Parameters (M), GFLOPs and latency (s) of one model."""
    stats = get_model_complexity(
        TensorModeWrapper(model), (x, ), with_activations=False)
    return dict(
        params=sum(p.numel() for p in model.parameters()) / 1e6,
        gflops=stats['flops'] / 1e9,
        latency=float('nan') if skip_latency else latency(
            model, x, repeats))


def main(argv: List[str] = None) -> Dict[str, Dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--size', type=int, nargs=2, default=[448, 576])
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--models', nargs='+', default=list(CONFIGS))
    parser.add_argument('--skip-latency', action='store_true')
    parser.add_argument('--skip-dense', action='store_true')
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    init_default_scope('mmseg')
    torch.manual_seed(0)
    x = torch.randn(1, 3, *args.size)
    print(f'torch {torch.__version__}, CPU, {torch.get_num_threads()} '
          f'threads, input 1x3x{args.size[0]}x{args.size[1]}, latency = '
          f'median of {args.repeats}')
    rows = {}
    for name in args.models:
        rows[name] = measure(build(CONFIGS[name]), x, args.repeats,
                             args.skip_latency)
    if not args.skip_dense and 'ALLNet-T' in args.models:
        rows['ALLNet-T, dense MaE (all experts)'] = measure(
            build(CONFIGS['ALLNet-T'], dense=True), x, args.repeats,
            args.skip_latency)
    base = rows.get('MTL baseline (InternImage-T)')
    header = (f'{"model":36s} {"params M":>9s} {"GFLOPs":>8s} '
              f'{"CPU s":>7s} {"x params":>9s} {"x FLOPs":>8s} '
              f'{"x time":>7s}')
    print(header)
    for name, row in rows.items():
        ratios = ('', '', '')
        if base is not None:
            ratios = tuple(f'{row[k] / base[k]:.2f}'
                           for k in ('params', 'gflops', 'latency'))
        print(f'{name:36s} {row["params"]:9.2f} {row["gflops"]:8.1f} '
              f'{row["latency"]:7.2f} {ratios[0]:>9s} {ratios[1]:>8s} '
              f'{ratios[2]:>7s}')
    dense = rows.get('ALLNet-T, dense MaE (all experts)')
    if dense is not None:
        sparse = rows['ALLNet-T']
        print(f'sparse (top-1) / dense MaE, ALLNet-T: FLOPs '
              f'{sparse["gflops"] / dense["gflops"]:.2f}x, time '
              f'{sparse["latency"] / dense["latency"]:.2f}x')
    return rows


if __name__ == '__main__':
    main()
