"""Furniture of a SynthScenes room as analytic primitives.

Each object kind (cabinet, table, bed, box, ball, pillar, stool) is a few
primitives resting on the floor: yawed boxes (``half`` extents in the
box frame), spheres and vertical cylinders, each a dict with ``kind``,
``label``, ``instance``, ``material`` and its geometry, in the world
frame (z up, floor ``z = 0``).
"""
import math
from typing import List, Tuple

import numpy as np

from .materials import hsv, sample_material
from .settings import CLASS_ID


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


def sample_object_shape(rng: np.random.Generator, kind: str,
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


def footprint_radius(shape: dict) -> float:
    """Radius of the circle around the object's floor footprint."""
    hx, hy = shape['half'][:2]
    return float(math.hypot(hx, hy))


def aabb_half(shape: dict) -> Tuple[float, float]:
    """Half extents (x, y) of the yawed footprint's axis-aligned box."""
    hx, hy = shape['half'][:2]
    c, s = abs(math.cos(shape['yaw'])), abs(math.sin(shape['yaw']))
    return c * hx + s * hy, s * hx + c * hy


def object_primitives(kind: str, shape: dict, x: float, y: float,
                      instance: int, materials: List[dict],
                      rng: np.random.Generator) -> List[dict]:
    """Primitives of one object whose footprint centre is ``(x, y)``."""
    label = CLASS_ID[kind]
    yaw = shape['yaw']
    hx, hy, hz = shape['half']
    mat = len(materials)
    materials.append(sample_material(rng, 'object'))
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
        materials.append(sample_material(rng, 'object'))
        pillow_mat = len(materials)
        pillow = sample_material(rng, 'object')
        pillow['color1'] = hsv(0.0, 0.0, 0.92)
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
