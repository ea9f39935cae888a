"""setup_cpu_distributed: gloo process groups for tools/dist_*.sh on CPU.

tools/train.py and tools/test.py call it after building the config and
before the Runner: with ``--launcher pytorch`` and no GPU it starts the
process group with gloo itself (the Runner then skips ``init_dist``, which
would call ``torch.cuda.set_device``) and makes the Runner's DDP wrapper
run on the CPU (``device_ids=None``).
"""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as torch_dist
from mmengine.config import Config

from mmallnet.utils import cpu_distributed, setup_cpu_distributed

ROOT = Path(__file__).resolve().parents[2]

#: What a run gets when neither the config nor the user names a wrapper.
DEFAULT_WRAPPER = dict(
    type='MMDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=False,
    device_ids=None)


def free_port() -> int:
    """A TCP port that is free now on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def mmseg_like_config(**extra) -> Config:
    """A config with the env_cfg of MMSeg's default_runtime.py."""
    return Config(
        dict(
            env_cfg=dict(
                cudnn_benchmark=True,
                mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
                dist_cfg=dict(backend='nccl', timeout=1800)),
            **extra))


@pytest.fixture
def no_gpu(monkeypatch):
    """torch sees no GPU, whatever the machine has."""
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)


def forbid_new_groups(monkeypatch) -> list:
    """Fail if a process group is started; return the logged lines."""

    def init_process_group(*args, **kwargs):
        raise AssertionError('init_process_group called')

    monkeypatch.setattr(torch_dist, 'init_process_group', init_process_group)
    logged = []
    monkeypatch.setattr(cpu_distributed, 'print_log',
                        lambda msg, **kwargs: logged.append(msg))
    return logged


@pytest.fixture
def no_new_group(monkeypatch):
    """Fail if a process group is started; record the log lines."""
    return forbid_new_groups(monkeypatch)


@pytest.fixture
def torchrun_env(monkeypatch):
    """The variables torchrun sets, for a one-process world.

    The process group the test starts is destroyed afterwards.
    """
    assert not torch_dist.is_initialized()
    env = dict(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1',
               MASTER_ADDR='127.0.0.1', MASTER_PORT=str(free_port()))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    yield env
    if torch_dist.is_initialized():
        torch_dist.destroy_process_group()


def test_launcher_none_leaves_config_and_process_group(no_gpu, no_new_group):
    cfg = mmseg_like_config()
    before = cfg.to_dict()
    assert setup_cpu_distributed(cfg, 'none') is False
    assert cfg.to_dict() == before
    assert 'model_wrapper_cfg' not in cfg
    assert not torch_dist.is_initialized()
    assert no_new_group == []


@pytest.mark.parametrize('launcher', ['pytorch', 'slurm', 'mpi'])
def test_with_a_gpu_mmengine_does_the_set_up(monkeypatch, no_new_group,
                                             launcher):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    cfg = mmseg_like_config()
    before = cfg.to_dict()
    assert setup_cpu_distributed(cfg, launcher) is False
    assert cfg.to_dict() == before
    assert not torch_dist.is_initialized()
    assert no_new_group == []


@pytest.mark.parametrize('launcher', ['slurm', 'mpi'])
def test_other_launchers_without_a_gpu_are_refused(no_gpu, no_new_group,
                                                   launcher):
    cfg = mmseg_like_config()
    before = cfg.to_dict()
    with pytest.raises(RuntimeError) as err:
        setup_cpu_distributed(cfg, launcher)
    assert str(err.value) == (
        f'--launcher {launcher} without a GPU is not supported; use '
        '--launcher pytorch (gloo).')
    assert cfg.to_dict() == before
    assert not torch_dist.is_initialized()


def test_pytorch_launcher_starts_a_gloo_group_from_the_environment(
        no_gpu, torchrun_env, monkeypatch):
    logged = []
    monkeypatch.setattr(cpu_distributed, 'print_log',
                        lambda msg, **kwargs: logged.append(msg))
    cfg = mmseg_like_config()
    assert setup_cpu_distributed(cfg, 'pytorch') is True
    assert torch_dist.is_initialized()
    assert torch_dist.get_backend() == 'gloo'
    assert (torch_dist.get_rank(), torch_dist.get_world_size()) == (0, 1)
    # only the backend changes; the rest of env_cfg is kept
    assert cfg.env_cfg.to_dict() == dict(
        cudnn_benchmark=True,
        mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
        dist_cfg=dict(backend='gloo', timeout=1800))
    assert cfg.model_wrapper_cfg.to_dict() == DEFAULT_WRAPPER
    assert logged == ['CPU distributed run: rank 0 of 1 with the gloo '
                      'backend.']


def test_an_existing_process_group_is_kept(no_gpu, torchrun_env,
                                           monkeypatch):
    torch_dist.init_process_group(backend='gloo')
    world = torch_dist.group.WORLD
    logged = forbid_new_groups(monkeypatch)
    cfg = mmseg_like_config()
    assert setup_cpu_distributed(cfg, 'pytorch') is True
    assert torch_dist.group.WORLD is world
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model_wrapper_cfg.to_dict() == DEFAULT_WRAPPER
    assert logged == ['CPU distributed run: rank 0 of 1 with the gloo '
                      'backend.']


@pytest.fixture
def group_already_started(monkeypatch, no_new_group):
    """Pretend a process group is running (config handling only)."""
    monkeypatch.setattr(torch_dist, 'is_initialized', lambda: True)


@pytest.mark.parametrize('env_cfg, expected', [
    (None, dict(dist_cfg=dict(backend='gloo'))),
    (dict(cudnn_benchmark=True),
     dict(cudnn_benchmark=True, dist_cfg=dict(backend='gloo'))),
    (dict(dist_cfg=dict(backend='nccl', timeout=60)),
     dict(dist_cfg=dict(backend='gloo', timeout=60))),
])
def test_the_gloo_backend_is_recorded_in_any_env_cfg(
        no_gpu, group_already_started, env_cfg, expected):
    # configs that do not inherit MMSeg's default_runtime.py may lack
    # env_cfg or its dist_cfg
    cfg = Config(dict() if env_cfg is None else dict(env_cfg=env_cfg))
    assert setup_cpu_distributed(cfg, 'pytorch') is True
    assert cfg.env_cfg.to_dict() == expected


@pytest.mark.parametrize('extra, expected', [
    # the Runner's own default honours a top-level find_unused_parameters
    (dict(find_unused_parameters=True),
     dict(DEFAULT_WRAPPER, find_unused_parameters=True)),
    # a config's wrapper settings are kept, only device_ids is forced
    (dict(find_unused_parameters=True,
          model_wrapper_cfg=dict(
              type='MMSeparateDistributedDataParallel',
              broadcast_buffers=True, find_unused_parameters=False,
              device_ids=[0])),
     dict(type='MMSeparateDistributedDataParallel', broadcast_buffers=True,
          find_unused_parameters=False, device_ids=None)),
    (dict(model_wrapper_cfg=None), DEFAULT_WRAPPER),
])
def test_the_model_wrapper_runs_on_the_cpu(no_gpu, group_already_started,
                                           extra, expected):
    cfg = mmseg_like_config(**extra)
    assert setup_cpu_distributed(cfg, 'pytorch') is True
    assert cfg.model_wrapper_cfg.to_dict() == expected


#: One rank of a 2-process run, started as torchrun starts tools/train.py.
RANK_SCRIPT = '''
import json, os, sys
import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.registry import MODEL_WRAPPERS
from mmallnet.utils import setup_cpu_distributed

cfg = Config(dict(env_cfg=dict(dist_cfg=dict(backend='nccl'))))
took_cpu_path = setup_cpu_distributed(cfg, 'pytorch')
rank = dist.get_rank()
total = torch.tensor([float(rank + 1)])
dist.all_reduce(total)
# built as Runner.wrap_model builds it (device_ids from LOCAL_RANK, which
# the config overrides)
torch.manual_seed(0)
model = MODEL_WRAPPERS.build(
    cfg.model_wrapper_cfg,
    default_args=dict(module=torch.nn.Linear(3, 1),
                      device_ids=[int(os.environ['LOCAL_RANK'])]))
x = torch.full((2, 3), float(rank + 1))
model(x).sum().backward()
with open(sys.argv[1], 'w') as f:
    json.dump(dict(
        took_cpu_path=took_cpu_path, rank=rank,
        world_size=dist.get_world_size(), backend=dist.get_backend(),
        cfg_backend=cfg.env_cfg.dist_cfg.backend,
        wrapper=type(model).__name__, total=total.item(),
        grad=model.module.weight.grad.tolist()), f)
# Both ranks are done with every collective before either tears gloo down
# (a rank leaving early made the other abort: 'terminate called without an
# active exception').
dist.barrier()
del model
dist.destroy_process_group()
'''


def test_two_cpu_processes_run_ddp_with_gloo(tmp_path):
    script = tmp_path / 'rank.py'
    script.write_text(RANK_SCRIPT)
    port = str(free_port())
    procs = []
    for rank in range(2):
        env = dict(os.environ, RANK=str(rank), LOCAL_RANK=str(rank),
                   WORLD_SIZE='2', MASTER_ADDR='127.0.0.1', MASTER_PORT=port,
                   CUDA_VISIBLE_DEVICES='', OMP_NUM_THREADS='1',
                   PYTHONPATH=str(ROOT))
        procs.append(subprocess.Popen(
            [sys.executable, str(script), str(tmp_path / f'{rank}.json')],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True))
    outputs = []
    try:
        for proc in procs:
            outputs.append(proc.communicate(timeout=120)[0])
    finally:
        for proc in procs:
            proc.kill()
    for proc, out in zip(procs, outputs):
        assert proc.returncode == 0, out[-3000:]
    results = [json.loads((tmp_path / f'{r}.json').read_text())
               for r in range(2)]
    # d(sum of Linear(x))/d weight = sum over the batch of x: 2 * (rank+1)
    # per rank; DDP averages the two ranks: (2 + 4) / 2 = 3
    for rank, result in enumerate(results):
        assert result == dict(
            took_cpu_path=True, rank=rank, world_size=2, backend='gloo',
            cfg_backend='gloo', wrapper='MMDistributedDataParallel',
            total=3.0, grad=[[3.0, 3.0, 3.0]])
