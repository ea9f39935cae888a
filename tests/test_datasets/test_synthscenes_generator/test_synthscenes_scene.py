"""SynthScenes settings, camera and scene sampling."""
import numpy as np
import pytest

from mmallnet.datasets.synthscenes_generator import (
    HFOV_DEG,
    SYNTHSCENES_CLASSES,
    SYNTHSCENES_PALETTE,
    camera_intrinsics,
    sample_scene,
)


def test_classes_and_palette():
    assert len(SYNTHSCENES_CLASSES) >= 8
    assert len(set(SYNTHSCENES_CLASSES)) == len(SYNTHSCENES_CLASSES)
    assert SYNTHSCENES_CLASSES[:3] == ('wall', 'floor', 'ceiling')
    assert len(SYNTHSCENES_PALETTE) == len(SYNTHSCENES_CLASSES)
    for color in SYNTHSCENES_PALETTE:
        assert len(color) == 3
        assert all(isinstance(c, int) and 0 <= c <= 255 for c in color)


def test_camera_intrinsics():
    K = camera_intrinsics(120, 160)
    f = 80 / np.tan(np.radians(HFOV_DEG) / 2)
    np.testing.assert_allclose(
        K, [[f, 0, 79.5], [0, f, 59.5], [0, 0, 1]], rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match='height'):
        camera_intrinsics(0, 4)


def test_scene_variety():
    counts = []
    for index in range(20):
        scene = sample_scene(3, index)
        counts.append(len(scene['objects']))
        lo, hi = scene['room_lo'], scene['room_hi']
        assert (lo < scene['cam_position']).all()
        assert (scene['cam_position'] < hi).all()
        rot = scene['cam_rotation']
        np.testing.assert_allclose(rot.T @ rot, np.eye(3), atol=1e-12)
        assert np.linalg.det(rot) == pytest.approx(1.0)
    assert min(counts) >= 3 and max(counts) <= 7
    assert len(set(counts)) > 1
