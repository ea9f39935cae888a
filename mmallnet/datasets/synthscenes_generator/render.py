"""Rendering of one SynthScenes image and its exact dense labels.

One ray through each pixel centre, the nearest analytic hit kept, then
Lambertian shading by a point light with hard shadows. Depth is the
z-depth in metres, normals are unit camera-frame vectors facing the
camera, the boundary is 1 where the instance id differs from the right or
lower neighbour, saliency is 1 on object pixels.
"""
from typing import Dict, Tuple

import numpy as np

from .camera import camera_intrinsics
from .materials import texture_pattern
from .raycast import HIT_FUNCS, any_occluder, hit_room, pixel_window
from .scene import sample_scene
from .settings import ROOM_CLASS_IDS


def _to_local(v: np.ndarray, c: float, s: float) -> np.ndarray:
    """Rotate world vectors (N, 3) by ``-yaw`` about z (world -> box)."""
    return np.stack(
        [c * v[..., 0] + s * v[..., 1], -s * v[..., 0] + c * v[..., 1],
         v[..., 2]], axis=-1)


def _surface_geometry(surface: dict, p: np.ndarray,
                      part: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """World normals (outward) and texture coordinates of hit points."""
    kind = surface['kind']
    n = np.zeros_like(p)
    if kind == 'plane':
        axis, high = divmod(surface['plane'], 2)
        n[:, axis] = -1.0 if high else 1.0
        uv_axes = ((1, 2), (0, 2), (0, 1))[axis]
        return n, p[:, uv_axes]
    if kind == 'box':
        c, s = surface['cos'], surface['sin']
        local = _to_local(p - surface['center'], c, s) + surface['half']
        axis = part // 2
        sign = np.where(part % 2 == 1, 1.0, -1.0)
        nl = np.zeros_like(p)
        nl[np.arange(len(p)), axis] = sign
        n[:, 0] = c * nl[:, 0] - s * nl[:, 1]
        n[:, 1] = s * nl[:, 0] + c * nl[:, 1]
        n[:, 2] = nl[:, 2]
        u = np.where(axis == 0, local[:, 1], local[:, 0])
        v = np.where(axis == 2, local[:, 1], local[:, 2])
        return n, np.stack([u, v], axis=1)
    if kind == 'sphere':
        r = surface['radius']
        rel = p - surface['center']
        n = rel / np.linalg.norm(rel, axis=1, keepdims=True)
        u = r * np.arctan2(rel[:, 1], rel[:, 0])
        v = r * np.arcsin(np.clip(rel[:, 2] / r, -1.0, 1.0))
        return n, np.stack([u, v], axis=1)
    # cylinder
    r = surface['radius']
    rel = p[:, :2] - surface['center']
    side = part == 0
    n[:, :2] = np.where(side[:, None],
                        rel / np.linalg.norm(rel, axis=1, keepdims=True), 0.0)
    n[:, 2] = np.where(part == 1, 1.0, np.where(part == 2, -1.0, 0.0))
    u = np.where(side, r * np.arctan2(rel[:, 1], rel[:, 0]), rel[:, 0])
    v = np.where(side, p[:, 2], rel[:, 1])
    return n, np.stack([u, v], axis=1)


def _boundary_from_instances(instance: np.ndarray) -> np.ndarray:
    boundary = np.zeros(instance.shape, dtype=np.uint8)
    boundary[:, :-1] |= instance[:, :-1] != instance[:, 1:]
    boundary[:-1, :] |= instance[:-1, :] != instance[1:, :]
    return boundary


def render_scene(seed: int,
                 height: int,
                 width: int,
                 index: int = 0,
                 with_instances: bool = False) -> Dict[str, np.ndarray]:
    """Render one SynthScenes image and its exact dense labels.

    Args:
        seed (int): Non-negative dataset seed.
        height (int): Image height in pixels.
        width (int): Image width in pixels.
        index (int): Scene index; the scene is
            ``sample_scene(seed, index)``, drawn from
            ``np.random.default_rng([seed, index])``. Defaults to 0.
        with_instances (bool): Also return ``'instance'`` (H, W) int32
            instance ids (0-5 the room planes, 6+ the objects).
            Defaults to False.

    Returns:
        dict: ``img`` (H, W, 3) uint8 RGB; ``semseg`` (H, W) uint8 class
        ids; ``depth`` (H, W) float32 z-depth in metres; ``normals``
        (H, W, 3) float32 unit camera-frame normals facing the camera;
        ``boundary`` (H, W) uint8 {0, 1}; ``saliency`` (H, W) uint8
        {0, 1}.
    """
    K = camera_intrinsics(height, width)
    scene = sample_scene(seed, index)
    surfaces = scene['surfaces']
    rot = scene['cam_rotation']
    origin = scene['cam_position']

    # unnormalised rays with z_cam = 1: the ray parameter is the z-depth
    xs = (np.arange(width) - K[0, 2]) / K[0, 0]
    ys = (np.arange(height) - K[1, 2]) / K[1, 1]
    rays = tuple(rot[k, 0] * xs[None, :] + rot[k, 1] * ys[:, None] +
                 rot[k, 2] for k in range(3))
    o = tuple(float(c) for c in origin)

    t, surf = hit_room(o, rays, scene['room_lo'], scene['room_hi'])
    part = np.zeros(t.shape, np.uint8)
    for sid, surface in enumerate(surfaces):
        if surface['kind'] == 'plane':
            continue
        window = pixel_window(surface, origin, rot, K, height, width)
        if window is None:
            continue
        ts, ps = HIT_FUNCS[surface['kind']](o, [r[window] for r in rays],
                                            surface)
        closer = ts < t[window]
        t[window][closer] = ts[closer]
        surf[window][closer] = sid
        part[window][closer] = ps[closer]

    t, surf, part = t.ravel(), surf.ravel(), part.ravel()
    rays = np.stack([r.ravel() for r in rays], axis=1)
    points = origin + t[:, None] * rays
    normals_w = np.empty_like(points)
    albedo = np.empty_like(points)
    labels = np.array([s['label'] for s in surfaces], dtype=np.uint8)
    instances = np.array([s['instance'] for s in surfaces], dtype=np.int32)
    order = np.argsort(surf, kind='stable')
    sids, starts = np.unique(surf[order], return_index=True)
    for sid, idx in zip(sids, np.split(order, starts[1:])):
        surface = surfaces[sid]
        n, uv = _surface_geometry(surface, points[idx], part[idx])
        normals_w[idx] = n
        mat = scene['materials'][surface['material']]
        m = texture_pattern(mat, uv)[:, None]
        albedo[idx] = (1 - m) * mat['color1'] + m * mat['color2']

    # orient toward the camera (closed surfaces seen from outside already
    # are; this guards numerical corner cases)
    facing = np.einsum('ij,ij->i', normals_w, rays) > 0
    normals_w[facing] *= -1

    # Lambertian point light with hard shadows
    to_light = scene['light'] - points
    dist = np.linalg.norm(to_light, axis=1)
    ndl = np.einsum('ij,ij->i', normals_w, to_light) / dist
    lit = np.nonzero(ndl > 0)[0]
    visible = np.zeros(len(points))
    if len(lit):
        start = points[lit] + 1e-6 * normals_w[lit]
        blocked = any_occluder(start, scene['light'] - start, surfaces)
        visible[lit] = ~blocked
    falloff = 12.0 / (12.0 + dist * dist)
    diffuse = scene['light_power'] * np.maximum(ndl, 0) * falloff * visible
    ambient = scene['ambient']
    shade = ambient + (1 - ambient) * diffuse
    img = np.clip(albedo * shade[:, None], 0.0, 1.0)
    img = np.round(img * 255).astype(np.uint8).reshape(height, width, 3)

    normals_c = normals_w @ rot  # R^T n for row vectors
    normals_c /= np.linalg.norm(normals_c, axis=1, keepdims=True)

    semseg = labels[surf].reshape(height, width)
    instance = instances[surf].reshape(height, width)
    result = dict(
        img=img,
        semseg=semseg,
        depth=t.astype(np.float32).reshape(height, width),
        normals=normals_c.astype(np.float32).reshape(height, width, 3),
        boundary=_boundary_from_instances(instance),
        saliency=(~np.isin(semseg, ROOM_CLASS_IDS)).astype(np.uint8))
    if with_instances:
        result['instance'] = instance
    return result
