"""Boundary odsF / oisF / AP with the SEISM protocol, in Python.

The multi-task papers (InvPT, TaskPrompter, MLoRE, ALLNet) score boundaries
with the MATLAB SEISM toolbox (Pont-Tuset & Marques) through the
Boundary-Detection-Evaluation-Tools wrapper, which reads one uint8 PNG per
image and runs Dollár's / the BSDS benchmark code. This package
re-implements that pipeline so odsF can be computed in-process, and writes
the PNGs the MATLAB tool reads so that official numbers can be produced
elsewhere. One file per step:

- :mod:`.params`: the protocol's thresholds, tolerances and costs;
- :mod:`.io`: prediction quantisation and the PNG files;
- :mod:`.nms`: convTri, edge orientation and Dollár's NMS;
- :mod:`.thinning` and :mod:`.ground_truth`: ``bwmorph`` thinning and
  ``seg2bmap``;
- :mod:`.correspondence` and :mod:`.max_cardinality`: the BSDS pixel
  matching;
- :mod:`.counts`: the per-image, per-threshold counts;
- :mod:`.metrics`: pooling into odsF, oisF and AP.

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
   pixels are ``E_nms > t`` (``strict=True``, the default: the active line
   of SEISM's current ``read_one_cont_png``) or ``E_nms >= t``
   (``strict=False``: the ``E >= max(eps, t)`` line commented out there,
   an older variant), compared in single precision. The two differ only
   for pixels whose value equals a threshold exactly (e.g.
   ``51/255 == 0.2`` in single precision).
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
from .correspondence import correspond_pixels
from .counts import evaluate_boundary_images, seism_counts, seism_image_counts
from .ground_truth import prepare_boundary_gt, seg2bmap
from .io import (
    prepare_boundary_prediction,
    quantize_boundary,
    read_boundary_png,
    write_boundary_png,
)
from .metrics import average_precision, seism_metrics, sum_counts
from .nms import conv_tri, edge_orientation, edges_nms, seism_nms
from .params import MAX_DIST, OUTLIER_COST, SEISM_THRESHOLDS
from .thinning import thin

__all__ = [
    'MAX_DIST', 'OUTLIER_COST', 'SEISM_THRESHOLDS', 'average_precision',
    'conv_tri', 'correspond_pixels', 'edge_orientation', 'edges_nms',
    'evaluate_boundary_images', 'prepare_boundary_gt',
    'prepare_boundary_prediction', 'quantize_boundary', 'read_boundary_png',
    'seg2bmap', 'seism_counts', 'seism_image_counts', 'seism_metrics',
    'seism_nms', 'sum_counts', 'thin', 'write_boundary_png'
]
