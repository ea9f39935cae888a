"""average_over_degradations: the degraded mean of the per-set metrics."""
from mmallnet.engine.hooks import average_over_degradations


def test_average_over_degradations_keys():
    metrics = {
        'mt/semseg.mIoU': 40.0, 'mt/clean/semseg.mIoU': 50.0,
        'mt/noise_15/semseg.mIoU': 30.0, 'mt/fog/semseg.mIoU': 20.0,
        'mt/fog/depth.rmse': 1.0, 'route/fog/expert0': 1.0
    }
    assert average_over_degradations(metrics) == {
        'mt/degraded_mean/semseg.mIoU': 25.0
    }
    assert average_over_degradations({'mt/semseg.mIoU': 1.0}) == {}
