"""Exact geometry of rendered SynthScenes images (render and raycast)."""
import cv2
import numpy as np
import pytest

from mmallnet.datasets.synthscenes_generator import (
    SYNTHSCENES_CLASSES,
    camera_intrinsics,
    raycast,
    render,
    render_scene,
    sample_scene,
)

H, W = 24, 32
KEYS = ('img', 'semseg', 'depth', 'normals', 'boundary', 'saliency')


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
    t, _ = raycast.hit_room(o, tuple(rays.T), scene['room_lo'],
                         scene['room_hi'])
    for surf in scene['surfaces']:
        if surf['kind'] != 'plane':
            ts, _ = raycast.HIT_FUNCS[surf['kind']](o, tuple(rays.T), surf)
            t = np.minimum(t, ts)
    np.testing.assert_array_equal(out['depth'].ravel(), t.astype(np.float32))


def test_floor_only_scene_geometry(monkeypatch):
    """A hand-made scene without objects: floor/wall pixels are exact."""
    scene = sample_scene(0, 0)
    planes = [s for s in scene['surfaces'] if s['kind'] == 'plane']
    monkeypatch.setattr(
        render, 'sample_scene',
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
