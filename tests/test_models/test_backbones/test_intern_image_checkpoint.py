"""Loading checkpoints written in the official InternImage formats."""
import pytest
import torch
from mmseg.registry import MODELS

from mmallnet.models.backbones import InternImage
from mmallnet.models.backbones.intern_image_checkpoint import (
    unwrap_state_dict,
)

TINY = dict(channels=16, depths=[1, 1, 2, 1], groups=[1, 2, 4, 8])
HEAD_KEYS = {
    'conv_head.0.weight': torch.rand(8, 128, 1, 1),
    'conv_head.1.0.running_mean': torch.rand(8),
    'head.weight': torch.rand(10, 8),
    'head.bias': torch.rand(10),
}


@pytest.fixture(scope='module')
def source():
    """A tiny InternImage without layer scale (like the ImageNet T file)
    whose every weight, offsets included, is random."""
    torch.manual_seed(0)
    model = InternImage(arch=TINY, layer_scale=None).eval()
    with torch.no_grad():
        for param in model.parameters():
            param.add_(torch.randn_like(param) * 0.1)
    return model


def features(model, x):
    with torch.no_grad():
        return model.eval()(x)


def load(path, **init):
    model = InternImage(
        arch=TINY,
        layer_scale=1.0,
        init_cfg=dict(type='Pretrained', checkpoint=str(path), **init))
    model.init_weights()
    return model


def assert_same_features(a, b, x):
    for u, v in zip(features(a, x), features(b, x)):
        torch.testing.assert_close(u, v)


def imagenet_file(tmp_path, source):
    state = dict(source.state_dict(), **HEAD_KEYS)
    path = tmp_path / 'internimage_tiny_1k_224.pth'
    torch.save({'model': state, 'epoch': 299}, path)
    return path


def test_imagenet_format_loads_and_changes_outputs(tmp_path, source):
    x = torch.rand(1, 3, 32, 48)
    path = imagenet_file(tmp_path, source)
    fresh = InternImage(arch=TINY, layer_scale=1.0)
    before = features(fresh, x)
    model = load(path)
    # gamma keys were absent: layer scale stays 1.0, i.e. no layer scale.
    assert torch.equal(model.levels[0].blocks[0].gamma1, torch.ones(16))
    assert_same_features(model, source, x)
    assert not torch.allclose(before[0], features(model, x)[0])


def test_ade20k_format_with_backbone_prefix(tmp_path, source):
    state = {'backbone.' + k: v for k, v in source.state_dict().items()}
    state['decode_head.conv_seg.weight'] = torch.rand(150, 512, 1, 1)
    state['auxiliary_head.conv_seg.bias'] = torch.rand(150)
    path = tmp_path / 'upernet_internimage_tiny_512_160k_ade20k.pth'
    torch.save({'state_dict': state, 'meta': {}}, path)
    assert_same_features(load(path), source, torch.rand(1, 3, 32, 32))


def test_plain_and_data_parallel_state_dicts(tmp_path, source):
    x = torch.rand(1, 3, 32, 32)
    plain = tmp_path / 'plain.pth'
    torch.save(source.state_dict(), plain)
    assert_same_features(load(plain), source, x)
    wrapped = tmp_path / 'module.pth'
    torch.save({'module.' + k: v
                for k, v in source.state_dict().items()}, wrapped)
    assert_same_features(load(wrapped), source, x)


def test_loading_through_a_config(tmp_path, source):
    """init_cfg in a model config, initialised the way the runner does."""
    path = imagenet_file(tmp_path, source)
    model = MODELS.build(
        dict(
            type='InternImage',
            arch=TINY,
            init_cfg=dict(type='Pretrained', checkpoint=str(path))))
    model.init_weights()
    assert_same_features(model, source, torch.rand(1, 3, 32, 32))


def test_wrong_layout_raises_with_the_mismatched_keys(tmp_path, source):
    # mmpretrain's port renames levels -> layers.
    state = {
        k.replace('levels.', 'layers.'): v
        for k, v in source.state_dict().items()
    }
    path = tmp_path / 'mmpretrain_layout.pth'
    torch.save({'state_dict': state}, path)
    with pytest.raises(KeyError) as info:
        load(path)
    message = str(info.value)
    assert 'mmpretrain_layout.pth' in message
    assert 'missing keys' in message and 'unexpected keys' in message
    assert 'levels.0.blocks.0.dcn.offset.weight' in message
    assert 'layers.0.blocks.0.dcn.offset.weight' in message


def test_other_arch_raises_shape_mismatch(tmp_path, source):
    path = imagenet_file(tmp_path, source)
    model = InternImage(
        arch=dict(TINY, channels=32),
        init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    with pytest.raises(KeyError, match='shape mismatches'):
        model.init_weights()


def test_missing_non_optional_key_raises(tmp_path, source):
    state = source.state_dict()
    del state['levels.1.blocks.0.dcn.mask.weight']
    path = tmp_path / 'truncated.pth'
    torch.save({'model': state}, path)
    with pytest.raises(KeyError, match='levels.1.blocks.0.dcn.mask.weight'):
        load(path)


def test_unwrap_state_dict_rejects_non_checkpoints():
    with pytest.raises(ValueError, match='no tensors'):
        unwrap_state_dict({'epoch': 3}, 'x.pth')
    with pytest.raises(ValueError, match="prefix 'encoder.'"):
        unwrap_state_dict({'a': torch.zeros(1)}, 'x.pth', prefix='encoder.')


def test_hugging_face_packaging_with_model_prefix(tmp_path, source):
    """The HF repos wrap the backbone as ``self.model``."""
    state = {'model.' + k: v for k, v in source.state_dict().items()}
    state.update({'model.' + k: v for k, v in HEAD_KEYS.items()})
    path = tmp_path / 'pytorch_model.bin'
    torch.save(state, path)
    assert_same_features(load(path), source, torch.rand(1, 3, 32, 32))
