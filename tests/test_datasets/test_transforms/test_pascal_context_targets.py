"""PASCAL-Context targets of the LabelMap: edges and the normals classes."""
import numpy as np

from mmallnet.datasets.transforms.pascal_context import (
    NORMALS_VALID_CONTEXT_CLASSES,
    context_label_edges,
)


def test_normals_whitelist_has_170_ids():
    assert len(NORMALS_VALID_CONTEXT_CLASSES) == 170
    assert NORMALS_VALID_CONTEXT_CLASSES[427] == 'tvmonitor'
    assert 431 not in NORMALS_VALID_CONTEXT_CLASSES  # 'unknown'
    assert 360 not in NORMALS_VALID_CONTEXT_CLASSES  # 'sky'


def test_context_label_edges_two_regions():
    label = np.full((8, 10), 360, np.uint16)
    label[:, :4] = 397
    expected = np.zeros((8, 10), np.uint8)
    expected[1:, 3] = 1
    np.testing.assert_array_equal(context_label_edges(label), expected)
    assert not context_label_edges(np.full((5, 5), 7)).any()
