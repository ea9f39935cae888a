"""mmallnet.utils.dense_maps: thinning, the normals PNG code, LabelMaps."""
import numpy as np
import pytest
import scipy.io

from mmallnet.utils.dense_maps import (
    NEIGHBOUR_BITS,
    THIN_TABLES,
    AnnotationError,
    decode_normals,
    encode_normals,
    load_context_label_map,
    load_mat,
    sample_context,
    thin_binary,
)


def test_thin_binary():
    # the example of skimage.morphology.thin's documentation
    square = np.zeros((7, 7), bool)
    square[1:-1, 2:-2] = 1
    square[0, 1] = 1
    expected = np.zeros((7, 7), np.uint8)
    expected[0, 1] = expected[1, 2] = 1
    expected[2:5, 3] = 1
    np.testing.assert_array_equal(thin_binary(square), expected)
    # a 2-pixel-wide band becomes a single line; thin lines are kept
    band = np.zeros((6, 12), bool)
    band[2:4, 1:11] = 1
    thinned = thin_binary(band)
    assert (thinned <= band).all() and thinned.sum(axis=0).max() == 1
    np.testing.assert_array_equal(thin_binary(thinned), thinned)


def test_thin_binary_hand_worked_block_and_lines():
    # 3x3 block: sub-iteration 1 deletes the top row and the right column
    # (their pixels are removable and lack x1 = E or have x8 without x2,
    # x3), sub-iteration 2 then deletes the three pixels of the remaining
    # 2x2 block that have no W neighbour or no NW neighbour; the centre
    # pixel is all that is left and, alone, it is not removable
    block = np.zeros((5, 5), np.uint8)
    block[1:4, 1:4] = 7  # any nonzero value is foreground
    expected = np.zeros((5, 5), bool)
    expected[2, 2] = True
    out = thin_binary(block)
    assert out.dtype == bool
    np.testing.assert_array_equal(out, expected)
    # one-pixel curves stay: end points have one neighbour, inner points of
    # a diagonal have two 8-connected runs around them
    diagonal = np.eye(6, dtype=bool)
    np.testing.assert_array_equal(thin_binary(diagonal), diagonal)
    row = np.zeros((3, 6), bool)
    row[1, 1:5] = True
    np.testing.assert_array_equal(thin_binary(row), row)
    with pytest.raises(ValueError, match='2-D map'):
        thin_binary(np.zeros((2, 2, 2)))


def test_thinning_tables_and_neighbour_order():
    # bit k is neighbour x_{k+1}, counter-clockwise from the east
    assert [(dy, dx) for dy, dx, _ in NEIGHBOUR_BITS] == [
        (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1), (1, 0), (1, 1)]
    assert [w for _, _, w in NEIGHBOUR_BITS] == [1, 2, 4, 8, 16, 32, 64, 128]
    first, second = THIN_TABLES
    assert first.shape == second.shape == (256, )
    # an isolated pixel, an end point (only E) and an inner pixel stay
    for code in (0, 1, 255):
        assert not first[code] and not second[code]
    # corners of a block: top-left (E, S, SE) goes in either sub-iteration,
    # top-right (W, SW, S) in the first only, bottom-left (E, NE, N) in the
    # second only
    top_left, top_right, bottom_left = 1 | 64 | 128, 16 | 32 | 64, 1 | 2 | 4
    assert first[top_left] and second[top_left]
    assert first[top_right] and not second[top_right]
    assert second[bottom_left] and not first[bottom_left]


def test_normals_encode_decode_exact():
    normals = np.array([[[1.0, 0.0, -1.0], [0.5, -0.5, 2.0]]])
    # round((n + 1) / 2 * 255), half to even, clipped to [-1, 1] first
    np.testing.assert_array_equal(encode_normals(normals),
                                  [[[255, 128, 0], [191, 64, 255]]])
    assert encode_normals(normals).dtype == np.uint8
    decoded = decode_normals(np.array([[[255, 128, 0]]], np.uint8))
    assert decoded.dtype == np.float32
    assert decoded[0, 0, 0] == 1.0 and decoded[0, 0, 2] == -1.0
    assert decoded[0, 0, 1] == np.float32(128) * np.float32(2 / 255) - 1
    # every stored value survives decode -> encode
    values = np.arange(256, dtype=np.uint8).reshape(1, 256, 1).repeat(3, 2)
    np.testing.assert_array_equal(encode_normals(decode_normals(values)),
                                  values)


def test_load_context_label_map(tmp_path):
    path = str(tmp_path / 'x.mat')
    label = np.array([[397, 360], [0, 459]], np.uint16)
    scipy.io.savemat(path, {'LabelMap': label})
    out = load_context_label_map(path)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, label)
    assert set(load_mat(path)) >= {'LabelMap'}
    with pytest.raises(FileNotFoundError,
                       match='Annotation file not found: .*y.mat'):
        load_context_label_map(str(tmp_path / 'y.mat'))
    scipy.io.savemat(path, {'Labels': label})
    with pytest.raises(KeyError, match=r'x\.mat: no field "LabelMap"'):
        load_context_label_map(path)


def test_sample_context_names_the_sample_once():
    with pytest.raises(AnnotationError) as info:
        with sample_context('0007'):
            with sample_context('inner'):
                raise AnnotationError('a/b.png', 'bad labels.')
    assert str(info.value) == "a/b.png (sample 'inner'): bad labels."
    assert info.value.path == 'a/b.png'
    assert info.value.sample_id == 'inner'
    with pytest.raises(AnnotationError, match=r"^a\.png \(sample '3'\): x\.$"):
        with sample_context(3):
            raise AnnotationError('a.png', 'x.')
    with pytest.raises(AnnotationError, match=r'^a\.png: x\.$'):
        with sample_context(None):
            raise AnnotationError('a.png', 'x.')
    # other errors pass unchanged
    with pytest.raises(KeyError, match='k'):
        with sample_context('1'):
            raise KeyError('k')


def test_truncated_mat_is_an_annotation_error(tmp_path):
    path = str(tmp_path / 'x.mat')
    with open(path, 'wb') as f:
        f.write(b'MATLAB 5.0 MAT-file, truncated')
    with pytest.raises(AnnotationError,
                       match=r'x\.mat: Could not read MATLAB file \(.*\); '
                       r'expected a complete \.mat file\.$'):
        load_mat(path)
