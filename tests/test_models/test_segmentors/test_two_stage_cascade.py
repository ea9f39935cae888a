"""TwoStageCascade: a restorer, then a predictor on the restored image."""
import copy

import pytest
import torch
import torch.nn as nn
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from torch import Tensor

from mmallnet.evaluation import functional as F
from mmallnet.evaluation.metrics import MultiTaskMetric
from mmallnet.models.segmentors import TwoStageCascade
from mmallnet.testing import multi_task_batch
from mmallnet.utils import TensorModeWrapper, get_model_complexity
from mmallnet.utils.checkpoint_fit import CheckpointMismatchError

NUM_CLASSES = 5
MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]
PREPROCESSOR = dict(type='MultiTaskDataPreProcessor', mean=MEAN, std=STD,
                    bgr_to_rgb=True)
BACKBONE = dict(type='ResNetV1c', depth=18, stem_channels=16,
                base_channels=16, norm_cfg=dict(type='BN'))
MTL = dict(
    type='MultiTaskEncoderDecoder',
    backbone=BACKBONE,
    decode_head=dict(type='MultiTaskFPNHead', in_channels=[16, 32, 64, 128],
                     channels=16, tasks=['semseg', 'depth'],
                     num_classes=NUM_CLASSES))
STOCK = dict(
    type='EncoderDecoder',
    backbone=BACKBONE,
    decode_head=dict(type='FCNHead', in_channels=128, in_index=3,
                     channels=16, num_convs=1, dropout_ratio=0,
                     num_classes=NUM_CLASSES, norm_cfg=dict(type='BN'),
                     loss_decode=dict(type='CrossEntropyLoss')),
    test_cfg=dict(mode='whole'))
RESTORER = dict(type='CascadeTestRestorer')

pytestmark = pytest.mark.usefixtures('single_thread')


class CascadeTestRestorer(nn.Module):
    """Stand-in restorer: ``img + conv1x1(img)`` (global residual)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)

    def restore(self, img: Tensor) -> Tensor:
        """Restore (B, 3, H, W) [0, 1] RGB; same shape, not clamped."""
        return img + self.conv(img)


class RestoreCall(nn.Module):
    """``restorer.restore`` as a forward, for the FLOP counter."""

    def __init__(self, restorer: nn.Module) -> None:
        super().__init__()
        self.restorer = restorer

    def forward(self, img: Tensor) -> Tensor:
        return self.restorer.restore(img)


@pytest.fixture(autouse=True, scope='module')
def stand_in_restorer():
    MODELS.register_module(module=CascadeTestRestorer)
    yield
    MODELS._module_dict.pop('CascadeTestRestorer')


def cascade(predictor=MTL, **kwargs):
    torch.manual_seed(0)
    cfg = dict(type='TwoStageCascade', restorer=RESTORER,
               predictor=predictor, data_preprocessor=PREPROCESSOR)
    cfg.update(kwargs)
    return MODELS.build(copy.deepcopy(cfg))


def batch(shapes=((64, 64), (50, 60))):
    return multi_task_batch(shapes, 64, NUM_CLASSES, seed=0, mean=MEAN,
                            std=STD)


def degraded_of(samples):
    return torch.stack([s.degraded_img.data for s in samples])


def restored_batch(model, degraded):
    """The 1x1-conv restorer on the batch, the second image's padding
    (rows 50-63, columns 60-63) kept as degraded: each image is restored
    without the batch padding."""
    restored = model.restorer.restore(degraded)
    restored[1, :, 50:] = degraded[1, :, 50:]
    restored[1, :, :, 60:] = degraded[1, :, :, 60:]
    return restored


def normalised(image):
    mean = torch.tensor(MEAN).view(3, 1, 1)
    std = torch.tensor(STD).view(3, 1, 1)
    return (image * 255. - mean) / std


def with_degraded(samples, image):
    """Copies of the samples whose ``degraded_img`` is ``image``."""
    samples = copy.deepcopy(samples)
    for i, sample in enumerate(samples):
        sample.degraded_img = PixelData(data=image[i])
    return samples


def save(module, path):
    torch.save({'state_dict': module.state_dict(), 'meta': {}}, str(path))
    return str(path)


def stage_checkpoints(tmp_path, predictor=MTL):
    torch.manual_seed(1)
    restorer = MODELS.build(RESTORER)
    predictor = MODELS.build(copy.deepcopy(predictor))
    return (restorer, predictor, save(restorer, tmp_path / 'restorer.pth'),
            save(predictor, tmp_path / 'predictor.pth'))


def assert_same_state(module, reference):
    state = module.state_dict()
    for key, value in reference.state_dict().items():
        assert torch.equal(state[key], value), key


def test_stage_checkpoints_load_and_survive_init_weights(tmp_path):
    restorer, predictor, r_path, p_path = stage_checkpoints(tmp_path)
    model = cascade(restorer_checkpoint=r_path, predictor_checkpoint=p_path)
    assert isinstance(model, TwoStageCascade)
    assert_same_state(model.restorer, restorer)
    assert_same_state(model.predictor, predictor)
    # the runner calls init_weights before training: ResNet's Kaiming
    # init must not overwrite the loaded predictor
    model.init_weights()
    assert_same_state(model.predictor, predictor)
    assert_same_state(model.restorer, restorer)


def test_without_checkpoints_init_weights_initialises_the_stages():
    model = cascade()
    before = model.predictor.backbone.stem[0].weight.clone()
    model.init_weights()
    assert not torch.equal(model.predictor.backbone.stem[0].weight, before)


def test_mismatched_checkpoints_raise_naming_stage_and_file(tmp_path):
    _, _, r_path, p_path = stage_checkpoints(tmp_path)
    with pytest.raises(CheckpointMismatchError) as error:
        cascade(restorer_checkpoint=p_path)
    message = str(error.value)
    assert '`restorer_checkpoint`' in message and p_path in message
    assert 'CascadeTestRestorer' in message and 'No key matches' in message
    with pytest.raises(CheckpointMismatchError,
                       match='`predictor_checkpoint`') as error:
        cascade(predictor_checkpoint=r_path)
    assert r_path in str(error.value)
    # a checkpoint of the whole cascade is not a stage checkpoint
    whole = save(cascade(), tmp_path / 'cascade.pth')
    with pytest.raises(CheckpointMismatchError,
                       match='restorer.conv.weight'):
        cascade(restorer_checkpoint=whole)
    missing = str(tmp_path / 'nope.pth')
    with pytest.raises(FileNotFoundError, match='`predictor_checkpoint`'):
        cascade(predictor_checkpoint=missing)


def test_frozen_restorer_gets_no_gradient_and_stays_in_eval():
    model = cascade(freeze_predictor=False)
    model.train()
    assert not model.restorer.training and model.predictor.training
    inputs, samples = batch()
    losses = model.loss(inputs, samples)
    assert set(losses) == {'decode.loss_semseg', 'decode.loss_depth',
                           'decode.loss_restoration', 'decode.acc_semseg'}
    model.parse_losses(losses)[0].backward()
    assert all(p.grad is None for p in model.restorer.parameters())
    assert model.predictor.backbone.stem[0].weight.grad.abs().sum() > 0


def test_frozen_predictor_passes_gradient_to_the_restorer():
    model = cascade(freeze_restorer=False,
                    restoration_loss=dict(type='RestorationLoss',
                                          loss_weight=0.5))
    model.train()
    assert model.restorer.training and not model.predictor.training
    bn = model.predictor.backbone.stem[1]
    running_mean = bn.running_mean.clone()
    inputs, samples = batch()
    losses = model.loss(inputs, samples)
    assert 'restorer.loss_restoration' in losses
    restored = model.restorer.restore(degraded_of(samples))
    clean = torch.stack([s.gt_clean_img.data for s in samples])
    expected = 0.5 * MODELS.build(dict(type='RestorationLoss'))(
        restored, clean, [(64, 64), (50, 60)])
    torch.testing.assert_close(losses['restorer.loss_restoration'],
                               expected)
    model.parse_losses(losses)[0].backward()
    assert all(p.grad is None for p in model.predictor.parameters())
    assert model.restorer.conv.weight.grad.abs().sum() > 0
    # eval-mode BN of the frozen predictor keeps its statistics
    assert torch.equal(bn.running_mean, running_mean)


def test_loss_is_the_predictors_loss_on_the_restored_image():
    model = cascade(freeze_predictor=False).eval()
    inputs, samples = batch()
    degraded = degraded_of(samples)
    with torch.no_grad():
        image = restored_batch(model, degraded).clamp(0, 1)
        expected = model.predictor.loss(normalised(image),
                                        with_degraded(samples, image))
        losses = model.loss(inputs, samples)
    assert set(losses) == set(expected)
    for key, value in expected.items():
        torch.testing.assert_close(losses[key], value, rtol=0, atol=1e-6)
    # the samples' own degraded image is back after the predictor ran
    assert torch.equal(degraded_of(samples), degraded)


def test_both_frozen_refuses_to_train():
    model = cascade()
    inputs, samples = batch()
    with pytest.raises(RuntimeError, match='freeze_predictor=False'):
        model.loss(inputs, samples)


def test_predictions_carry_the_restored_image_cropped():
    model = cascade().eval()
    with torch.no_grad():
        model.restorer.conv.bias.fill_(0.05)
        # the head's zero-initialised restoration would echo its input
        model.predictor.decode_head.restoration_pred.bias.fill_(-0.1)
    inputs, samples = batch()
    degraded = degraded_of(samples)
    with torch.no_grad():
        restored = restored_batch(model, degraded)
        image = restored.clamp(0, 1)
        direct = model.predictor.predict(normalised(image),
                                         with_degraded(samples, image))
        results = model.predict(inputs, samples)
    assert results is samples
    second = results[1]
    assert second.pred_restored.data.shape == (3, 50, 60)
    assert torch.equal(second.pred_restored.data,
                       restored[1, :, :50, :60].clamp(0, 1))
    assert restored.max() > 1  # the clamp mattered
    assert torch.equal(second.degraded_img.data, degraded[1, :, :50, :60])
    assert torch.equal(second.pred_depth.data, direct[1].pred_depth.data)
    assert torch.equal(second.pred_sem_seg.data,
                       direct[1].pred_sem_seg.data)
    # the restorer's output replaces the predictor head's own restoration
    assert not torch.equal(direct[1].pred_restored.data,
                           second.pred_restored.data)


def test_stock_segmentor_predictor_evaluates_semseg():
    model = cascade(predictor=STOCK, freeze_predictor=False)
    inputs, samples = batch()
    losses = model.loss(inputs, samples)
    assert set(losses) == {'decode.loss_ce', 'decode.acc_seg'}
    model.eval()
    # test-time samples: targets at image size
    for sample in samples:
        h, w = sample.img_shape
        sample.gt_sem_seg = PixelData(data=sample.gt_sem_seg.data[:, :h, :w])
        sample.gt_clean_img = PixelData(
            data=sample.gt_clean_img.data[:, :h, :w])
    with torch.no_grad():
        restored = model.restorer.restore(degraded_of(samples)).clamp(0, 1)
        results = model.predict(inputs, samples)
    assert results[1].pred_sem_seg.data.shape == (1, 50, 60)
    assert results[1].seg_logits.data.shape == (NUM_CLASSES, 50, 60)
    metric = MultiTaskMetric(tasks=['semseg'], num_classes=NUM_CLASSES,
                             per_degradation=False)
    metric.process(None, [s.to_dict() for s in results])
    scores = metric.compute_metrics(metric.results)
    assert 0 <= scores['semseg.mIoU'] <= 100
    psnrs = [F.psnr(restored[0].numpy(), samples[0].gt_clean_img.data
                    .numpy()),
             F.psnr(restored[1, :, :50, :60].numpy(),
                    samples[1].gt_clean_img.data.numpy())]
    assert scores['restoration.psnr'] == pytest.approx(sum(psnrs) / 2,
                                                       abs=1e-9)


def test_predictor_normalisation_defaults_and_checks():
    model = cascade()
    assert model.predictor_mean.flatten().tolist() == pytest.approx(MEAN)
    assert model.predictor_std.flatten().tolist() == pytest.approx(STD)
    custom = cascade(predictor_mean=[0, 0, 0], predictor_std=[255] * 3)
    image = torch.rand(1, 3, 4, 4)
    torch.testing.assert_close(custom.normalize(image), image)
    # the predictor's own preprocessor is dropped when it agrees ...
    agreeing = dict(MTL, data_preprocessor=PREPROCESSOR)
    assert type(cascade(predictor=agreeing).predictor.data_preprocessor) \
        .__name__ == 'BaseDataPreprocessor'
    # ... and refused when it does not
    other = dict(MTL, data_preprocessor=dict(PREPROCESSOR, mean=[0, 0, 0]))
    with pytest.raises(ValueError,
                       match=r'predictor.data_preprocessor.mean'):
        cascade(predictor=other)
    with pytest.raises(ValueError, match='restoration_loss'):
        cascade(restoration_loss=dict(type='RestorationLoss'))
    with pytest.raises(TypeError, match='restore'):
        cascade(restorer=dict(type='mmpretrain.ResNet', depth=18))


def test_tensor_mode_and_flops_count_both_stages():
    model = cascade().eval()
    inputs, _ = batch(((64, 64), ))
    with torch.no_grad():
        out = model(inputs, mode='tensor')
    degraded = (inputs * torch.tensor(STD).view(3, 1, 1) +
                torch.tensor(MEAN).view(3, 1, 1)) / 255.
    torch.testing.assert_close(out['restored'],
                               model.restorer.restore(degraded.clamp(0, 1)))
    assert out['predictor']['semseg'].shape == (1, NUM_CLASSES, 64, 64)

    def flops(module, x):
        return get_model_complexity(module, (x, ),
                                    with_activations=False)['flops']

    restorer = flops(RestoreCall(model.restorer), degraded)
    assert restorer == 3 * 3 * 64 * 64  # a 1x1 conv, 3 -> 3 channels
    predictor = flops(TensorModeWrapper(model.predictor), inputs)
    total = flops(TensorModeWrapper(model), inputs)
    # the un-/re-normalisation is element-wise, counted as 0 FLOPs
    assert total == restorer + predictor


CONFIG = ('configs/cascade/'
          'cascade_dense-restorer-tiny_mtl-baseline-r18_1xb8-500_'
          'synthscenes-96x128.py')


def test_demo_config_needs_and_loads_the_restorer_checkpoint(tmp_path):
    import os.path as osp

    from mmengine.config import Config
    repo = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
        osp.abspath(__file__)))))
    cfg = Config.fromfile(osp.join(repo, CONFIG))
    assert cfg.model.freeze_restorer and not cfg.model.freeze_predictor
    # no silently identity restorer: the stage checkpoint must exist
    with pytest.raises(FileNotFoundError, match='`restorer_checkpoint`'):
        MODELS.build(dict(cfg.model, restorer_checkpoint=str(
            tmp_path / 'missing.pth')))
    torch.manual_seed(2)
    restorer = MODELS.build(cfg.model.restorer)
    model = MODELS.build(dict(
        cfg.model, restorer_checkpoint=save(restorer, tmp_path / 'r.pth')))
    assert_same_state(model.restorer, restorer)
    model.eval()
    with torch.no_grad():
        out = model(torch.rand(1, 3, 64, 64), mode='tensor')
    tasks = cfg.model.predictor.decode_head.tasks
    assert set(out['predictor']) == set(tasks) | {'restoration'}
    assert out['restored'].shape == (1, 3, 64, 64)
    assert cfg.test_evaluator.tasks == tasks


class GlobalTestRestorer(nn.Module):
    """Stand-in restorer with a global operation: ``img + mean(img)``."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(0.5))

    def restore(self, img: Tensor) -> Tensor:
        """Shift every pixel by ``scale`` times the image's mean."""
        return img + self.scale * img.mean(dim=(2, 3), keepdim=True)


def test_each_image_is_restored_without_the_batch_padding():
    """A restorer with global operations sees each image of a padded batch
    as it would alone; the padding keeps the preprocessor's values."""
    MODELS.register_module(module=GlobalTestRestorer, force=True)
    model = cascade(restorer=dict(type='GlobalTestRestorer')).eval()
    inputs, samples = batch()
    degraded = degraded_of(samples)
    assert samples[1].img_padding_size == [0, 4, 0, 14]  # (50, 60) in 64
    with torch.no_grad():
        restored = model.restore_images(degraded, samples)
        alone = model.restorer.restore(degraded[1:2, :, :50, :60])
        results = model.predict(inputs, samples)
    torch.testing.assert_close(restored[1:2, :, :50, :60], alone)
    torch.testing.assert_close(restored[1, :, 50:], degraded[1, :, 50:])
    # the unpadded first image: one call on the whole batch would differ
    torch.testing.assert_close(restored[0:1],
                               model.restorer.restore(degraded[0:1]))
    assert not torch.allclose(model.restorer.restore(degraded)[1, :, :50,
                                                                :60],
                              alone[0])
    torch.testing.assert_close(results[1].pred_restored.data,
                               alone[0].clamp(0, 1))
    # no samples (tensor mode, FLOP counting): the batch at once
    with torch.no_grad():
        torch.testing.assert_close(model.restore_images(degraded),
                                   model.restorer.restore(degraded))
