"""Delta_MTL against single-task baselines."""
import pytest

from mmallnet.evaluation import functional as F


def test_delta_mtl_hand_computed():
    metrics = {'semseg.mIoU': 44.0, 'depth.rmse': 0.45, 'normals.mean': 22.0,
               'boundary.odsF': 70.0}
    baselines = {'semseg.mIoU': 40.0, 'depth.rmse': 0.5, 'normals.mean': 20.0}
    # +10 % (higher better), +10 % (rmse lower), -10 % (normals higher)
    assert F.delta_mtl(metrics, baselines) == pytest.approx(10 / 3)
    # explicit direction overrides the default table
    assert F.delta_mtl(metrics, baselines,
                       {'normals.mean': False}) == pytest.approx(10.0)
    # prefixed keys use the default table by their last component
    assert F.delta_mtl({'mt/noise/depth.rmse': 0.6},
                       {'mt/noise/depth.rmse': 0.5}) == pytest.approx(-20.0)


def test_delta_mtl_errors():
    with pytest.raises(KeyError, match="'depth.rmse' of `baselines`"):
        F.delta_mtl({}, {'depth.rmse': 0.5})
    with pytest.raises(KeyError, match='unknown direction'):
        F.delta_mtl({'x': 1.0}, {'x': 1.0})
    with pytest.raises(ValueError, match='baseline of'):
        F.delta_mtl({'depth.rmse': 1.0}, {'depth.rmse': 0.0})
    with pytest.raises(ValueError, match='empty'):
        F.delta_mtl({}, {})
