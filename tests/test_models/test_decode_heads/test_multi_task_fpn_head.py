"""The baseline's FPN multi-task head and what it inherits from
BaseMultiTaskHead: task heads, restoration branch, losses, post-processing.
"""
import pytest
import torch
from mmseg.models.losses import CrossEntropyLoss
from mmseg.registry import MODELS

from mmallnet.models.decode_heads import MultiTaskFPNHead
from mmallnet.models.decode_heads.base_multi_task_head import (
    DEFAULT_TASK_LOSS_WEIGHTS,
)
from mmallnet.models.losses.balanced_bce_loss import BalancedBCELoss
from mmallnet.models.losses.depth_l1_loss import DepthL1Loss
from mmallnet.models.losses.normal_l1_loss import NormalL1Loss
from mmallnet.models.losses.restoration_loss import RestorationLoss
from mmallnet.models.losses.weighted_bce_loss import WeightedBCELoss
from mmallnet.structures import ALL_TASKS
from mmallnet.testing import multi_task_batch

IN_CHANNELS = [8, 16, 24, 32]
NYUD = ['semseg', 'depth', 'normals', 'boundary']
PASCAL = ['semseg', 'parts', 'saliency', 'normals', 'boundary']


def _feats(n=2, size=32):
    return [
        torch.randn(n, c, size // s, size // s)
        for c, s in zip(IN_CHANNELS, (4, 8, 16, 32))
    ]


def _head(tasks, **kwargs):
    return MultiTaskFPNHead(in_channels=IN_CHANNELS, channels=8, tasks=tasks,
                         **kwargs)


def _samples(n=2, size=32, img_shape=(28, 30), num_classes=40):
    """Padded samples as the data preprocessor writes them."""
    return multi_task_batch([img_shape] * n, size, num_classes)[1]


@pytest.mark.parametrize('tasks, num_classes', [
    (NYUD, 40), (PASCAL, 21), (list(ALL_TASKS), 40), (['depth'], 40)
])
def test_forward_shapes_and_keys(tasks, num_classes):
    head = _head(tasks, num_classes=num_classes)
    degraded = torch.rand(2, 3, 32, 32)
    out = head(_feats(), degraded)
    assert set(out) == set(tasks) | {'restoration'}
    channels = dict(semseg=num_classes, parts=7, saliency=1, depth=1,
                    normals=3, boundary=1, restoration=3)
    for key, value in out.items():
        assert value.shape == (2, channels[key], 32, 32), key
    # the residual conv starts at zero: restored == degraded
    assert torch.equal(out['restoration'], degraded)


def test_forward_without_restoration():
    head = _head(['normals', 'boundary'], restoration=False)
    assert not hasattr(head, 'loss_restoration')
    out = head(_feats())  # no degraded image: x4 from the 1/4 scale
    assert set(out) == {'normals', 'boundary'}
    assert out['normals'].shape == (2, 3, 32, 32)
    with pytest.raises(ValueError, match='degraded'):
        _head(['depth'])(_feats())


def test_restoration_unshuffle_keeps_every_pixel():
    head = _head(['depth'], restoration_unshuffle=2)
    assert head.restoration_shallow[0].conv.in_channels == 12
    assert head.restoration_pred.out_channels == 12
    degraded = torch.rand(2, 3, 32, 32)
    # zero-initialised prediction: restored == degraded
    assert torch.equal(head(_feats(), degraded)['restoration'], degraded)
    # A bias-only residual: channel c * 4 + i * 2 + j of the half-resolution
    # prediction lands on pixel (i, j) of every 2x2 block of colour c.
    bias = torch.arange(12, dtype=torch.float)
    head.restoration_pred.bias.data.copy_(bias)
    residual = head(_feats(), degraded)['restoration'] - degraded
    for c in range(3):
        for i in range(2):
            for j in range(2):
                block = residual[:, c, i::2, j::2]
                assert torch.allclose(
                    block, torch.full_like(block, c * 4 + i * 2 + j))
    with pytest.raises(ValueError, match='divisible'):
        head(_feats(), torch.rand(2, 3, 32, 31))
    with pytest.raises(ValueError, match='restoration_unshuffle'):
        _head(['depth'], restoration_unshuffle=0)


def test_in_index_selects_scales():
    head = MultiTaskFPNHead(in_channels=[16, 32], in_index=[1, 3], channels=8,
                         tasks=['depth'], restoration=False)
    # the degraded image (optional without restoration) fixes the size
    out = head(_feats(), torch.rand(2, 3, 32, 32))
    assert out['depth'].shape == (2, 1, 32, 32)
    # without it: x4 from the finest selected scale (here 1/8)
    assert head(_feats())['depth'].shape == (2, 1, 16, 16)
    with pytest.raises(ValueError, match='in_channels'):
        head([f[:, :4] for f in _feats()])
    with pytest.raises(ValueError, match='equal length'):
        MultiTaskFPNHead(in_channels=[8], in_index=[0, 1], channels=8,
                      tasks=['depth'])
    coarse_first = MultiTaskFPNHead(in_channels=[32, 8], in_index=[3, 0],
                                 channels=8, tasks=['depth'],
                                 restoration=False)
    with pytest.raises(ValueError, match='fine to coarse'):
        coarse_first(_feats())


def test_unknown_task_names():
    with pytest.raises(KeyError, match='`tasks`'):
        _head(['semseg', 'edges'])
    with pytest.raises(KeyError, match='`task_loss_weights`'):
        _head(['semseg'], task_loss_weights=dict(edge=50))
    with pytest.raises(KeyError, match='`loss_decode`'):
        _head(['semseg'], loss_decode=dict(sal=dict(type='DepthL1Loss')))


def test_build_from_registry_and_default_losses():
    head = MODELS.build(
        dict(type='MultiTaskFPNHead', in_channels=IN_CHANNELS, channels=8,
             tasks=list(ALL_TASKS)))
    expected = dict(semseg=CrossEntropyLoss, parts=CrossEntropyLoss,
                    depth=DepthL1Loss, normals=NormalL1Loss,
                    boundary=WeightedBCELoss, saliency=BalancedBCELoss)
    for task, cls in expected.items():
        assert len(head.loss_decode[task]) == 1
        assert isinstance(head.loss_decode[task][0], cls)
    assert head.loss_decode['semseg'][0].avg_non_ignore
    assert head.loss_decode['boundary'][0].pos_weight == 0.95
    assert head.task_loss_weights == DEFAULT_TASK_LOSS_WEIGHTS
    assert DEFAULT_TASK_LOSS_WEIGHTS == dict(
        semseg=1, depth=1, normals=10, boundary=50, parts=2, saliency=5)
    assert isinstance(head.loss_restoration, RestorationLoss)
    assert head.loss_restoration.fft_weight == 0.1


def test_loss_by_feat_values_are_weighted_task_losses():
    torch.manual_seed(0)
    tasks = list(ALL_TASKS)
    head = _head(tasks, num_classes=5,
                 task_loss_weights=dict(depth=3.0))
    samples = _samples(num_classes=5)
    out = head(_feats(), torch.stack([s.degraded_img.data for s in samples]))
    losses = head.loss_by_feat(out, samples)
    assert set(losses) == {f'loss_{t}' for t in tasks} | {
        'loss_restoration', 'acc_semseg', 'acc_parts'}

    def gt(field):
        return torch.stack([getattr(s, field).data for s in samples])

    ce = CrossEntropyLoss(avg_non_ignore=True)
    expected = dict(
        semseg=1 * ce(out['semseg'], gt('gt_sem_seg')[:, 0],
                      ignore_index=255),
        parts=2 * ce(out['parts'], gt('gt_parts')[:, 0], ignore_index=255),
        depth=3 * DepthL1Loss()(out['depth'], gt('gt_depth')),
        normals=10 * NormalL1Loss()(out['normals'], gt('gt_normal')),
        boundary=50 * WeightedBCELoss()(out['boundary'], gt('gt_boundary')),
        saliency=5 * BalancedBCELoss()(out['saliency'],
                                       gt('gt_saliency').float()),
        restoration=RestorationLoss()(out['restoration'], gt('gt_clean_img'),
                                      img_shapes=[(28, 30)] * 2))
    for key, value in expected.items():
        assert losses[f'loss_{key}'].item() == \
            pytest.approx(value.item(), rel=1e-5), key
    total = sum(v for k, v in losses.items() if k.startswith('loss_'))
    total.backward()
    assert head.lateral_convs[0].conv.weight.grad is not None
    assert head.restoration_pred.weight.grad.abs().sum() > 0


def test_loss_ignores_padding():
    """Outputs on padded pixels never change any loss."""
    torch.manual_seed(1)
    head = _head(list(ALL_TASKS))
    samples = _samples()
    out = head(_feats(), torch.rand(2, 3, 32, 32))
    losses = head.loss_by_feat(out, samples)
    changed = {k: v.detach().clone() for k, v in out.items()}
    for value in changed.values():
        value[:, :, 28:] = 7.
        value[:, :, :, 30:] = -7.
    for key, value in head.loss_by_feat(changed, samples).items():
        assert value.item() == pytest.approx(losses[key].item(), rel=1e-6), \
            key


def test_loss_decode_list_and_missing_field():
    head = _head(['depth'], restoration=False, loss_decode=dict(depth=[
        dict(type='DepthL1Loss'), dict(type='DepthL1Loss', loss_weight=2.)
    ]))
    samples = _samples()
    out = head(_feats(), torch.rand(2, 3, 32, 32))
    single = DepthL1Loss()(out['depth'], torch.stack(
        [s.gt_depth.data for s in samples]))
    losses = head.loss_by_feat(out, samples)
    assert set(losses) == {'loss_depth'}
    assert losses['loss_depth'].item() == pytest.approx(3 * single.item())
    del samples[1].gt_depth
    with pytest.raises(KeyError, match='gt_depth'):
        head.loss_by_feat(out, samples)


def test_predict_by_feat():
    head = _head(list(ALL_TASKS), num_classes=5)
    out = head(_feats(), torch.rand(2, 3, 32, 32))
    out['depth'] = out['depth'] - 1.
    out['restoration'] = out['restoration'] * 3 - 1
    preds = head.predict_by_feat(out)
    assert torch.equal(preds['semseg'], out['semseg'])
    assert torch.equal(preds['parts'], out['parts'])
    assert torch.equal(preds['boundary'], out['boundary'].sigmoid())
    assert torch.equal(preds['saliency'], out['saliency'].sigmoid())
    assert preds['depth'].min() >= 0
    assert torch.allclose(preds['normals'].norm(dim=1),
                          torch.ones(2, 32, 32), atol=1e-5)
    assert preds['restoration'].min() >= 0
    assert preds['restoration'].max() <= 1
    with pytest.raises(KeyError, match='edges'):
        head.predict_by_feat(dict(edges=out['boundary']))


def test_all_ignored_targets_give_zero_finite_losses():
    """E.g. a PASCAL batch without persons: parts maps are all ignore."""
    head = _head(list(ALL_TASKS))
    samples = _samples()
    for sample in samples:
        sample.gt_parts.data[:] = 255
        sample.gt_saliency.data[:] = 255
        sample.gt_boundary.data[:] = 255
        sample.gt_depth.data[:] = 0
        sample.gt_normal.data[:] = 0
    out = head(_feats(), torch.rand(2, 3, 32, 32))
    losses = head.loss_by_feat(out, samples)
    for task in ('parts', 'saliency', 'boundary', 'depth', 'normals'):
        assert losses[f'loss_{task}'].item() == 0, task
    total = sum(v for k, v in losses.items() if k.startswith('loss_'))
    assert torch.isfinite(total)
    total.backward()
