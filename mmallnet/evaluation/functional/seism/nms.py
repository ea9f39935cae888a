"""Non-maximum suppression of boundary maps (Dollár's edgesNms, as SEISM).

SEISM's ``read_one_cont_png`` takes the edge orientation from a
triangle-smoothed copy of the map (:func:`conv_tri`, radius 4) and runs
Dollár's ``edgesNmsMex(E, O, r=1, s=5, m=1.01)`` (:func:`edges_nms`) on
the UNSMOOTHED map (:func:`seism_nms`). Arithmetic is float32, as in the
MEX files; x is the column, y the row.
"""
import math
from typing import Tuple

import numpy as np
from scipy import ndimage

from .params import (
    NMS_BORDER,
    NMS_MULTIPLIER,
    NMS_RADIUS,
    ORIENTATION_RADIUS,
)


def conv_tri(image: np.ndarray, radius: float) -> np.ndarray:
    """Piotr Dollár's ``convTri``: separable triangle filter.

    For an integer ``radius > 1`` the 1-D kernel is
    ``[1, 2, ..., r, r + 1, r, ..., 1] / (r + 1)^2``; for ``0 < radius <= 1``
    it is ``[1, p, 1] / (2 + p)`` with ``p = 12 / r / (r + 2) - 2``. Borders
    are padded symmetrically (edge pixel repeated, MATLAB's
    ``padarray(., 'symmetric')``).

    Args:
        image (np.ndarray): (H, W) map.
        radius (float): Filter radius; 0 returns a copy.

    Returns:
        np.ndarray: (H, W) float32.
    """
    image = np.asarray(image, dtype=np.float32)
    if radius == 0:
        return image.copy()
    if 0 < radius <= 1:
        p = 12.0 / radius / (radius + 2) - 2
        kernel = np.array([1.0, p, 1.0]) / (2 + p)
    elif radius > 1 and float(radius).is_integer():
        r = int(radius)
        kernel = np.concatenate([np.arange(1, r + 2),
                                 np.arange(r, 0, -1)]) / (r + 1)**2
    else:
        raise ValueError(f'conv_tri: radius must be in (0, 1] or an integer '
                         f'> 1, got {radius}.')
    out = ndimage.convolve1d(image, kernel, axis=0, mode='reflect')
    return ndimage.convolve1d(out, kernel, axis=1, mode='reflect')


def _gradient2(image: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """MATLAB ``gradient``: (d/drow, d/dcol), central inside, one-sided at
    the borders (0 along an axis of length 1)."""
    grads = []
    for axis in (0, 1):
        if image.shape[axis] < 2:
            grads.append(np.zeros_like(image))
        else:
            grads.append(np.gradient(image, axis=axis))
    return grads[0], grads[1]


def edge_orientation(edge: np.ndarray,
                     radius: float = ORIENTATION_RADIUS) -> np.ndarray:
    """Edge normal orientation of SEISM's ``read_one_cont_png``.

    ``[Ox, Oy] = gradient2(convTri(E, 4))``, ``Oxx = d/dx Ox``,
    ``Oxy = d/dx Oy``, ``Oyy = d/dy Oy`` and
    ``O = mod(atan(Oyy * sign(-Oxy) / (Oxx + 1e-5)), pi)`` (float32; x is
    the column, y the row). ``O`` is the direction of the normal along
    which :func:`edges_nms` compares, measured from the +x axis towards +y.
    Note that where ``Oxy`` is exactly 0 (e.g. a perfectly horizontal
    ridge) ``sign`` gives 0 and ``O = 0``, so the comparison runs along x,
    as in the MATLAB code. Non-finite values (0 / 0) become 0.

    Args:
        edge (np.ndarray): (H, W) edge map.
        radius (float): convTri radius. Default 4.

    Returns:
        np.ndarray: (H, W) float32 in [0, pi).
    """
    smooth = conv_tri(edge, radius)
    oy, ox = _gradient2(smooth)
    oxx = _gradient2(ox)[1]
    oyy, oxy = _gradient2(oy)
    with np.errstate(divide='ignore', invalid='ignore'):
        o = np.arctan(oyy * np.sign(-oxy) / (oxx + np.float32(1e-5)))
    o = np.mod(o, np.float32(math.pi)).astype(np.float32)
    o[~np.isfinite(o)] = 0
    return o


def edges_nms(edge: np.ndarray,
              orientation: np.ndarray,
              radius: int = NMS_RADIUS,
              border: int = NMS_BORDER,
              multiplier: float = NMS_MULTIPLIER) -> np.ndarray:
    """Dollár's ``edgesNmsMex(E, O, r, s, m)``.

    Exact convention (float32 arithmetic as in the MEX file): a nonzero
    pixel at column ``x``, row ``y`` with value ``e`` is set to 0 if, for
    some ``d`` in ``[-r, r] \\ {0}``, ``m * e < E(x + d cos O, y + d sin O)``,
    where ``E(., .)`` is bilinear interpolation of the input map with the
    sample point clamped to ``[0, W - 1.001] x [0, H - 1.001]``; i.e. it is
    kept iff ``m * e`` is at least both interpolated neighbours along the
    normal (``m = 1.01`` tolerates a 1% plateau). Then, with
    ``s' = min(s, W // 2, H // 2)``, the ``x``-th column from the left and
    from the right (``x < s'``) is multiplied by ``x / s'``, and the same
    for rows (so the outermost ring becomes 0).

    Args:
        edge (np.ndarray): (H, W) edge map (not smoothed), H, W >= 2.
        orientation (np.ndarray): (H, W) normal orientation in radians
            (:func:`edge_orientation`).
        radius (int): Comparison distance ``r``. Default 1.
        border (int): Border suppression width ``s`` (0: none). Default 5.
        multiplier (float): ``m``. Default 1.01.

    Returns:
        np.ndarray: (H, W) float32 suppressed map.
    """
    e0 = np.ascontiguousarray(edge, dtype=np.float32)
    if e0.ndim != 2 or min(e0.shape) < 2:
        raise ValueError(f'edges_nms: expected a (H, W) map with H, W >= 2, '
                         f'got shape {e0.shape}.')
    if orientation.shape != e0.shape:
        raise ValueError(f'edges_nms: orientation shape {orientation.shape} '
                         f'!= edge map shape {e0.shape}.')
    h, w = e0.shape
    out = e0.copy()
    ys, xs = np.nonzero(e0)
    if ys.size:
        value = e0[ys, xs] * np.float32(multiplier)
        theta = orientation[ys, xs].astype(np.float64)
        cos_o = np.cos(theta).astype(np.float32)
        sin_o = np.sin(theta).astype(np.float32)
        xf, yf = xs.astype(np.float32), ys.astype(np.float32)
        suppressed = np.zeros(ys.size, dtype=bool)
        for d in range(-int(radius), int(radius) + 1):
            if d == 0:
                continue
            x = xf + np.float32(d) * cos_o
            y = yf + np.float32(d) * sin_o
            x = np.where(x < 0, np.float32(0),
                         np.where(x.astype(np.float64) > w - 1.001,
                                  np.float32(w - 1.001), x))
            y = np.where(y < 0, np.float32(0),
                         np.where(y.astype(np.float64) > h - 1.001,
                                  np.float32(h - 1.001), y))
            x0, y0 = x.astype(np.int64), y.astype(np.int64)
            dx0 = x - x0.astype(np.float32)
            dy0 = y - y0.astype(np.float32)
            dx1 = np.float32(1) - dx0
            dy1 = np.float32(1) - dy0
            interp = (e0[y0, x0] * dx1 * dy1 + e0[y0, x0 + 1] * dx0 * dy1 +
                      e0[y0 + 1, x0] * dx1 * dy0 +
                      e0[y0 + 1, x0 + 1] * dx0 * dy0)
            suppressed |= value < interp
        out[ys[suppressed], xs[suppressed]] = 0
    s = min(int(border), w // 2, h // 2)
    for i in range(s):
        f = np.float32(i) / np.float32(s)
        out[:, i] *= f
        out[:, w - 1 - i] *= f
    for i in range(s):
        f = np.float32(i) / np.float32(s)
        out[i, :] *= f
        out[h - 1 - i, :] *= f
    return out


def seism_nms(edge: np.ndarray,
              border: int = NMS_BORDER,
              radius: int = NMS_RADIUS,
              multiplier: float = NMS_MULTIPLIER,
              orientation_radius: float = ORIENTATION_RADIUS) -> np.ndarray:
    """NMS of ``read_one_cont_png``: :func:`edges_nms` of the unsmoothed
    map with the orientation of its convTri-4 copy.

    Args:
        edge (np.ndarray): (H, W) float edge map in [0, 1].
        border (int): Border suppression width (0 disables it). Default 5.
        radius (int): NMS comparison distance. Default 1.
        multiplier (float): NMS tolerance. Default 1.01.
        orientation_radius (float): convTri radius. Default 4.

    Returns:
        np.ndarray: (H, W) float32.
    """
    edge = np.ascontiguousarray(edge, dtype=np.float32)
    return edges_nms(edge, edge_orientation(edge, orientation_radius),
                     radius, border, multiplier)
