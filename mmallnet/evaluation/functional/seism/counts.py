"""SEISM per-image counts: matched and total boundary pixels per threshold.

For each threshold ``t`` (ascending): edge pixels ``E_nms > t`` (or
``>= t``), thinned, matched one-to-one to the thinned ground truth;
``cnt_r`` / ``cnt_p`` are the matched ground-truth / predicted pixels
(equal), ``sum_r`` / ``sum_p`` all ground-truth / predicted pixels, as
int64 (T,) vectors, so summing them over images or processes is exact.
:func:`seism_counts` runs the whole per-image pipeline,
:func:`evaluate_boundary_images` many images in a process pool.
"""
import functools
import multiprocessing
from typing import List, Optional, Sequence

import numpy as np

from ..utils import ArrayLike, Stats
from .correspondence import (
    CandidateGraph,
    integer_outlier_cost,
    max_dist_pixels,
    min_cost_matching,
)
from .ground_truth import prepare_boundary_gt
from .io import prepare_boundary_prediction
from .max_cardinality import MaxCardinalityMatcher
from .nms import seism_nms
from .params import COUNT_KEYS, OUTLIER_COST, SEISM_THRESHOLDS
from .thinning import thin_padded


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
        outlier_cost (float): See :func:`~.correspondence.correspond_pixels`.
        matching (str): How ``cnt_r`` / ``cnt_p`` (the number of matched
            pairs) are found.

            - ``'max_cardinality'`` (default): the size of a maximum
              matching, kept up to date from threshold to threshold with
              scipy's maximum flow (:class:`MaxCardinalityMatcher`). It
              equals the size of the min-cost assignment of
              ``correspondPixels`` whenever that assignment has maximum
              cardinality, which holds unless every augmenting path needs
              about ``ow / w_max = outlier_cost`` (100) pixel pairs each at
              the full tolerance; a connected piece with fewer than 100
              pairs is always safe (dropping a pair costs ``ow``, more than
              all its match costs together).
            - ``'min_cost'``: the min-cost assignment itself at every
              threshold (the solver of
              :func:`~.correspondence.correspond_pixels`), exact to the
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
    counts = {k: np.zeros(thr.size, dtype=np.int64) for k in COUNT_KEYS}
    counts['sum_r'][:] = int(gt.sum())
    h, w = edge.shape
    flat = edge.ravel()
    lowest = thr.min()
    cand = np.flatnonzero(flat > lowest if strict else flat >= lowest)
    cand_values = flat[cand]
    max_dist_px = max_dist_pixels(gt.shape, max_dist)
    ow = integer_outlier_cost(max_dist_px, outlier_cost)
    graph = CandidateGraph(cand, gt, max_dist_px)
    matcher = MaxCardinalityMatcher(graph)
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
        thin_padded(img, fg, stride, scratch)
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
                cnt = int(min_cost_matching(graph.edge_pred[keep],
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
