"""Feature analysis: silhouette, 2-D embedding, the collector and the tool."""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmseg.registry import MODELS

from mmallnet.visualization.feature_embedding import (
    FeatureCollector,
    embed_2d,
    plot_embedding,
    silhouette_score,
    standardise,
)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'analysis_tools', 'feature_embedding.py')
DEMO = osp.join(REPO, 'configs', 'allnet',
                'allnet_r18-w32_1xb8-500_synthscenes-96x128.py')
ROW2 = osp.join(REPO, 'configs', 'allnet', 'ablation',
                'allnet-ablation-2-mae_r18-w32_1xb8-500_synthscenes-96x128.py')


def test_silhouette_exact_value():
    # a = 1 everywhere; b = 4.5 at the ends, 3.5 inside:
    # mean of 3.5/4.5 and 2.5/3.5 = (7/9 + 5/7) / 2 = 94/126
    x = np.array([[0.], [1.], [4.], [5.]])
    assert silhouette_score(x, ['a', 'a', 'b', 'b']) == pytest.approx(
        94 / 126)
    # a cluster of one scores 0; the others as before with b from it
    x = np.array([[0.], [1.], [10.]])
    # s_0 = (10 - 1) / 10, s_1 = (9 - 1) / 9, s_2 = 0
    assert silhouette_score(x, [0, 0, 1]) == pytest.approx(
        (0.9 + 8 / 9 + 0) / 3)
    # swapped labels: every sample is nearer the other cluster
    assert silhouette_score(np.array([[0.], [5.], [1.], [4.]]),
                            ['a', 'a', 'b', 'b']) < 0
    with pytest.raises(ValueError, match='two distinct'):
        silhouette_score(x, [0, 0, 0])
    with pytest.raises(ValueError, match='labels'):
        silhouette_score(x, [0, 1])


def test_silhouette_matches_scikit_learn():
    metrics = pytest.importorskip('sklearn.metrics')
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 5))
    labels = rng.integers(0, 3, 40)
    x[labels == 1] += 2.
    assert silhouette_score(x, labels) == pytest.approx(
        metrics.silhouette_score(x, labels), abs=1e-8)


def test_pca_embedding_and_fallback(monkeypatch):
    # points on a line in 3-D: the first axis is the line, the second 0
    t = np.linspace(-2, 2, 9)
    x = np.outer(t, [1., 2., 2.]) + 7.
    xy, method = embed_2d(x, 'pca')
    assert method == 'pca'
    np.testing.assert_allclose(np.abs(xy[:, 0]), np.abs(3 * t), atol=1e-9)
    np.testing.assert_allclose(xy[:, 1], 0, atol=1e-9)
    # without scikit-learn: 'auto' falls back to PCA, 'tsne' says why
    monkeypatch.setitem(sys.modules, 'sklearn', None)
    monkeypatch.setitem(sys.modules, 'sklearn.manifold', None)
    assert embed_2d(x, 'auto')[1] == 'pca'
    with pytest.raises(ImportError, match='scikit-learn'):
        embed_2d(x, 'tsne')
    with pytest.raises(ValueError, match='method'):
        embed_2d(x, 'mds')


def test_tsne_embedding_separates_clusters():
    pytest.importorskip('sklearn')
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(size=(15, 6)),
                        rng.normal(size=(15, 6)) + 8.])
    xy, method = embed_2d(standardise(x), 'tsne')
    assert method == 'tsne' and xy.shape == (30, 2)
    assert silhouette_score(xy, [0] * 15 + [1] * 15) > 0.5


def test_standardise_and_plot(tmp_path):
    x = np.array([[1., 5.], [3., 5.]])
    np.testing.assert_allclose(standardise(x), [[-1., 0.], [1., 0.]])
    path = tmp_path / 'e.png'
    image = plot_embedding(np.random.rand(6, 2), list('aabbcc'), 'title',
                           str(path), markers=list('xyxyxy'))
    assert image.ndim == 3 and image.shape[2] == 3
    assert path.stat().st_size > 1000


def demo_model(config=DEMO):
    torch.manual_seed(0)
    return MODELS.build(Config.fromfile(config).model).eval()


def test_collector_records_p_and_refined_task_maps():
    model = demo_model()
    x = torch.randn(3, 3, 64, 96)
    with FeatureCollector(model) as collector, torch.no_grad():
        neck_out = model.neck(model.backbone(x))
        model.decode_head.forward_decoder(neck_out)
    restoration, tasks = collector.arrays()
    assert collector.scale == 3  # the coarsest CTI scale of the demo
    torch.testing.assert_close(
        torch.from_numpy(restoration),
        neck_out['restoration'][3].mean((2, 3)))
    assert sorted(tasks) == sorted(model.decode_head.tasks)
    num_tokens = model.decode_head.ctis['3'].num_tokens
    assert all(v.shape == (3, num_tokens) for v in tasks.values())
    # the hooks are gone after the block
    with torch.no_grad():
        model.neck(model.backbone(x))
    assert len(collector.restoration) == 1


def test_collector_errors_name_the_setting():
    with pytest.raises(ValueError, match='interaction_scales'):
        FeatureCollector(demo_model(), scale=0)
    with pytest.raises(ValueError, match='use_cti'):
        FeatureCollector(demo_model(ROW2))


def test_tool_writes_plots_and_scores(tmp_path):
    config = tmp_path / 'tiny.py'
    config.write_text(
        f'_base_ = [{DEMO!r}]\n'
        f'generate = dict(num_train=1, num_val=6, height=48, width=64, '
        'seed=0)\n'
        'test_dataloader = dict(batch_size=2, num_workers=0, '
        'persistent_workers=False, dataset=dict(data_root='
        f'{str(tmp_path / "data")!r}, generate=generate))\n')
    model = demo_model()
    checkpoint = tmp_path / 'model.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), checkpoint)
    out_dir = tmp_path / 'out'
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1',
               CUDA_VISIBLE_DEVICES='')
    proc = subprocess.run(
        [sys.executable, TOOL, str(config), str(checkpoint), '--out-dir',
         str(out_dir), '--method', 'pca', '--scale', '2'],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(out_dir / 'features.json') as f:
        result = json.load(f)
    assert result['images'] == 6 and result['scale'] == 2
    assert result['method'] == 'pca'
    assert set(result['silhouette']) >= {'P2_by_task'}
    for score in result['silhouette'].values():
        assert -1 <= score <= 1
    assert 'P2_by_task' in proc.stdout
    for name in ('features_P_by_degradation.png', 'features_P2_by_task.png'):
        assert (out_dir / name).stat().st_size > 1000
