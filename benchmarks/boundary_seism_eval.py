"""Benchmark the SEISM boundary evaluation on NYUD-sized synthetic images.

Times :func:`mmallnet.evaluation.functional.seism.evaluate_boundary_images`
(NMS, 101 thresholds, thinning, pixel correspondence with
``max_dist=0.011``) on ``--num-images`` synthetic 425x560 prediction /
label-map pairs, with ``--workers`` processes, and prints images/s, the
total seconds and the time extrapolated to NYUD's 654 val images.

References measured in the same run:

- the serial path (``workers=0``) on ``--serial-images`` images: the
  pool's speed-up over it (and a check that both give identical counts);
- the exact min-cost assignment at every threshold (``matching=
  'min_cost'``, scipy's LAPJVsp) on ``--min-cost-images`` images: the
  speed-up of the default warm-started maximum-cardinality matching over
  it, and a check that the counts are identical.

The synthetic scenes: a label map of random polygons on a few large
regions; its binary edge map is the ground truth (read as a label image,
like SEISM reads NYUD's ``edge/<id>.png``); the prediction is a blurred,
locally jittered copy of the boundaries with uneven strength, missed
segments, false texture edges and low background noise, so that NMS keeps
many weak pixels at the low thresholds as real networks do (odsF is
printed to show the difficulty). ``--distinct`` different pairs are
generated and cycled through; every image is evaluated from scratch.

Examples::

    PYTHONPATH=. python benchmarks/boundary_seism_eval.py --num-images 16
    PYTHONPATH=. python benchmarks/boundary_seism_eval.py --workers 2
"""
import argparse
import os
import os.path as osp
import sys
import time
from typing import List, Tuple

import cv2
import numpy as np
from scipy import ndimage

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

NYUD_VAL_IMAGES = 654


def synthetic_pair(seed: int, height: int = 425,
                   width: int = 560) -> Tuple[np.ndarray, np.ndarray]:
    """One synthetic (uint8 prediction PNG values, uint8 edge map) pair."""
    rng = np.random.default_rng(seed)
    h, w = height, width
    label = np.zeros((h, w), np.int32)
    # a few large regions (walls, floor) cut by random straight lines
    yy, xx = np.mgrid[:h, :w]
    for k in range(int(rng.integers(2, 4))):
        a = rng.uniform(0, np.pi)
        c = rng.uniform(0.2, 0.8) * (h * abs(np.sin(a)) + w * abs(np.cos(a)))
        label += (k + 1) * (xx * np.cos(a) + yy * np.sin(a) > c)
    # objects
    for k in range(int(rng.integers(12, 22))):
        n = int(rng.integers(3, 8))
        centre = rng.uniform([0, 0], [w, h])
        ang = np.sort(rng.uniform(0, 2 * np.pi, n))
        rad = rng.uniform(10, 90, n)
        pts = np.stack([centre[0] + rad * np.cos(ang),
                        centre[1] + rad * np.sin(ang)], 1)
        cv2.fillPoly(label, [pts.astype(np.int32)], 100 + k)
    edge = np.zeros((h, w), np.uint8)
    edge[:, :-1] |= label[:, 1:] != label[:, :-1]
    edge[:-1, :] |= label[1:, :] != label[:-1, :]

    def smooth_field(sigma: float) -> np.ndarray:
        f = ndimage.gaussian_filter(rng.standard_normal((h, w)), sigma)
        return f / (np.abs(f).max() + 1e-12)

    # local jitter of the predicted boundaries (up to ~4 px)
    dx = (smooth_field(20) * 4.0).astype(np.float32)
    dy = (smooth_field(20) * 4.0).astype(np.float32)
    warped = cv2.remap(edge.astype(np.float32), xx.astype(np.float32) + dx,
                       yy.astype(np.float32) + dy, cv2.INTER_NEAREST)
    dist = ndimage.distance_transform_edt(warped == 0)
    strength = 0.35 + 0.65 * (smooth_field(15) * 0.5 + 0.5)
    strength[smooth_field(10) > 0.1] *= 0.1  # missed segments
    pred = strength * np.exp(-dist**2 / (2 * rng.uniform(1.5, 2.5)**2))
    # false edges: texture lines and blobs
    clutter = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(60, 100))):
        p0 = rng.integers([0, 0], [w, h])
        p1 = p0 + rng.integers(-150, 150, 2)
        cv2.line(clutter, (int(p0[0]), int(p0[1])), (int(p1[0]), int(p1[1])),
                 float(rng.uniform(0.1, 0.9)), 1)
    clutter = ndimage.gaussian_filter(clutter, 1.2) * 2.5
    noise = ndimage.gaussian_filter(rng.random((h, w)), 1.5) * 0.03
    pred = np.clip(pred + clutter + noise, 0, 1)
    return np.round(pred * 255).astype(np.uint8), edge


def count_equal(a: List[dict], b: List[dict]) -> bool:
    return all(
        np.array_equal(x[k], y[k]) for x, y in zip(a, b) for k in x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--num-images', type=int, default=NYUD_VAL_IMAGES)
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--distinct', type=int, default=16,
                        help='different synthetic pairs, cycled through')
    parser.add_argument('--serial-images', type=int, default=None,
                        help='images of the serial reference (default: '
                        'min(num-images, 2 * workers))')
    parser.add_argument('--min-cost-images', type=int, default=1)
    parser.add_argument('--max-dist', type=float, default=0.011)
    parser.add_argument('--size', type=int, nargs=2, default=(425, 560),
                        metavar=('H', 'W'))
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()

    from mmallnet.evaluation.functional import seism as S

    n = args.num_images
    t0 = time.perf_counter()
    bank = [
        synthetic_pair(args.seed + i, *args.size)
        for i in range(min(args.distinct, n))
    ]
    print(f'generated {len(bank)} distinct {args.size[0]}x{args.size[1]} '
          f'pairs in {time.perf_counter() - t0:.1f} s')
    preds = [bank[i % len(bank)][0] for i in range(n)]
    gts = [bank[i % len(bank)][1] for i in range(n)]
    kwargs = dict(max_dist=args.max_dist, gt_format='label')

    start = time.perf_counter()
    counts = S.evaluate_boundary_images(preds, gts, workers=args.workers,
                                        start_method='fork', **kwargs)
    total = time.perf_counter() - start
    rate = n / total
    metrics = S.seism_metrics(counts)
    print(f'\npool ({args.workers} workers): {n} images in {total:.1f} s = '
          f'{rate:.2f} images/s  (odsF {metrics["odsF"]:.2f}, oisF '
          f'{metrics["oisF"]:.2f}, AP {metrics["AP"]:.2f})')
    print(f'extrapolated to {NYUD_VAL_IMAGES} NYUD val images: '
          f'{NYUD_VAL_IMAGES / rate:.0f} s ({NYUD_VAL_IMAGES / rate / 60:.1f}'
          ' min)')

    m = args.serial_images or min(n, 2 * max(1, args.workers))
    start = time.perf_counter()
    serial = S.evaluate_boundary_images(preds[:m], gts[:m], workers=0,
                                        **kwargs)
    serial_s = time.perf_counter() - start
    print(f'serial reference: {m} images in {serial_s:.1f} s = '
          f'{m / serial_s:.2f} images/s ({serial_s / m:.2f} s/image); '
          f'pool speed-up {rate / (m / serial_s):.2f}x; identical counts: '
          f'{count_equal(serial, counts[:m])}')

    k = min(args.min_cost_images, m)
    if k > 0:
        start = time.perf_counter()
        exact = S.evaluate_boundary_images(preds[:k], gts[:k], workers=0,
                                           matching='min_cost', **kwargs)
        exact_s = (time.perf_counter() - start) / k
        print(f'min-cost reference (scipy LAPJVsp at every threshold): '
              f'{exact_s:.2f} s/image; max-cardinality speed-up '
              f'{exact_s / (serial_s / m):.1f}x; identical counts: '
              f'{count_equal(exact, serial[:k])}')
    print(f'(cpu count {os.cpu_count()}; timings on a shared machine vary)')


if __name__ == '__main__':
    main()
