"""projects/mae_robust_seg: the MaE neck in stock MMSeg UPerNets.

Every project config loads and builds (no pretrained file is fetched), the
MaE model is its reference plus a fused MaENeck under RoutedEncoderDecoder,
the SynthScenes demo pair trains a step and predicts on a tiny SynthScenes
copy (also through the runner), and the ADE20K pair runs MMSeg's pipeline
with the degradations and predicts at a small size.
"""
import copy
import glob
import os
import os.path as osp
from typing import Any, Dict, List

import cv2
import mmseg
import numpy as np
import pytest
import torch
import yaml
from mmengine.config import Config, ConfigDict
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmseg.registry import DATASETS, METRICS, MODELS

from mmallnet.models.necks import MaENeck
from mmallnet.testing.golden import sync_bn_to_bn

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PROJECT = osp.join(REPO, 'projects', 'mae_robust_seg')
CONFIG_DIR = osp.join(PROJECT, 'configs')
CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, '*.py')))
#: MaE config -> its reference (the same model without the neck)
PAIRS = {
    'upernet_r18-w32_mae-fused_1xb8-500_synthscenes-semseg-96x128.py':
    'upernet_r18-w32_1xb8-500_synthscenes-semseg-96x128.py',
    'upernet_r50_mae-fused_4xb4-160k_ade20k-degraded-512x512.py':
    'upernet_r50_4xb4-160k_ade20k-degraded-512x512.py',
}
#: (MaE config, reference) of each dataset
DEMO = [n for n in PAIRS.items() if 'synthscenes' in n[0]][0]
ADE = [n for n in PAIRS.items() if 'ade20k' in n[0]][0]
IDS = ['mae', 'reference']
DEGRADATIONS = {'noise', 'rain', 'fog', 'blur'}
ROUTE_KEYS = {'route.loss_aux'} | {f'route.expert{k}' for k in range(4)}

pytestmark = pytest.mark.usefixtures('single_thread')


def load(name: str) -> Config:
    """A project config by file name."""
    return Config.fromfile(osp.join(CONFIG_DIR, name))


def offline(cfg: Any) -> Any:
    """``cfg`` without pretrained weights (``pretrained``, ``Pretrained``
    init configs) and with BN for SyncBN, to build on a CPU offline."""
    if isinstance(cfg, dict):
        out = ConfigDict({
            k: offline(v)
            for k, v in cfg.items() if k != 'pretrained'
        })
        init = out.get('init_cfg')
        if isinstance(init, dict) and init.get('type') == 'Pretrained':
            out.pop('init_cfg')
        return out
    if isinstance(cfg, (list, tuple)):
        return type(cfg)(offline(v) for v in cfg)
    return cfg


def unscoped(cfg: Any) -> Any:
    """``cfg`` without the ``_scope_`` keys of ``mmseg::`` inheritance."""
    if isinstance(cfg, dict):
        return {k: unscoped(v) for k, v in cfg.items() if k != '_scope_'}
    if isinstance(cfg, (list, tuple)):
        return type(cfg)(unscoped(v) for v in cfg)
    return cfg


def build_model(cfg: Config) -> torch.nn.Module:
    torch.manual_seed(0)
    return MODELS.build(sync_bn_to_bn(offline(cfg.model)))


def as_list(evaluator) -> List[dict]:
    return list(evaluator) if isinstance(evaluator, list) else [evaluator]


def metafile_models() -> Dict[str, dict]:
    with open(osp.join(PROJECT, 'metafile.yaml')) as f:
        meta = yaml.safe_load(f)
    for collection in meta['Collections']:
        assert osp.isfile(osp.join(REPO, collection['README']))
    return {m['Config']: m for m in meta['Models']}


def test_the_project_has_the_four_configs_each_in_the_metafile():
    names = {osp.basename(p) for p in CONFIGS}
    assert names == set(PAIRS) | set(PAIRS.values())
    models = metafile_models()
    assert sorted(models) == sorted(osp.relpath(p, REPO) for p in CONFIGS)
    for config, model in models.items():
        assert model['Name'] == osp.basename(config)[:-3]


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_builds(path):
    """mmallnet is imported by the config; the MaE models have a fused
    MaENeck under RoutedEncoderDecoder, the references no neck."""
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmseg'
    assert cfg.custom_imports.imports == ['mmallnet']
    assert cfg.model.test_cfg.mode == 'whole'
    assert cfg.default_hooks.checkpoint.type == 'AtomicCheckpointHook'
    model = build_model(cfg)
    if osp.basename(path) in PAIRS:
        assert type(model).__name__ == 'RoutedEncoderDecoder'
        assert isinstance(model.neck, MaENeck)
        assert model.neck.output_mode == 'fused'
        assert model.neck.in_channels == cfg.model.decode_head.in_channels
    else:
        assert type(model).__name__ == 'EncoderDecoder'
        assert not model.with_neck
    assert type(model.backbone).__name__ == 'ResNetV1c'
    assert type(model.decode_head).__name__ == 'UPerHead'
    params = sum(p.numel() for p in model.parameters()) / 1e6
    listed = metafile_models()[osp.relpath(path, REPO)]
    assert listed['Metadata']['Parameters (M)'] == round(params, 2)


@pytest.mark.parametrize('mae, ref', list(PAIRS.items()),
                         ids=['synthscenes', 'ade20k'])
def test_mae_config_is_the_reference_plus_the_neck(mae, ref):
    """Only the segmentor type, the neck, its aux loss weight and the
    routing metric differ."""
    mae_cfg, ref_cfg = load(mae), load(ref)
    model = copy.deepcopy(mae_cfg.model.to_dict())
    assert model.pop('type') == 'RoutedEncoderDecoder'
    assert model.pop('neck')['output_mode'] == 'fused'
    assert model.pop('route_loss_weight') == 0.01
    reference = ref_cfg.model.to_dict()
    assert reference.pop('type') == 'EncoderDecoder'
    assert model == reference
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader',
                'optim_wrapper', 'param_scheduler', 'train_cfg',
                'randomness', 'custom_hooks', 'custom_imports'):
        assert mae_cfg.get(key) == ref_cfg.get(key), key
    metrics = as_list(mae_cfg.val_evaluator)
    assert [m.type for m in metrics] == ['MultiTaskMetric', 'RoutingMetric']
    assert metrics[0] == ref_cfg.val_evaluator
    assert metrics[0].tasks == ['semseg']
    assert metrics[0].restoration is False
    assert metrics[0].per_degradation is True
    # SynthScenes: the degraded val split; ADE20K: MMSeg's clean IoUMetric
    test = ref_cfg.test_evaluator
    assert as_list(mae_cfg.test_evaluator) == (
        metrics if 'synthscenes' in mae else [test])


# ---------------------------------------------------------------------------
# SynthScenes demo pair
# ---------------------------------------------------------------------------
@pytest.fixture(scope='module')
def synth_root(tmp_path_factory) -> str:
    from mmallnet.datasets.synthscenes_generator import generate_synthscenes
    root = str(tmp_path_factory.mktemp('mae_robust_seg') / 'synthscenes')
    generate_synthscenes(root, num_train=4, num_val=2, height=48, width=64,
                         progress=False)
    return root


def tiny_cfg(name: str, root: str) -> Config:
    """The config on the 4+2-image copy, no workers, no schedule."""
    cfg = load(name)
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        loader.update(num_workers=0, persistent_workers=False)
        loader.dataset.update(data_root=root, generate=None)
    cfg.train_dataloader.batch_size = 2
    cfg.param_scheduler = []
    return cfg


def batch_of(dataset, n: int = 2) -> Dict[str, list]:
    return pseudo_collate([dataset[i] for i in range(n)])


def check_semseg_metrics(cfg: Config, results: list, dataset) -> None:
    metrics = [METRICS.build(m) for m in as_list(cfg.val_evaluator)]
    for metric in metrics:
        metric.dataset_meta = dataset.metainfo
        metric.process(None, [r.to_dict() for r in results])
    scores = metrics[0].compute_metrics(metrics[0].results)
    assert 0 <= scores['semseg.mIoU'] <= 100
    types = {r.metainfo['degradation_type'] for r in results}
    assert types <= DEGRADATIONS
    for kind in types:
        assert f'{kind}/semseg.mIoU' in scores
    assert not any('restoration' in k for k in scores)
    if len(metrics) > 1:  # RoutingMetric: expert shares per type
        routing = metrics[1].compute_metrics(metrics[1].results)
        for kind in types:
            shares = [routing[f'{kind}/s0.E{k}'] for k in range(1, 5)]
            assert sum(shares) == pytest.approx(1)


@pytest.mark.parametrize('name', DEMO, ids=IDS)
def test_demo_trains_a_step_and_predicts(name, synth_root):
    """One AdamW step on two SynthScenes crops (finite loss; the routing
    aux loss for the MaE model) and whole-image predictions on the two
    degraded val images, scored per degradation type."""
    cfg = tiny_cfg(name, synth_root)
    model = build_model(cfg).train()
    train_set = DATASETS.build(cfg.train_dataloader.dataset)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    before = model.decode_head.conv_seg.weight.clone()
    log_vars = model.train_step(batch_of(train_set), wrapper)
    assert np.isfinite(float(log_vars['loss']))
    assert {'decode.loss_ce', 'aux.loss_ce'} <= set(log_vars)
    routed = name in PAIRS
    assert (ROUTE_KEYS <= set(log_vars)) is routed
    if routed:
        assert np.isfinite(float(log_vars['route.loss_aux']))
        assert float(log_vars['route.loss_aux']) > 0
    assert not torch.equal(before, model.decode_head.conv_seg.weight)

    val_set = DATASETS.build(cfg.val_dataloader.dataset)
    model.eval()
    with torch.no_grad():
        results = model.val_step(batch_of(val_set))
    for result in results:
        h, w = result.metainfo['ori_shape']
        assert result.pred_sem_seg.shape == (h, w) == (48, 64)
        assert result.gt_sem_seg.shape == (h, w)
        assert ('routing' in result.metainfo) is routed
    check_semseg_metrics(cfg, results, val_set)


@pytest.mark.parametrize('name', DEMO, ids=IDS)
def test_demo_runs_with_the_runner(name, synth_root, tmp_path):
    """What tools/train.py does, for one iteration with validation, then
    tools/test.py's test loop: every hook of the config runs, and the
    metrics hold semseg only, overall and per degradation type."""
    from mmengine.runner import Runner
    cfg = tiny_cfg(name, synth_root)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.train_cfg.update(max_iters=1, val_interval=1)
    cfg.default_hooks.checkpoint.interval = 1
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert osp.isfile(osp.join(cfg.work_dir, 'iter_1.pth'))
    if name in PAIRS:
        aux = runner.message_hub.get_scalar('train/route.loss_aux')
        assert np.isfinite(aux.current())
    metrics = runner.test()
    groups = {k.rsplit('/', 1)[-1].split('.')[0] for k in metrics
              if k.startswith('mt/')}
    assert groups == {'semseg'}
    assert any(k.count('/') == 2 for k in metrics)  # mt/<type>/<metric>


# ---------------------------------------------------------------------------
# ADE20K pair
# ---------------------------------------------------------------------------
@pytest.fixture(scope='module')
def ade_root(tmp_path_factory) -> str:
    """Two training and two validation images in ADE20K's layout."""
    root = str(tmp_path_factory.mktemp('ade') / 'ADEChallengeData2016')
    rng = np.random.default_rng(0)
    for split in ('training', 'validation'):
        for sub in ('images', 'annotations'):
            os.makedirs(osp.join(root, sub, split))
        for i in range(2):
            name = f'ADE_{split}_{i:08d}'
            cv2.imwrite(osp.join(root, 'images', split, name + '.jpg'),
                        rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
            cv2.imwrite(osp.join(root, 'annotations', split, name + '.png'),
                        rng.integers(0, 151, (48, 64), dtype=np.uint8))
    return root


def on_tiny_ade(dataset: dict, root: str, scale=None) -> dict:
    """``dataset`` on the tiny tree (``AddImageId`` follows the root),
    resized to ``scale`` at test time if given."""
    img_dir = osp.join(dataset.data_root, dataset.data_prefix.img_path)
    dataset.data_root = root
    for step in dataset.pipeline:
        if step.type == 'AddImageId':
            assert step.img_dir == img_dir
            step.img_dir = osp.join(root, dataset.data_prefix.img_path)
        if step.type == 'Resize' and scale is not None:
            step.scale = scale
    return dataset


def test_ade20k_pipelines_are_mmseg_s_with_the_degradations(ade_root):
    """MMSeg's transforms with RandomDegradation: training crops are
    degraded afresh, the val set the same on every build, each sample
    carrying its degradation type; the test set is MMSeg's, clean (what
    tools/analysis_tools/robustness_test.py degrades)."""
    cfg = load(ADE[1])
    train = cfg.train_dataloader.dataset
    assert [t.type for t in train.pipeline] == [
        'LoadImageFromFile', 'LoadAnnotations', 'RandomResize', 'RandomCrop',
        'RandomFlip', 'PhotoMetricDistortion', 'RandomDegradation',
        'PackSegInputs'
    ]
    sample = DATASETS.build(on_tiny_ade(train, ade_root))[0]
    height, width = sample['inputs'].shape[1:]
    assert max(height, width) <= 512  # the resized image, cropped
    assert sample['data_samples'].gt_sem_seg.shape == (height, width)
    assert sample['data_samples'].metainfo['degradation_type'] in \
        DEGRADATIONS

    val = on_tiny_ade(cfg.val_dataloader.dataset, ade_root)
    assert [t.type for t in val.pipeline] == [
        'LoadImageFromFile', 'AddImageId', 'RandomDegradation', 'Resize',
        'LoadAnnotations', 'PackSegInputs'
    ]
    first, again = DATASETS.build(val)[1], DATASETS.build(val)[1]
    assert first['data_samples'].gt_sem_seg.shape == (48, 64)
    assert first['data_samples'].metainfo['degradation_type'] in \
        DEGRADATIONS
    assert torch.equal(first['inputs'], again['inputs'])

    stock = Config.fromfile(
        osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs', '_base_',
                 'datasets', 'ade20k.py'))
    assert unscoped(cfg.test_dataloader) == stock.test_dataloader
    assert cfg.test_evaluator.type == 'IoUMetric'


@pytest.mark.parametrize('name', ADE, ids=IDS)
def test_ade20k_model_predicts_a_degraded_image(name, ade_root):
    """A 64x64 forward (logits at 1/4), then the degraded val pipeline at
    a small resize scale through the model and the val metrics."""
    cfg = load(name)
    model = build_model(cfg).eval()
    with torch.no_grad():
        logits = model(torch.rand(1, 3, 64, 64), mode='tensor')
    assert logits.shape == (1, 150, 16, 16)
    dataset = DATASETS.build(
        on_tiny_ade(cfg.val_dataloader.dataset, ade_root, scale=(96, 64)))
    with torch.no_grad():
        results = model.test_step(batch_of(dataset))
    assert [r.pred_sem_seg.shape for r in results] == [(48, 64)] * 2
    check_semseg_metrics(cfg, results, dataset)
