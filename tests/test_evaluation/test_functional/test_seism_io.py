"""SEISM prediction PNGs: quantisation and the read / write round trip."""
import os.path as osp

import numpy as np
import torch

from mmallnet.evaluation.functional import seism as S
from mmallnet.testing.boundaries import synthetic_boundary_pair


def test_png_writer_round_trip(tmp_path):
    pred, label = synthetic_boundary_pair(0)
    path = osp.join(str(tmp_path), 'sub', '2008_000002.png')
    S.write_boundary_png(pred, path)
    png = S.read_boundary_png(path)
    np.testing.assert_array_equal(png, np.round(pred * 255).astype(np.uint8))
    S.write_boundary_png(torch.as_tensor(pred)[None], path, 'floor')
    np.testing.assert_array_equal(
        S.read_boundary_png(path), np.floor(pred * 255).astype(np.uint8))
    # scoring the PNG values equals scoring the float map
    a = S.seism_counts(pred, label, max_dist=0.02)
    b = S.seism_counts(S.quantize_boundary(pred), label, max_dist=0.02)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
