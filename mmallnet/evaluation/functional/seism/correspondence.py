"""Pixel correspondence of boundary maps (BSDS ``correspondPixels``).

Two pixels can match when ``dy^2 + dx^2 <= maxDist^2`` with ``maxDist =
max_dist * sqrt(H^2 + W^2)`` pixels; a match costs ``rint(100 d)`` and an
unmatched pixel ``ceil(100 * outlier_cost * maxDist)`` (BSDS
``match.cc`` integer costs). BSDS solves the assignment with a CSA solver
on a randomised sparse outlier graph; here the same cost model is solved
exactly with scipy's LAPJVsp (:func:`min_cost_matching`). The candidate
graph (:class:`CandidateGraph`) is shared with the per-threshold loop of
:mod:`.counts`.
"""
import math
from typing import Tuple

import numpy as np
from scipy import ndimage, sparse
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

from ..utils import ArrayLike
from .io import as_map
from .params import COST_SCALE, OUTLIER_COST


def max_dist_pixels(shape: Tuple[int, int], max_dist: float) -> float:
    """``maxDist`` in pixels: ``max_dist`` times the image diagonal."""
    h, w = shape
    return float(max_dist) * math.sqrt(h * h + w * w)


def integer_outlier_cost(max_dist_px: float, outlier_cost: float) -> int:
    """Integer outlier edge cost of BSDS ``matchEdgeMaps``."""
    return int(math.ceil(outlier_cost * max_dist_px * COST_SCALE))


def _disk_offsets(max_dist_px: float) -> Tuple[np.ndarray, ...]:
    """Offsets (dy, dx) with ``dy² + dx² <= maxDist²`` and their integer
    costs ``rint(100 * sqrt(dy² + dx²))``."""
    r = int(math.ceil(max_dist_px))
    dy, dx = np.mgrid[-r:r + 1, -r:r + 1]
    d2 = (dy * dy + dx * dx).ravel()
    keep = d2 <= max_dist_px * max_dist_px
    cost = np.rint(np.sqrt(d2[keep]) * COST_SCALE).astype(np.int64)
    return dy.ravel()[keep], dx.ravel()[keep], cost


class CandidateGraph:
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


def min_cost_matching(edge_pred: np.ndarray, edge_gt: np.ndarray,
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
    solved exactly (see :func:`min_cost_matching`). Since leaving a pixel
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
    pred = as_map(pred_bmap, 'predicted boundary map') != 0
    gt = as_map(gt_bmap, 'ground-truth boundary map') != 0
    if pred.shape != gt.shape:
        raise ValueError(f'correspond_pixels: shapes differ: {pred.shape} '
                         f'vs {gt.shape}.')
    max_dist_px = max_dist_pixels(gt.shape, max_dist)
    if outlier_cost <= 1:
        raise ValueError('correspond_pixels: outlier_cost must be > 1.')
    matched_pred = np.zeros(gt.shape, dtype=bool)
    matched_gt = np.zeros(gt.shape, dtype=bool)
    graph = CandidateGraph(np.flatnonzero(pred), gt, max_dist_px)
    if graph.edge_pred.size:
        p, g = min_cost_matching(
            graph.edge_pred, graph.edge_gt, graph.edge_cost,
            integer_outlier_cost(max_dist_px, outlier_cost))
        matched_pred.ravel()[graph.cand[p]] = True
        matched_gt.ravel()[np.flatnonzero(gt)[g]] = True
    return matched_pred, matched_gt
