"""Every task loss is registered and names itself."""

import pytest
from mmseg.registry import MODELS


@pytest.mark.parametrize('cfg, name', [
    (dict(type='DepthL1Loss'), 'loss_depth'),
    (dict(type='NormalL1Loss'), 'loss_normals'),
    (dict(type='WeightedBCELoss'), 'loss_boundary'),
    (dict(type='BalancedBCELoss'), 'loss_saliency'),
    (dict(type='RestorationLoss'), 'loss_restoration'),
])
def test_registered_and_named(cfg, name):
    loss = MODELS.build(cfg)
    assert loss.loss_name == name
    assert loss.loss_weight == 1.0
    with pytest.raises(ValueError, match=f'{cfg["type"]}: `loss_name`'):
        MODELS.build(dict(cfg, loss_name='depth'))
