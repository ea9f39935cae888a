"""check_checkpoint_fits: keys and shapes of a checkpoint against a model."""
import logging

import pytest
import torch
from mmengine.logging import MMLogger

from mmallnet.utils import (
    CheckpointMismatchError,
    check_checkpoint_fits,
    checkpoint_state_dict,
    compare_state_dicts,
)


def toy_model() -> torch.nn.Module:
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4),
        torch.nn.Conv2d(4, 2, 1))


def test_a_checkpoint_of_the_model_fits():
    model = toy_model()
    checkpoint = dict(state_dict={
        f'module.{k}': v
        for k, v in model.state_dict().items()
    }, meta=dict())
    fit = check_checkpoint_fits(model, checkpoint, 'a.pth')
    assert fit.fits and fit.matched == len(model.state_dict()) == 9


def test_mismatches_are_listed_exactly():
    model = toy_model()
    state_dict = dict(model.state_dict())
    del state_dict['1.running_var']
    state_dict['3.weight'] = torch.zeros(1)
    state_dict['2.weight'] = torch.zeros(5, 4, 1, 1)
    fit = compare_state_dicts(model, state_dict)
    assert fit.missing == ['1.running_var']
    assert fit.unexpected == ['3.weight']
    assert fit.shape_mismatched == [('2.weight', (5, 4, 1, 1),
                                     (2, 4, 1, 1))]
    assert fit.matched == 7 and not fit.fits
    with pytest.raises(CheckpointMismatchError) as error:
        check_checkpoint_fits(model, state_dict, 'work/other.pth',
                              hint='use --allow-partial')
    assert str(error.value) == (
        'Checkpoint work/other.pth does not fit the model (Sequential): 7 '
        'of 9 model keys match.\n'
        '  1 missing from the checkpoint (would stay as initialised): '
        '1.running_var\n'
        '  1 not in the model: 3.weight\n'
        '  1 with other shapes (checkpoint vs model): 2.weight [5, 4, 1, 1] '
        'vs [2, 4, 1, 1]\n'
        'Refusing to load it; use --allow-partial.')


def test_no_common_key_says_so_and_long_lists_are_cut():
    model = torch.nn.Linear(2, 2)
    other = {f'layer{i}.weight': torch.zeros(1) for i in range(10)}
    with pytest.raises(CheckpointMismatchError) as error:
        check_checkpoint_fits(model, dict(state_dict=other), 'x.pth')
    message = str(error.value)
    assert '0 of 2 model keys match. No key matches: is it a checkpoint ' \
        'of another model?' in message
    assert 'layer7.weight, ... (2 more)' in message
    assert 'layer8.weight' not in message


def test_allow_partial_warns():
    model = torch.nn.Linear(2, 2)
    records = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        fit = check_checkpoint_fits(
            model, dict(weight=torch.zeros(2, 2)), 'p.pth',
            allow_partial=True)
    finally:
        logger.removeHandler(handler)
    assert fit.missing == ['bias'] and fit.matched == 1
    assert [r.levelno for r in records] == [logging.WARNING]
    message = records[0].getMessage()
    assert message.startswith('Checkpoint p.pth does not fit the model')
    assert message.endswith(
        'Loading the 1 keys that fit (partial load allowed).')


def test_state_dict_must_be_a_mapping():
    with pytest.raises(CheckpointMismatchError, match='holds no state dict'):
        checkpoint_state_dict(dict(state_dict=[1, 2]))


def test_config_weight_files_only_for_a_cascade_with_both_stages():
    from mmallnet.utils import config_weight_files
    cascade = dict(type='TwoStageCascade', restorer_checkpoint='r.pth',
                   predictor_checkpoint='p.pth')
    assert config_weight_files(cascade) == ['r.pth', 'p.pth']
    with pytest.raises(ValueError, match=r"'MultiTaskEncoderDecoder' does "
                       'not load its weights'):
        config_weight_files(dict(type='MultiTaskEncoderDecoder'))
    with pytest.raises(ValueError, match=r'leaves model\.predictor_'
                       r'checkpoint unset.*model\.predictor_checkpoint=PATH'):
        config_weight_files(dict(cascade, predictor_checkpoint=None))
    with pytest.raises(ValueError, match=r'model\.restorer_checkpoint, '
                       r'model\.predictor_checkpoint unset'):
        config_weight_files(dict(type='TwoStageCascade'))
