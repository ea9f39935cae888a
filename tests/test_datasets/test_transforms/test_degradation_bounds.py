"""Degradation parameters are bounded at construction (issue 13)."""
import re

import numpy as np
import pytest

import mmallnet.datasets.transforms.degradations as D
from mmallnet.datasets.degraded_benchmark import benchmark_sets


def test_noise_sigma_bounds_and_scale_hint():
    with pytest.raises(ValueError, match=re.escape(
            'sigmas must be <= 128 on the 0..255 scale, got 5000')):
        D.GaussianNoise(sigmas=5000)
    message = ('sigmas must be > 1 on the 0..255 scale, got 0.1: did you '
               'give sigma on a 0..1 scale? Multiply by 255 (e.g. 0.1 -> '
               '25.5).')
    with pytest.raises(ValueError, match=f'^{re.escape(message)}$'):
        D.GaussianNoise(sigmas=0.1)
    with pytest.raises(ValueError, match='0..1 scale'):
        D.GaussianNoise(sigmas=(15, 25 / 255))
    with pytest.raises(ValueError, match='got 1:'):
        D.GaussianNoise(sigmas=1)
    assert D.GaussianNoise(sigmas=(1.5, 128)).sigmas == [1.5, 128.0]


def test_fog_bounds_and_hints():
    with pytest.raises(ValueError, match=r'^beta must satisfy 0 <= min <= '
                       r'max <= 100, got 1000000000\.0\. beta is per unit of '
                       'normalised depth'):
        D.Fog(beta=1e9)
    assert D.Fog(beta=100.0).beta == (100.0, 100.0)
    with pytest.raises(ValueError, match=r'airlight must satisfy 0 <= min <= '
                       r'max <= 1, got \(180, 255\)\. airlight is on a 0\.\.1 '
                       'scale; did you give it on 0..255'):
        D.Fog(airlight=(180, 255))
    with pytest.raises(ValueError, match=r'max_depth must be <= 1000 m, got '
                       r'10000\.0: .*millimetres\? Divide by 1000'):
        D.Fog(max_depth=10000.0)
    with pytest.raises(ValueError, match='beta must be finite'):
        D.Fog(beta=(0.6, float('inf')))


@pytest.mark.parametrize('kwargs, match', [
    (dict(density=0.5), r'density must satisfy 0 <= min <= max <= 0\.05, '
     r'got 0\.5\. .*Did you give a percentage\? 0\.5 % is 0\.005'),
    (dict(length=(10, 1000)), r'length must satisfy 1 <= min <= max <= '
     r'200, got \(10, 1000\)\. length is the streak length in pixels'),
    (dict(width=50), r'width must satisfy 1 <= min <= max <= 10, got 50'),
    (dict(blur=(0.5, 100.0)), r'blur must satisfy 0 <= min <= max <= 10'),
    (dict(angle=135.0), r'angle must satisfy -90 <= min <= max <= 90, got '
     r'135\.0\. angle is in degrees from the vertical'),
    (dict(intensity=200), r'intensity must satisfy 0 <= min <= max <= 1, '
     r'got 200\. intensity is on a 0\.\.1 scale'),
])
def test_rain_bounds(kwargs, match):
    with pytest.raises(ValueError, match=f'^{match}'):
        D.RainStreaks(**kwargs)


def test_rain_bounds_are_inclusive():
    t = D.RainStreaks(density=0.05, length=200, width=10, blur=10.0)
    assert (t.density, t.length, t.width, t.blur) == ((0.05, 0.05),
                                                      (200, 200), (10, 10),
                                                      (10.0, 10.0))


def test_motion_blur_kernel_size_bound():
    with pytest.raises(ValueError, match=r'^kernel_size must satisfy 1 <= '
                       r'min <= max <= 99, got \(7, 201\)\. kernel_size is '
                       'the blur kernel side in pixels'):
        D.MotionBlur(kernel_size=(7, 201))
    assert D.MotionBlur(kernel_size=(97, 99)).sizes == [97, 99]


def test_random_degradation_and_benchmark_sets_build():
    t = D.RandomDegradation(['noise', 'rain', 'fog', 'blur'])
    assert [type(d).__name__ for d in t.degradations] == [
        'GaussianNoise', 'RainStreaks', 'Fog', 'MotionBlur'
    ]
    with pytest.raises(ValueError, match='0..1 scale'):
        D.RandomDegradation([dict(type='GaussianNoise', sigmas=0.1)])
    sets = benchmark_sets()
    assert list(sets) == ['noise_15', 'noise_25', 'noise_50', 'rain', 'fog',
                          'blur']
    with pytest.raises(ValueError, match=r"set 'fog_1e\+09'.*beta must "
                       'satisfy'):
        benchmark_sets(['fog'], levels=dict(fog=[1e9]))
    # a built transform still runs
    img = np.full((8, 8, 3), 128, np.uint8)
    out = D.GaussianNoise(sigmas=128)(dict(img=img.copy(), img_id='a'))
    assert out['degradation_params']['sigma'] == 128.0
