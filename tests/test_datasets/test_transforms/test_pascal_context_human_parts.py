"""PASCAL-Part human parts: the .mat reader and IgnoreEmptyParts."""
import numpy as np
import pytest
import scipy.io

from mmallnet.datasets.transforms import IgnoreEmptyParts
from mmallnet.datasets.transforms.pascal_context import load_human_parts


def test_unknown_part_name_is_an_error(tmp_path):
    mask = np.ones((4, 5), np.uint8)
    parts = np.zeros((1, 1), dtype=[('part_name', 'O'), ('mask', 'O')])
    parts[0, 0] = ('lwing', mask)
    objects = np.zeros((1, 1),
                       dtype=[('class', 'O'), ('class_ind', 'O'),
                              ('mask', 'O'), ('parts', 'O')])
    objects[0, 0] = ('person', np.array([[15.]]), mask, parts)
    path = str(tmp_path / 'x.mat')
    scipy.io.savemat(path, {'anno': {'imname': 'x', 'objects': objects}})
    with pytest.raises(ValueError,
                       match=r"objects\(1\)\.parts\(1\).*'lwing'"):
        load_human_parts(path, (4, 5))
    parts[0, 0] = ('head', mask)
    objects[0, 0] = ('person', np.array([[15.]]), mask, parts)
    scipy.io.savemat(path, {'anno': {'imname': 'x', 'objects': objects}})
    assert (load_human_parts(path, (4, 5)) == 1).all()
    with pytest.raises(ValueError, match=r'Size mismatch.*x\.mat'):
        load_human_parts(path, (8, 5))


def test_ignore_empty_parts():
    transform = IgnoreEmptyParts()
    only_bg = dict(gt_parts=np.array([[0, 255], [0, 0]], np.uint8))
    np.testing.assert_array_equal(transform(only_bg)['gt_parts'],
                                  np.full((2, 2), 255))
    with_part = np.array([[0, 255], [3, 0]], np.uint8)
    out = transform(dict(gt_parts=with_part.copy()))['gt_parts']
    np.testing.assert_array_equal(out, with_part)
    assert transform(dict(img=1)) == dict(img=1)
