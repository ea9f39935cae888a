"""Benchmark mmallnet's pure-PyTorch DCNv3 core against the official layout.

The reference is the formulation of InternImage's official pure-PyTorch
fallback, written here from its maths: pad the value map, build the whole
``(N*G, Ho*Wo, P, 2)`` normalised sampling grid, run **one**
:func:`torch.nn.functional.grid_sample` giving ``(N*G, Cg, Ho*Wo, P)``,
weight by the mask, sum over the ``P`` kernel points and go back to
channels-last. Grids are built in the input dtype so that float16 and
bfloat16 inputs run at all (the official code fails on them).

It is compared with :func:`mmallnet.models.layers.dcnv3_function.dcnv3_core`
at the four DCNv3 stage shapes of InternImage-T (forward, and forward plus
backward with gradients for value, offset and mask): time and extra peak
memory of one call. The whole InternImage-T backbone is then run once with
the reference core patched in and once with ours.

Examples::

    PYTHONPATH=. python benchmarks/dcnv3.py --threads 2
    PYTHONPATH=. python benchmarks/dcnv3.py --stages 1 2 --skip-backbone
    PYTHONPATH=. python benchmarks/dcnv3.py --device cuda \
        --dtype float32 bfloat16

Times are the best (minimum) and median of ``--repeats`` interleaved runs
after one warm-up; speed-up = median over the repeats of reference / ours
(each pair ran back to back). Extra memory is the peak above what was
allocated before the call (inputs and weights excluded): on CPU the growth
of the peak resident set size of a fresh process that runs the call once,
on CUDA ``torch.cuda.max_memory_allocated``. See ``benchmarks/README.md``.
"""
import argparse
import contextlib
import importlib.util
import json
import os
import os.path as osp
import resource
import statistics
import subprocess
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

DTYPES = dict(
    float32=torch.float32, float16=torch.float16, bfloat16=torch.bfloat16)
# InternImage-T: stem width, DCNv3 groups per stage.
T_CHANNELS = 64
T_GROUPS = (4, 8, 16, 32)
KERNEL_SIZE = 3
AGREEMENT_ATOL = 1e-5
# Issue target on CPU, stage 1: speed-up >= 2.5x, extra memory <= 0.25x.
TARGET_SPEEDUP = 2.5
TARGET_MEMORY = 0.25

CoreFn = Callable[..., Tensor]


def reference_dcnv3_core(value: Tensor,
                         offset: Tensor,
                         mask: Tensor,
                         kernel_size: int = 3,
                         stride: int = 1,
                         pad: int = 1,
                         dilation: int = 1,
                         group: int = 1,
                         offset_scale: float = 1.0) -> Tensor:
    """Official-style DCNv3 core: one grid_sample over all kernel points.

    Same arguments and result as
    :func:`mmallnet.models.layers.dcnv3_function.dcnv3_core`. The value is
    zero-padded, locations are pixel centres of the padded map normalised
    to ``[0, 1]`` (then ``2 * loc - 1``), and every group and point is
    sampled at once, which materialises the ``(N*G, Cg, Ho*Wo, P)``
    samples and their mask-weighted copy. Grids use the input dtype.
    """
    dtype, device = value.dtype, value.device
    padded = F.pad(value, (0, 0, pad, pad, pad, pad))
    n, h_in, w_in, channels = padded.shape
    _, h_out, w_out, _ = offset.shape
    points = kernel_size * kernel_size
    group_channels = channels // group
    centre = dilation * (kernel_size - 1) // 2

    # Output pixel centres in the padded frame, as fractions of its size.
    ref_y = (torch.arange(h_out, dtype=dtype, device=device) * stride +
             centre + 0.5) / h_in
    ref_x = (torch.arange(w_out, dtype=dtype, device=device) * stride +
             centre + 0.5) / w_in
    ref_y, ref_x = torch.meshgrid(ref_y, ref_x, indexing='ij')
    ref = torch.stack((ref_x, ref_y), dim=-1).view(1, h_out, w_out, 1, 1, 2)
    # Kernel displacements; point p = i * K + j, i over width (outer).
    disp = torch.arange(
        kernel_size, dtype=dtype, device=device) * dilation - centre
    disp_x, disp_y = torch.meshgrid(disp / w_in, disp / h_in, indexing='ij')
    kernel = torch.stack((disp_x, disp_y), dim=-1).view(1, 1, 1, 1, points, 2)
    kernel = kernel.repeat(1, 1, 1, group, 1, 1)
    norm = torch.tensor([w_in, h_in], dtype=dtype, device=device)

    base = (ref + kernel * offset_scale).repeat(n, 1, 1, 1, 1, 1)
    locations = base + offset.view(n, h_out, w_out, group, points,
                                   2) * offset_scale / norm
    grid = (2 * locations - 1).view(n, h_out * w_out, group, points,
                                    2).transpose(1, 2).reshape(
                                        n * group, h_out * w_out, points, 2)
    grouped = padded.view(n, h_in * w_in, channels).transpose(1, 2).reshape(
        n * group, group_channels, h_in, w_in)
    samples = F.grid_sample(
        grouped, grid, mode='bilinear', padding_mode='zeros',
        align_corners=False)
    weights = mask.view(n, h_out * w_out, group, points).transpose(
        1, 2).reshape(n * group, 1, h_out * w_out, points)
    out = (samples * weights).sum(-1)
    return out.view(n, channels, h_out * w_out).transpose(1, 2).reshape(
        n, h_out, w_out, channels).contiguous()


def load_ours(standalone: bool = False) -> CoreFn:
    """Return mmallnet's ``dcnv3_core``.

    Args:
        standalone (bool): Load ``dcnv3_function.py`` as a lone module
            (it imports only torch) instead of through the ``mmallnet``
            package, which would import MMSeg too. The memory workers use
            this to start faster; the code is the same file.
    """
    if standalone:
        path = osp.join(ROOT, 'mmallnet', 'models', 'layers',
                        'dcnv3_function.py')
        spec = importlib.util.spec_from_file_location(
            '_bench_dcnv3_function', path)
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
            return module.dcnv3_core
        except ImportError:
            pass
    from mmallnet.models.layers.dcnv3_function import dcnv3_core
    return dcnv3_core


# ---------------------------------------------------------------- shapes


def _halve(size: int) -> int:
    """Output size of a 3x3 stride-2 pad-1 conv (stem and downsampling)."""
    return (size + 2 - 3) // 2 + 1


def stage_shapes(height: int, width: int) -> List[dict]:
    """DCNv3 feature-map shapes of InternImage-T's stages for an image."""
    shapes = []
    h, w = _halve(_halve(height)), _halve(_halve(width))
    for i, group in enumerate(T_GROUPS):
        shapes.append(
            dict(
                stage=i + 1,
                height=h,
                width=w,
                channels=T_CHANNELS * 2**i,
                group=group))
        h, w = _halve(h), _halve(w)
    return shapes


def make_inputs(shape: dict,
                batch: int,
                dtype: torch.dtype,
                device: str,
                seed: int = 0) -> Tuple[Tensor, Tensor, Tensor]:
    """Value ~ N(0, 1), offsets ~ 2 * N(0, 1) px, softmaxed masks.

    Generated in place where possible so that no large temporaries raise
    the peak memory before a measurement.
    """
    gen = torch.Generator().manual_seed(seed)
    h, w = shape['height'], shape['width']
    group, points = shape['group'], KERNEL_SIZE * KERNEL_SIZE

    def randn(*size: int) -> Tensor:
        return torch.randn(*size, generator=gen).to(device=device,
                                                    dtype=dtype)

    value = randn(batch, h, w, shape['channels'])
    offset = randn(batch, h, w, group * points * 2).mul_(2)
    mask = randn(batch, h, w, group, points).exp_()
    mask = mask.div_(mask.sum(-1, keepdim=True)).view(batch, h, w, -1)
    return value, offset, mask


def core_params(shape: dict) -> tuple:
    """``(kernel_size, stride, pad, dilation, group, offset_scale)``."""
    return (KERNEL_SIZE, 1, 1, 1, shape['group'], 1.0)


# ---------------------------------------------------------------- running


def _sync(device: str) -> None:
    if device == 'cuda':
        torch.cuda.synchronize()


def make_call(core: CoreFn, shape: dict, inputs: Tuple[Tensor, ...],
              backward: bool) -> Callable[[], None]:
    """One forward (inference mode) or forward + backward of ``core``."""
    params = core_params(shape)
    value, offset, mask = inputs
    if not backward:

        def forward() -> None:
            with torch.inference_mode():
                core(value, offset, mask, *params)

        return forward

    leaves = [t.detach().requires_grad_() for t in inputs]
    grad_out = torch.randn(
        value.shape, generator=torch.Generator().manual_seed(1)).to(value)

    def forward_backward() -> None:
        for leaf in leaves:
            leaf.grad = None
        core(*leaves, *params).backward(grad_out)

    return forward_backward


def time_interleaved(calls: Dict[str, Callable[[], None]], repeats: int,
                     device: str) -> Dict[str, List[float]]:
    """Milliseconds of each call, one warm-up, runs interleaved."""
    times: Dict[str, List[float]] = {name: [] for name in calls}
    for run in range(repeats + 1):
        for name, call in calls.items():
            _sync(device)
            start = time.perf_counter()
            call()
            _sync(device)
            if run:
                times[name].append((time.perf_counter() - start) * 1e3)
    return times


def _peak_rss_mb() -> float:
    """Peak resident set size of this process in MB.

    On Linux ``VmHWM`` of ``/proc/self/status`` is used: unlike
    ``ru_maxrss`` it is not raised to the parent's resident size by
    ``fork``/``exec`` and it can be reset (see :func:`_reset_peak_rss`).
    Elsewhere ``ru_maxrss`` (kilobytes on Linux, bytes on macOS).
    """
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (2**20 if sys.platform == 'darwin' else 2**10)


def _reset_peak_rss() -> None:
    """Lower the peak RSS to the current RSS (Linux; no-op elsewhere).

    Earlier temporaries (imports, input generation) would otherwise leave
    a high-water mark above the baseline that hides part of the call's
    peak.
    """
    with contextlib.suppress(OSError):
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')


def peak_extra_mb(call: Callable[[], None], device: str) -> float:
    """Extra peak memory (MB) of ``call`` in the current process."""
    if device == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        call()
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - before) / 2**20
    _reset_peak_rss()
    before = _peak_rss_mb()
    call()
    return _peak_rss_mb() - before


def memory_in_subprocess(job: dict) -> Optional[float]:
    """Run one memory measurement in a fresh Python process (CPU).

    glibc's allocator is told to serve every block of 64 KiB or more with
    its own ``mmap`` (``MALLOC_MMAP_THRESHOLD_``), so a freed tensor goes
    back to the system at once and the resident size follows the live
    tensors instead of the allocator's free lists.
    """
    cmd = [sys.executable, osp.abspath(__file__), '--memory-job',
           json.dumps(job)]
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_=str(64 * 1024))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode or not lines:
        print(f'  memory job failed: {job}\n{proc.stderr[-2000:]}')
        return None
    return json.loads(lines[-1])['extra_mb']


def run_memory_job(job: dict) -> float:
    """Body of a memory subprocess: build inputs, warm up, measure once."""
    torch.set_num_threads(job['threads'])
    dtype = DTYPES[job['dtype']]
    if job['kind'] == 'backbone':
        return _backbone_memory_job(job, dtype)
    core = reference_dcnv3_core if job['impl'] == 'ref' else load_ours(
        standalone=True)
    shape = job['shape']
    # Warm up lazy initialisation (thread pools, kernels) on a tiny map.
    tiny = dict(shape, height=4, width=4)
    make_call(core, tiny, make_inputs(tiny, 1, dtype, 'cpu'),
              job['backward'])()
    inputs = make_inputs(shape, job['batch'], dtype, 'cpu')
    call = make_call(core, shape, inputs, job['backward'])
    return peak_extra_mb(call, 'cpu')


def measure_memory(job: dict, device: str,
                   call: Optional[Callable[[], None]]) -> Optional[float]:
    """Extra peak MB of a call: in-process on CUDA, fresh process on CPU."""
    if device == 'cuda':
        return peak_extra_mb(call, device)
    return memory_in_subprocess(job)


# ---------------------------------------------------------------- stages


def _forward_and_grads(core: CoreFn, shape: dict,
                       inputs: Tuple[Tensor, ...],
                       grad_out: Tensor) -> Tuple[Tensor, List[Tensor]]:
    leaves = [t.detach().requires_grad_() for t in inputs]
    out = core(*leaves, *core_params(shape))
    out.backward(grad_out)
    return out.detach(), [leaf.grad for leaf in leaves]


def check_agreement(ours: CoreFn, shape: dict, inputs: Tuple[Tensor, ...],
                    exact_inputs: Tuple[Tensor, ...]) -> Dict[str, Any]:
    """Check that the reference computes the same maths as ``dcnv3_core``.

    Both run in float64 on ``exact_inputs`` (float32 draws of the stage's
    inputs); outputs and the gradients of value, offset and mask (relative
    to the largest gradient) must agree to ``AGREEMENT_ATOL`` (asserted).
    Float32 draws are used even when a half dtype is benchmarked: rounded
    offsets often land samples exactly on pixel lines, where the position
    gradient of bilinear sampling jumps and either side is right.

    In the benchmarked dtype (``inputs``) only differences are reported:
    in float32 neither can be within 1e-5 of the other at large maps, as
    both round normalised coordinates to float32, which moves samples by
    about ``W * 6e-8`` px (errors of a few 1e-5 at 112x144).

    Returns:
        dict: ``fwd64`` and ``grad_*`` (float64 differences), ``fwd``
        (ref vs ours), ``ref_err`` and ``ours_err`` (vs float64 on the same
        inputs) in the benchmarked dtype; ``ref_err``/``fwd`` are None when
        the reference fails in that dtype.
    """
    wide = [t.double() for t in exact_inputs]
    grad_out = torch.randn(
        wide[0].shape,
        generator=torch.Generator().manual_seed(1)).to(wide[0])
    ref_out, ref_grads = _forward_and_grads(reference_dcnv3_core, shape,
                                            wide, grad_out)
    our_out, our_grads = _forward_and_grads(ours, shape, wide, grad_out)
    diff: Dict[str, Any] = dict(
        fwd64=(ref_out - our_out).abs().max().item())
    for key, ref_g, our_g in zip(('value', 'offset', 'mask'), ref_grads,
                                 our_grads):
        scale = ref_g.abs().max().clamp_min(1e-12)
        diff[f'grad_{key}'] = ((ref_g - our_g).abs().max() / scale).item()
    worst = max(diff.values())
    assert worst <= AGREEMENT_ATOL, (
        f'reference and dcnv3_core disagree in float64 at {shape}: {diff}')
    del ref_out, ref_grads, our_grads

    params = core_params(shape)
    with torch.inference_mode():
        exact = our_out
        if inputs[0].dtype != torch.float32:
            exact = ours(*[t.double() for t in inputs], *params)
        ours_low = ours(*inputs, *params).double()
        diff['ours_err'] = (ours_low - exact).abs().max().item()
        try:
            ref_low = reference_dcnv3_core(*inputs, *params).double()
        except RuntimeError:  # the reference in a reduced precision
            diff['ref_err'] = diff['fwd'] = None
        else:
            diff['ref_err'] = (ref_low - exact).abs().max().item()
            diff['fwd'] = (ref_low - ours_low).abs().max().item()
    return diff


def _fmt_ms(times: Optional[List[float]]) -> str:
    if not times:
        return 'n/a'
    return f'{min(times):8.1f} /{statistics.median(times):8.1f}'


def _ratio(num: Optional[float], den: Optional[float]) -> Optional[float]:
    if num is None or den is None or den <= 0:
        return None
    return num / den


def _fmt(value: Optional[float], spec: str, suffix: str = '') -> str:
    return 'n/a' if value is None else format(value, spec) + suffix


def paired_speedup(ref_ms: Optional[List[float]],
                   ours_ms: Optional[List[float]]) -> Optional[float]:
    """Median over repeats of ``ref / ours``.

    The runs are interleaved, so each pair saw the same machine load; the
    median of the pairs' ratios is steadier on a shared machine than a
    ratio of two minima taken at different moments.
    """
    if not ref_ms or not ours_ms:
        return None
    return statistics.median(r / o for r, o in zip(ref_ms, ours_ms))


def print_table(rows: List[dict]) -> None:
    """Print one result table (rows: ``mode`` plus the measurements)."""
    header = (f'  {"mode":<8} {"ref ms best / med":>18} '
              f'{"ours ms best / med":>18} {"speed-up":>9} '
              f'{"ref MB":>8} {"ours MB":>8} {"mem ratio":>9}')
    print(header)
    for row in rows:
        speedup = paired_speedup(row['ref_ms'], row['ours_ms'])
        memory = _ratio(row['ours_mb'], row['ref_mb'])
        row['speedup'], row['mem_ratio'] = speedup, memory
        print(f'  {row["mode"]:<8} {_fmt_ms(row["ref_ms"]):>18} '
              f'{_fmt_ms(row["ours_ms"]):>18} '
              f'{_fmt(speedup, ".2f", "x"):>9} '
              f'{_fmt(row["ref_mb"], ".1f"):>8} '
              f'{_fmt(row["ours_mb"], ".1f"):>8} '
              f'{_fmt(memory, ".3f"):>9}')


def bench_stage(shape: dict, args: argparse.Namespace, dtype_name: str,
                ours: CoreFn) -> List[dict]:
    """Agreement check, timing and memory of one stage shape."""
    dtype = DTYPES[dtype_name]
    inputs = make_inputs(shape, args.batch, dtype, args.device)
    exact_inputs = inputs
    if dtype != torch.float32:
        exact_inputs = make_inputs(shape, args.batch, torch.float32,
                                   args.device)
    diff = check_agreement(ours, shape, inputs, exact_inputs)
    del exact_inputs
    print('  float64 max |ref - ours|: fwd {fwd64:.1e}; grads (relative) '
          'value {grad_value:.1e}, offset {grad_offset:.1e}, mask '
          '{grad_mask:.1e}'.format(**diff))
    print(f'  {dtype_name} max |ref - ours| {_fmt(diff["fwd"], ".1e")}; '
          f'error vs float64: ref {_fmt(diff["ref_err"], ".1e")}, ours '
          f'{diff["ours_err"]:.1e}')
    ref_ok = diff['fwd'] is not None
    rows = []
    for backward in (False, True):
        cores = dict(ours=ours)
        if ref_ok:
            cores = dict(ref=reference_dcnv3_core, ours=ours)
        calls = {
            name: make_call(core, shape, inputs, backward)
            for name, core in cores.items()
        }
        times = time_interleaved(calls, args.repeats, args.device)
        row = dict(
            mode='fwd+bwd' if backward else 'fwd',
            ref_ms=times.get('ref'),
            ours_ms=times['ours'],
            ref_mb=None,
            ours_mb=None)
        if not args.skip_memory:
            for name in cores:
                job = dict(
                    kind='stage',
                    impl=name,
                    shape=shape,
                    batch=args.batch,
                    dtype=dtype_name,
                    backward=backward,
                    threads=args.threads)
                row[f'{name}_mb'] = measure_memory(job, args.device,
                                                   calls[name])
        rows.append(row)
        del calls
    return rows


# ---------------------------------------------------------------- backbone


@contextlib.contextmanager
def patched_core(core: Optional[CoreFn]):
    """Use ``core`` in every DCNv3 layer (``None`` keeps mmallnet's)."""
    from mmallnet.models.layers import dcnv3 as dcnv3_module
    original = dcnv3_module.dcnv3_core
    if core is not None:
        dcnv3_module.dcnv3_core = core
    try:
        yield
    finally:
        dcnv3_module.dcnv3_core = original


def build_backbone(device: str, seed: int = 0) -> torch.nn.Module:
    """InternImage-T with random weights and non-trivial offsets/masks.

    The official init zeroes the offset and mask projections (regular
    grid, uniform masks); they are re-drawn so that offsets are of the
    order of a pixel, as in a trained model.
    """
    from mmallnet.models.backbones.intern_image import InternImage
    from mmallnet.models.layers.dcnv3 import DCNv3
    torch.manual_seed(seed)
    model = InternImage(arch='t')
    for module in model.modules():
        if isinstance(module, DCNv3):
            torch.nn.init.normal_(module.offset.weight, std=0.1)
            torch.nn.init.normal_(module.offset.bias, std=0.5)
            torch.nn.init.normal_(module.mask.weight, std=0.1)
    return model.to(device).eval()


def backbone_call(model: torch.nn.Module, image: Tensor, dtype: torch.dtype,
                  backward: bool) -> Callable[[], None]:
    """One backbone forward (inference mode) or forward + backward."""
    autocast = torch.autocast(
        image.device.type, dtype=dtype, enabled=dtype != torch.float32)

    def forward() -> None:
        with torch.inference_mode(), autocast:
            model(image)

    def forward_backward() -> None:
        model.zero_grad(set_to_none=True)
        with autocast:
            outs = model(image)
        sum(out.float().sum() for out in outs).backward()

    return forward_backward if backward else forward


def _backbone_memory_job(job: dict, dtype: torch.dtype) -> float:
    model = build_backbone('cpu')
    core = reference_dcnv3_core if job['impl'] == 'ref' else None
    with patched_core(core):
        backbone_call(model, torch.randn(1, 3, 64, 64), dtype,
                      job['backward'])()
        image = torch.randn(job['batch'], 3, *job['size'])
        call = backbone_call(model, image, dtype, job['backward'])
        return peak_extra_mb(call, 'cpu')


def bench_backbone(args: argparse.Namespace, dtype_name: str) -> List[dict]:
    """Whole InternImage-T: reference core patched in vs ours."""
    dtype = DTYPES[dtype_name]
    model = build_backbone(args.device)
    image = torch.randn(
        args.batch, 3, *args.size,
        generator=torch.Generator().manual_seed(0)).to(args.device)
    impls = dict(ref=reference_dcnv3_core, ours=None)
    outs = {}
    for name, core in impls.items():
        try:
            with patched_core(core), torch.inference_mode(), torch.autocast(
                    args.device, dtype=dtype,
                    enabled=dtype != torch.float32):
                outs[name] = [out.float() for out in model(image)]
        except RuntimeError as err:  # the reference in a reduced precision
            if name == 'ours':
                raise
            print(f'  reference fails in {dtype_name}: '
                  f'{str(err).splitlines()[0]}')
            del impls['ref']
            break
    if 'ref' in outs:
        diff = max((a - b).abs().max().item()
                   for a, b in zip(outs['ref'], outs['ours']))
        scale = max(out.abs().max().item() for out in outs['ours'])
        print(f'  outputs {[tuple(o.shape) for o in outs["ours"]]}: max '
              f'|ref - ours| {diff:.2e} (max |out| {scale:.2f})')
    del outs
    modes = [False] if args.skip_backbone_backward else [False, True]
    rows = []
    for backward in modes:
        calls = {}
        times: Dict[str, List[float]] = {name: [] for name in impls}
        for run in range(args.backbone_repeats + 1):
            for name, core in impls.items():
                with patched_core(core):
                    call = backbone_call(model, image, dtype, backward)
                    calls[name] = call
                    _sync(args.device)
                    start = time.perf_counter()
                    call()
                    _sync(args.device)
                    if run:
                        times[name].append(
                            (time.perf_counter() - start) * 1e3)
        row = dict(
            mode='fwd+bwd' if backward else 'fwd',
            ref_ms=times.get('ref'),
            ours_ms=times['ours'],
            ref_mb=None,
            ours_mb=None)
        if not args.skip_memory:
            for name, core in impls.items():
                job = dict(
                    kind='backbone',
                    impl=name,
                    size=list(args.size),
                    batch=args.batch,
                    dtype=dtype_name,
                    backward=backward,
                    threads=args.threads)
                with patched_core(core):
                    row[f'{name}_mb'] = measure_memory(
                        job, args.device, calls[name])
        rows.append(row)
    model.zero_grad(set_to_none=True)
    return rows


# ---------------------------------------------------------------- main


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='DCNv3 core: official-style single grid_sample '
        'reference vs mmallnet (time and extra peak memory).')
    parser.add_argument('--device', choices=('cpu', 'cuda'), default='cpu')
    parser.add_argument(
        '--dtype',
        nargs='+',
        choices=tuple(DTYPES),
        default=None,
        help='one or more dtypes (default: float32 on CPU, float32 and '
        'bfloat16 on CUDA)')
    parser.add_argument(
        '--threads',
        type=int,
        default=None,
        help='torch CPU threads (default: torch\'s choice)')
    parser.add_argument(
        '--repeats',
        type=int,
        default=10,
        help='timed runs per stage measurement after one warm-up')
    parser.add_argument(
        '--backbone-repeats',
        type=int,
        default=3,
        help='timed runs per backbone measurement after one warm-up')
    parser.add_argument(
        '--stages',
        type=int,
        nargs='+',
        choices=(1, 2, 3, 4),
        default=[1, 2, 3, 4],
        help='InternImage-T stages to benchmark')
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument(
        '--size',
        type=int,
        nargs=2,
        default=[448, 576],
        metavar=('H', 'W'),
        help='input image size; stage shapes are derived from it')
    parser.add_argument('--skip-backbone', action='store_true')
    parser.add_argument(
        '--skip-backbone-backward',
        action='store_true',
        help='time only the backbone forward')
    parser.add_argument(
        '--skip-memory',
        action='store_true',
        help='do not measure peak memory (no subprocesses on CPU)')
    parser.add_argument(
        '--memory-job', default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def target_check(stage_rows: Dict[int, List[dict]], device: str,
                 dtype_name: str) -> str:
    """The issue's CPU target at stage 1, PASS/FAIL (not asserted)."""
    rows = stage_rows.get(1)
    if not rows:
        return 'target check: stage 1 not benchmarked'
    parts = []
    for row in rows:
        speedup, memory = row.get('speedup'), row.get('mem_ratio')
        ok = (speedup is not None and speedup >= TARGET_SPEEDUP
              and memory is not None and memory <= TARGET_MEMORY)
        parts.append(f'{row["mode"]}: speed-up {_fmt(speedup, ".2f", "x")}'
                     f' (>= {TARGET_SPEEDUP}x), memory '
                     f'{_fmt(memory, ".3f", "x")} (<= {TARGET_MEMORY}x) '
                     f'{"PASS" if ok else "FAIL"}')
    note = ''
    if device != 'cpu' or dtype_name != 'float32':
        note = ' [the target is defined for CPU float32]'
    return 'target check (stage 1): ' + '; '.join(parts) + note


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run the benchmark, print the tables, return the results."""
    args = parse_args(argv)
    if args.memory_job is not None:
        extra = run_memory_job(json.loads(args.memory_job))
        print(json.dumps(dict(extra_mb=extra)))
        return dict(extra_mb=extra)
    if args.device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('CUDA is not available')
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    args.threads = torch.get_num_threads()
    dtypes = args.dtype or (['float32', 'bfloat16']
                            if args.device == 'cuda' else ['float32'])
    device_name = (
        torch.cuda.get_device_name() if args.device == 'cuda' else 'cpu')
    print(f'torch {torch.__version__}, device {device_name}, '
          f'threads {args.threads}, batch {args.batch}, image '
          f'{args.size[0]}x{args.size[1]}, repeats {args.repeats}')
    print('times: best / median ms; speed-up = median of paired ref / ours; '
          'MB = extra peak memory of one call; mem ratio = ours / ref')
    ours = load_ours()
    results = dict(stages={}, backbone={}, checks={})
    shapes = {s['stage']: s for s in stage_shapes(*args.size)}
    for dtype_name in dtypes:
        stage_rows = {}
        for index in args.stages:
            shape = shapes[index]
            title = (f'stage {index}: {shape["height"]}x{shape["width"]} '
                     f'C{shape["channels"]} G{shape["group"]}, batch '
                     f'{args.batch}, {dtype_name}')
            print(title)
            rows = bench_stage(shape, args, dtype_name, ours)
            print_table(rows)
            stage_rows[index] = rows
        results['stages'][dtype_name] = stage_rows
        if not args.skip_backbone:
            print(f'InternImage-T backbone {args.size[0]}x{args.size[1]}, '
                  f'batch {args.batch}, {dtype_name}, best / median of '
                  f'{args.backbone_repeats}')
            rows = bench_backbone(args, dtype_name)
            print_table(rows)
            results['backbone'][dtype_name] = rows
        check = target_check(stage_rows, args.device, dtype_name)
        results['checks'][dtype_name] = check
        print(f'[{dtype_name}] {check}')
    return results


if __name__ == '__main__':
    main()
