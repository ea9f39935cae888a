"""ImageRestorer: losses, predictions and restoration metrics."""
import copy

import pytest
import torch
from mmengine.optim import OptimWrapper
from mmengine.structures import PixelData
from mmseg.registry import METRICS, MODELS

from mmallnet.models.losses import RestorationLoss
from mmallnet.structures import MultiTaskDataSample

PREPROCESSOR = dict(
    type='MultiTaskDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    size_divisor=16,
    test_cfg=dict(size_divisor=16))
MODEL = dict(
    type='ImageRestorer',
    data_preprocessor=PREPROCESSOR,
    restorer=dict(type='MaERestorer', arch='tiny'),
    route_loss_weight=0.5)
ROUTE_KEYS = {'route.loss_aux'} | {f'route.expert{k}' for k in range(4)}


def build(**restorer):
    cfg = copy.deepcopy(MODEL)
    cfg['restorer'].update(restorer)
    torch.manual_seed(0)
    return MODELS.build(cfg)


def raw_batch(shapes=((30, 37), (32, 40)), types=('noise', 'fog'),
              haze=False):
    """uint8 BGR degraded and clean images, as the pipeline packs them:
    noise of +-40 or, with ``haze``, a uniform haze 0.6 J + 0.4 * 230."""
    gen = torch.Generator().manual_seed(0)
    inputs, samples = [], []
    for (h, w), kind in zip(shapes, types):
        clean = torch.randint(0, 256, (3, h, w), generator=gen)
        noise = torch.randint(-40, 41, (3, h, w), generator=gen)
        degraded = (clean * 0.6 + 92).round() if haze else clean + noise
        degraded = degraded.clamp(0, 255)
        sample = MultiTaskDataSample(metainfo=dict(
            degradation_type=kind, ori_shape=(h, w)))
        sample.set_field(PixelData(data=clean.to(torch.uint8)),
                         'gt_clean_img')
        inputs.append(degraded.to(torch.uint8))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


@pytest.mark.parametrize('restorer, keys', [
    (dict(), {'loss_restoration'} | ROUTE_KEYS),
    (dict(type='DenseRestorer'), {'loss_restoration'}),
])
def test_loss_at_init_is_loss_of_degraded_input(restorer, keys):
    model = build(**restorer).train()
    data = model.data_preprocessor(raw_batch(), training=True)
    losses = model(**data, mode='loss')
    assert set(losses) == keys
    samples = data['data_samples']
    degraded = torch.stack([s.degraded_img.data for s in samples])
    clean = torch.stack([s.gt_clean_img.data for s in samples])
    # zero-initialised output conv: restored == degraded input exactly
    expected = RestorationLoss()(degraded, clean, [(30, 37), (32, 40)])
    assert torch.equal(losses['loss_restoration'], expected)
    if 'route.loss_aux' in keys:
        shares = [losses[f'route.expert{k}'] for k in range(4)]
        assert torch.stack(shares).sum().item() == pytest.approx(1.0)


@pytest.mark.parametrize('restorer', [dict(), dict(type='DenseRestorer')])
def test_loss_falls_in_a_few_steps(restorer):
    model = build(**restorer).train()
    optim = OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-3))
    data = raw_batch(((24, 32), (24, 32)), haze=True)
    history = []
    for _ in range(10):
        log = model.train_step(copy.deepcopy(data), optim)
        history.append(log['loss_restoration'].item())
    assert history[-1] < 0.85 * history[0]


def test_predict_writes_cropped_restoration_and_routing():
    model = build().eval()
    data = model.data_preprocessor(raw_batch(), training=False)
    assert data['inputs'].shape[-2:] == (32, 48)  # padded to 16
    with torch.no_grad():
        samples = model(**data, mode='predict')
    for sample, (h, w) in zip(samples, [(30, 37), (32, 40)]):
        assert sample.pred_restored.data.shape == (3, h, w)
        assert sample.degraded_img.data.shape == (3, h, w)
        # identity at init, clamped to [0, 1]
        assert torch.equal(sample.pred_restored.data,
                           sample.degraded_img.data)
        assert len(sample.routing) == 3 and len(sample.routing[0]) == 1
        assert len(sample.routing_probs[0]) == 4
        assert sum(sample.routing_probs[0]) == pytest.approx(1.0)


def test_dense_predict_has_no_routing():
    model = build(type='DenseRestorer').eval()
    data = model.data_preprocessor(raw_batch(), training=False)
    with torch.no_grad():
        samples = model(**data, mode='predict')
    assert 'routing' not in samples[0].metainfo
    assert samples[0].pred_restored.data.shape == (3, 30, 37)


def test_metric_reports_psnr_and_ssim_per_degradation():
    model = build(zero_init_last=False).eval()
    data = model.data_preprocessor(raw_batch(), training=False)
    with torch.no_grad():
        samples = model(**data, mode='predict')
    metric = METRICS.build(
        dict(type='MultiTaskMetric', tasks=[], restoration=True, ssim=True,
             per_degradation=True))
    metric.dataset_meta = dict(classes=None)
    metric.process({}, [s.to_dict() for s in samples])
    results = metric.evaluate(2)
    for kind in ('noise', 'fog'):
        for key in ('psnr', 'ssim', 'input_psnr', 'input_ssim'):
            assert f'mt/{kind}/restoration.{key}' in results
    assert results['mt/restoration.psnr'] == pytest.approx(
        (results['mt/noise/restoration.psnr'] +
         results['mt/fog/restoration.psnr']) / 2)
    assert results['mt/restoration.psnr'] != results[
        'mt/restoration.input_psnr']


def test_restore_and_tensor_mode_use_the_unnormalised_image():
    model = build(zero_init_last=False).eval()
    data = model.data_preprocessor(raw_batch(((32, 32), (32, 32))),
                                   training=False)
    degraded = torch.stack([s.degraded_img.data for s in data['data_samples']])
    with torch.no_grad():
        out = model.restore(degraded)
        tensor = model(data['inputs'], data['data_samples'], mode='tensor')
        # without degraded_img, inputs are un-normalised: same image
        recovered = model(data['inputs'], None, mode='tensor')
    assert isinstance(out, torch.Tensor) and out.shape == degraded.shape
    assert torch.equal(tensor, out)
    torch.testing.assert_close(recovered, out, rtol=0, atol=1e-5)


def test_errors_name_what_is_missing():
    model = build()
    data = model.data_preprocessor(raw_batch(), training=True)
    for sample in data['data_samples']:
        del sample.gt_clean_img
    with pytest.raises(KeyError, match='gt_clean_img'):
        model(**data, mode='loss')
    with pytest.raises(ValueError, match='invalid mode'):
        model(data['inputs'], mode='bad')
    with pytest.raises(TypeError, match='model.restorer'):
        MODELS.build(dict(type='ImageRestorer',
                          restorer=dict(type='RestorationLoss')))
