"""Exact-geometry and on-disk tests of the SynthScenes generator."""
import importlib.util
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from mmallnet.datasets import synthscenes_generator as ssg
from mmallnet.datasets.synthscenes_generator import (
    SYNTHSCENES_CLASSES,
    SYNTHSCENES_PALETTE,
    camera_intrinsics,
    generate_synthscenes,
    is_synthscenes_complete,
    render_scene,
    sample_scene,
)

H, W = 24, 32
KEYS = ('img', 'semseg', 'depth', 'normals', 'boundary', 'saliency')
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _world_points(scene: dict, depth: np.ndarray) -> np.ndarray:
    """Back-project a z-depth map with the intrinsics and camera pose."""
    h, w = depth.shape
    K = camera_intrinsics(h, w)
    v, u = np.mgrid[0:h, 0:w]
    z = depth.astype(np.float64)
    cam = np.stack([(u - K[0, 2]) / K[0, 0] * z, (v - K[1, 2]) / K[1, 1] * z,
                    z], axis=-1)
    return cam @ scene['cam_rotation'].T + scene['cam_position']


def _rays_cam(h: int, w: int) -> np.ndarray:
    K = camera_intrinsics(h, w)
    v, u = np.mgrid[0:h, 0:w]
    return np.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1],
                     np.ones((h, w))], axis=-1)


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
    f = 80 / np.tan(np.radians(ssg.HFOV_DEG) / 2)
    np.testing.assert_allclose(
        K, [[f, 0, 79.5], [0, f, 59.5], [0, 0, 1]], rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match='height'):
        camera_intrinsics(0, 4)


def test_render_scene_outputs():
    out = render_scene(0, H, W, index=1)
    assert set(out) == set(KEYS)
    assert out['img'].shape == (H, W, 3) and out['img'].dtype == np.uint8
    assert out['semseg'].shape == (H, W) and out['semseg'].dtype == np.uint8
    assert out['depth'].shape == (H, W) and out['depth'].dtype == np.float32
    assert out['normals'].shape == (H, W, 3)
    assert out['normals'].dtype == np.float32
    for key in ('boundary', 'saliency'):
        assert out[key].shape == (H, W) and out[key].dtype == np.uint8
        assert set(np.unique(out[key])) <= {0, 1}
    assert out['semseg'].max() < len(SYNTHSCENES_CLASSES)
    assert np.isfinite(out['depth']).all() and (out['depth'] > 0).all()
    # unit normals facing the camera
    norms = np.linalg.norm(out['normals'], axis=-1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-6)
    facing = (out['normals'] * _rays_cam(H, W)).sum(-1)
    assert (facing < 0).all()
    # saliency is exactly the object (non room plane) mask
    np.testing.assert_array_equal(out['saliency'],
                                  (out['semseg'] >= 3).astype(np.uint8))
    assert out['saliency'].any() and not out['saliency'].all()


def test_render_scene_deterministic_and_order_independent():
    a3 = render_scene(7, H, W, index=3)
    a1 = render_scene(7, H, W, index=1)
    b1 = render_scene(7, H, W, index=1)
    b3 = render_scene(7, H, W, index=3)
    for key in KEYS:
        assert a1[key].tobytes() == b1[key].tobytes()
        assert a3[key].tobytes() == b3[key].tobytes()
    assert a1['depth'].tobytes() != a3['depth'].tobytes()
    assert render_scene(8, H, W, index=1)['depth'].tobytes() != \
        a1['depth'].tobytes()
    with pytest.raises(ValueError, match='seed'):
        render_scene(-1, H, W)


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


@pytest.mark.parametrize('index', [0, 1, 2, 5])
def test_boundaries_follow_instances(index):
    out = render_scene(1, 48, 64, index=index, with_instances=True)
    inst, sem, bnd = out['instance'], out['semseg'], out['boundary']
    expected = np.zeros_like(bnd)
    expected[:, :-1] |= inst[:, :-1] != inst[:, 1:]
    expected[:-1] |= inst[:-1] != inst[1:]
    np.testing.assert_array_equal(bnd, expected)
    # every pixel with a 4-neighbour of another label is within 1 px
    # (8-neighbourhood) of a boundary pixel
    changed = np.zeros(sem.shape, bool)
    changed[:, :-1] |= sem[:, :-1] != sem[:, 1:]
    changed[:, 1:] |= sem[:, 1:] != sem[:, :-1]
    changed[:-1] |= sem[:-1] != sem[1:]
    changed[1:] |= sem[1:] != sem[:-1]
    near = cv2.dilate(bnd, np.ones((3, 3), np.uint8)).astype(bool)
    assert changed.any()
    assert not (changed & ~near).any()
    # each instance has one class
    for k in np.unique(inst):
        assert len(np.unique(sem[inst == k])) == 1


@pytest.mark.parametrize('index', [0, 3, 4])
def test_depth_and_normals_are_exact(index):
    h, w = 48, 64
    scene = sample_scene(2, index)
    out = render_scene(2, h, w, index=index, with_instances=True)
    pts = _world_points(scene, out['depth'])
    rot = scene['cam_rotation']
    lo, hi = scene['room_lo'], scene['room_hi']
    inst, normals = out['instance'], out['normals'].astype(np.float64)
    # room planes: instance = plane index (2 * axis + high side)
    for plane in range(6):
        mask = inst == plane
        axis, high = divmod(plane, 2)
        if not mask.any():
            continue
        bound = hi[axis] if high else lo[axis]
        np.testing.assert_allclose(pts[mask][:, axis], bound, atol=1e-4)
        n_world = np.zeros(3)
        n_world[axis] = -1.0 if high else 1.0
        np.testing.assert_allclose(
            normals[mask], np.broadcast_to(rot.T @ n_world,
                                           normals[mask].shape),
            atol=1e-6)
    floor = out['semseg'] == SYNTHSCENES_CLASSES.index('floor')
    assert floor.any()
    np.testing.assert_allclose(pts[floor][:, 2], 0.0, atol=1e-4)
    # every 3-D point lies inside the closed room
    assert (pts > lo - 1e-4).all() and (pts < hi + 1e-4).all()
    # curved primitives: points on the surface, normals radial
    for surf in scene['surfaces']:
        mask = inst == surf['instance']
        if surf['kind'] == 'sphere' and mask.any():
            rel = pts[mask] - surf['center']
            np.testing.assert_allclose(
                np.linalg.norm(rel, axis=1), surf['radius'], atol=1e-4)
            radial = rel / np.linalg.norm(rel, axis=1, keepdims=True)
            np.testing.assert_allclose(normals[mask], radial @ rot, atol=1e-4)


def _primitive_residual(prim: dict, pts: np.ndarray):
    """Distance of points to a primitive's surface and its outward normal.

    Derived independently of the renderer: boxes in their yawed frame,
    spheres, vertical cylinders with caps.
    """
    if prim['kind'] == 'box':
        c, s = np.cos(prim['yaw']), np.sin(prim['yaw'])
        rel = pts - prim['center']
        local = np.stack([c * rel[:, 0] + s * rel[:, 1],
                          -s * rel[:, 0] + c * rel[:, 1], rel[:, 2]], 1)
        excess = np.abs(local) - prim['half']
        axis = excess.argmax(1)
        # clear face: the two other axes are well inside
        ordered = np.sort(excess, axis=1)
        clear = ordered[:, 1] < -1e-3
        n_local = np.zeros_like(local)
        n_local[np.arange(len(pts)), axis] = np.sign(
            local[np.arange(len(pts)), axis])
        normal = np.stack([c * n_local[:, 0] - s * n_local[:, 1],
                           s * n_local[:, 0] + c * n_local[:, 1],
                           n_local[:, 2]], 1)
        return np.abs(excess.max(1)), normal, clear
    if prim['kind'] == 'sphere':
        rel = pts - prim['center']
        dist = np.linalg.norm(rel, axis=1)
        return np.abs(dist - prim['radius']), rel / dist[:, None], \
            np.ones(len(pts), bool)
    rel = pts[:, :2] - prim['center']
    rad = np.linalg.norm(rel, axis=1)
    side = np.abs(rad - prim['radius'])
    top = np.abs(pts[:, 2] - prim['z1'])
    on_top = top < side
    normal = np.zeros_like(pts)
    normal[:, :2] = rel / rad[:, None]
    normal[on_top] = [0.0, 0.0, 1.0]
    clear = np.abs(top - side) > 1e-3
    return np.minimum(side, top), normal, clear


@pytest.mark.parametrize('index', [0, 1, 6, 9])
def test_object_pixels_lie_on_their_primitives(index):
    h, w = 48, 64
    scene = sample_scene(4, index)
    out = render_scene(4, h, w, index=index, with_instances=True)
    pts = _world_points(scene, out['depth'])
    rot = scene['cam_rotation']
    normals = out['normals'].astype(np.float64)
    checked = 0
    for obj in scene['objects']:
        mask = out['instance'] == obj['instance']
        if not mask.any():
            continue
        assert (out['semseg'][mask] == obj['label']).all()
        prims = [s for s in scene['surfaces']
                 if s['instance'] == obj['instance']]
        res = [_primitive_residual(p, pts[mask]) for p in prims]
        dist = np.stack([r[0] for r in res])
        best = dist.argmin(0)
        assert dist.min(0).max() < 1e-4
        sel = np.arange(mask.sum())
        n_world = np.stack([r[1] for r in res])[best, sel]
        clear = np.stack([r[2] for r in res])[best, sel]
        np.testing.assert_allclose(
            normals[mask][clear], n_world[clear] @ rot, atol=1e-5)
        checked += clear.sum()
    assert checked > 0


@pytest.mark.parametrize('index', [0, 2])
def test_nearest_hit_without_culling(index):
    """Image-window culling loses no hit: brute force over all rays."""
    h, w = 30, 40
    scene = sample_scene(6, index)
    out = render_scene(6, h, w, index=index)
    rays = _rays_cam(h, w).reshape(-1, 3) @ scene['cam_rotation'].T
    o = tuple(scene['cam_position'])
    t, _ = ssg._hit_room(o, tuple(rays.T), scene['room_lo'],
                         scene['room_hi'])
    for surf in scene['surfaces']:
        if surf['kind'] != 'plane':
            ts, _ = ssg._HIT_FUNCS[surf['kind']](o, tuple(rays.T), surf)
            t = np.minimum(t, ts)
    np.testing.assert_array_equal(out['depth'].ravel(), t.astype(np.float32))


def test_floor_only_scene_geometry(monkeypatch):
    """A hand-made scene without objects: floor/wall pixels are exact."""
    scene = sample_scene(0, 0)
    planes = [s for s in scene['surfaces'] if s['kind'] == 'plane']
    monkeypatch.setattr(
        ssg, 'sample_scene',
        lambda seed, index=0: dict(scene, surfaces=planes, objects=[]))
    out = render_scene(0, H, W, with_instances=True)
    assert not out['saliency'].any()
    assert set(np.unique(out['semseg'])) <= {0, 1, 2}
    floor = out['semseg'] == 1
    assert floor.any()
    rot = scene['cam_rotation']
    np.testing.assert_allclose(
        out['normals'][floor], np.broadcast_to(rot.T @ [0, 0, 1],
                                               (floor.sum(), 3)),
        atol=1e-6)
    pts = _world_points(scene, out['depth'])
    np.testing.assert_allclose(pts[floor][:, 2], 0.0, atol=1e-4)
    # analytic floor depth: z-depth of the ray/plane intersection
    rays = _rays_cam(H, W) @ rot.T
    t = -scene['cam_position'][2] / rays[..., 2]
    np.testing.assert_allclose(out['depth'][floor], t[floor], rtol=1e-6)


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
    assert meta['seed'] == 5 and meta['version'] == ssg.GENERATOR_VERSION
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
    monkeypatch.setattr(ssg, 'render_scene', fail)
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


def test_cli(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location(
        'generate_synthscenes_cli',
        osp.join(REPO_ROOT, 'tools', 'misc', 'generate_synthscenes.py'))
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    root = str(tmp_path / 'cli')
    argv = [root, '--num-train', '2', '--num-val', '1', '--height', str(H),
            '--width', str(W), '--seed', '4', '--no-progress']
    meta = cli.main(argv)
    assert is_synthscenes_complete(root) and meta['seed'] == 4
    assert 'Generated SynthScenes' in capsys.readouterr().out
    cli.main(argv)
    assert 'Reused existing' in capsys.readouterr().out
    with pytest.raises(FileExistsError):
        cli.main(argv[:-2] + ['5', '--no-progress'])
    assert cli.parse_args([]).out_dir == 'data/synthscenes'
