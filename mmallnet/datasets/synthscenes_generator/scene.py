"""Sampling of one SynthScenes scene: room, objects, camera and light.

All randomness of a scene comes from ``np.random.default_rng([seed,
index])``, independent of the image size. World frame: z up, the floor is
``z = 0``, the room spans ``[-W/2, W/2] x [0, D] x [0, H]``.
"""
import math
from typing import List, Tuple

import numpy as np

from .camera import camera_rotation
from .materials import sample_material
from .objects import (
    aabb_half,
    footprint_radius,
    object_primitives,
    sample_object_shape,
)
from .settings import CLASS_ID, HFOV_DEG, check_seed

_OBJECT_TYPES = ('cabinet', 'table', 'bed', 'box', 'ball', 'pillar', 'stool')
_OBJECT_PROBS = (0.17, 0.17, 0.08, 0.2, 0.15, 0.08, 0.15)
_ROOM_PLANE_CLASSES = ('wall', 'wall', 'wall', 'wall', 'floor', 'ceiling')


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
    check_seed(seed, 'seed')
    check_seed(index, 'index')
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
    rotation = camera_rotation(yaw, pitch, roll)

    materials: List[dict] = []
    wall = sample_material(rng, 'wall')
    materials.append(wall)
    accent = 0
    if rng.uniform() < 0.3:
        accent = len(materials)
        materials.append(sample_material(rng, 'wall'))
    materials.append(sample_material(rng, 'floor'))
    materials.append(sample_material(rng, 'ceiling'))
    floor_mat, ceil_mat = len(materials) - 2, len(materials) - 1
    plane_mats = (0, 0, 0, accent, floor_mat, ceil_mat)
    surfaces: List[dict] = [
        dict(kind='plane', plane=i, label=CLASS_ID[_ROOM_PLANE_CLASSES[i]],
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
        shape = sample_object_shape(rng, kind, room)
        radius = footprint_radius(shape)
        for _ in range(30):
            if kind == 'cabinet' and rng.uniform() < 0.5:
                shape['yaw'] = 0.0  # against the back wall, facing us
                ax, ay = aabb_half(shape)
                x = rng.uniform(lo[0] + ax + 0.01, hi[0] - ax - 0.01)
                y = hi[1] - ay - 0.01
            else:
                dist = rng.uniform(1.0 + radius, max(room[1], 2.0 + radius))
                ang = yaw + rng.uniform(-0.85, 0.85) * half_fov
                x = cam[0] + dist * math.sin(ang)
                y = cam[1] + dist * math.cos(ang)
            ax, ay = aabb_half(shape)
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
                object_primitives(kind, shape, x, y, instance, materials,
                                  rng))
            placed.append((x, y, radius))
            objects.append(
                dict(
                    **{'class': kind},
                    label=CLASS_ID[kind],
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
