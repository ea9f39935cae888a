"""SynthScenes: procedural indoor scenes with exact dense labels.

Every scene is a closed box-shaped room (floor, ceiling and four walls)
holding 3 to 7 objects that rest on the floor: cabinets, tables (top and
four legs), beds (base, headboard, pillow), boxes, balls (spheres), pillars
and stools (vertical cylinders). Surfaces carry procedural textures
(stripes, checkers, grids, planks, dots, waves) and are lit by a point
light with Lambertian shading and hard shadows, so normals matter for the
image. Pixels are ray cast in numpy (one ray through each pixel centre,
analytic intersections, nearest hit kept), so depth, normals, labels,
boundaries and saliency are exact.

Conventions:

- Camera: pinhole, OpenCV frame (x right, y down, z forward), fixed
  horizontal field of view :data:`HFOV_DEG`; see :func:`camera_intrinsics`.
  Pixel ``(u, v)`` (column, row index) looks along
  ``((u - cx) / fx, (v - cy) / fy, 1)``.
- Depth: z-depth along the optical axis in metres (like Kinect depth);
  every pixel is valid (> 0) because the room is closed.
- Normals: unit vectors in the camera frame above, oriented toward the
  camera (``n . ray < 0``).
- Semantic labels: ids ``0..K-1`` indexing :data:`SYNTHSCENES_CLASSES`.
- Boundary: ``1`` where the instance id differs from the right or lower
  neighbour (a one-pixel-thin map of semantic and instance boundaries;
  the six room planes are separate instances).
- Saliency: ``1`` on object pixels (everything except wall, floor and
  ceiling).
- World frame (see :func:`sample_scene`): z up, the floor is ``z = 0``,
  the room spans ``[-W/2, W/2] x [0, D] x [0, H]``.

:func:`generate_synthscenes` writes the NYUD-v2 multi-task (InvPT) layout,
so the NYUD loaders read it unchanged.
"""
import colorsys
import json
import math
import os
import os.path as osp
import shutil
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

GENERATOR_VERSION = '1.0.0'

SYNTHSCENES_CLASSES: Tuple[str, ...] = (
    'wall', 'floor', 'ceiling', 'cabinet', 'table', 'bed', 'box', 'ball',
    'pillar', 'stool')

SYNTHSCENES_PALETTE: List[List[int]] = [
    [174, 199, 232], [152, 223, 138], [255, 187, 120], [31, 119, 180],
    [255, 127, 14], [214, 39, 40], [148, 103, 189], [188, 189, 34],
    [140, 86, 75], [23, 190, 207]]

#: Class ids of the room planes (not salient).
ROOM_CLASS_IDS: Tuple[int, ...] = (0, 1, 2)

#: Horizontal field of view of the camera in degrees.
HFOV_DEG = 60.0

#: Sub-folders of the NYUD-v2 multi-task layout and their file suffixes.
SYNTHSCENES_SUBDIRS: Dict[str, str] = {
    'images': '.png',
    'segmentation': '.png',
    'depth': '.npy',
    'normals': '.png',
    'edge': '.png',
    'saliency': '.png',
}

NORMALS_FRAME = ('camera frame: x right, y down, z forward (OpenCV); unit '
                 'vectors facing the camera; PNG v = round((n + 1) / 2 * '
                 '255), R=x, G=y, B=z')
DEPTH_DEFINITION = 'z-depth along the optical axis in metres, float32'

_EPS = 1e-9
_CLASS_ID = {name: i for i, name in enumerate(SYNTHSCENES_CLASSES)}
_OBJECT_TYPES = ('cabinet', 'table', 'bed', 'box', 'ball', 'pillar', 'stool')
_OBJECT_PROBS = (0.17, 0.17, 0.08, 0.2, 0.15, 0.08, 0.15)
_TEXTURES = ('plain', 'stripes', 'checker', 'grid', 'planks', 'dots',
             'waves')
_ROOM_PLANE_CLASSES = ('wall', 'wall', 'wall', 'wall', 'floor', 'ceiling')
# Meta keys that are generated statistics, not generation settings.
_META_STAT_KEYS = ('class_pixel_counts', )


# --------------------------------------------------------------------------
# Camera and scene sampling
# --------------------------------------------------------------------------
def camera_intrinsics(height: int, width: int) -> np.ndarray:
    """Pinhole intrinsics of a SynthScenes image.

    Args:
        height (int): Image height in pixels.
        width (int): Image width in pixels.

    Returns:
        np.ndarray: ``K`` (3, 3) float64 with ``fx = fy = (W / 2) /
        tan(HFOV / 2)`` and the principal point at the image centre
        ``((W - 1) / 2, (H - 1) / 2)`` in pixel-index coordinates.
    """
    _check_size(height, width)
    f = (width / 2.0) / math.tan(math.radians(HFOV_DEG) / 2.0)
    return np.array([[f, 0.0, (width - 1) / 2.0],
                     [0.0, f, (height - 1) / 2.0],
                     [0.0, 0.0, 1.0]])


def _hsv(h: float, s: float, v: float) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0.0), 1.0),
                                        min(max(v, 0.0), 1.0)))


def _sample_material(rng: np.random.Generator, role: str) -> dict:
    """Colours and procedural texture of one surface."""
    if role == 'wall':
        h, s, v = rng.uniform(0, 1), rng.uniform(0.05, 0.35), rng.uniform(
            0.7, 0.95)
        texture = _TEXTURES[rng.choice([0, 0, 0, 1, 3, 5, 6])]
    elif role == 'floor':
        if rng.uniform() < 0.6:  # wood-like
            h, s, v = rng.uniform(0.04, 0.12), rng.uniform(
                0.35, 0.7), rng.uniform(0.35, 0.75)
        else:  # tiles / carpet
            h, s, v = rng.uniform(0, 1), rng.uniform(0.0, 0.2), rng.uniform(
                0.4, 0.9)
        texture = _TEXTURES[rng.choice([0, 2, 3, 4, 4])]
    elif role == 'ceiling':
        h, s, v = rng.uniform(0, 1), rng.uniform(0.0, 0.08), rng.uniform(
            0.85, 0.98)
        texture = _TEXTURES[rng.choice([0, 0, 3])]
    else:
        h, s, v = rng.uniform(0, 1), rng.uniform(0.3, 0.9), rng.uniform(
            0.35, 0.95)
        texture = _TEXTURES[rng.integers(len(_TEXTURES))]
    color1 = _hsv(h, s, v)
    color2 = _hsv(h + rng.uniform(-0.08, 0.08), s * rng.uniform(0.6, 1.4),
                  v * rng.uniform(0.55, 0.85))
    period = rng.uniform(0.3, 0.8) if role in ('floor', 'ceiling') \
        else rng.uniform(0.08, 0.5)
    angle = (math.pi / 2) * rng.integers(2) if rng.uniform() < 0.7 \
        else rng.uniform(0, math.pi)
    return dict(color1=color1, color2=color2, texture=str(texture),
                period=float(period), angle=float(angle),
                width=float(rng.uniform(0.04, 0.15)))


def _box(center, half, yaw: float, label: int, instance: int,
         material: int) -> dict:
    return dict(kind='box', center=np.asarray(center, dtype=np.float64),
                half=np.asarray(half, dtype=np.float64), yaw=float(yaw),
                cos=math.cos(yaw), sin=math.sin(yaw), label=label,
                instance=instance, material=material)


def _local_to_world_xy(x: float, y: float, dx: float, dy: float,
                       yaw: float) -> Tuple[float, float]:
    c, s = math.cos(yaw), math.sin(yaw)
    return x + c * dx - s * dy, y + s * dx + c * dy


def _sample_object_shape(rng: np.random.Generator, kind: str,
                         room: np.ndarray) -> dict:
    """Size, yaw and footprint of one object (position comes later)."""
    if kind == 'cabinet':
        w, d, h = rng.uniform(0.5, 1.2), rng.uniform(0.4, 0.6), \
            rng.uniform(0.9, 2.0)
        shape = dict(half=(w / 2, d / 2, h / 2))
    elif kind == 'table':
        w, d, h = rng.uniform(0.8, 1.6), rng.uniform(0.6, 1.0), \
            rng.uniform(0.65, 0.8)
        shape = dict(half=(w / 2, d / 2, h / 2), leg=rng.uniform(0.04, 0.08),
                     top=rng.uniform(0.03, 0.07))
    elif kind == 'bed':
        w, d, h = rng.uniform(1.0, 1.6), rng.uniform(1.9, 2.1), \
            rng.uniform(0.35, 0.55)
        shape = dict(half=(w / 2, d / 2, h / 2),
                     headboard=rng.uniform(0.9, 1.2))
    elif kind == 'box':
        w, d, h = rng.uniform(0.25, 0.7, size=3)
        shape = dict(half=(w / 2, d / 2, h / 2))
    elif kind == 'ball':
        r = rng.uniform(0.12, 0.4)
        shape = dict(radius=r, half=(r, r, r))
    elif kind == 'pillar':
        r = rng.uniform(0.12, 0.3)
        shape = dict(radius=r, half=(r, r, room[2] / 2))
    elif kind == 'stool':
        r, h = rng.uniform(0.15, 0.25), rng.uniform(0.4, 0.65)
        shape = dict(radius=r, half=(r, r, h / 2))
    else:  # pragma: no cover - internal
        raise ValueError(f'unknown object kind {kind!r}')
    shape['yaw'] = float(rng.uniform(-math.pi, math.pi)) \
        if kind in ('cabinet', 'table', 'bed', 'box') else 0.0
    return shape


def _footprint_radius(shape: dict) -> float:
    hx, hy = shape['half'][:2]
    return float(math.hypot(hx, hy))


def _aabb_half(shape: dict) -> Tuple[float, float]:
    hx, hy = shape['half'][:2]
    c, s = abs(math.cos(shape['yaw'])), abs(math.sin(shape['yaw']))
    return c * hx + s * hy, s * hx + c * hy


def _object_primitives(kind: str, shape: dict, x: float, y: float,
                       instance: int, materials: List[dict],
                       rng: np.random.Generator) -> List[dict]:
    """Primitives of one object whose footprint centre is ``(x, y)``."""
    label = _CLASS_ID[kind]
    yaw = shape['yaw']
    hx, hy, hz = shape['half']
    mat = len(materials)
    materials.append(_sample_material(rng, 'object'))
    if kind in ('cabinet', 'box'):
        return [_box((x, y, hz), (hx, hy, hz), yaw, label, instance, mat)]
    if kind == 'table':
        leg, top = shape['leg'], shape['top']
        height = 2 * hz
        prims = [_box((x, y, height - top / 2), (hx, hy, top / 2), yaw, label,
                      instance, mat)]
        leg_h = height - top
        for sx in (-1, 1):
            for sy in (-1, 1):
                lx, ly = _local_to_world_xy(x, y, sx * (hx - leg),
                                            sy * (hy - leg), yaw)
                prims.append(
                    _box((lx, ly, leg_h / 2), (leg / 2, leg / 2, leg_h / 2),
                         yaw, label, instance, mat))
        return prims
    if kind == 'bed':
        head_mat = len(materials)
        materials.append(_sample_material(rng, 'object'))
        pillow_mat = len(materials)
        pillow = _sample_material(rng, 'object')
        pillow['color1'] = _hsv(0.0, 0.0, 0.92)
        materials.append(pillow)
        base_h = 2 * hz
        head_t = 0.08
        prims = [_box((x, y, hz), (hx, hy - head_t / 2, hz), yaw, label,
                      instance, mat)]
        # the base is shortened so that the headboard sits at local -y
        bx, by = _local_to_world_xy(x, y, 0.0, head_t / 2, yaw)
        prims[0]['center'][:2] = (bx, by)
        kx, ky = _local_to_world_xy(x, y, 0.0, -hy + head_t / 2, yaw)
        head_h = shape['headboard']
        prims.append(_box((kx, ky, head_h / 2), (hx, head_t / 2, head_h / 2),
                          yaw, label, instance, head_mat))
        px, py = _local_to_world_xy(x, y, 0.0, -hy + head_t + 0.22, yaw)
        prims.append(_box((px, py, base_h + 0.06), (0.8 * hx, 0.2, 0.06),
                          yaw, label, instance, pillow_mat))
        return prims
    if kind == 'ball':
        r = shape['radius']
        return [dict(kind='sphere', center=np.array([x, y, r]), radius=r,
                     label=label, instance=instance, material=mat)]
    r = shape['radius']  # pillar / stool: vertical cylinder
    return [dict(kind='cylinder', center=np.array([x, y]), radius=r,
                 z0=0.0, z1=2 * hz, label=label, instance=instance,
                 material=mat)]


def _camera_rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Camera-to-world rotation (columns: right, down, forward)."""
    forward = np.array([math.sin(yaw) * math.cos(pitch),
                        math.cos(yaw) * math.cos(pitch), -math.sin(pitch)])
    right = np.array([math.cos(yaw), -math.sin(yaw), 0.0])
    down = np.cross(forward, right)
    c, s = math.cos(roll), math.sin(roll)
    right, down = c * right + s * down, -s * right + c * down
    return np.stack([right, down, forward], axis=1)


def sample_scene(seed: int, index: int = 0) -> dict:
    """Sample the geometry, materials, camera and light of one scene.

    The scene is independent of the image size; all randomness comes from
    ``np.random.default_rng([seed, index])``.

    Args:
        seed (int): Non-negative dataset seed.
        index (int): Non-negative scene index. Defaults to 0.

    Returns:
        dict: ``room`` (3,) width, depth and height in metres;
        ``room_lo`` / ``room_hi`` (3,) world-frame corners;
        ``cam_position`` (3,); ``cam_rotation`` (3, 3) camera-to-world
        rotation (``X_world = R @ X_cam + cam_position``); ``light`` (3,);
        ``ambient`` and ``light_power`` floats; ``materials`` (list of
        dict); ``surfaces`` (list of dict: 6 room planes, then the object
        primitives, each with ``kind``, ``label``, ``instance``,
        ``material`` and its geometry); ``objects`` (list of dict with
        ``class``, ``label``, ``instance``, ``position``).
    """
    _check_seed(seed, 'seed')
    _check_seed(index, 'index')
    rng = np.random.default_rng([seed, index])
    room = np.array([rng.uniform(3.5, 7.0), rng.uniform(4.0, 8.0),
                     rng.uniform(2.5, 3.2)])
    lo = np.array([-room[0] / 2, 0.0, 0.0])
    hi = np.array([room[0] / 2, room[1], room[2]])

    cam = np.array([rng.uniform(-0.25, 0.25) * room[0],
                    rng.uniform(0.2, 0.6), rng.uniform(1.1, 1.7)])
    yaw = math.radians(rng.uniform(-25, 25))
    pitch = math.radians(rng.uniform(2, 20))
    roll = math.radians(rng.uniform(-3, 3))
    rotation = _camera_rotation(yaw, pitch, roll)

    materials: List[dict] = []
    wall = _sample_material(rng, 'wall')
    materials.append(wall)
    accent = 0
    if rng.uniform() < 0.3:
        accent = len(materials)
        materials.append(_sample_material(rng, 'wall'))
    materials.append(_sample_material(rng, 'floor'))
    materials.append(_sample_material(rng, 'ceiling'))
    floor_mat, ceil_mat = len(materials) - 2, len(materials) - 1
    plane_mats = (0, 0, 0, accent, floor_mat, ceil_mat)
    surfaces: List[dict] = [
        dict(kind='plane', plane=i, label=_CLASS_ID[_ROOM_PLANE_CLASSES[i]],
             instance=i, material=plane_mats[i]) for i in range(6)
    ]

    num_objects = int(rng.integers(3, 8))
    placed: List[Tuple[float, float, float]] = []  # x, y, footprint radius
    objects: List[dict] = []
    half_fov = math.radians(HFOV_DEG) / 2
    for _ in range(200):
        if len(objects) == num_objects:
            break
        kind = _OBJECT_TYPES[rng.choice(len(_OBJECT_TYPES), p=_OBJECT_PROBS)]
        shape = _sample_object_shape(rng, kind, room)
        radius = _footprint_radius(shape)
        for _ in range(30):
            if kind == 'cabinet' and rng.uniform() < 0.5:
                shape['yaw'] = 0.0  # against the back wall, facing us
                ax, ay = _aabb_half(shape)
                x = rng.uniform(lo[0] + ax + 0.01, hi[0] - ax - 0.01)
                y = hi[1] - ay - 0.01
            else:
                dist = rng.uniform(1.0 + radius, max(room[1], 2.0 + radius))
                ang = yaw + rng.uniform(-0.85, 0.85) * half_fov
                x = cam[0] + dist * math.sin(ang)
                y = cam[1] + dist * math.cos(ang)
            ax, ay = _aabb_half(shape)
            if not (lo[0] + ax + 0.01 <= x <= hi[0] - ax - 0.01
                    and lo[1] + ay + 0.01 <= y <= hi[1] - ay - 0.01):
                continue
            if math.hypot(x - cam[0], y - cam[1]) < radius + 0.6:
                continue
            if any(
                    math.hypot(x - px, y - py) < radius + pr + 0.05
                    for px, py, pr in placed):
                continue
            instance = 6 + len(objects)
            surfaces.extend(
                _object_primitives(kind, shape, x, y, instance, materials,
                                   rng))
            placed.append((x, y, radius))
            objects.append(
                dict(
                    **{'class': kind},
                    label=_CLASS_ID[kind],
                    instance=instance,
                    position=(float(x), float(y))))
            break

    # point light below the ceiling, never inside a pillar
    for _ in range(50):
        light = np.array([
            rng.uniform(-0.35, 0.35) * room[0],
            rng.uniform(0.3, 0.8) * room[1],
            room[2] - rng.uniform(0.2, 0.5)
        ])
        if all(
                math.hypot(light[0] - s['center'][0], light[1] -
                           s['center'][1]) > s['radius'] + 0.1
                for s in surfaces if s['kind'] == 'cylinder'):
            break
    return dict(
        room=room,
        room_lo=lo,
        room_hi=hi,
        cam_position=cam,
        cam_rotation=rotation,
        light=light,
        ambient=float(rng.uniform(0.25, 0.4)),
        light_power=float(rng.uniform(1.1, 1.5)),
        materials=materials,
        surfaces=surfaces,
        objects=objects)


# --------------------------------------------------------------------------
# Ray casting
# --------------------------------------------------------------------------
def _to_local(v: np.ndarray, c: float, s: float) -> np.ndarray:
    """Rotate world vectors (N, 3) by ``-yaw`` about z (world -> box)."""
    return np.stack(
        [c * v[..., 0] + s * v[..., 1], -s * v[..., 0] + c * v[..., 1],
         v[..., 2]], axis=-1)


# Intersection routines take ray origins ``o`` and directions ``d`` as
# 3-tuples of components (scalars or arrays of one shape, unnormalised
# directions allowed) and return ``(t, part)``: the nearest ray parameter
# with ``t > _EPS`` (``inf`` on a miss) and the hit part of the primitive.
def _hit_box(o: Sequence, d: Sequence,
             prim: dict) -> Tuple[np.ndarray, np.ndarray]:
    c, s = prim['cos'], prim['sin']
    center, half = prim['center'], prim['half']
    rx, ry, rz = o[0] - center[0], o[1] - center[1], o[2] - center[2]
    ol = (c * rx + s * ry, -s * rx + c * ry, rz)
    dl = (c * d[0] + s * d[1], -s * d[0] + c * d[1], d[2])
    lows, highs = [], []
    for k in range(3):
        dk = np.where(np.abs(dl[k]) < 1e-12, 1e-12, dl[k])
        ta = (-half[k] - ol[k]) / dk
        tb = (half[k] - ol[k]) / dk
        lows.append(np.minimum(ta, tb))
        highs.append(np.maximum(ta, tb))
    tnear = np.maximum(np.maximum(lows[0], lows[1]), lows[2])
    tfar = np.minimum(np.minimum(highs[0], highs[1]), highs[2])
    hit = (tnear <= tfar) & (tnear > _EPS)
    # entry face: the slab whose entry parameter is the largest; it is the
    # + face when the ray travels toward -axis
    axis = np.where(lows[0] == tnear, 0, np.where(lows[1] == tnear, 1, 2))
    d_axis = np.where(axis == 0, dl[0], np.where(axis == 1, dl[1], dl[2]))
    part = (2 * axis + (d_axis < 0)).astype(np.uint8)
    return np.where(hit, tnear, np.inf), part


def _hit_sphere(o: Sequence, d: Sequence,
                prim: dict) -> Tuple[np.ndarray, np.ndarray]:
    center = prim['center']
    ox, oy, oz = o[0] - center[0], o[1] - center[1], o[2] - center[2]
    a = d[0] * d[0] + d[1] * d[1] + d[2] * d[2]
    b = ox * d[0] + oy * d[1] + oz * d[2]
    c = ox * ox + oy * oy + oz * oz - prim['radius']**2
    disc = b * b - a * c
    t = (-b - np.sqrt(np.maximum(disc, 0.0))) / a
    hit = (disc >= 0) & (t > _EPS)
    return np.where(hit, t, np.inf), np.zeros(t.shape, np.uint8)


def _hit_cylinder(o: Sequence, d: Sequence,
                  prim: dict) -> Tuple[np.ndarray, np.ndarray]:
    """Vertical cylinder with caps; part 0 side, 1 top cap, 2 bottom."""
    ox = o[0] - prim['center'][0]
    oy = o[1] - prim['center'][1]
    oz = o[2]
    dx, dy, dz = d
    r2 = prim['radius']**2
    a = dx * dx + dy * dy
    b = ox * dx + oy * dy
    c = ox * ox + oy * oy - r2
    disc = b * b - a * c
    with np.errstate(divide='ignore', invalid='ignore', over='ignore'):
        ts = (-b - np.sqrt(np.maximum(disc, 0.0))) / np.maximum(a, 1e-300)
        zs = oz + ts * dz
        side = (disc >= 0) & (a > 1e-18) & (ts > _EPS) & (
            zs >= prim['z0']) & (zs <= prim['z1'])
        t = np.where(side, ts, np.inf)
        part = np.zeros(t.shape, np.uint8)
        dz_safe = np.where(dz == 0, 1e-30, dz)
        for code, zc in ((1, prim['z1']), (2, prim['z0'])):
            tc = (zc - oz) / dz_safe
            xc = ox + tc * dx
            yc = oy + tc * dy
            cap = (tc > _EPS) & (xc * xc + yc * yc <= r2) & (tc < t)
            t = np.where(cap, tc, t)
            part = np.where(cap, np.uint8(code), part)
    return t, part


_HIT_FUNCS = dict(box=_hit_box, sphere=_hit_sphere, cylinder=_hit_cylinder)


def _hit_room(o: Sequence, d: Sequence, lo: np.ndarray,
              hi: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Exit point of rays from inside the room box: (t, plane index).

    Plane ``2 * axis`` is the low side of ``axis``, ``2 * axis + 1`` the
    high side: 0 left wall, 1 right wall, 2 front wall, 3 back wall,
    4 floor, 5 ceiling.
    """
    t = np.full(np.shape(d[0]), np.inf)
    plane = np.zeros(np.shape(d[0]), np.int16)
    with np.errstate(divide='ignore', invalid='ignore'):
        for k in range(3):
            dk = d[k]
            tk = np.where(dk > 0, (hi[k] - o[k]) / dk,
                          np.where(dk < 0, (lo[k] - o[k]) / dk, np.inf))
            closer = tk < t
            plane = np.where(closer, np.int16(2 * k) + (dk > 0), plane)
            t = np.where(closer, tk, t)
    return t, plane.astype(np.int16)


def _primitive_corners(prim: dict) -> np.ndarray:
    """(8, 3) corners of a box enclosing the primitive (world frame)."""
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1)
                      for sz in (-1, 1)], dtype=np.float64)
    if prim['kind'] == 'box':
        local = signs * prim['half']
        c, s = prim['cos'], prim['sin']
        world = np.stack([c * local[:, 0] - s * local[:, 1],
                          s * local[:, 0] + c * local[:, 1], local[:, 2]],
                         axis=1)
        return world + prim['center']
    r = prim['radius']
    if prim['kind'] == 'sphere':
        return prim['center'] + signs * r
    zc, hz = (prim['z0'] + prim['z1']) / 2, (prim['z1'] - prim['z0']) / 2
    return np.array([prim['center'][0], prim['center'][1], zc]) + signs * [
        r, r, hz]


def _pixel_window(prim: dict, origin: np.ndarray, rot: np.ndarray,
                  K: np.ndarray, height: int,
                  width: int) -> Optional[Tuple[slice, slice]]:
    """Image window that contains every pixel whose ray can hit ``prim``.

    The projection of a convex set lies in the convex hull of the projected
    corners of an enclosing box when all corners are in front of the
    camera; otherwise the whole image is returned. ``None`` when the
    primitive is outside the view.
    """
    cam = (_primitive_corners(prim) - origin) @ rot
    if (cam[:, 2] <= 1e-6).any():
        return slice(0, height), slice(0, width)
    u = K[0, 0] * cam[:, 0] / cam[:, 2] + K[0, 2]
    v = K[1, 1] * cam[:, 1] / cam[:, 2] + K[1, 2]
    x0, x1 = max(0, math.floor(u.min()) - 1), min(width,
                                                    math.ceil(u.max()) + 2)
    y0, y1 = max(0, math.floor(v.min()) - 1), min(height,
                                                    math.ceil(v.max()) + 2)
    if x0 >= x1 or y0 >= y1:
        return None
    return slice(y0, y1), slice(x0, x1)


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


def _pattern(material: dict, uv: np.ndarray) -> np.ndarray:
    """Procedural texture value in [0, 1] (0 = colour1, 1 = colour2)."""
    texture = material['texture']
    if texture == 'plain':
        return np.zeros(len(uv))
    p, w = material['period'], material['width']
    ca, sa = math.cos(material['angle']), math.sin(material['angle'])
    a = (uv[:, 0] * ca + uv[:, 1] * sa) / p
    b = (-uv[:, 0] * sa + uv[:, 1] * ca) / p
    if texture == 'stripes':
        return np.floor(a) % 2
    if texture == 'checker':
        return (np.floor(a) + np.floor(b)) % 2
    if texture == 'grid':
        return ((a % 1 < w) | (b % 1 < w)).astype(np.float64)
    if texture == 'planks':
        row = np.floor(b)
        joint = (b % 1 < w) | ((a / 4 + 0.37 * row) % 1 < w / 4)
        grain = 0.2 + 0.2 * np.sin(2 * math.pi * a / 0.7 + 3 * row)
        return np.where(joint, 1.0, grain)
    if texture == 'dots':
        fa, fb = a - np.round(a), b - np.round(b)
        return (fa * fa + fb * fb < 0.0625).astype(np.float64)
    # waves
    return 0.5 + 0.5 * np.sin(2 * math.pi * a +
                              0.8 * np.sin(math.pi * b))


def _bounding_sphere(prim: dict) -> Tuple[np.ndarray, float]:
    corners = _primitive_corners(prim)
    center = corners.mean(0)
    return center, float(np.linalg.norm(corners - center, axis=1).max())


def _any_occluder(o: np.ndarray, d: np.ndarray,
                  surfaces: Sequence[dict]) -> np.ndarray:
    """Whether an object primitive lies on the segments ``o .. o + d``.

    Args:
        o (np.ndarray): (N, 3) segment starts.
        d (np.ndarray): (N, 3) segment vectors.
        surfaces (Sequence[dict]): Scene surfaces (planes are skipped).

    Returns:
        np.ndarray: (N,) bool.
    """
    blocked = np.zeros(len(o), dtype=bool)
    dd = np.einsum('ij,ij->i', d, d)
    for surface in surfaces:
        if surface['kind'] == 'plane':
            continue
        # cull with the bounding sphere: closest approach of each segment
        center, radius = _bounding_sphere(surface)
        oc = center - o
        s = np.clip(np.einsum('ij,ij->i', oc, d) / dd, 0.0, 1.0)
        gap = oc - s[:, None] * d
        near = np.nonzero((np.einsum('ij,ij->i', gap, gap) <= radius**2)
                          & ~blocked)[0]
        if len(near) == 0:
            continue
        t, _ = _HIT_FUNCS[surface['kind']](tuple(o[near].T),
                                           tuple(d[near].T), surface)
        blocked[near] |= t < 1.0
    return blocked


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

    t, surf = _hit_room(o, rays, scene['room_lo'], scene['room_hi'])
    part = np.zeros(t.shape, np.uint8)
    for sid, surface in enumerate(surfaces):
        if surface['kind'] == 'plane':
            continue
        window = _pixel_window(surface, origin, rot, K, height, width)
        if window is None:
            continue
        ts, ps = _HIT_FUNCS[surface['kind']](o, [r[window] for r in rays],
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
        m = _pattern(mat, uv)[:, None]
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
        blocked = _any_occluder(start, scene['light'] - start, surfaces)
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


# --------------------------------------------------------------------------
# Dataset writing
# --------------------------------------------------------------------------
def _check_seed(value, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or value < 0:
        raise ValueError(f'{name} must be a non-negative int, got {value!r}')


def _check_size(height, width) -> None:
    for name, value in (('height', height), ('width', width)):
        if isinstance(value, bool) or not isinstance(
                value, (int, np.integer)) or value < 2:
            raise ValueError(f'{name} must be an int >= 2, got {value!r}')


def _image_ids(num_train: int, num_val: int) -> Tuple[List[str], List[str]]:
    total = num_train + num_val
    digits = max(4, len(str(total - 1)))
    ids = [str(i).zfill(digits) for i in range(total)]
    return ids[:num_train], ids[num_train:]


def _expected_meta(num_train: int, num_val: int, height: int, width: int,
                   seed: int) -> dict:
    K = camera_intrinsics(height, width)
    return dict(
        name='SynthScenes',
        version=GENERATOR_VERSION,
        layout='NYUDv2 multi-task (InvPT)',
        seed=int(seed),
        height=int(height),
        width=int(width),
        num_train=int(num_train),
        num_val=int(num_val),
        num_images=int(num_train + num_val),
        classes=list(SYNTHSCENES_CLASSES),
        palette=[list(c) for c in SYNTHSCENES_PALETTE],
        intrinsics=dict(
            fx=float(K[0, 0]), fy=float(K[1, 1]), cx=float(K[0, 2]),
            cy=float(K[1, 2])),
        depth=DEPTH_DEFINITION,
        normals=NORMALS_FRAME,
        segmentation='uint8 PNG, 0 = unlabelled, class k stored as k + 1',
        edge='uint8 PNG, 0 or 255',
        saliency='uint8 PNG, 0 or 255 (object pixels)')


def _read_meta(out_dir: str) -> Optional[dict]:
    path = osp.join(out_dir, 'meta.json')
    try:
        with open(path, encoding='utf-8') as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def is_synthscenes_complete(out_dir: str) -> bool:
    """Whether ``out_dir`` holds a complete SynthScenes dataset.

    Complete means: ``meta.json`` (written last) is readable, the split
    files list exactly the ids it announces, and every id has all six
    files (image, segmentation, depth, normals, edge, saliency).

    Args:
        out_dir (str): Dataset root.

    Returns:
        bool: True if complete.
    """
    meta = _read_meta(out_dir)
    if meta is None or meta.get('name') != 'SynthScenes':
        return False
    num_train, num_val = meta.get('num_train'), meta.get('num_val')
    if not all(isinstance(n, int) and n >= 0 for n in (num_train, num_val)):
        return False
    if num_train + num_val < 1:
        return False
    train_ids, val_ids = _image_ids(num_train, num_val)
    for split, ids in (('train', train_ids), ('val', val_ids)):
        path = osp.join(out_dir, 'gt_sets', f'{split}.txt')
        try:
            with open(path, encoding='utf-8') as f:
                listed = f.read().split()
        except OSError:
            return False
        if listed != ids:
            return False
    for img_id in train_ids + val_ids:
        for sub, suffix in SYNTHSCENES_SUBDIRS.items():
            if not osp.isfile(osp.join(out_dir, sub, img_id + suffix)):
                return False
    return True


def _meta_differences(existing: dict, expected: dict) -> List[str]:
    keys = sorted(set(existing) | set(expected))
    return [
        f'{k}: {existing.get(k)!r} != {expected.get(k)!r}' for k in keys
        if k not in _META_STAT_KEYS and existing.get(k) != expected.get(k)
    ]


def _remove_generated(out_dir: str) -> None:
    """Remove only what the generator writes; other files are kept."""
    meta = osp.join(out_dir, 'meta.json')
    if osp.lexists(meta):
        os.remove(meta)
    for sub in list(SYNTHSCENES_SUBDIRS) + ['gt_sets']:
        path = osp.join(out_dir, sub)
        if osp.isdir(path) and not osp.islink(path):
            shutil.rmtree(path)
        elif osp.lexists(path):
            os.remove(path)


def _write_png(path: str, array: np.ndarray) -> None:
    if array.ndim == 3:
        array = cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(path, array):
        raise OSError(f'cv2.imwrite failed to write {path}')


def encode_normals(normals: np.ndarray) -> np.ndarray:
    """Encode unit normals as the NYUD uint8 RGB map.

    Args:
        normals (np.ndarray): (H, W, 3) float normals in [-1, 1].

    Returns:
        np.ndarray: (H, W, 3) uint8, ``round((n + 1) / 2 * 255)``; decode
        with ``n = 2 * v / 255 - 1``.
    """
    return np.round((np.clip(normals, -1, 1) + 1) / 2 * 255).astype(np.uint8)


def _render_and_write(args: Tuple[str, str, int, int, int, int]) -> list:
    out_dir, img_id, seed, index, height, width = args
    sample = render_scene(seed, height, width, index=index)
    _write_png(osp.join(out_dir, 'images', img_id + '.png'), sample['img'])
    _write_png(osp.join(out_dir, 'segmentation', img_id + '.png'),
               sample['semseg'] + np.uint8(1))
    np.save(osp.join(out_dir, 'depth', img_id + '.npy'), sample['depth'])
    _write_png(osp.join(out_dir, 'normals', img_id + '.png'),
               encode_normals(sample['normals']))
    _write_png(osp.join(out_dir, 'edge', img_id + '.png'),
               sample['boundary'] * np.uint8(255))
    _write_png(osp.join(out_dir, 'saliency', img_id + '.png'),
               sample['saliency'] * np.uint8(255))
    counts = np.bincount(sample['semseg'].ravel(),
                         minlength=len(SYNTHSCENES_CLASSES))
    return [int(c) for c in counts]


def generate_synthscenes(out_dir: str,
                         num_train: int = 200,
                         num_val: int = 50,
                         height: int = 120,
                         width: int = 160,
                         seed: int = 0,
                         overwrite: bool = False,
                         progress: bool = True,
                         num_workers: int = 0) -> dict:
    """Write a SynthScenes dataset in the NYUD-v2 multi-task layout.

    Layout under ``out_dir``: ``images/<id>.png`` (RGB), ``segmentation/
    <id>.png`` (class k stored as k + 1), ``depth/<id>.npy`` (float32
    metres), ``normals/<id>.png``, ``edge/<id>.png`` (0/255),
    ``saliency/<id>.png`` (0/255), ``gt_sets/{train,val}.txt`` and
    ``meta.json`` (written last). Ids are zero-padded 4-digit indices,
    train first, then val; image ``i`` is ``render_scene(seed, height,
    width, index=i)``.

    Args:
        out_dir (str): Dataset root.
        num_train (int): Number of training images. Defaults to 200.
        num_val (int): Number of validation images. Defaults to 50.
        height (int): Image height. Defaults to 120.
        width (int): Image width. Defaults to 160.
        seed (int): Dataset seed. Defaults to 0.
        overwrite (bool): Regenerate even if ``out_dir`` already holds a
            dataset (only the generator's own files are removed).
            Defaults to False.
        progress (bool): Show a progress bar. Defaults to True.
        num_workers (int): Worker processes; 0 renders in this process.
            The output does not depend on it. Defaults to 0.

    Returns:
        dict: The meta data (also in ``meta.json``). With
        ``overwrite=False`` and a complete dataset with the same settings
        in ``out_dir``, that dataset's meta is returned and nothing is
        rendered.

    Raises:
        FileExistsError: ``out_dir`` is not empty and holds no complete
            dataset with the same settings, and ``overwrite`` is False.
    """
    for name, value in (('num_train', num_train), ('num_val', num_val),
                        ('num_workers', num_workers)):
        _check_seed(value, name)
    if num_train + num_val < 1:
        raise ValueError('num_train + num_val must be at least 1')
    _check_seed(seed, 'seed')
    _check_size(height, width)
    out_dir = str(out_dir)
    expected = _expected_meta(num_train, num_val, height, width, seed)

    if osp.lexists(out_dir) and not osp.isdir(out_dir):
        raise NotADirectoryError(f'out_dir {out_dir} is not a directory')
    if osp.isdir(out_dir) and os.listdir(out_dir):
        if is_synthscenes_complete(out_dir):
            existing = _read_meta(out_dir)
            diffs = _meta_differences(existing, expected)
            if not overwrite:
                if not diffs:
                    return existing
                raise FileExistsError(
                    f'{out_dir} holds a SynthScenes dataset made with other '
                    f'settings ({"; ".join(diffs)}); pass overwrite=True '
                    '(--overwrite) to regenerate it or choose another '
                    'out_dir')
        elif not overwrite:
            raise FileExistsError(
                f'{out_dir} exists and is not empty but holds no complete '
                'SynthScenes dataset (meta.json, gt_sets or data files '
                'missing); pass overwrite=True (--overwrite) to regenerate '
                'it or choose another out_dir')
        _remove_generated(out_dir)

    for sub in list(SYNTHSCENES_SUBDIRS) + ['gt_sets']:
        os.makedirs(osp.join(out_dir, sub), exist_ok=True)
    train_ids, val_ids = _image_ids(num_train, num_val)
    tasks = [(out_dir, img_id, seed, i, height, width)
             for i, img_id in enumerate(train_ids + val_ids)]

    bar = None
    if progress:
        from mmengine.utils import ProgressBar
        bar = ProgressBar(len(tasks))
    counts = []
    if num_workers > 0:
        import multiprocessing
        with multiprocessing.Pool(num_workers) as pool:
            for c in pool.imap(_render_and_write, tasks, chunksize=4):
                counts.append(c)
                if bar is not None:
                    bar.update()
    else:
        for task in tasks:
            counts.append(_render_and_write(task))
            if bar is not None:
                bar.update()
    if bar is not None:
        bar.file.write('\n')

    for split, ids in (('train', train_ids), ('val', val_ids)):
        with open(osp.join(out_dir, 'gt_sets', f'{split}.txt'), 'w',
                  encoding='utf-8') as f:
            f.write(''.join(i + '\n' for i in ids))
    counts_arr = np.array(counts, dtype=np.int64).reshape(
        -1, len(SYNTHSCENES_CLASSES))
    meta = dict(expected)
    meta['class_pixel_counts'] = dict(
        train=[int(c) for c in counts_arr[:num_train].sum(0)],
        val=[int(c) for c in counts_arr[num_train:].sum(0)])
    tmp = osp.join(out_dir, 'meta.json.tmp')
    with open(tmp, 'w', encoding='utf-8') as f:
        json.dump(meta, f, indent=2)
    os.replace(tmp, osp.join(out_dir, 'meta.json'))
    return meta
