import numpy as np
import pytest

from mmallnet.datasets.transforms import (
    MultiTaskRandomCrop,
    MultiTaskRandomFlip,
    MultiTaskRandomResize,
)


def _results(h=8, w=10):
    rng = np.random.default_rng(0)
    normals = rng.normal(size=(h, w, 3)).astype(np.float32)
    normals /= np.linalg.norm(normals, axis=-1, keepdims=True)
    normals[0, 0] = 0  # an invalid (zero) normal
    return dict(
        img=rng.integers(0, 256, (h, w, 3), dtype=np.uint8),
        gt_clean_img=rng.integers(0, 256, (h, w, 3), dtype=np.uint8),
        gt_seg_map=rng.integers(0, 4, (h, w)).astype(np.uint8),
        gt_depth=np.full((h, w), 3.0, np.float32),
        gt_normal=normals,
        gt_boundary=rng.integers(0, 2, (h, w)).astype(np.uint8),
        seg_fields=['gt_seg_map', 'gt_depth', 'gt_normal', 'gt_boundary'])


@pytest.mark.parametrize('scale', [0.5, 2.0, 1.5])
def test_resize_divides_depth_by_scale(scale):
    results = MultiTaskRandomResize.rescale(_results(), scale)
    h, w = round(8 * scale), round(10 * scale)
    for key in ('img', 'gt_clean_img', 'gt_seg_map', 'gt_depth', 'gt_normal'):
        assert results[key].shape[:2] == (h, w), key
    np.testing.assert_allclose(results['gt_depth'], 3.0 / scale, rtol=1e-6)
    assert results['img_shape'] == (h, w)


def test_resize_labels_use_nearest():
    original = _results()
    results = MultiTaskRandomResize.rescale(_results(), 1.7)
    assert set(np.unique(results['gt_seg_map'])) <= set(
        np.unique(original['gt_seg_map']))
    assert set(np.unique(results['gt_boundary'])) <= {0, 1}


def test_resize_ratio_range_is_respected():
    np.random.seed(0)
    transform = MultiTaskRandomResize(ratio_range=(0.5, 2.0))
    for _ in range(20):
        results = transform(_results())
        assert 0.5 * 8 - 1 <= results['img_shape'][0] <= 2.0 * 8 + 1
    with pytest.raises(ValueError, match='ratio_range'):
        MultiTaskRandomResize(ratio_range=(2.0, 1.0))


def test_flip_negates_normal_x_and_flips_everything():
    original = _results()
    results = MultiTaskRandomFlip(prob=1.0)(_results())
    assert results['flip'] and results['flip_direction'] == 'horizontal'
    for key in ('img', 'gt_clean_img', 'gt_seg_map', 'gt_depth',
                'gt_boundary'):
        np.testing.assert_array_equal(results[key], original[key][:, ::-1])
    expected = original['gt_normal'][:, ::-1].copy()
    expected[..., 0] *= -1
    np.testing.assert_array_equal(results['gt_normal'], expected)
    # the invalid zero normal stays a zero vector
    np.testing.assert_array_equal(np.abs(results['gt_normal'][0, -1]), 0)


def test_vertical_flip_negates_normal_y():
    original = _results()
    results = MultiTaskRandomFlip(prob=1.0, direction='vertical')(_results())
    expected = original['gt_normal'][::-1].copy()
    expected[..., 1] *= -1
    np.testing.assert_array_equal(results['gt_normal'], expected)


def test_flip_twice_is_identity_and_prob_zero_never_flips():
    original = _results()
    flip = MultiTaskRandomFlip(prob=1.0)
    results = flip(flip(_results()))
    for key in ('img', 'gt_normal', 'gt_depth'):
        np.testing.assert_array_equal(results[key], original[key])
    results = MultiTaskRandomFlip(prob=0.0)(_results())
    assert results['flip'] is False
    np.testing.assert_array_equal(results['gt_normal'], original['gt_normal'])


def test_crop_is_consistent_across_fields():
    original = _results(16, 20)
    # encode the pixel position in every field to find the crop window
    pos = np.arange(16 * 20).reshape(16, 20)
    original['gt_depth'] = pos.astype(np.float32)
    results = MultiTaskRandomCrop(crop_size=(8, 10))(dict(
        original, **{k: v.copy() for k, v in original.items()
                     if isinstance(v, np.ndarray)}))
    y0, x0 = divmod(int(results['gt_depth'][0, 0]), 20)
    window = (slice(y0, y0 + 8), slice(x0, x0 + 10))
    for key in ('img', 'gt_clean_img', 'gt_seg_map', 'gt_normal'):
        np.testing.assert_array_equal(results[key], original[key][window])
    assert results['img_shape'] == (8, 10)


def test_crop_cat_max_ratio_without_semseg():
    results = _results(16, 20)
    del results['gt_seg_map']
    results['seg_fields'].remove('gt_seg_map')
    out = MultiTaskRandomCrop(crop_size=(8, 10), cat_max_ratio=0.75)(results)
    assert out['img'].shape[:2] == (8, 10)


def test_pad_uses_each_task_ignore_value():
    from mmallnet.datasets.transforms import MultiTaskPad
    original = _results(8, 10)
    results = MultiTaskPad(size=(12, 16))(_results(8, 10))
    assert results['img_shape'] == (12, 16)
    for key in ('img', 'gt_clean_img', 'gt_seg_map', 'gt_depth', 'gt_normal',
                'gt_boundary'):
        assert results[key].shape[:2] == (12, 16), key
        np.testing.assert_array_equal(results[key][:8, :10], original[key])
    assert (results['img'][8:] == 0).all()
    assert (results['gt_seg_map'][8:] == 255).all()
    assert (results['gt_seg_map'][:, 10:] == 255).all()
    assert (results['gt_boundary'][:, 10:] == 255).all()
    assert (results['gt_depth'][8:] == 0).all()
    assert (results['gt_normal'][:, 10:] == 0).all()
    with pytest.raises(ValueError, match=r'larger than the pad size'):
        MultiTaskPad(size=(4, 4))(_results(8, 10))
    bad = _results(8, 10)
    bad['seg_fields'].append('gt_unknown')
    bad['gt_unknown'] = np.zeros((8, 10))
    with pytest.raises(KeyError, match='gt_unknown'):
        MultiTaskPad(size=(12, 16))(bad)
