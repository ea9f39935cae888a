import copy

import pytest
import torch
from mmengine.optim import OptimWrapper
from mmseg.registry import MODELS

from mmallnet.models.segmentors.multi_task_encoder_decoder import (
    MultiTaskEncoderDecoder,
)
from mmallnet.structures import ALL_TASKS, MultiTaskDataSample, routing_of
from mmallnet.testing import multi_task_batch

NUM_CLASSES = 5
BACKBONE = dict(type='ResNetV1c', depth=18, stem_channels=16,
                base_channels=16, norm_cfg=dict(type='BN'))
HEAD = dict(type='MultiTaskFPNHead', in_channels=[16, 32, 64, 128],
            channels=16, tasks=list(ALL_TASKS), num_classes=NUM_CLASSES)
MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]


def _model(**kwargs):
    cfg = dict(type='MultiTaskEncoderDecoder', backbone=BACKBONE,
               decode_head=HEAD)
    cfg.update(kwargs)
    return MODELS.build(copy.deepcopy(cfg))


def _batch(shapes=((64, 64), (50, 60)), size=64, seed=0):
    """Inputs and padded samples as the data preprocessor returns them."""
    return multi_task_batch(shapes, size, NUM_CLASSES, seed=seed, mean=MEAN,
                            std=STD)


pytestmark = pytest.mark.usefixtures('single_thread')


EXPECTED_LOSS_KEYS = {f'decode.loss_{t}' for t in ALL_TASKS} | {
    'decode.loss_restoration', 'decode.acc_semseg', 'decode.acc_parts'}


def test_loss_keys_and_backward():
    torch.manual_seed(0)
    model = _model()
    assert isinstance(model, MultiTaskEncoderDecoder)
    assert model.tasks == list(ALL_TASKS)
    assert model.num_classes == NUM_CLASSES
    inputs, samples = _batch()
    losses = model(inputs, samples, mode='loss')
    assert set(losses) == EXPECTED_LOSS_KEYS
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total)
    total.backward()
    grads = [p.grad for p in model.backbone.parameters() if p.requires_grad]
    assert all(g is not None for g in grads)
    assert model.decode_head.restoration_pred.weight.grad.abs().sum() > 0


def test_loss_subset_of_tasks_without_restoration():
    head = dict(HEAD, tasks=['semseg', 'depth'], restoration=False)
    model = _model(decode_head=head)
    inputs, samples = _batch()
    losses = model(inputs, samples, mode='loss')
    assert set(losses) == {'decode.loss_semseg', 'decode.loss_depth',
                           'decode.acc_semseg'}


def test_predict_fields_cropped_to_image():
    torch.manual_seed(0)
    model = _model().eval()
    inputs, samples = _batch()
    with torch.no_grad():
        raw = model(inputs, copy.deepcopy(samples), mode='tensor')
        results = model(inputs, samples, mode='predict')
    assert results is samples
    for sample in results:
        h, w = sample.img_shape
        assert sample.seg_logits.data.shape == (NUM_CLASSES, h, w)
        assert sample.pred_sem_seg.data.shape == (1, h, w)
        assert sample.pred_sem_seg.data.dtype == torch.long
        assert torch.equal(sample.pred_sem_seg.data,
                           sample.seg_logits.data.argmax(0, keepdim=True))
        assert sample.pred_parts.data.shape == (1, h, w)
        assert sample.pred_parts.data.dtype == torch.long
        assert sample.pred_parts.data.max() < 7
        assert sample.pred_depth.data.shape == (1, h, w)
        assert sample.pred_depth.data.min() >= 0
        normals = sample.pred_normal.data
        assert normals.shape == (3, h, w)
        assert torch.allclose(normals.norm(dim=0), torch.ones(h, w),
                              atol=1e-5)
        for field in ('pred_boundary', 'pred_saliency'):
            prob = getattr(sample, field).data
            assert prob.shape == (1, h, w) and prob.dtype == torch.float32
            assert 0 <= prob.min() and prob.max() <= 1
        restored = sample.pred_restored.data
        assert restored.shape == (3, h, w)
        assert 0 <= restored.min() and restored.max() <= 1
    # no resize: exactly the padded raw output cropped to img_shape
    second = results[1]
    assert torch.equal(second.pred_depth.data,
                       raw['depth'][1, :, :50, :60].clamp(min=0))
    assert torch.equal(second.seg_logits.data, raw['semseg'][1, :, :50, :60])
    assert torch.equal(second.pred_saliency.data,
                       raw['saliency'][1, :, :50, :60].sigmoid())
    # the zero-initialised restoration branch returns the degraded input
    assert torch.equal(second.pred_restored.data,
                       second.degraded_img.data[:, :50, :60])


def test_predict_without_data_samples_uses_preprocessor_stats():
    model = _model(data_preprocessor=dict(
        type='SegDataPreProcessor', mean=MEAN, std=STD, bgr_to_rgb=True))
    model.eval()
    inputs, samples = _batch(shapes=((64, 64), (64, 64)))
    degraded = torch.stack([s.degraded_img.data for s in samples])
    assert torch.allclose(model.get_degraded(inputs), degraded, atol=1e-5)
    with torch.no_grad():
        results = model.predict(inputs)
    assert len(results) == 2
    for sample in results:
        assert isinstance(sample, MultiTaskDataSample)
        assert sample.img_shape == (64, 64)
        assert sample.pred_normal.data.shape == (3, 64, 64)
        assert sample.pred_sem_seg.data.shape == (1, 64, 64)
    assert torch.allclose(results[0].pred_restored.data, degraded[0],
                          atol=1e-5)
    with pytest.raises(ValueError, match='degraded_img'):
        del samples[0].degraded_img
        model.get_degraded(inputs, samples)


def test_crop_to_image_removes_padding_only():
    model = _model()
    maps = torch.arange(2 * 4 * 6, dtype=torch.float32).view(1, 2, 4, 6)
    meta = dict(img_padding_size=[0, 2, 0, 1], ori_shape=(8, 8), flip=True)
    assert torch.equal(model.crop_to_image(maps, meta), maps[:, :, :3, :4])
    assert torch.equal(model.crop_to_image(maps, {}), maps)


def test_tensor_mode_returns_raw_outputs():
    model = _model()
    inputs, samples = _batch()
    out = model(inputs, samples, mode='tensor')
    assert set(out) == set(ALL_TASKS) | {'restoration'}
    assert out['semseg'].shape == (2, NUM_CLASSES, 64, 64)
    assert out['restoration'].shape == (2, 3, 64, 64)


def test_a_few_steps_reduce_the_loss():
    torch.manual_seed(0)
    model = _model()
    model.train()
    inputs, samples = _batch(seed=1)
    optim = OptimWrapper(torch.optim.Adam(model.parameters(), lr=5e-3))
    data = dict(inputs=inputs, data_samples=samples)
    totals = []
    for _ in range(6):
        log_vars = model.train_step(data, optim)
        totals.append(log_vars['loss'].item())
    # the targets are random, so only their marginals can be learnt quickly
    assert totals[-1] < 0.99 * totals[0], totals


def test_mmpretrain_backbone():
    backbone = dict(type='mmpretrain.ResNet', depth=18, stem_channels=16,
                    base_channels=16, out_indices=(0, 1, 2, 3))
    model = _model(backbone=backbone)
    assert type(model.backbone).__module__.startswith('mmpretrain')
    inputs, samples = _batch()
    losses = model(inputs, samples, mode='loss')
    assert set(losses) == EXPECTED_LOSS_KEYS
    model.parse_losses(losses)[0].backward()
    model.eval()
    with torch.no_grad():
        results = model(inputs, samples, mode='predict')
    assert results[1].pred_depth.data.shape == (1, 50, 60)


def test_config_errors_and_pretrained():
    with pytest.raises(ValueError, match='test_cfg.mode'):
        _model(test_cfg=dict(mode='slide'))
    model = MultiTaskEncoderDecoder(backbone=BACKBONE, decode_head=HEAD,
                                    pretrained='ckpt.pth')
    assert model.backbone.init_cfg == dict(type='Pretrained',
                                           checkpoint='ckpt.pth')
    with pytest.raises(ValueError, match='pretrained'):
        MultiTaskEncoderDecoder(
            backbone=dict(BACKBONE, init_cfg=dict(type='Pretrained',
                                                  checkpoint='a.pth')),
            decode_head=HEAD, pretrained='ckpt.pth')
    with pytest.raises(KeyError, match='`tasks`'):
        _model(decode_head=dict(HEAD, tasks=['semseg', 'edge']))


ROUTED_NECK = dict(type='MaENeck', in_channels=[16, 32, 64, 128],
                   output_mode='fused')


def test_routed_neck_adds_the_routing_loss_and_usage():
    torch.manual_seed(0)
    model = _model(neck=ROUTED_NECK, route_loss_weight=0.5).train()
    inputs, samples = _batch()
    torch.manual_seed(1)
    losses = model.loss(inputs, samples)
    assert set(losses) == EXPECTED_LOSS_KEYS | {'route.loss_aux'} | {
        f'route.expert{k}' for k in range(4)}
    torch.manual_seed(1)  # the same routing noise
    routing = routing_of(model.extract_feat(inputs))
    torch.testing.assert_close(losses['route.loss_aux'],
                               0.5 * routing.aux_loss)
    usage = torch.stack([losses[f'route.expert{k}'] for k in range(4)])
    # 2 images x 4 scales x top-1 = 8 decisions.
    expected = torch.bincount(routing.decisions.flatten(),
                              minlength=4).float() / 8
    torch.testing.assert_close(usage, expected)
    assert not usage.requires_grad


def test_routed_neck_records_routing_in_predictions():
    torch.manual_seed(0)
    model = _model(neck=ROUTED_NECK).eval()
    inputs, samples = _batch()
    with torch.no_grad():
        out = model.predict(inputs, samples)
        routing = routing_of(model.extract_feat(inputs)).decisions
    for i, sample in enumerate(out):
        assert sample.routing == routing[i].tolist()
        assert len(sample.routing) == 4 and len(sample.routing[0]) == 1
        assert len(sample.routing_gates) == 4
        # every expert's probability; the gate is the selected one's
        probs = torch.tensor(sample.routing_probs)
        assert probs.shape == (4, 4)
        torch.testing.assert_close(probs.sum(dim=1), torch.ones(4))
        chosen = probs.gather(1, torch.tensor(sample.routing))
        torch.testing.assert_close(chosen, torch.tensor(sample.routing_gates))


def test_neck_without_experts_adds_no_routing_keys():
    model = _model(neck=dict(ROUTED_NECK, use_experts=False)).train()
    inputs, samples = _batch()
    assert set(model.loss(inputs, samples)) == EXPECTED_LOSS_KEYS
    model.eval()
    with torch.no_grad():
        out = model.predict(inputs, samples)
    assert 'routing' not in out[0]


def test_routing_metric_reads_the_predictions():
    from mmallnet.evaluation.metrics import RoutingMetric
    torch.manual_seed(0)
    model = _model(neck=ROUTED_NECK).eval()
    inputs, samples = _batch()
    for sample, kind in zip(samples, ('fog', 'rain')):
        sample.set_metainfo(dict(degradation_type=kind))
    with torch.no_grad():
        out = model.predict(inputs, samples)
        routing = routing_of(model.extract_feat(inputs)).decisions
    metric = RoutingMetric(num_experts=4)
    metric.process(None, [s.to_dict() for s in out])
    results = metric.compute_metrics(metric.results)
    for scale in range(4):
        expert = int(routing[0, scale, 0])
        assert results[f'fog/s{scale}.E{expert + 1}'] == 1.0
