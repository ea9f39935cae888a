"""SynthScenes on disk: layout, determinism, reuse and overwrite."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from mmallnet.datasets.synthscenes_generator import (
    GENERATOR_VERSION,
    SYNTHSCENES_CLASSES,
    SYNTHSCENES_PALETTE,
    generate_synthscenes,
    is_synthscenes_complete,
    render_scene,
    writer,
)

H, W = 24, 32


def _read_rgb(path: str) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(path, cv2.IMREAD_UNCHANGED),
                        cv2.COLOR_BGR2RGB)


def test_generate_layout(tmp_path):
    root = str(tmp_path / 'ss')
    meta = generate_synthscenes(
        root, num_train=3, num_val=2, height=H, width=W, seed=5,
        progress=False)
    assert is_synthscenes_complete(root)
    with open(osp.join(root, 'meta.json')) as f:
        assert json.load(f) == meta
    assert meta['seed'] == 5 and meta['version'] == GENERATOR_VERSION
    assert (meta['height'], meta['width']) == (H, W)
    assert (meta['num_train'], meta['num_val']) == (3, 2)
    assert meta['classes'] == list(SYNTHSCENES_CLASSES)
    assert meta['palette'] == SYNTHSCENES_PALETTE
    assert sum(meta['class_pixel_counts']['train']) == 3 * H * W
    assert sum(meta['class_pixel_counts']['val']) == 2 * H * W
    with open(osp.join(root, 'gt_sets', 'train.txt')) as f:
        assert f.read() == '0000\n0001\n0002\n'
    with open(osp.join(root, 'gt_sets', 'val.txt')) as f:
        assert f.read() == '0003\n0004\n'
    for index in range(5):
        img_id = f'{index:04d}'
        ref = render_scene(5, H, W, index=index)
        img = _read_rgb(osp.join(root, 'images', img_id + '.png'))
        assert img.dtype == np.uint8
        np.testing.assert_array_equal(img, ref['img'])
        seg = cv2.imread(
            osp.join(root, 'segmentation', img_id + '.png'),
            cv2.IMREAD_UNCHANGED)
        assert seg.dtype == np.uint8 and seg.shape == (H, W)
        np.testing.assert_array_equal(seg, ref['semseg'] + 1)
        assert seg.min() >= 1 and seg.max() <= len(SYNTHSCENES_CLASSES)
        depth = np.load(osp.join(root, 'depth', img_id + '.npy'))
        assert depth.dtype == np.float32 and depth.shape == (H, W)
        assert depth.tobytes() == ref['depth'].tobytes()
        normals_png = _read_rgb(osp.join(root, 'normals', img_id + '.png'))
        assert normals_png.dtype == np.uint8
        decoded = 2 * normals_png.astype(np.float64) / 255 - 1
        np.testing.assert_array_equal(
            normals_png, np.round((ref['normals'] + 1) / 2 * 255))
        assert np.abs(decoded - ref['normals']).max() <= 1 / 255 + 1e-6
        np.testing.assert_allclose(
            np.linalg.norm(decoded, axis=-1), 1.0, atol=np.sqrt(3) / 255)
        for sub, key in (('edge', 'boundary'), ('saliency', 'saliency')):
            arr = cv2.imread(
                osp.join(root, sub, img_id + '.png'), cv2.IMREAD_UNCHANGED)
            assert arr.dtype == np.uint8 and arr.shape == (H, W)
            assert set(np.unique(arr)) <= {0, 255}
            np.testing.assert_array_equal(arr, ref[key] * 255)


def _tree_bytes(root: str) -> dict:
    files = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = osp.join(dirpath, name)
            with open(path, 'rb') as f:
                files[osp.relpath(path, root)] = f.read()
    return files


def test_generate_deterministic(tmp_path):
    kwargs = dict(num_train=2, num_val=2, height=H, width=W, seed=3,
                  progress=False)
    generate_synthscenes(str(tmp_path / 'a'), **kwargs)
    generate_synthscenes(str(tmp_path / 'b'), **kwargs)
    generate_synthscenes(str(tmp_path / 'c'), num_workers=2, **kwargs)
    a = _tree_bytes(str(tmp_path / 'a'))
    assert len(a) == 4 * 6 + 2 + 1
    assert a == _tree_bytes(str(tmp_path / 'b'))
    assert a == _tree_bytes(str(tmp_path / 'c'))


def test_generate_reuse_overwrite_and_errors(tmp_path, monkeypatch):
    root = str(tmp_path / 'ss')
    kwargs = dict(num_train=2, num_val=1, height=H, width=W, progress=False)
    assert not is_synthscenes_complete(root)
    meta = generate_synthscenes(root, seed=0, **kwargs)

    def fail(*args, **kw):
        raise AssertionError('must not render')

    # identical settings: returned without rendering
    monkeypatch.setattr(writer, 'render_scene', fail)
    assert generate_synthscenes(root, seed=0, **kwargs) == meta
    # other settings: a clear error naming the difference
    with pytest.raises(FileExistsError, match='seed: 0 != 1'):
        generate_synthscenes(root, seed=1, **kwargs)
    monkeypatch.undo()
    meta1 = generate_synthscenes(root, seed=1, overwrite=True, **kwargs)
    assert meta1['seed'] == 1 and is_synthscenes_complete(root)
    assert np.load(osp.join(root, 'depth', '0000.npy')).tobytes() == \
        render_scene(1, H, W, index=0)['depth'].tobytes()

    # incomplete dataset: error unless overwrite; foreign files are kept
    os.remove(osp.join(root, 'normals', '0002.png'))
    with open(osp.join(root, 'README.txt'), 'w') as f:
        f.write('mine')
    assert not is_synthscenes_complete(root)
    with pytest.raises(FileExistsError, match='no complete SynthScenes'):
        generate_synthscenes(root, seed=1, **kwargs)
    generate_synthscenes(root, seed=1, overwrite=True, **kwargs)
    assert is_synthscenes_complete(root)
    assert osp.isfile(osp.join(root, 'README.txt'))

    # a smaller dataset replaces a larger one without stale files
    generate_synthscenes(
        root, seed=1, overwrite=True, num_train=1, num_val=1, height=H,
        width=W, progress=False)
    assert sorted(os.listdir(osp.join(root, 'images'))) == [
        '0000.png', '0001.png']

    # a non-empty directory without a dataset
    other = tmp_path / 'other'
    other.mkdir()
    (other / 'x.txt').write_text('x')
    with pytest.raises(FileExistsError):
        generate_synthscenes(str(other), **kwargs)
    # a broken meta.json makes the dataset incomplete
    with open(osp.join(root, 'meta.json'), 'w') as f:
        f.write('{')
    assert not is_synthscenes_complete(root)
    with pytest.raises(ValueError, match='num_train'):
        generate_synthscenes(str(tmp_path / 'z'), num_train=-1)
