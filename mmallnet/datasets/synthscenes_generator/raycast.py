"""Ray / primitive intersections of the SynthScenes renderer.

Analytic nearest hits of rays with yawed boxes, spheres, capped vertical
cylinders and the room box, an image-window cull (:func:`pixel_window`)
and the shadow-ray test (:func:`any_occluder`).
"""
import math
from typing import Optional, Sequence, Tuple

import numpy as np

_EPS = 1e-9


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


HIT_FUNCS = dict(box=_hit_box, sphere=_hit_sphere, cylinder=_hit_cylinder)


def hit_room(o: Sequence, d: Sequence, lo: np.ndarray,
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


def pixel_window(prim: dict, origin: np.ndarray, rot: np.ndarray,
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



def _bounding_sphere(prim: dict) -> Tuple[np.ndarray, float]:
    corners = _primitive_corners(prim)
    center = corners.mean(0)
    return center, float(np.linalg.norm(corners - center, axis=1).max())


def any_occluder(o: np.ndarray, d: np.ndarray,
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
        t, _ = HIT_FUNCS[surface['kind']](tuple(o[near].T),
                                          tuple(d[near].T), surface)
        blocked[near] |= t < 1.0
    return blocked
