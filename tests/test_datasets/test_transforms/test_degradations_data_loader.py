"""A degraded test set is identical whatever the worker count or order."""
import numpy as np
from mmengine.dataset import pseudo_collate
from torch.utils.data import DataLoader

from mmallnet.datasets import NYUDMultiTaskDataset

DEGRADATIONS = [
    dict(type='GaussianNoise'),
    dict(type='RainStreaks'),
    dict(type='Fog'),
    dict(type='MotionBlur'),
]
PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadMultiTaskAnnotations'),
    dict(type='RandomDegradation', degradations=DEGRADATIONS, seed=3),
    dict(type='PackMultiTaskInputs'),
]


def _degraded(dataset, num_workers, shuffle):
    loader = DataLoader(
        dataset, batch_size=2, num_workers=num_workers, shuffle=shuffle,
        collate_fn=pseudo_collate)
    out = {}
    for batch in loader:
        for img, sample in zip(batch['inputs'], batch['data_samples']):
            out[sample.img_id] = (img.numpy(), sample.degradation_type,
                                  sample.degradation_params)
    return out


def test_same_degradation_for_any_worker_count_and_order(nyud_root):
    dataset = NYUDMultiTaskDataset(
        data_root=nyud_root['root'], split='train', tasks=['depth'],
        pipeline=PIPELINE)
    reference = _degraded(dataset, num_workers=0, shuffle=False)
    assert sorted(reference) == ['0000', '0001', '0002']
    for num_workers, shuffle in ((2, False), (2, True), (0, True)):
        other = _degraded(dataset, num_workers, shuffle)
        assert sorted(other) == sorted(reference)
        for img_id, (img, kind, params) in reference.items():
            np.testing.assert_array_equal(other[img_id][0], img)
            assert other[img_id][1:] == (kind, params)
    # the images really are degraded and the record says how
    for img_id, (img, kind, params) in reference.items():
        clean = nyud_root['samples'][img_id]['img'][..., ::-1]
        assert kind in ('noise', 'rain', 'fog', 'blur')
        assert params['seed'] is not None
        assert not np.array_equal(img.transpose(1, 2, 0), clean)
