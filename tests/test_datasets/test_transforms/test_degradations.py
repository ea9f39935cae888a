# Copyright (c) mmallnet contributors. All rights reserved.
import copy
import json
import math

import numpy as np
import pytest
from mmseg.registry import TRANSFORMS
from scipy.stats import norm

import mmallnet.datasets.transforms.degradations as D


def _img(h=32, w=40, seed=0):
    return np.random.default_rng(seed).integers(
        0, 256, (h, w, 3), dtype=np.uint8)


def _run(transform, img, **keys):
    results = dict(img=img.copy(), **keys)
    return transform(results)


ALL = [
    D.GaussianNoise(),
    D.RainStreaks(),
    D.Fog(),
    D.MotionBlur(),
    D.RandomDegradation(['noise', 'rain', 'fog', 'blur']),
]
IDS = ['noise', 'rain', 'fog', 'blur', 'random']


# ---------------------------------------------------------------------------
# reproducibility, metainfo, clean copy
# ---------------------------------------------------------------------------
@pytest.mark.parametrize('transform', ALL, ids=IDS)
def test_reproducible_per_seed_and_key(transform):
    img_a, img_b = _img(seed=1), _img(seed=2)
    a1 = _run(transform, img_a, img_id='a')['img']
    b1 = _run(transform, img_b, img_id='b')['img']
    # reverse order, fresh instance with the same config
    fresh = copy.deepcopy(transform)
    b2 = _run(fresh, img_b, img_id='b')['img']
    a2 = _run(fresh, img_a, img_id='a')['img']
    np.testing.assert_array_equal(a1, a2)
    np.testing.assert_array_equal(b1, b2)
    # other key, other seed -> other degradation of the same image
    other_key = _run(transform, img_a, img_id='c')['img']
    assert not np.array_equal(a1, other_key)
    reseeded = copy.deepcopy(transform)
    reseeded.seed = 1
    assert not np.array_equal(a1, _run(reseeded, img_a, img_id='a')['img'])


@pytest.mark.parametrize('transform', ALL, ids=IDS)
def test_seed_none_differs_between_calls(transform):
    t = copy.deepcopy(transform)
    t.seed = None
    img = _img()
    r1 = _run(t, img, img_id='a')
    r2 = _run(t, img, img_id='a')
    assert not np.array_equal(r1['img'], r2['img'])
    # the drawn seed is recorded and reproduces the sample
    seed = r1['degradation_params']['seed']
    replay = t
    if isinstance(t, D.RandomDegradation):  # replay the chosen child
        replay = next(c for c in t.degradations
                      if c.degradation_type == r1['degradation_type'])
    out = replay.apply(dict(img=img.copy(), img_id='a'), seed)['img']
    np.testing.assert_array_equal(out, r1['img'])


@pytest.mark.parametrize('transform', ALL, ids=IDS)
def test_metainfo_and_clean_copy(transform):
    img = _img()
    results = _run(transform, img, img_id='x', img_path='x.png')
    assert results['img'].dtype == np.uint8
    assert results['img'].shape == img.shape
    np.testing.assert_array_equal(results['gt_clean_img'], img)
    assert results['degradation_type'] in ('noise', 'rain', 'fog', 'blur')
    params = results['degradation_params']
    assert json.loads(json.dumps(params)) == params
    assert isinstance(params['seed'], int)
    if not isinstance(transform, D.RandomDegradation):
        assert params['seed'] == 0
    for v in params.values():
        assert type(v) in (int, float, str, list)
    # an existing clean copy is kept (chained degradations)
    clean = np.zeros_like(img)
    results = transform(dict(img=img.copy(), gt_clean_img=clean, img_id='x'))
    assert results['gt_clean_img'] is clean


def test_sample_key_priority_and_missing():
    t = D.GaussianNoise(sigmas=25)
    img = _img()
    r1 = _run(t, img, img_id='7', img_path='/a/7.png', sample_idx=0)
    r2 = _run(t, img, img_id='7', img_path='/b/other.png', sample_idx=5)
    np.testing.assert_array_equal(r1['img'], r2['img'])
    r3 = _run(t, img, img_path='/a/7.png', sample_idx=0)
    r4 = _run(t, img, img_path='/a/7.png', sample_idx=9)
    np.testing.assert_array_equal(r3['img'], r4['img'])
    r5 = _run(t, img, sample_idx=3)
    r6 = _run(t, img, sample_idx=3)
    np.testing.assert_array_equal(r5['img'], r6['img'])
    with pytest.raises(KeyError, match='img_id.*img_path.*sample_idx'):
        t(dict(img=img.copy()))


def test_stable_int_and_salt():
    # fixed value: sha256 based, independent of the process hash seed
    assert D.stable_int('0001') == int.from_bytes(
        __import__('hashlib').sha256(b'0001').digest()[:8], 'little')
    assert D.stable_int(1) == D.stable_int('1')
    # different transform types draw from different streams
    assert D.GaussianNoise().salt != D.Fog().salt


def test_build_from_registry():
    for name in ('GaussianNoise', 'RainStreaks', 'Fog', 'MotionBlur',
                 'CleanImage'):
        t = TRANSFORMS.build(dict(type=name))
        assert isinstance(t, D.BaseDegradation)
        assert name in repr(t)
    t = TRANSFORMS.build(
        dict(type='RandomDegradation',
             degradations=[dict(type='GaussianNoise', sigmas=[15])]))
    assert isinstance(t.degradations[0], D.GaussianNoise)


# ---------------------------------------------------------------------------
# noise
# ---------------------------------------------------------------------------
def _clipped_moments(sigma, low, high):
    """Mean/std of clip(N(0, sigma^2), low, high) (exact)."""
    a, b = low / sigma, high / sigma
    pa, pb = norm.cdf(a), norm.cdf(b)
    da, db = norm.pdf(a), norm.pdf(b)
    mean = low * pa + high * (1 - pb) + sigma * (da - db)
    second = (low**2 * pa + high**2 * (1 - pb) + sigma**2 *
              ((pb - pa) + a * da - b * db))
    return mean, math.sqrt(second - mean**2)


@pytest.mark.parametrize('sigma', [15, 25, 50])
def test_noise_sigma_and_mean(sigma):
    img = np.full((256, 256, 3), 128, np.uint8)
    results = _run(D.GaussianNoise(sigmas=[sigma]), img, img_id='gray')
    assert results['degradation_params']['sigma'] == sigma
    diff = results['img'].astype(np.float64) - 128
    # clipping to [0, 255] truncates the normal at -128 / +127: negligible
    # for sigma <= 25 (>5 sigma), noticeable for 50 (~2.5 sigma)
    mean, std = _clipped_moments(sigma, -128.0, 127.0)
    std = math.sqrt(std**2 + 1 / 12)  # rounding to integers
    n = diff.size
    assert abs(diff.std() - std) < 4 * std / math.sqrt(2 * n) + 0.02
    assert abs(diff.mean() - mean) < 4 * sigma / math.sqrt(n)
    if sigma <= 25:
        assert abs(diff.std() - sigma) < 0.1
        assert abs(diff.mean()) < 0.2
    else:
        assert diff.std() < sigma - 0.5  # clipping shrinks the spread


def test_noise_exact_maths_and_rounding():
    img = _img()
    out = D.add_gaussian_noise(img, 25.0, np.random.default_rng(3))
    noise = np.random.default_rng(3).standard_normal(img.shape)
    expected = np.rint(np.clip(img + 25.0 * noise, 0, 255)).astype(np.uint8)
    np.testing.assert_array_equal(out, expected)
    out = D.add_gaussian_noise(img, 25.0, np.random.default_rng(3), 'floor')
    expected = np.floor(np.clip(img + 25.0 * noise, 0, 255)).astype(np.uint8)
    np.testing.assert_array_equal(out, expected)
    # truncation biases the mean by about -0.5 grey levels
    gray = np.full((256, 256, 3), 128, np.uint8)
    floor = D.GaussianNoise(sigmas=15, rounding='floor')
    diff = _run(floor, gray, img_id='g')['img'].astype(np.float64) - 128
    assert abs(diff.mean() + 0.5) < 0.1


def test_noise_sigma_choice_covers_all_levels():
    t = D.GaussianNoise()
    img = _img(4, 4)
    seen = {
        _run(t, img, img_id=i)['degradation_params']['sigma']
        for i in range(60)
    }
    assert seen == {15.0, 25.0, 50.0}


# ---------------------------------------------------------------------------
# rain
# ---------------------------------------------------------------------------
def test_rain_blending_law_and_brightens():
    img = _img(48, 64)
    kw = dict(density=0.01, length=15, angle=20.0, width=2, blur=0.8,
              intensity=0.8)
    layer = D.rain_layer(img.shape[:2], np.random.default_rng(5), **kw)
    assert layer.min() >= 0 and layer.max() <= 1 and layer.max() > 0.3
    j = img / 255.0
    r = layer.astype(np.float64)[..., None]
    screen = D.add_rain(img, np.random.default_rng(5), blend='screen', **kw)
    np.testing.assert_array_equal(
        screen, np.rint(255 * (1 - (1 - j) * (1 - r))).astype(np.uint8))
    add = D.add_rain(img, np.random.default_rng(5), blend='add', **kw)
    np.testing.assert_array_equal(
        add, np.rint(255 * np.minimum(j + r, 1)).astype(np.uint8))
    assert (screen >= img).all() and (add >= img).all()
    assert (screen > img).mean() > 0.05
    # gray streaks: equal channels stay equal
    gray = np.repeat(img[..., :1], 3, axis=2)
    out = D.add_rain(gray, np.random.default_rng(5), **kw)
    assert (out[..., 0] == out[..., 1]).all()
    assert (out[..., 0] == out[..., 2]).all()


def test_rain_streak_direction():
    # vertical streaks: the layer varies far less along columns than rows
    layer = D.rain_layer((64, 64), np.random.default_rng(0), 0.01, 21, 0.0,
                         1, 0.0, 1.0)
    assert (np.abs(np.diff(layer, axis=0)).sum() <
            0.5 * np.abs(np.diff(layer, axis=1)).sum())
    k = D.line_kernel(9, 0.0, 1)  # exactly 9 pixels of the centre column
    c = k.shape[1] // 2
    assert k.shape == (11, 11) and k.sum() == 9 and k[1:10, c].sum() == 9
    k = D.line_kernel(12, 35.0, 2)
    assert k.max() == 1.0 and k.min() == 0.0 and k.shape[0] % 2 == 1
    np.testing.assert_allclose(k, k[::-1, ::-1])  # point-symmetric
    c = k.shape[1] // 2
    # top leans right: mass in the top-right and bottom-left quadrants
    assert k[:c, c + 1:].sum() > 10 * k[:c, :c].sum()


def test_rain_transform_params():
    t = D.RainStreaks(density=0.01, length=(10, 12), angle=5.0, width=1,
                      blur=0.0, intensity=(0.5, 0.6))
    img = _img()
    results = _run(t, img, img_id='r')
    p = results['degradation_params']
    assert p['density'] == 0.01 and p['angle'] == 5.0 and p['width'] == 1
    assert p['length'] in (10, 11, 12) and isinstance(p['length'], int)
    assert 0.5 <= p['intensity'] <= 0.6 and p['blend'] == 'screen'
    assert (results['img'] >= img).all()


# ---------------------------------------------------------------------------
# fog
# ---------------------------------------------------------------------------
def test_fog_zero_depth_is_identity():
    img = _img()
    np.testing.assert_array_equal(
        D.add_fog(img, np.zeros(img.shape[:2]), 1.5, 0.9), img)
    results = _run(D.Fog(), img, img_id='f',
                   gt_depth=np.zeros(img.shape[:2], np.float32))
    np.testing.assert_array_equal(results['img'], img)
    assert results['degradation_params']['depth_source'] == 'gt'


def test_fog_large_depth_tends_to_airlight():
    img = _img()
    out = D.add_fog(img, np.ones(img.shape[:2]), 60.0, 0.8)
    assert (out == round(255 * 0.8)).all()
    # with max_depth small every valid pixel is at normalised depth 1
    results = _run(D.Fog(beta=40.0, airlight=0.7, max_depth=1.0), img,
                   img_id='f', gt_depth=np.full(img.shape[:2], 5.0,
                                                np.float32))
    assert (results['img'] == round(255 * 0.7)).all()


def test_fog_exact_maths_and_monotonic():
    img = _img()
    depth = np.random.default_rng(0).uniform(0.5, 12, img.shape[:2])
    depth[0, :5] = 0  # invalid -> max valid depth
    t = D.Fog(max_depth=10.0)
    results = _run(t, img, img_id='f', gt_depth=depth.astype(np.float32))
    p = results['degradation_params']
    assert 0.6 <= p['beta'] <= 1.8 and 0.7 <= p['airlight'] <= 1.0
    d = depth.astype(np.float32).astype(np.float64)
    d[0, :5] = d.max()
    tr = np.exp(-p['beta'] * np.clip(d / 10.0, 0, 1))[..., None]
    expected = np.rint(img * tr + 255 * p['airlight'] * (1 - tr))
    np.testing.assert_array_equal(results['img'], expected.astype(np.uint8))
    # monotonic: pixels move toward the airlight as depth grows
    ramp = np.tile(np.linspace(0, 1, 50), (4, 1))
    dark = D.add_fog(np.full((4, 50, 3), 30, np.uint8), ramp, 1.2, 0.9)
    bright = D.add_fog(np.full((4, 50, 3), 250, np.uint8), ramp, 1.2, 0.9)
    assert (np.diff(dark.astype(int), axis=1) >= 0).all()
    assert (np.diff(bright.astype(int), axis=1) <= 0).all()
    assert dark[0, -1, 0] > dark[0, 0, 0] and bright[0, -1, 0] < 250


def test_fog_depth_normalisation_and_prior():
    depth = np.array([[0.0, 2.0], [4.0, 30.0]])
    np.testing.assert_allclose(
        D.normalize_depth(depth, 10.0), [[1.0, 0.2], [0.4, 1.0]])
    depth = np.array([[0.0, 2.0], [4.0, 0.0]])
    np.testing.assert_allclose(
        D.normalize_depth(depth, 10.0), [[0.4, 0.2], [0.4, 0.4]])
    np.testing.assert_array_equal(D.normalize_depth(np.zeros((3, 3)), 5),
                                  np.zeros((3, 3)))
    prior = D.depth_prior(5, 3, near=0.2, far=1.0)
    np.testing.assert_allclose(prior[:, 0], [1.0, 0.8, 0.6, 0.4, 0.2])
    assert (prior == prior[:, :1]).all()
    img = np.full((20, 8, 3), 40, np.uint8)
    results = _run(D.Fog(airlight=1.0), img, img_id='p')
    assert results['degradation_params']['depth_source'] == 'prior'
    out = results['img'][:, 0, 0].astype(int)
    assert (np.diff(out) <= 0).all() and out[0] > out[-1]
    # depth_key=None ignores a present depth map
    results = _run(D.Fog(depth_key=None), img, img_id='p',
                   gt_depth=np.zeros((20, 8), np.float32))
    assert results['degradation_params']['depth_source'] == 'prior'


def test_fog_depth_shape_mismatch():
    with pytest.raises(ValueError, match=r"gt_depth.*\(10, 10\).*\(32, 40\)"):
        _run(D.Fog(), _img(), img_id='f',
             gt_depth=np.ones((10, 10), np.float32))


# ---------------------------------------------------------------------------
# motion blur
# ---------------------------------------------------------------------------
@pytest.mark.parametrize('mode', ['linear', 'trajectory'])
def test_motion_kernels_normalised(mode):
    for i in range(20):
        size = 7 + 2 * (i % 8)
        kernel, info = D.random_motion_kernel(
            np.random.default_rng(i), size, mode)
        assert kernel.shape == (size, size)
        assert (kernel >= 0).all()
        assert abs(kernel.sum() - 1) < 1e-12
        assert info['mode'] == mode and info['kernel_size'] == size
        assert 0 <= info['length'] <= (2 * size if mode == 'trajectory' else
                                       size - 1)
        assert (kernel > 0).sum() > 1


def test_linear_kernel_geometry():
    k = D.linear_motion_kernel(9, 0.0, 8.0)
    assert (k[[0, 1, 2, 3, 5, 6, 7, 8]] == 0).all()  # only the centre row
    np.testing.assert_allclose(k[4, 1:8], k[4, 4])  # uniform inside
    np.testing.assert_allclose(D.linear_motion_kernel(9, 90.0, 8.0), k.T,
                               atol=1e-12)
    ident = D.linear_motion_kernel(5, 30.0, 0.0)
    assert ident[2, 2] == 1.0 and ident.sum() == 1.0


def test_motion_blur_constant_and_stripes():
    const = np.full((30, 30, 3), 77, np.uint8)
    for i in range(10):
        k, _ = D.random_motion_kernel(np.random.default_rng(i), 15)
        np.testing.assert_array_equal(D.motion_blur(const, k), const)
    horizontal = D.linear_motion_kernel(11, 0.0, 10.0)
    rows = np.zeros((30, 40, 3), np.uint8)
    rows[::4] = 200  # horizontal stripes: constant along x
    np.testing.assert_array_equal(D.motion_blur(rows, horizontal), rows)
    cols = np.ascontiguousarray(rows.transpose(1, 0, 2))  # vertical stripes
    blurred = D.motion_blur(cols, horizontal)
    assert not np.array_equal(blurred, cols)
    assert blurred.std() < 0.5 * cols.std()
    # true convolution (not correlation): mass at offset -1 in x gives
    # out(x) = img(x + 1)
    shift = np.zeros((3, 3))
    shift[1, 0] = 1.0
    img = _img()
    np.testing.assert_array_equal(D.motion_blur(img, shift)[:, :-1],
                                  img[:, 1:])


def test_motion_blur_transform():
    img = _img()
    for mode in ('linear', 'trajectory'):
        t = D.MotionBlur(kernel_size=(9, 9), mode=mode)
        results = _run(t, img, img_id='m')
        p = results['degradation_params']
        assert p['mode'] == mode and p['kernel_size'] == 9
        assert set(p) == {'mode', 'kernel_size', 'angle', 'length', 'seed'}
        # same draws as the pure functions on the per-sample generator
        rng = D.sample_rng(0, 'm', t.salt)
        assert int(rng.integers(1)) == 0  # the kernel-size draw
        kernel, info = D.random_motion_kernel(rng, 9, mode)
        assert info['angle'] == p['angle']
        np.testing.assert_array_equal(results['img'],
                                      D.motion_blur(img, kernel))
    modes = {
        _run(D.MotionBlur(), img[:8, :8], img_id=i)['degradation_params']
        ['mode']
        for i in range(30)
    }
    assert modes == {'linear', 'trajectory'}
    sizes = {
        _run(D.MotionBlur((7, 11)), img[:8, :8],
             img_id=i)['degradation_params']['kernel_size']
        for i in range(40)
    }
    assert sizes == {7, 9, 11}


# ---------------------------------------------------------------------------
# random choice and clean
# ---------------------------------------------------------------------------
def test_random_degradation_probabilities():
    t = D.RandomDegradation(
        [dict(type='GaussianNoise', sigmas=[15]), 'fog',
         D.CleanImage()],
        probs=[0.5, 0.3, 0.2], clean_prob=0.2)
    img = _img(4, 4)
    n = 3000
    types = [
        _run(t, img, img_id=f'{i:05d}')['degradation_type']
        for i in range(n)
    ]
    counts = {k: types.count(k) / n for k in ('noise', 'fog', 'clean')}
    assert abs(counts['noise'] - 0.8 * 0.5) < 0.04
    assert abs(counts['fog'] - 0.8 * 0.3) < 0.04
    assert abs(counts['clean'] - (0.2 + 0.8 * 0.2)) < 0.04
    again = [
        _run(t, img, img_id=f'{i:05d}')['degradation_type']
        for i in reversed(range(200))
    ]
    assert again == types[:200][::-1]


def test_random_degradation_child_seed_replays():
    noise = D.GaussianNoise(sigmas=[25], seed=123)
    t = D.RandomDegradation([noise])
    img = _img()
    results = _run(t, img, img_id='q')
    child_seed = results['degradation_params']['seed']
    assert child_seed != 123
    replay = D.GaussianNoise(sigmas=[25], seed=child_seed)
    np.testing.assert_array_equal(
        _run(replay, img, img_id='q')['img'], results['img'])


def test_clean_paths():
    img = _img()
    results = _run(D.RandomDegradation(['noise'], clean_prob=1.0), img,
                   img_id='c')
    assert results['degradation_type'] == 'clean'
    assert results['degradation_params'] == {}
    np.testing.assert_array_equal(results['img'], img)
    np.testing.assert_array_equal(results['gt_clean_img'], img)
    results = D.CleanImage()(dict(img=img.copy()))  # needs no sample key
    assert results['degradation_type'] == 'clean'
    assert results['degradation_params'] == {}
    np.testing.assert_array_equal(results['img'], img)
    np.testing.assert_array_equal(results['gt_clean_img'], img)


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------
def test_errors():
    with pytest.raises(KeyError, match=r"degradations\[1\].*'Snow'.*"
                       r"GaussianNoise"):
        D.RandomDegradation(['noise', dict(type='Snow')])
    with pytest.raises(KeyError, match=r"degradations\[0\].*'type'"):
        D.RandomDegradation([dict(sigmas=[15])])
    with pytest.raises(TypeError, match='not a degradation'):
        D.RandomDegradation([dict(type='RandomFlip', prob=0.5)])
    with pytest.raises(ValueError, match='probs'):
        D.RandomDegradation(['noise', 'fog'], probs=[1.0])
    with pytest.raises(ValueError, match='probs'):
        D.RandomDegradation(['noise', 'fog'], probs=[-0.1, 1.1])
    with pytest.raises(ValueError, match='clean_prob'):
        D.RandomDegradation(['noise'], clean_prob=1.5)
    with pytest.raises(ValueError, match='sigmas'):
        D.GaussianNoise(sigmas=[15, -1])
    with pytest.raises(ValueError, match='sigmas'):
        D.GaussianNoise(sigmas=[])
    with pytest.raises(ValueError, match='seed'):
        D.GaussianNoise(seed=-1)
    with pytest.raises(ValueError, match='density'):
        D.RainStreaks(density=(0.5, 0.1))
    with pytest.raises(ValueError, match='beta'):
        D.Fog(beta=-1.0)
    with pytest.raises(ValueError, match='kernel_size'):
        D.MotionBlur(kernel_size=(8, 8))
    with pytest.raises(ValueError, match='mode'):
        D.MotionBlur(mode='zoom')
    t = D.GaussianNoise()
    with pytest.raises(TypeError, match=r"'img'.*HxWx3 uint8"):
        t(dict(img=np.zeros((4, 4, 3), np.float32), img_id='a'))
    with pytest.raises(ValueError, match=r"'img'.*HxWx3 uint8.*\(4, 4\)"):
        t(dict(img=np.zeros((4, 4), np.uint8), img_id='a'))
    with pytest.raises(KeyError, match="'img'"):
        t(dict(img_id='a'))
