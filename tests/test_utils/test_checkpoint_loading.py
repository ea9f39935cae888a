"""Checkpoint loading keeps torch's ``weights_only`` protection.

A file whose unpickling would call ``os.system`` is refused (and the
command does not run) through MMEngine's ``CheckpointLoader`` and through
``init_cfg=dict(type='Pretrained')``; runner-checkpoint globals load; the
trust switch is explicit. The tools' ``load_from`` / ``--resume`` / test
paths are checked end to end in ``tests/integration/test_train_test_tools.py``.
"""
import fractions
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner.checkpoint import CheckpointLoader
from mmseg.registry import MODELS

import mmallnet  # noqa: F401  (registers the loader)
from mmallnet.utils import (
    TRUST_ENV,
    UntrustedCheckpointError,
    checkpoint_trusted,
    load_local_checkpoint,
)
from mmallnet.utils.checkpoint_loading import history_buffer_getattr


@pytest.fixture
def untrusted(monkeypatch):
    monkeypatch.delenv(TRUST_ENV, raising=False)


@pytest.fixture
def crafted(crafted_checkpoint, untrusted):
    return crafted_checkpoint


def test_import_registers_the_loader_for_local_paths():
    assert CheckpointLoader._get_checkpoint_loader(
        '/some/file.pth') is load_local_checkpoint
    # other schemes keep MMEngine's loaders
    assert CheckpointLoader._get_checkpoint_loader(
        'https://host/file.pth') is not load_local_checkpoint


def test_crafted_file_is_refused_and_its_command_does_not_run(crafted):
    with pytest.raises(UntrustedCheckpointError) as info:
        CheckpointLoader.load_checkpoint(crafted['path'])
    message = str(info.value)
    assert crafted['path'] in message
    assert 'posix.system' in message
    assert '--trust-checkpoint' in message and f'{TRUST_ENV}=1' in message
    assert not crafted['marker'].exists()


def test_torch_itself_is_left_as_it_was(crafted):
    # the allow-list is active only inside our loader: torch.load of a
    # HistoryBuffer still fails outside it
    buffer = HistoryBuffer()
    buffer.update(1.0)
    path = str(crafted['marker']) + '.hb.pth'
    torch.save({'buffer': buffer}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
    assert load_local_checkpoint(path)['buffer'].mean() == 1.0


@pytest.mark.parametrize('backbone', [
    dict(type='ResNetV1c', depth=18),
    dict(type='InternImage',
         arch=dict(channels=16, depths=[1, 1, 1, 1], groups=[1, 2, 4, 8])),
], ids=['mmseg-ResNetV1c', 'InternImage'])
def test_pretrained_init_refuses_crafted_file(crafted, backbone):
    model = MODELS.build(
        dict(backbone,
             init_cfg=dict(type='Pretrained', checkpoint=crafted['path'])))
    with pytest.raises(UntrustedCheckpointError, match='posix.system'):
        model.init_weights()
    assert not crafted['marker'].exists()


def test_runner_checkpoint_globals_load(tmp_path, untrusted):
    hub = MessageHub.get_instance('test_checkpoint_loading')
    hub.update_scalar('train/loss', np.float32(2.5))
    hub.update_scalar('train/loss', 1.5)
    hub.update_info('eta', np.float64(12.0))
    checkpoint = dict(
        meta=dict(seed=0, dataset_meta=dict(classes=('a', 'b')),
                  steps=np.arange(3, dtype=np.int64)),
        state_dict={'w': torch.ones(2)},
        message_hub=hub.state_dict())
    path = str(tmp_path / 'runner.pth')
    torch.save(checkpoint, path)
    loaded = CheckpointLoader.load_checkpoint(path)
    restored = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(restored, HistoryBuffer)
    assert restored.mean() == 2.0 and restored.current() == 1.5
    assert restored._statistics_methods['max'] is HistoryBuffer.max
    assert loaded['message_hub']['runtime_info']['eta'] == 12.0
    np.testing.assert_array_equal(loaded['meta']['steps'], [0, 1, 2])
    assert loaded['meta']['steps'].dtype == np.int64


def test_getattr_is_allowed_only_for_history_buffer_statistics():
    assert history_buffer_getattr(HistoryBuffer, 'mean') is HistoryBuffer.mean
    with pytest.raises(pickle.UnpicklingError, match='not allowed'):
        history_buffer_getattr(HistoryBuffer, '__init__')
    with pytest.raises(pickle.UnpicklingError, match='not allowed'):
        history_buffer_getattr(os, 'system')


def test_getattr_payload_in_a_file_is_refused(tmp_path, untrusted):
    class GetattrPayload:
        # a method beyond the statistics ones, a step towards calling code

        def __reduce__(self):
            return (getattr, (HistoryBuffer, '__init__'))

    path = str(tmp_path / 'getattr.pth')
    torch.save({'x': GetattrPayload()}, path)
    with pytest.raises(UntrustedCheckpointError, match='__init__'):
        load_local_checkpoint(path)


def test_other_globals_need_explicit_trust(tmp_path, monkeypatch):
    path = str(tmp_path / 'fraction.pth')
    torch.save({'meta': {'ratio': fractions.Fraction(1, 3)}}, path)
    monkeypatch.delenv(TRUST_ENV, raising=False)
    with pytest.raises(UntrustedCheckpointError,
                       match=r"\['fractions.Fraction'\]"):
        load_local_checkpoint(path)
    monkeypatch.setenv(TRUST_ENV, '1')
    assert load_local_checkpoint(path)['meta']['ratio'] == fractions.Fraction(
        1, 3)


@pytest.mark.parametrize('value, trusted', [('', False), ('0', False),
                                            ('false', False), ('1', True),
                                            ('TRUE', True), ('yes', True)])
def test_trust_variable_values(monkeypatch, value, trusted):
    monkeypatch.setenv(TRUST_ENV, value)
    assert checkpoint_trusted() is trusted


def test_trust_variable_rejects_unclear_values(monkeypatch):
    monkeypatch.setenv(TRUST_ENV, 'maybe')
    with pytest.raises(ValueError, match=f"{TRUST_ENV}='maybe'"):
        checkpoint_trusted()


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nothing.pth'):
        load_local_checkpoint(str(tmp_path / 'nothing.pth'))
