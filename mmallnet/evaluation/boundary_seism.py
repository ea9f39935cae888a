"""Boundary odsF / oisF / AP with the SEISM protocol, in Python.

The multi-task papers (InvPT, TaskPrompter, MLoRE, ALLNet) score boundaries
with the MATLAB SEISM toolbox (Pont-Tuset & Marques) through the
Boundary-Detection-Evaluation-Tools wrapper, which reads one uint8 PNG per
image and runs Dollár's / the BSDS benchmark code. This module re-implements
that pipeline so odsF can be computed in-process, and writes the PNGs the
MATLAB tool reads so that official numbers can be produced elsewhere.

Per image (:func:`seism_image_counts`):

1. **Prediction.** ``E = q / 255`` in float32 where ``q`` is the uint8
   value the PNG holds (``quantize='round'``: ``q = round(255 p)``, what
   :func:`write_boundary_png` writes; ``'floor'``: InvPT's truncating cast;
   ``None``: the float map itself), i.e. MATLAB's ``im2single(imread(.))``.
2. **Non-maximum suppression** on the UNSMOOTHED ``E``
   (:func:`seism_nms`, the ``read_one_cont_png`` recipe): the orientation
   comes from a triangle-smoothed copy (:func:`edge_orientation`,
   ``convTri(E, 4)``), then Dollár's ``edgesNmsMex(E, O, r=1, s=5,
   m=1.01)`` (:func:`edges_nms`).
3. **Thresholds.** The 101 values of SEISM ``parameters/HED.txt``
   (:data:`SEISM_THRESHOLDS`: 0.001, 0.01, 0.02, ..., 0.99, 0.999); edge
   pixels are ``E_nms > t`` (``strict=True``, the default) or
   ``E_nms >= t`` (``strict=False``), compared in single precision.
4. **Thinning** of each binary map (:func:`thin`, MATLAB's
   ``bwmorph(., 'thin', Inf)``).
5. **Ground truth** (:func:`prepare_boundary_gt`): ``seg2bmap`` of a label
   map (:func:`seg2bmap`; SEISM feeds NYUD's binary ``edge/<id>.png`` and
   PASCAL-Context's ``LabelMap`` through it), then thinned.
6. **Correspondence** (:func:`correspond_pixels`, BSDS
   ``correspondPixels``): one-to-one matching of predicted and ground-truth
   boundary pixels within ``maxDist = max_dist * diagonal`` pixels (NYUD
   0.011, PASCAL-Context 0.0075), minimum cost with outlier nodes.
7. **Counts** per threshold: ``cnt_r`` matched GT pixels, ``sum_r`` GT
   pixels, ``cnt_p`` matched predicted pixels, ``sum_p`` predicted pixels
   (int64). Summing them over images (or processes) is exact.

Pooling (:func:`seism_metrics`) follows SEISM's ``gather_measure``,
``general_ods``, ``general_ois`` and ``general_ap``: odsF is the best F of
the counts summed over images per threshold, oisF the F of the counts
summed at each image's own best threshold, AP the area under the pooled PR
curve (formula in :func:`seism_metrics`).

Known differences from the MATLAB tool (all tie-level or rarer):

- Floating point: the smoothing, gradients and NMS interpolation run in
  float32 like the MEX files, but summation orders differ, so an NMS
  decision or a threshold comparison that is a near-tie can flip.
- Threshold comparison: SEISM's current ``read_one_cont_png`` keeps
  ``E >= max(eps, t)`` (the strict ``E > t`` line is commented out there);
  this module defaults to the strict ``>`` of the project's protocol notes
  and offers ``strict=False`` for the other. They differ only for pixels
  whose value equals a threshold exactly (e.g. ``51/255 == 0.2`` in
  single precision).
- Matching: BSDS solves the assignment with a CSA solver on a graph whose
  outlier connections are drawn at random (degree 6), which makes the
  official numbers slightly non-deterministic (about ±0.001 on BSDS). Here
  the same cost model (integer costs ``rint(100 d)``, outlier cost
  ``ceil(100 * 100 * maxDist)``) is solved exactly by scipy's LAPJVsp
  (:func:`scipy.sparse.csgraph.min_weight_full_bipartite_matching`) in
  :func:`correspond_pixels` and with ``matching='min_cost'``. The
  101-threshold loop by default only needs the number of matched pairs
  and takes it from a maximum-cardinality matching kept up to date with
  scipy's maximum flow (``matching='max_cardinality'``, ~10x faster); the
  two agree unless the min-cost assignment leaves an augmentable pair
  unmatched, which needs an augmenting path of about ``outlier_cost``
  (100) pairs all near the full tolerance (see
  :func:`seism_image_counts`).
- A prediction of another size than the ground truth is an error, where
  SEISM rotates it by 90°.
"""
import functools
import math
import multiprocessing
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch
from scipy import ndimage, sparse
from scipy.sparse.csgraph import (
    maximum_flow,
    min_weight_full_bipartite_matching,
)

# The Guo-Hall deletion tables and neighbour bit order of the dataset's
# thinning (the algorithm of MATLAB's bwmorph 'thin'); :func:`thin` is a
# sparse re-run of the very same passes (tested equal to ``thin_binary``).
from mmallnet.datasets.transforms.pascal_context import (  # noqa: F401
    _NEIGHBOUR_BITS,
    _THIN_TABLES,
    thin_binary,
)

ArrayLike = Union[np.ndarray, torch.Tensor]
Stats = Dict[str, np.ndarray]

#: The 101 thresholds of SEISM ``parameters/HED.txt``.
SEISM_THRESHOLDS = np.concatenate([[0.001], np.arange(1, 100) / 100,
                                   [0.999]])
#: ``maxDist`` (fraction of the image diagonal) per benchmark, as in
#: SEISM's ``eval_method.m`` (NYUD added by Boundary-Detection-Evaluation-
#: Tools; 0.0075 is also SEISM's default).
MAX_DIST = {'nyud': 0.011, 'pascal_context': 0.0075}
#: Outlier cost of ``correspondPixels``, in units of ``maxDist``.
OUTLIER_COST = 100.0
#: BSDS ``match.cc`` scales distances by 100 and rounds to integers.
_COST_SCALE = 100.0
#: ``read_one_cont_png``: convTri radius for the orientation, then
#: ``edgesNmsMex(E, O, r, s, m)``.
ORIENTATION_RADIUS = 4
NMS_RADIUS = 1
NMS_BORDER = 5
NMS_MULTIPLIER = 1.01

_COUNT_KEYS = ('cnt_r', 'sum_r', 'cnt_p', 'sum_p')


def _as_map(x: ArrayLike, name: str) -> np.ndarray:
    """(H, W) numpy array from a (H, W) or (1, H, W) array / tensor."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    if x.ndim == 3 and x.shape[0] == 1:
        x = x[0]
    if x.ndim != 2:
        raise ValueError(f'{name}: expected a (H, W) or (1, H, W) map, got '
                         f'shape {tuple(x.shape)}.')
    return x


# ---------------------------------------------------------------------------
# Prediction IO
# ---------------------------------------------------------------------------
def quantize_boundary(pred: ArrayLike, rounding: str = 'round') -> np.ndarray:
    """The uint8 map of a boundary probability, as stored in a PNG.

    Args:
        pred (ArrayLike): Probability map, (H, W) or (1, H, W); clipped to
            [0, 1].
        rounding (str): ``'round'`` (``round(255 p)``, half to even, the
            default) or ``'floor'`` (``floor(255 p)``, the truncating cast
            of InvPT's ``test_utils``).

    Returns:
        np.ndarray: (H, W) uint8.
    """
    p = np.clip(_as_map(pred, 'boundary prediction').astype(np.float64), 0,
                1) * 255
    if rounding == 'round':
        q = np.round(p)
    elif rounding == 'floor':
        q = np.floor(p)
    else:
        raise ValueError(f"rounding must be 'round' or 'floor', got "
                         f'{rounding!r}.')
    return q.astype(np.uint8)


def prepare_boundary_prediction(pred: ArrayLike,
                                quantize: Optional[str] = 'round'
                                ) -> np.ndarray:
    """The float32 edge map SEISM would see.

    Args:
        pred (ArrayLike): Probability map (H, W) / (1, H, W), or an uint8
            map (taken as PNG values).
        quantize (str, optional): ``'round'`` / ``'floor'``: go through the
            uint8 PNG values (:func:`quantize_boundary`), then ``q / 255``
            in float32 (MATLAB ``im2single``). None: use the values as
            float32. Ignored for uint8 input.

    Returns:
        np.ndarray: (H, W) float32.
    """
    pred = _as_map(pred, 'boundary prediction')
    if pred.dtype == np.uint8:
        q = pred
    elif quantize is None:
        return np.ascontiguousarray(pred, dtype=np.float32)
    else:
        q = quantize_boundary(pred, quantize)
    return q.astype(np.float32) / np.float32(255)


def write_boundary_png(pred: ArrayLike,
                       path: str,
                       rounding: str = 'round') -> None:
    """Write a boundary probability as the uint8 PNG SEISM reads.

    Args:
        pred (ArrayLike): Probability map, (H, W) or (1, H, W).
        path (str): Output file, normally ``<dir>/<id>.png``.
        rounding (str): See :func:`quantize_boundary`. Default 'round'.
    """
    folder = osp.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    if not cv2.imwrite(path, quantize_boundary(pred, rounding)):
        raise OSError(f'Could not write boundary PNG {path}.')


def read_boundary_png(path: str) -> np.ndarray:
    """Read a boundary PNG written by :func:`write_boundary_png`.

    Returns:
        np.ndarray: (H, W) uint8.
    """
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise OSError(f'Could not read boundary PNG {path}.')
    if img.ndim != 2 or img.dtype != np.uint8:
        raise ValueError(f'{path}: expected a single-channel uint8 PNG, got '
                         f'shape {img.shape} and dtype {img.dtype}.')
    return img


# ---------------------------------------------------------------------------
# Non-maximum suppression (Dollár's edgesNms, as SEISM applies it)
# ---------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------
# Thinning and ground truth
# ---------------------------------------------------------------------------
def _thin_padded(img: np.ndarray, fg: np.ndarray, stride: int,
                 scratch: Optional[np.ndarray] = None) -> None:
    """Thin, in place, a zero-bordered flat uint8 {0, 1} image.

    Args:
        img (np.ndarray): Flat uint8 (H + 2) x ``stride`` image whose
            border rows / columns are 0.
        fg (np.ndarray): Flat indices of its foreground pixels.
        stride (int): Row length ``W + 2``.
        scratch (np.ndarray, optional): Flat int64 array of ``img``'s size
            (any content) reused to drop duplicate indices.
    """
    if scratch is None:
        scratch = np.empty(img.size, dtype=np.int64)
    offsets = [dy * stride + dx for dy, dx, _ in _NEIGHBOUR_BITS]
    bits = [np.uint8(bit) for _, _, bit in _NEIGHBOUR_BITS]
    # pixels to (re-)examine with each sub-iteration's rule: all at first,
    # then only those next to a pixel deleted since their last examination
    pending: List[List[np.ndarray]] = [[fg], [fg]]
    sub = 0
    while pending[0] or pending[1]:
        cand = pending[sub]
        pending[sub] = []
        if len(cand) > 1:
            cand = np.concatenate(cand)
            # keep the first occurrence of each index (no sort)
            scratch[cand] = np.arange(cand.size)
            cand = cand[scratch[cand] == np.arange(cand.size)]
        else:
            cand = cand[0] if cand else fg[:0]
        cand = cand[img[cand] != 0]
        if not cand.size:
            sub = 1 - sub
            continue
        code = np.zeros(cand.size, dtype=np.uint8)
        for off, bit in zip(offsets, bits):
            code |= img[cand + off] * bit
        deleted = cand[_THIN_TABLES[sub][code]]
        if deleted.size:
            img[deleted] = 0
            nbrs = np.concatenate([deleted + off for off in offsets])
            nbrs = nbrs[img[nbrs] != 0]
            if nbrs.size:
                pending[0].append(nbrs)
                pending[1].append(nbrs)
        sub = 1 - sub


def thin(mask: np.ndarray) -> np.ndarray:
    """Thin a binary map: MATLAB ``bwmorph(mask, 'thin', Inf)``.

    The same passes as
    :func:`mmallnet.datasets.transforms.pascal_context.thin_binary` (the
    two-sub-iteration parallel thinning of Guo & Hall, 1989, described in
    Lam, Lee & Suen 1992 p. 879 and used by bwmorph and
    ``skimage.morphology.thin``; pixels outside the image are background;
    repeated until nothing changes), with an identical result; but each
    pass only re-examines the foreground pixels whose 3x3 neighbourhood
    changed since their last examination under that pass's rule (the
    others cannot change), which makes it much faster on sparse maps.

    Args:
        mask (np.ndarray): (H, W) map; nonzero = foreground.

    Returns:
        np.ndarray: (H, W) bool.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f'thin expects a 2-D map, got shape {mask.shape}.')
    h, w = mask.shape
    img = np.zeros((h + 2, w + 2), dtype=np.uint8)
    img[1:-1, 1:-1] = mask != 0
    flat = img.ravel()
    _thin_padded(flat, np.flatnonzero(flat), w + 2)
    return img[1:-1, 1:-1].astype(bool)


def seg2bmap(label_map: ArrayLike) -> np.ndarray:
    """Boundary map of a segmentation (BSDS / SEISM ``seg2bmap``).

    A pixel is a boundary pixel if its label differs from its right, lower
    or lower-right neighbour (boundaries sit half a pixel towards the
    origin). Last row: only the right neighbour counts; last column: only
    the lower neighbour; the bottom-right pixel is never a boundary.

    Args:
        label_map (ArrayLike): (H, W) or (1, H, W) labels.

    Returns:
        np.ndarray: (H, W) bool.
    """
    seg = _as_map(label_map, 'seg2bmap label map')
    right = np.zeros_like(seg)
    below = np.zeros_like(seg)
    diag = np.zeros_like(seg)
    right[:, :-1] = seg[:, 1:]
    below[:-1, :] = seg[1:, :]
    diag[:-1, :-1] = seg[1:, 1:]
    bmap = (seg != right) | (seg != below) | (seg != diag)
    bmap[-1, :] = seg[-1, :] != right[-1, :]
    bmap[:, -1] = seg[:, -1] != below[:, -1]
    bmap[-1, -1] = False
    return bmap


def prepare_boundary_gt(gt: ArrayLike,
                        gt_format: str = 'label',
                        ignore_index: Optional[float] = None) -> np.ndarray:
    """SEISM ground truth: thinned ``seg2bmap`` of a label map.

    Args:
        gt (ArrayLike): (H, W) or (1, H, W) ground truth.
        gt_format (str): ``'label'``: a label map (PASCAL-Context
            ``LabelMap``; NYUD's binary ``edge`` map, which SEISM also
            reads as labels), converted with :func:`seg2bmap` then
            thinned, as SEISM's ``edgesEvalImg`` does. ``'boundary'``: a
            boundary map already (nonzero = boundary), only thinned.
        ignore_index (float, optional): Pixels with this value are set to
            0 first (e.g. 255 padding of ``gt_boundary``; 0 = background
            in the boundary targets).

    Returns:
        np.ndarray: (H, W) bool thinned boundary map.
    """
    gt = _as_map(gt, 'boundary ground truth')
    if ignore_index is not None:
        gt = np.where(gt == ignore_index, 0, gt)
    if gt_format == 'label':
        return thin(seg2bmap(gt))
    if gt_format == 'boundary':
        return thin(gt != 0)
    raise ValueError(f"gt_format must be 'label' or 'boundary', got "
                     f'{gt_format!r}.')


# ---------------------------------------------------------------------------
# Pixel correspondence (BSDS correspondPixels)
# ---------------------------------------------------------------------------
def _max_dist_pixels(shape: Tuple[int, int], max_dist: float) -> float:
    h, w = shape
    return float(max_dist) * math.sqrt(h * h + w * w)


def _outlier_weight(max_dist_px: float, outlier_cost: float) -> int:
    """Integer outlier edge cost of BSDS ``matchEdgeMaps``."""
    return int(math.ceil(outlier_cost * max_dist_px * _COST_SCALE))


def _disk_offsets(max_dist_px: float) -> Tuple[np.ndarray, ...]:
    """Offsets (dy, dx) with ``dy² + dx² <= maxDist²`` and their integer
    costs ``rint(100 * sqrt(dy² + dx²))``."""
    r = int(math.ceil(max_dist_px))
    dy, dx = np.mgrid[-r:r + 1, -r:r + 1]
    d2 = (dy * dy + dx * dx).ravel()
    keep = d2 <= max_dist_px * max_dist_px
    cost = np.rint(np.sqrt(d2[keep]) * _COST_SCALE).astype(np.int64)
    return dy.ravel()[keep], dx.ravel()[keep], cost


class _CandidateGraph:
    """All possible matches between a set of candidate predicted pixels and
    the ground-truth boundary pixels of one image.

    Built once per image for the union of the predicted maps of all
    thresholds; each threshold then keeps the edges of its pixels.

    Args:
        cand (np.ndarray): Sorted flat indices of candidate predicted
            pixels.
        gt (np.ndarray): (H, W) bool ground-truth boundary map.
        max_dist_px (float): Matching radius in pixels.
    """

    def __init__(self, cand: np.ndarray, gt: np.ndarray,
                 max_dist_px: float) -> None:
        h, w = gt.shape
        dy, dx, cost = _disk_offsets(max_dist_px)
        r = int(math.ceil(max_dist_px))
        self.gt_pixels = np.flatnonzero(gt)
        self.n_gt = int(self.gt_pixels.size)
        # keep only candidates with a GT pixel in range (cheap prefilter;
        # the exact test is the offset list)
        if self.n_gt and cand.size:
            dist = ndimage.distance_transform_edt(~gt)
            cand = cand[dist.ravel()[cand] <= max_dist_px + 1e-6]
        else:
            cand = cand[:0]
        self.cand = cand
        gt_id = np.full((h + 2 * r, w + 2 * r), -1, dtype=np.int64)
        gt_id[r:r + h, r:r + w][gt] = np.arange(self.n_gt)
        ys, xs = np.divmod(cand, w)
        # (n_cand, n_offsets) lookups, in chunks to bound memory
        ep, eg, ew = [], [], []
        chunk = max(1, 2_000_000 // max(1, dy.size))
        for start in range(0, cand.size, chunk):
            yy = ys[start:start + chunk, None] + (dy + r)[None, :]
            xx = xs[start:start + chunk, None] + (dx + r)[None, :]
            gid = gt_id[yy, xx]
            rows, cols = np.nonzero(gid >= 0)
            ep.append(rows + start)
            eg.append(gid[rows, cols])
            ew.append(cost[cols])
        empty = np.zeros(0, dtype=np.int64)
        self.edge_pred = np.concatenate(ep) if ep else empty
        self.edge_gt = np.concatenate(eg) if eg else empty
        self.edge_cost = np.concatenate(ew) if ew else empty
        self.has_edge = np.zeros(cand.size, dtype=bool)
        self.has_edge[self.edge_pred] = True


def _min_cost_matching(edge_pred: np.ndarray, edge_gt: np.ndarray,
                       edge_cost: np.ndarray,
                       outlier_weight: int) -> Tuple[np.ndarray, np.ndarray]:
    """Minimum-cost one-to-one matching with outliers.

    BSDS's graph gives every node an outlier alternative of cost ``ow``
    (and pairs the left-over outlier nodes at cost ``ow`` too), so a
    matching ``M`` costs ``sum_M w + (n_pred + n_gt - |M|) ow``. Up to the
    constant ``n_gt * ow`` that equals the cost of the full matching of the
    rectangular graph rows = predicted nodes, columns = GT nodes plus one
    private outlier column per row (cost ``ow``), which is what scipy's
    LAPJVsp solves here (weights shifted by +1 because scipy needs nonzero
    weights; every full matching has the same number of edges, so the
    optimum does not move). The smaller side is used as the rows.

    Returns:
        tuple[np.ndarray, np.ndarray]: Matched (pred, gt) node ids.
    """
    pred_ids, rows_p = np.unique(edge_pred, return_inverse=True)
    gt_ids, rows_g = np.unique(edge_gt, return_inverse=True)
    swap = gt_ids.size < pred_ids.size
    if swap:
        rows, cols, n_rows, n_cols = rows_g, rows_p, gt_ids.size, \
            pred_ids.size
    else:
        rows, cols, n_rows, n_cols = rows_p, rows_g, pred_ids.size, \
            gt_ids.size
    diag = np.arange(n_rows)
    data = np.concatenate([edge_cost + 1,
                           np.full(n_rows, outlier_weight + 1)])
    graph = sparse.csr_matrix(
        (data.astype(np.float64), (np.concatenate([rows, diag]),
                                   np.concatenate([cols, n_cols + diag]))),
        shape=(n_rows, n_cols + n_rows))
    r_ind, c_ind = min_weight_full_bipartite_matching(graph)
    real = c_ind < n_cols
    r_ind, c_ind = r_ind[real], c_ind[real]
    if swap:
        return pred_ids[c_ind], gt_ids[r_ind]
    return pred_ids[r_ind], gt_ids[c_ind]


class _MaxCardinalityMatcher:
    """Maximum-cardinality matching of one image's candidate graph, kept up
    to date while the set of predicted pixels changes from threshold to
    threshold.

    The matching itself is found by scipy's maximum flow (Dinic) on the
    residual network of the current matching (unit capacities; source ->
    free ground-truth pixels, ground truth -> predicted pixel along
    unmatched edges, predicted -> its ground-truth partner along matched
    edges, free predicted pixels -> sink); this class only carries the
    matching over between thresholds (warm start) and calls the flow when
    it can have changed:

    - predicted pixels appear (thinning is not monotone in the threshold)
      or it is the first call: flow from every free ground-truth pixel;
    - predicted pixels only disappear: the previous matching ``M`` was
      maximum, so once the pairs of the removed pixels are dropped every
      augmenting path must end at a ground-truth pixel that lost its
      partner (a path avoiding them would have augmented ``M``): flow from
      those pixels only; if none lost its partner, ``M`` stays maximum.

    Args:
        graph (_CandidateGraph): The image's candidate graph.
    """

    def __init__(self, graph: '_CandidateGraph') -> None:
        self.graph = graph
        self.present = np.zeros(graph.cand.size, dtype=bool)
        self.match_p = np.full(graph.cand.size, -1, dtype=np.int64)
        self.match_g = np.full(graph.n_gt, -1, dtype=np.int64)
        self.started = False

    def update(self, present: np.ndarray) -> int:
        """Set the present predicted nodes; return the matching size."""
        present = present & self.graph.has_edge
        removed = self.present & ~present
        added = present & ~self.present
        self.present = present
        gone = removed & (self.match_p >= 0)
        freed = self.match_p[gone]
        self.match_g[freed] = -1
        self.match_p[gone] = -1
        if not self.started:
            self.started = True
            self._seed()
            self._augment(np.flatnonzero(self.match_g < 0))
        elif added.any():
            self._augment(np.flatnonzero(self.match_g < 0))
        elif freed.size:
            self._augment(freed)
        return int(np.count_nonzero(self.match_p >= 0))

    def _seed(self) -> None:
        """Start from the co-located pairs (distance 0): disjoint."""
        g = self.graph
        zero = (g.edge_cost == 0) & self.present[g.edge_pred]
        self.match_p[g.edge_pred[zero]] = g.edge_gt[zero]
        self.match_g[g.edge_gt[zero]] = g.edge_pred[zero]

    def _augment(self, gt_sources: np.ndarray) -> None:
        """Maximum flow between the free predicted pixels and the free
        ground-truth pixels ``gt_sources``, from the smaller side."""
        g = self.graph
        n_g, n_c = g.n_gt, g.cand.size
        keep = self.present[g.edge_pred]
        ep, eg = g.edge_pred[keep], g.edge_gt[keep]
        live_g = np.zeros(n_g, dtype=bool)
        live_g[eg] = True
        gt_sources = gt_sources[live_g[gt_sources]]
        free_p = np.flatnonzero(self.present & (self.match_p < 0))
        if not gt_sources.size or not free_p.size:
            return
        matched = self.match_p[ep] == eg
        # nodes: ground truth [0, n_g), predicted [n_g, n_g + n_c), s, t
        s, t = n_g + n_c, n_g + n_c + 1
        tails = np.concatenate([eg[~matched], n_g + ep[matched]])
        heads = np.concatenate([n_g + ep[~matched], eg[matched]])
        # Dinic explores from the source: start on the side with fewer free
        # nodes (arcs reversed when starting from the predicted side)
        forward = gt_sources.size <= free_p.size
        if not forward:
            tails, heads = heads, tails
        starts, ends = (gt_sources, n_g + free_p) if forward else \
            (n_g + free_p, gt_sources)
        tails = np.concatenate([np.full(starts.size, s), tails, ends])
        heads = np.concatenate([starts, heads, np.full(ends.size, t)])
        cap = sparse.csr_matrix(
            (np.ones(tails.size, dtype=np.int32), (tails, heads)),
            shape=(t + 1, t + 1))
        result = maximum_flow(cap, s, t, method='dinic')
        if result.flow_value == 0:
            return
        flow = result.flow
        pos = np.flatnonzero(flow.data > 0)
        u = np.searchsorted(flow.indptr, pos, side='right') - 1
        v = flow.indices[pos].astype(np.int64)
        if not forward:
            u, v = v, u
        pair = (u < n_g) & (v >= n_g) & (v < s)  # gt -> pred: pair up
        split = (u >= n_g) & (u < s) & (v < n_g)  # pred -> its gt: undo
        old_p = u[split] - n_g
        self.match_g[self.match_p[old_p]] = -1
        self.match_p[old_p] = -1
        new_p, new_g = v[pair] - n_g, u[pair]
        self.match_p[new_p] = new_g
        self.match_g[new_g] = new_p


def correspond_pixels(pred_bmap: ArrayLike,
                      gt_bmap: ArrayLike,
                      max_dist: float = 0.0075,
                      outlier_cost: float = OUTLIER_COST
                      ) -> Tuple[np.ndarray, np.ndarray]:
    """BSDS ``correspondPixels``: one-to-one boundary pixel matching.

    Two pixels can match if ``dy² + dx² <= maxDist²`` with
    ``maxDist = max_dist * sqrt(H² + W²)`` pixels; a match costs
    ``rint(100 * distance)``, leaving a pixel unmatched costs
    ``ceil(100 * outlier_cost * maxDist)``; the minimum-cost assignment is
    solved exactly (see :func:`_min_cost_matching`). Since leaving a pixel
    unmatched costs far more than any match, this is in practice a
    maximum-cardinality matching of least total distance.

    Args:
        pred_bmap (ArrayLike): (H, W) binary predicted boundaries.
        gt_bmap (ArrayLike): (H, W) binary ground-truth boundaries.
        max_dist (float): Tolerance as a fraction of the image diagonal
            (NYUD 0.011, PASCAL-Context 0.0075). Default 0.0075.
        outlier_cost (float): Outlier cost in units of ``maxDist``.
            Default 100.

    Returns:
        tuple[np.ndarray, np.ndarray]: (H, W) bool masks of the matched
        predicted pixels and of the matched ground-truth pixels; their sums
        (equal) are BSDS's ``cntP`` and ``cntR``.
    """
    pred = _as_map(pred_bmap, 'predicted boundary map') != 0
    gt = _as_map(gt_bmap, 'ground-truth boundary map') != 0
    if pred.shape != gt.shape:
        raise ValueError(f'correspond_pixels: shapes differ: {pred.shape} '
                         f'vs {gt.shape}.')
    max_dist_px = _max_dist_pixels(gt.shape, max_dist)
    if outlier_cost <= 1:
        raise ValueError('correspond_pixels: outlier_cost must be > 1.')
    matched_pred = np.zeros(gt.shape, dtype=bool)
    matched_gt = np.zeros(gt.shape, dtype=bool)
    graph = _CandidateGraph(np.flatnonzero(pred), gt, max_dist_px)
    if graph.edge_pred.size:
        p, g = _min_cost_matching(
            graph.edge_pred, graph.edge_gt, graph.edge_cost,
            _outlier_weight(max_dist_px, outlier_cost))
        matched_pred.ravel()[graph.cand[p]] = True
        matched_gt.ravel()[np.flatnonzero(gt)[g]] = True
    return matched_pred, matched_gt


# ---------------------------------------------------------------------------
# One image, all thresholds
# ---------------------------------------------------------------------------
def seism_image_counts(
        edge: np.ndarray,
        gt_bmap: np.ndarray,
        thresholds: Sequence[float] = SEISM_THRESHOLDS,
        max_dist: float = 0.0075,
        strict: bool = True,
        nms: bool = True,
        outlier_cost: float = OUTLIER_COST,
        matching: str = 'max_cardinality') -> Stats:
    """Per-threshold SEISM counts of one image.

    Args:
        edge (np.ndarray): (H, W) float edge map as SEISM reads it
            (:func:`prepare_boundary_prediction`).
        gt_bmap (np.ndarray): (H, W) bool thinned ground-truth boundaries
            (:func:`prepare_boundary_gt`).
        thresholds (Sequence[float]): Default :data:`SEISM_THRESHOLDS`.
        max_dist (float): Tolerance, fraction of the diagonal.
            Default 0.0075 (PASCAL-Context; NYUD uses 0.011).
        strict (bool): ``E > t`` (True) or ``E >= t`` (False); compared in
            single precision. Default True.
        nms (bool): Apply :func:`seism_nms` first. Default True.
        outlier_cost (float): See :func:`correspond_pixels`.
        matching (str): How ``cnt_r`` / ``cnt_p`` (the number of matched
            pairs) are found.

            - ``'max_cardinality'`` (default): the size of a maximum
              matching, kept up to date from threshold to threshold with
              scipy's maximum flow (:class:`_MaxCardinalityMatcher`). It
              equals the size of the min-cost assignment of
              ``correspondPixels`` whenever that assignment has maximum
              cardinality, which holds unless every augmenting path needs
              about ``ow / w_max = outlier_cost`` (100) pixel pairs each at
              the full tolerance; a connected piece with fewer than 100
              pairs is always safe (dropping a pair costs ``ow``, more than
              all its match costs together).
            - ``'min_cost'``: the min-cost assignment itself at every
              threshold (:func:`correspond_pixels`' solver), exact to the
              BSDS cost model but ~10x slower.

    Returns:
        dict: ``cnt_r``, ``sum_r``, ``cnt_p``, ``sum_p``: (T,) int64.
    """
    if matching not in ('max_cardinality', 'min_cost'):
        raise ValueError(f"matching must be 'max_cardinality' or "
                         f"'min_cost', got {matching!r}.")
    edge = np.ascontiguousarray(edge, dtype=np.float32)
    gt = np.asarray(gt_bmap) != 0
    if edge.shape != gt.shape:
        raise ValueError(f'Boundary prediction shape {edge.shape} != ground '
                         f'truth shape {gt.shape}.')
    thr = np.asarray(thresholds, dtype=np.float64).astype(np.float32)
    if thr.ndim != 1 or not thr.size:
        raise ValueError('thresholds must be a non-empty 1-D sequence.')
    if nms:
        edge = seism_nms(edge)
    counts = {k: np.zeros(thr.size, dtype=np.int64) for k in _COUNT_KEYS}
    counts['sum_r'][:] = int(gt.sum())
    h, w = edge.shape
    flat = edge.ravel()
    lowest = thr.min()
    cand = np.flatnonzero(flat > lowest if strict else flat >= lowest)
    cand_values = flat[cand]
    max_dist_px = _max_dist_pixels(gt.shape, max_dist)
    ow = _outlier_weight(max_dist_px, outlier_cost)
    graph = _CandidateGraph(cand, gt, max_dist_px)
    matcher = _MaxCardinalityMatcher(graph)
    # ascending thresholds: the predicted set mostly shrinks, which is the
    # cheap direction for the matcher
    stride = w + 2
    cand_pad = (cand // w + 1) * stride + cand % w + 1
    graph_pad = (graph.cand // w + 1) * stride + graph.cand % w + 1
    img = np.zeros((h + 2) * stride, dtype=np.uint8)
    scratch = np.empty(img.size, dtype=np.int64)
    fg = cand_pad[:0]
    prev_present, prev_cnt = None, 0
    for i in np.argsort(thr, kind='stable'):
        img[fg] = 0
        fg = cand_pad[cand_values > thr[i] if strict else
                      cand_values >= thr[i]]
        img[fg] = 1
        _thin_padded(img, fg, stride, scratch)
        counts['sum_p'][i] = int(np.count_nonzero(img[fg]))
        present = (img[graph_pad] != 0) & graph.has_edge
        if prev_present is not None and np.array_equal(present,
                                                       prev_present):
            cnt = prev_cnt
        elif matching == 'max_cardinality':
            cnt = matcher.update(present)
        else:
            keep = present[graph.edge_pred]
            cnt = 0
            if keep.any():
                cnt = int(_min_cost_matching(graph.edge_pred[keep],
                                             graph.edge_gt[keep],
                                             graph.edge_cost[keep],
                                             ow)[0].size)
        prev_present, prev_cnt = present, cnt
        counts['cnt_r'][i] = counts['cnt_p'][i] = cnt
    return counts


def seism_counts(pred: ArrayLike,
                 gt: ArrayLike,
                 thresholds: Sequence[float] = SEISM_THRESHOLDS,
                 max_dist: float = 0.0075,
                 gt_format: str = 'label',
                 ignore_index: Optional[float] = None,
                 quantize: Optional[str] = 'round',
                 strict: bool = True,
                 nms: bool = True,
                 matching: str = 'max_cardinality') -> Stats:
    """The whole SEISM pipeline for one image.

    :func:`prepare_boundary_prediction`, :func:`prepare_boundary_gt`, then
    :func:`seism_image_counts`.

    Args:
        pred (ArrayLike): Boundary probability (H, W) / (1, H, W), or the
            uint8 PNG values.
        gt (ArrayLike): Ground truth, see :func:`prepare_boundary_gt`.
        thresholds, max_dist, strict, nms, matching: See
            :func:`seism_image_counts`.
        gt_format (str): ``'label'`` or ``'boundary'``. Default 'label'.
        ignore_index (float, optional): Ground-truth value set to 0.
        quantize (str, optional): See :func:`prepare_boundary_prediction`.

    Returns:
        dict: per-threshold int64 ``cnt_r``, ``sum_r``, ``cnt_p``,
        ``sum_p``.
    """
    return seism_image_counts(
        prepare_boundary_prediction(pred, quantize),
        prepare_boundary_gt(gt, gt_format, ignore_index), thresholds,
        max_dist, strict, nms, matching=matching)


def _counts_job(kwargs: dict, pred: ArrayLike, gt: ArrayLike) -> Stats:
    return seism_counts(pred, gt, **kwargs)


def evaluate_boundary_images(preds: Sequence[ArrayLike],
                             gts: Sequence[ArrayLike],
                             workers: int = 0,
                             start_method: Optional[str] = None,
                             **kwargs) -> List[Stats]:
    """:func:`seism_counts` of many images, optionally in a process pool.

    Args:
        preds (Sequence[ArrayLike]): Boundary predictions.
        gts (Sequence[ArrayLike]): Ground truths, same order.
        workers (int): Number of worker processes; 0 or 1 runs serially.
            The result does not depend on it. Default 0.
        start_method (str, optional): multiprocessing start method
            (``'fork'``, ``'spawn'``, ...); None uses the platform default.
            ``'spawn'`` re-imports ``mmallnet`` in every worker.
        **kwargs: Passed to :func:`seism_counts`.

    Returns:
        list[dict]: Per-image counts, in input order.
    """
    if len(preds) != len(gts):
        raise ValueError(f'{len(preds)} predictions but {len(gts)} ground '
                         'truths.')
    job = functools.partial(_counts_job, kwargs)
    if workers <= 1 or len(preds) <= 1:
        return [job(p, g) for p, g in zip(preds, gts)]
    ctx = multiprocessing.get_context(start_method)
    with ctx.Pool(min(int(workers), len(preds))) as pool:
        return pool.starmap(job, zip(preds, gts), chunksize=1)


# ---------------------------------------------------------------------------
# Pooling
# ---------------------------------------------------------------------------
def _image_pr(cnt_r, sum_r, cnt_p, sum_p):
    """Precision / recall with SEISM ``eval_cont``'s conventions (one image
    or pooled OIS counts): no GT -> R = 1, P = 0; else no prediction ->
    R = 0, P = 1."""
    cnt_r, sum_r, cnt_p, sum_p = (np.asarray(x, dtype=np.float64)
                                  for x in (cnt_r, sum_r, cnt_p, sum_p))
    with np.errstate(divide='ignore', invalid='ignore'):
        rec = np.where(sum_r == 0, 1.0,
                       np.where(sum_p == 0, 0.0, cnt_r / sum_r))
        prec = np.where(sum_r == 0, 0.0,
                        np.where(sum_p == 0, 1.0, cnt_p / sum_p))
    return prec, rec


def _pooled_pr(cnt_r, sum_r, cnt_p, sum_p):
    """Precision / recall with SEISM ``gather_measure``'s conventions for
    counts summed over images: 0 / 0 by default; no GT and no match ->
    R = 1, P = 0; no prediction and no match -> R = 0, P = 1 (this one wins
    when both sums are 0); otherwise the ratios where ``cntR != 0``."""
    cnt_r, sum_r, cnt_p, sum_p = (np.asarray(x, dtype=np.float64)
                                  for x in (cnt_r, sum_r, cnt_p, sum_p))
    rec = np.zeros(cnt_r.shape)
    prec = np.zeros(cnt_r.shape)
    case = (sum_r == 0) & (cnt_p == 0)
    rec[case], prec[case] = 1.0, 0.0
    case = (sum_p == 0) & (cnt_r == 0)
    rec[case], prec[case] = 0.0, 1.0
    case = (sum_p != 0) & (cnt_r != 0)
    rec[case] = cnt_r[case] / sum_r[case]
    prec[case] = cnt_p[case] / sum_p[case]
    return prec, rec


def _f_measure(prec, rec):
    denom = prec + rec
    with np.errstate(divide='ignore', invalid='ignore'):
        return np.where(denom == 0, 0.0, 2 * prec * rec / denom)


def _matlab_colon(start: float, step: float, stop: float) -> np.ndarray:
    """MATLAB's ``start:step:stop`` (first half from the start, second half
    back from the end, as MATLAB computes it)."""
    n = int(math.floor((stop - start) / step + 1e-10))
    k = np.arange(n + 1)
    return np.where(k <= n / 2, start + k * step, stop - (n - k) * step)


def average_precision(prec: np.ndarray, rec: np.ndarray) -> float:
    """SEISM ``general_ap`` / BSDS ``edgesEvalDir`` AP of a PR curve.

    Keep one point per distinct recall (the first in threshold order,
    MATLAB ``unique``), interpolate precision linearly in recall at
    ``r = 0, 0.01, ..., 1`` (points outside the recall range are dropped,
    ``interp1``'s NaN) and return ``sum / 100``. 0 with fewer than two
    distinct recalls.

    Args:
        prec (np.ndarray): (T,) precision per threshold (fractions).
        rec (np.ndarray): (T,) recall per threshold.

    Returns:
        float: AP as a fraction.
    """
    rec_u, first = np.unique(np.asarray(rec, dtype=np.float64),
                             return_index=True)
    if rec_u.size < 2:
        return 0.0
    prec_u = np.asarray(prec, dtype=np.float64)[first]
    query = _matlab_colon(0.0, 0.01, 1.0)
    inside = (query >= rec_u[0]) & (query <= rec_u[-1])
    return float(np.interp(query[inside], rec_u, prec_u).sum() / 100)


def sum_counts(stats_list: Sequence[Stats]) -> Stats:
    """Sum per-image counts (exact int64)."""
    if not stats_list:
        raise ValueError('No boundary statistics to pool.')
    return {
        k: np.sum(np.stack([np.asarray(s[k], dtype=np.int64)
                            for s in stats_list]), axis=0)
        for k in _COUNT_KEYS
    }


def seism_metrics(stats_list: Sequence[Stats],
                  thresholds: Sequence[float] = SEISM_THRESHOLDS
                  ) -> Dict[str, float]:
    """Pool per-image counts into SEISM's odsF, oisF and AP.

    - ODS: counts summed over images per threshold, P / R with SEISM's
      conventions (:func:`_pooled_pr`), ``F = 2PR / (P + R)`` (0 if
      ``P + R = 0``); ``odsF`` is the maximum over thresholds (the first
      threshold on ties gives ``odsP``, ``odsR``, ``ods_threshold``).
    - OIS: each image's best threshold (max of its own F, first on ties,
      F rounded to 6 decimals as SEISM reads it back from its ``%f``
      result files), then the counts at those thresholds are summed and
      turned into ``oisF`` / ``oisP`` / ``oisR``.
    - AP: :func:`average_precision` of the pooled (P, R) curve:
      ``AP = (1/100) * sum_{r in {0, .01, ..., 1}, R_min <= r <= R_max}
      P(r)`` with P(r) linear interpolation of precision against recall.

    Args:
        stats_list (Sequence[dict]): Per-image counts
            (:func:`seism_counts`).
        thresholds (Sequence[float]): The thresholds of the counts.

    Returns:
        dict[str, float]: ``odsF``, ``odsP``, ``odsR``, ``oisF``, ``oisP``,
        ``oisR``, ``AP`` in % (0-100), ``ods_threshold`` and
        ``num_images``.
    """
    thresholds = np.asarray(thresholds, dtype=np.float64)
    total = sum_counts(stats_list)
    if total['cnt_r'].shape != thresholds.shape:
        raise ValueError(f'Counts have {total["cnt_r"].shape[0]} thresholds '
                         f'but {thresholds.size} thresholds were given.')
    prec, rec = _pooled_pr(*(total[k] for k in _COUNT_KEYS))
    f = _f_measure(prec, rec)
    best = int(np.argmax(f))

    per_image = np.stack([
        np.stack([np.asarray(s[k], dtype=np.int64) for k in _COUNT_KEYS])
        for s in stats_list
    ])  # (N, 4, T)
    img_f = np.round(_f_measure(*_image_pr(*per_image.transpose(1, 0, 2))),
                     6)
    pick = np.argmax(img_f, axis=1)
    ois = per_image[np.arange(len(stats_list)), :, pick].sum(axis=0)
    ois_p, ois_r = _image_pr(*ois)
    return {
        'odsF': float(f[best]) * 100,
        'odsP': float(prec[best]) * 100,
        'odsR': float(rec[best]) * 100,
        'ods_threshold': float(thresholds[best]),
        'oisF': float(_f_measure(ois_p, ois_r)) * 100,
        'oisP': float(ois_p) * 100,
        'oisR': float(ois_r) * 100,
        'AP': average_precision(prec, rec) * 100,
        'num_images': float(len(stats_list)),
    }


__all__ = [
    'MAX_DIST', 'OUTLIER_COST', 'SEISM_THRESHOLDS', 'average_precision',
    'conv_tri', 'correspond_pixels', 'edge_orientation', 'edges_nms',
    'evaluate_boundary_images', 'prepare_boundary_gt',
    'prepare_boundary_prediction', 'quantize_boundary', 'read_boundary_png',
    'seg2bmap', 'seism_counts', 'seism_image_counts', 'seism_metrics',
    'seism_nms', 'sum_counts', 'thin', 'thin_binary', 'write_boundary_png'
]
