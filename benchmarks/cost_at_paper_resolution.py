"""Cost of ALLNet-T against MTL, STL and two-stage cascades, one run.

Every model has the same encoder (InternImage-T) and NYUD-v2's tasks
(semseg with 40 classes, depth, normals, boundary); weights are random
(no pretrained checkpoint is loaded, ``init_weights`` is not called: the
weights do not change the cost). One image of ``--size`` (default 448x576,
NYUD's crop), batch 1, on the CPU with ``--threads`` (default 2) threads.
Per model, in one run:

- parameters (all, every expert included);
- FLOPs with :func:`mmallnet.utils.get_model_complexity` on
  ``mode='tensor'`` (one multiply-add = one FLOP, DCNv3 and attention
  products counted, softmax not);
- CPU latency: median of ``--repeats`` ``mode='tensor'`` passes under
  ``torch.inference_mode`` after one warm-up;
- peak memory of one training step: ``loss`` + ``backward`` of the summed
  training loss (no optimizer step) on a random batch with every task's
  target. Each step runs in a fresh Python process: the model is built in
  train mode, one tiny (64x64) step warms up lazy initialisation, the
  gradients are dropped, then the peak resident size (``VmHWM``, reset
  just before the step) minus the resident size just before the step is
  reported: activations, gradients and temporaries, not the weights nor
  the runtime. glibc serves every block of 64 KiB or more with its own
  ``mmap`` (``MALLOC_MMAP_THRESHOLD_``), so freed tensors leave the
  resident set at once and the peak follows the live tensors.

Models (``--models``):

- ``allnet-t``: ALLNet-T.
- ``mtl-baseline``: ablation row 1 (InternImage-T + plain multi-task FPN
  decoder with the restoration head).
- ``stl``: four single-task models (ablation row 1 with one task and no
  restoration head); params, FLOPs and latency are the sums of the four,
  the training-step memory is the largest of the four (they train apart).
- ``cascade-mae`` (Cascade A) / ``cascade-dense`` (Cascade B): a
  :class:`TwoStageCascade` of the 'base' ``MaERestorer`` /
  ``DenseRestorer`` (as in ``configs/restorers/*base*nyud*``) and the MTL
  baseline without its restoration head. Their training step is the
  recipe's predictor step (restorer frozen, predictor trainable);
  ``--joint`` also measures joint fine-tuning (both trainable, the
  restoration loss added), printed below the table.

Ratios are against Cascade B (``cascade-dense``, "restore, then
predict"); when it is not in ``--models`` they are against the first model
of the run, and the table says so.

Example::

    PYTHONPATH=. python benchmarks/cost_at_paper_resolution.py
    PYTHONPATH=. python benchmarks/cost_at_paper_resolution.py \
        --models allnet-t cascade-dense --size 224 288 --json cost.json
"""
import argparse
import contextlib
import copy
import gc
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

from mmseg.registry import MODELS  # noqa: E402

import mmallnet  # noqa: E402,F401  (registers modules)
from mmallnet.structures import MultiTaskDataSample  # noqa: E402
from mmallnet.utils import (  # noqa: E402
    TensorModeWrapper,
    get_model_complexity,
)

ALLNET_CFG = 'configs/allnet/allnet_internimage-t_1xb4-40k_nyud-448x576.py'
MTL_CFG = ('configs/allnet/ablation/allnet-ablation-1-mtl-baseline_'
           'internimage-t_1xb4-40k_nyud-448x576.py')
RESTORER_CFGS = {
    'mae': 'configs/restorers/mae-restorer_base_1xb4-40k_nyud-448x576.py',
    'dense': 'configs/restorers/restormer-dense_base_1xb4-40k_nyud-448x576.py',
}
TASKS = ('semseg', 'depth', 'normals', 'boundary')
NUM_CLASSES = 40
MEAN = (123.675, 116.28, 103.53)
STD = (58.395, 57.12, 57.375)

#: Model keys of ``--models`` and their table labels.
MODEL_NAMES = {
    'allnet-t': 'ALLNet-T',
    'mtl-baseline': 'MTL baseline (InternImage-T)',
    'stl': 'STL x4 (sum; mem: max)',
    'cascade-mae': 'Cascade A: MaE-base + MTL',
    'cascade-dense': 'Cascade B: Dense-base + MTL',
}
REFERENCE = 'cascade-dense'
METRICS = ('params', 'gflops', 'latency', 'mem_gb')


# ------------------------------------------------------------------ models
def _load(path: str) -> Config:
    return Config.fromfile(osp.join(REPO, path))


def model_cfg(name: str, task: Optional[str] = None,
              joint: bool = False) -> ConfigDict:
    """The model config of a ``--models`` key.

    Args:
        name (str): A key of :data:`MODEL_NAMES`.
        task (str, optional): The task of one ``stl`` model.
        joint (bool): For a cascade, train both stages (joint fine-tuning)
            instead of the predictor alone.

    Returns:
        ConfigDict: The model config.
    """
    if name == 'allnet-t':
        return _load(ALLNET_CFG).model
    mtl = _load(MTL_CFG).model
    if name == 'mtl-baseline':
        return mtl
    if name == 'stl':
        if task not in TASKS:
            raise ValueError(f'stl needs a task of {TASKS}, got {task!r}')
        mtl.decode_head.tasks = [task]
        mtl.decode_head.restoration = False
        return mtl
    if name.startswith('cascade-'):
        restorer = _load(RESTORER_CFGS[name[len('cascade-'):]]).model
        restorer.pop('data_preprocessor', None)
        mtl.decode_head.restoration = False
        cfg = dict(
            type='TwoStageCascade',
            data_preprocessor=mtl.data_preprocessor,
            restorer=restorer,
            predictor=mtl,
            freeze_restorer=not joint,
            freeze_predictor=False)
        if joint:
            cfg['restoration_loss'] = dict(
                type='RestorationLoss', loss_weight=0.1)
        return ConfigDict(cfg)
    raise KeyError(f'unknown model {name!r}; choose from {list(MODEL_NAMES)}')


def sub_models(name: str) -> List[Optional[str]]:
    """The tasks of the ``stl`` models, ``[None]`` for the others."""
    return list(TASKS) if name == 'stl' else [None]


def build(cfg: ConfigDict) -> torch.nn.Module:
    """Build a model on the CPU (random weights, ``init_weights`` skipped).

    Args:
        cfg (ConfigDict): The model config.

    Returns:
        nn.Module: The model.
    """
    init_default_scope('mmseg')
    torch.manual_seed(0)
    return MODELS.build(copy.deepcopy(cfg)).cpu()


# ------------------------------------------------------------------ inputs
def normalised_image(height: int, width: int, seed: int = 0) -> torch.Tensor:
    """A random (1, 3, H, W) image normalised like the models' input."""
    g = torch.Generator().manual_seed(seed)
    image = torch.rand(1, 3, height, width, generator=g)
    return _normalise(image)


def _normalise(image: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (image * 255. - mean) / std


def training_batch(height: int, width: int, seed: int = 0
                   ) -> Tuple[torch.Tensor, List[MultiTaskDataSample]]:
    """One unpadded training sample with every target of NYUD's tasks.

    Args:
        height (int): Image height.
        width (int): Image width.
        seed (int): Generator seed.

    Returns:
        tuple[Tensor, list[MultiTaskDataSample]]: The (1, 3, H, W)
        normalised degraded image and its sample (``gt_sem_seg``,
        ``gt_depth``, ``gt_normal``, ``gt_boundary``, ``gt_clean_img``,
        ``degraded_img``).
    """
    g = torch.Generator().manual_seed(seed)
    shape = (height, width)
    clean = torch.rand(3, height, width, generator=g)
    degraded = (clean + 0.1 * torch.randn(3, height, width, generator=g))
    degraded = degraded.clamp(0, 1)
    sample = MultiTaskDataSample(metainfo=dict(
        img_shape=shape, pad_shape=shape, ori_shape=shape,
        img_padding_size=[0, 0, 0, 0]))
    sample.gt_sem_seg = PixelData(data=torch.randint(
        0, NUM_CLASSES, (1, height, width), generator=g))
    sample.gt_depth = PixelData(
        data=torch.rand(1, height, width, generator=g) * 5 + 0.1)
    sample.gt_normal = PixelData(data=F.normalize(
        torch.randn(3, height, width, generator=g), dim=0))
    sample.gt_boundary = PixelData(
        data=(torch.rand(1, height, width, generator=g) > 0.9).float())
    sample.gt_clean_img = PixelData(data=clean)
    sample.degraded_img = PixelData(data=degraded)
    return _normalise(degraded[None]), [sample]


# ------------------------------------------------------------- measurement
def count_params(model: torch.nn.Module) -> float:
    """Parameters in millions."""
    return sum(p.numel() for p in model.parameters()) / 1e6


def count_gflops(model: torch.nn.Module, x: torch.Tensor) -> float:
    """GFLOPs of ``model(x, mode='tensor')`` (eval mode)."""
    model.eval()
    stats = get_model_complexity(
        TensorModeWrapper(model), (x, ), with_activations=False)
    return stats['flops'] / 1e9


def median_latency(model: torch.nn.Module, x: torch.Tensor,
                   repeats: int) -> float:
    """Median seconds of ``model(x, mode='tensor')`` after one warm-up."""
    model.eval()
    times = []
    with torch.inference_mode():
        model(x, mode='tensor')
        for _ in range(repeats):
            start = time.perf_counter()
            model(x, mode='tensor')
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def _rss_gb(field: str) -> float:
    """``VmRSS`` / ``VmHWM`` of this process in GB (Linux)."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) / 2**20
    raise RuntimeError(f'{field} not in /proc/self/status')


def _reset_peak_rss() -> None:
    """Lower ``VmHWM`` to the current resident size (Linux)."""
    with contextlib.suppress(OSError):
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')


def _train_step(model: torch.nn.Module, batch: tuple) -> None:
    losses = model.loss(*batch)
    loss, _ = model.parse_losses(losses)
    loss.backward()


def run_train_step_job(job: dict) -> dict:
    """Body of a training-step subprocess: peak memory of one step.

    Args:
        job (dict): ``name``, ``task``, ``joint``, ``size``, ``threads``.

    Returns:
        dict: ``mem_gb`` (peak resident size of the step above the resident
        size before it), ``base_gb`` (resident size before the step:
        runtime, weights, inputs), ``step_s`` (its duration).
    """
    torch.set_num_threads(job['threads'])
    model = build(model_cfg(job['name'], job['task'], job['joint'])).train()
    _train_step(model, training_batch(64, 64, seed=1))  # lazy init
    model.zero_grad(set_to_none=True)
    batch = training_batch(*job['size'])
    gc.collect()
    _reset_peak_rss()
    base = _rss_gb('VmRSS')
    start = time.perf_counter()
    _train_step(model, batch)
    step_s = time.perf_counter() - start
    return dict(mem_gb=_rss_gb('VmHWM') - base, base_gb=base, step_s=step_s)


def train_step_in_subprocess(name: str, task: Optional[str], joint: bool,
                             size: Sequence[int], threads: int) -> dict:
    """Run :func:`run_train_step_job` in a fresh Python process.

    Returns:
        dict: The job's result; if the process failed, ``mem_gb`` is NaN,
        ``returncode`` its exit status (-9: killed, e.g. out of memory)
        and its error is printed.
    """
    job = dict(name=name, task=task, joint=joint, size=list(size),
               threads=threads)
    cmd = [sys.executable, osp.abspath(__file__), '--train-step-job',
           json.dumps(job)]
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_=str(64 * 1024))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode or not lines:
        why = (' (SIGKILL: most likely out of memory)'
               if proc.returncode == -9 else '')
        print(f'  training step failed, exit status {proc.returncode}{why}'
              f' ({job}):\n{proc.stderr[-3000:]}', flush=True)
        return dict(mem_gb=float('nan'), base_gb=float('nan'),
                    step_s=float('nan'), returncode=proc.returncode)
    return json.loads(lines[-1])


def measure(name: str, args: argparse.Namespace) -> dict:
    """All costs of one ``--models`` entry (the four STL models summed).

    Returns:
        dict: ``params`` (M), ``gflops``, ``latency`` (s), ``mem_gb``,
        ``step_s`` and, per sub-model, ``parts``.
    """
    x = normalised_image(*args.size)
    parts = []
    for task in sub_models(name):
        model = build(model_cfg(name, task))
        part = dict(task=task, params=count_params(model),
                    gflops=count_gflops(model, x),
                    latency=median_latency(model, x, args.repeats))
        del model
        gc.collect()
        if not args.skip_train_step:
            part.update(train_step_in_subprocess(
                name, task, False, args.size, args.threads))
        parts.append(part)
    row = {key: sum(p[key] for p in parts)
           for key in ('params', 'gflops', 'latency')}
    mems = [p.get('mem_gb', float('nan')) for p in parts]
    row['mem_gb'] = max(mems)
    row['step_s'] = sum(p.get('step_s', float('nan')) for p in parts)
    row['parts'] = parts
    if args.joint and name.startswith('cascade-'):
        row['joint'] = train_step_in_subprocess(name, None, True, args.size,
                                                args.threads)
    return row


# ------------------------------------------------------------------ report
def reference_of(models: Sequence[str]) -> str:
    """The ratio reference: Cascade B if measured, else the first model."""
    return REFERENCE if REFERENCE in models else models[0]


def add_ratios(rows: Dict[str, dict], reference: str) -> None:
    """Add ``x_<metric>`` = row / reference row to every row (in place)."""
    ref = rows[reference]
    for row in rows.values():
        for key in METRICS:
            row[f'x_{key}'] = (row[key] / ref[key]
                               if ref[key] else float('nan'))


def format_table(rows: Dict[str, dict], reference: str) -> str:
    """The table: costs and ratios against ``reference``."""
    header = (f'| {"model":30s} | params (M) | GFLOPs | latency (s) | '
              f'train-step peak mem (GB) | x params | x GFLOPs | '
              f'x latency | x mem |')
    lines = [header, '|' + '|'.join(
        '-' * (len(cell) + 0) for cell in header.split('|')[1:-1]) + '|']
    for name, row in rows.items():
        ratios = ' | '.join(f'{row["x_" + key]:{width}.2f}' for key, width
                            in zip(METRICS, (8, 8, 9, 5)))
        lines.append(
            f'| {MODEL_NAMES[name]:30s} | {row["params"]:10.2f} | '
            f'{row["gflops"]:6.1f} | {row["latency"]:11.2f} | '
            f'{row["mem_gb"]:24.2f} | {ratios} |')
    lines.append(f'ratios (x) against: {MODEL_NAMES[reference]}' + (
        '' if reference == REFERENCE else
        f' (first model of the run; {REFERENCE} was not measured)'))
    return '\n'.join(lines)


def target_lines(rows: Dict[str, dict]) -> List[str]:
    """ALLNet-T against each cascade measured (target <= 0.6x)."""
    lines = []
    for cascade in ('cascade-dense', 'cascade-mae'):
        if 'allnet-t' in rows and cascade in rows:
            a, c = rows['allnet-t'], rows[cascade]
            lines.append(
                f'ALLNet-T / cascade ({MODEL_NAMES[cascade]}): latency '
                f'{a["latency"] / c["latency"]:.2f}x, params '
                f'{a["params"] / c["params"]:.2f}x (target <= 0.6x)')
    if not lines:
        lines.append('ALLNet-T / cascade: n/a (needs allnet-t and a '
                     'cascade in --models)')
    return lines


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (Sequence[str], optional): Arguments; ``sys.argv[1:]`` if None.

    Returns:
        argparse.Namespace: The arguments.
    """
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--models', nargs='+', default=list(MODEL_NAMES),
                        choices=list(MODEL_NAMES))
    parser.add_argument('--size', type=int, nargs=2, default=[448, 576],
                        metavar=('H', 'W'),
                        help='input size, multiples of 32 (default 448 576)')
    parser.add_argument('--repeats', type=int, default=3,
                        help='timed inference passes (median)')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--joint', action='store_true',
                        help='also measure the joint fine-tuning step of '
                        'the cascades')
    parser.add_argument('--skip-train-step', action='store_true',
                        help='no training-step memory (reads nan)')
    parser.add_argument('--json', help='write the results to this file')
    parser.add_argument('--train-step-job', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.train_step_job is None:
        if any(s <= 0 or s % 32 for s in args.size):
            parser.error('--size: H and W must be positive multiples of 32 '
                         '(InternImage-T downsamples 32x)')
        args.models = list(dict.fromkeys(args.models))
    return args


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Measure every model of ``--models`` and print the table.

    Args:
        argv (Sequence[str], optional): Command line; ``sys.argv[1:]`` if
            None.

    Returns:
        dict: ``rows`` (per model key: costs, ratios, parts), ``reference``,
        ``size``, ``threads``, ``repeats``, ``wall_s``.
    """
    args = parse_args(argv)
    if args.train_step_job is not None:
        print(json.dumps(run_train_step_job(json.loads(args.train_step_job))))
        return {}
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    height, width = args.size
    print(f'torch {torch.__version__}, CPU, {torch.get_num_threads()} '
          f'threads, batch 1, {height}x{width}, latency = median of '
          f'{args.repeats} after 1 warm-up', flush=True)
    rows = {}
    for i, name in enumerate(args.models, 1):
        t0 = time.perf_counter()
        print(f'[{i}/{len(args.models)}] {MODEL_NAMES[name]} ...', flush=True)
        rows[name] = measure(name, args)
        row = rows[name]
        print(f'  params {row["params"]:.2f} M, {row["gflops"]:.1f} GFLOPs, '
              f'latency {row["latency"]:.2f} s, train-step mem '
              f'{row["mem_gb"]:.2f} GB ({time.perf_counter() - t0:.0f} s)',
              flush=True)
    reference = reference_of(args.models)
    add_ratios(rows, reference)
    print(format_table(rows, reference))
    if 'stl' in rows:
        mems = ', '.join(f'{p["task"]} {p.get("mem_gb", float("nan")):.2f}'
                         for p in rows['stl']['parts'])
        print(f'STL x4: params / GFLOPs / latency summed over the four '
              f'models; train-step mem is the max of the four ({mems} GB)')
    for name, row in rows.items():
        if name.startswith('cascade-'):
            line = (f'{MODEL_NAMES[name]}: train step = predictor step '
                    '(restorer frozen)')
            joint = row.get('joint')
            if joint is not None and 'returncode' in joint:
                line += (f'; joint fine-tuning step failed (exit status '
                         f'{joint["returncode"]})')
            elif joint is not None:
                line += (f'; joint fine-tuning step: {joint["mem_gb"]:.2f} '
                         f'GB, {joint["step_s"]:.1f} s')
            print(line)
    for line in target_lines(rows):
        print(line)
    wall = time.perf_counter() - start
    print(f'wall time {wall:.0f} s')
    result = dict(rows=rows, reference=reference, size=[height, width],
                  threads=args.threads, repeats=args.repeats, wall_s=wall)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == '__main__':
    main()
