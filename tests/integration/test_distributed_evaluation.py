"""Two-process evaluation (gloo on the CPU) equals single-process evaluation.

A tiny ALLNet (the SynthScenes CPU config: MaE routing, so both
``MultiTaskMetric`` and ``RoutingMetric`` run) with perturbed random
weights is evaluated on 5 images by ``tools/test.py`` in one process and
by ``tools/dist_test.sh ... 2`` in two. 5 images over 2 ranks make
mmengine's ``DefaultSampler`` pad rank 1 with a copy of image 0, which
``collect_results`` must drop again; every reported metric must be
bit-identical.

The test batch size is 1, as in the configs. With larger batches the
ranks batch other images together than one process does, and the MaE
neck's sparse dispatch then runs each expert on a different number of
images; CPU kernels do not give bit-identical floats for different batch
sizes (about 1e-8 relative on depth RMSE here). The metrics themselves
are pooled order-independently (see ``MultiTaskMetric``), so the numbers
are exact whenever each image's prediction is.
"""
import glob
import json
import math
import os
import os.path as osp
import re
import socket
import subprocess
import sys

import torch
import torch.distributed as torch_dist

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BASE_CONFIG = osp.join(REPO, 'configs', 'allnet',
                       'allnet_internimage-slim-w32_1xb8-500_synthscenes-96x128.py')
NUM_VAL = 5  # odd: the sampler pads rank 1 with a duplicate

CONFIG = """
_base_ = [{base!r}]
data_root = {root!r}
generate = dict(num_train=1, num_val={num_val}, height=48, width=64, seed=0)
test_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(data_root=data_root, generate=generate))
test_evaluator = [
    dict(type='MultiTaskMetric', tasks={{{{_base_.tasks}}}}, num_classes=10,
         per_degradation=True, ssim=True, legacy_double_sigmoid=True,
         single_task_refs={{'semseg.mIoU': 5.0, 'depth.rmse': 3.0,
                           'normals.mean': 90.0,
                           'boundary.odsF_proxy': 40.0,
                           'saliency.maxF': 30.0}}),
    dict(type='RoutingMetric', num_experts=4, add_to_visualizer=False),
]
"""

#: Keys of the metrics JSON that are timings, not metrics.
TIMING_KEYS = ('data_time', 'time')


def free_port() -> int:
    """A TCP port that is free now on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def write_checkpoint(config: str, path: str) -> None:
    """Save the config's model with random weights plus seeded noise.

    The noise makes the zero-initialised branches (restoration residual,
    routing gates) non-trivial, so every metric depends on the input.
    """
    from mmengine.config import Config
    from mmseg.registry import MODELS

    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(config).model)
    gen = torch.Generator().manual_seed(1)
    state = {}
    for key, value in model.state_dict().items():
        if value.is_floating_point() and 'running_' not in key:
            value = value + 0.05 * torch.randn(value.shape, generator=gen)
        state[key] = value
    torch.save(dict(state_dict=state, meta=dict()), path)


def run(args, cwd, **env_extra) -> str:
    """Run a tool on the CPU only; return its output, fail loudly."""
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1',
               CUDA_VISIBLE_DEVICES='', **env_extra)
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-5000:]
    return out


def read_metrics(work_dir: str) -> dict:
    """The metrics JSON that tools/test.py wrote, without timings."""
    files = glob.glob(osp.join(work_dir, '*', '*.json'))
    assert len(files) == 1, files
    with open(files[0]) as f:
        metrics = json.load(f)
    return {k: v for k, v in metrics.items() if k not in TIMING_KEYS}


def test_two_process_evaluation_equals_single_process(tmp_path):
    assert torch_dist.is_available(), 'torch.distributed is not available'
    assert torch_dist.is_gloo_available(), (
        'the gloo backend of torch.distributed is not available; CPU '
        'multi-process evaluation needs it')
    from mmallnet.datasets.synthscenes_generator import generate_synthscenes

    root = str(tmp_path / 'synthscenes')
    # generated once here, so the two ranks never race to write it
    generate_synthscenes(root, num_train=1, num_val=NUM_VAL, height=48,
                         width=64, seed=0, progress=False)
    config = str(tmp_path / 'tiny.py')
    with open(config, 'w') as f:
        f.write(CONFIG.format(base=BASE_CONFIG, root=root, num_val=NUM_VAL))
    ckpt = str(tmp_path / 'random.pth')
    write_checkpoint(config, ckpt)

    # cwd = tmp_path: mmengine's collect_results_cpu makes ./.dist_test
    single_dir = str(tmp_path / 'single')
    out_single = run([sys.executable, osp.join(REPO, 'tools', 'test.py'),
                      config, ckpt, '--work-dir', single_dir], tmp_path)
    dist_dir = str(tmp_path / 'dist')
    out_dist = run([
        'bash', osp.join(REPO, 'tools', 'dist_test.sh'), config, ckpt, '2',
        '--work-dir', dist_dir
    ], tmp_path, PORT=str(free_port()))

    assert 'rank 0 of 2 with the gloo backend' in out_dist, out_dist[-3000:]
    assert "backend='gloo'" in out_dist
    # each rank saw 3 images (one padded), but both tables count 5
    for out in (out_single, out_dist):
        assert f'all (n={NUM_VAL})' in out  # MultiTaskMetric
        assert re.search(rf'\|\s+all\s+\|\s+{NUM_VAL}\s+\|', out)  # routing

    single, dist = read_metrics(single_dir), read_metrics(dist_dir)
    assert sorted(single) == sorted(dist)
    for key in ('mt/semseg.mIoU', 'mt/depth.rmse', 'mt/normals.median',
                'mt/boundary.odsF_proxy', 'mt/saliency.maxF',
                'mt/saliency.maxF_legacy', 'mt/restoration.psnr',
                'mt/restoration.ssim', 'mt/delta_mtl', 'mt/noise/delta_mtl',
                'routing/all/s0.E1'):
        assert key in single, sorted(single)
    different = {
        k: (single[k], dist[k])
        for k in single
        if not (single[k] == dist[k] or
                (math.isnan(single[k]) and math.isnan(dist[k])))
    }
    assert not different, different
    # the weights are not trivial: restoration changes the image
    assert single['mt/restoration.psnr'] != \
        single['mt/restoration.input_psnr']
