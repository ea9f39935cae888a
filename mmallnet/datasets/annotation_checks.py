"""Checks of the annotation files, run where the files are read.

Every check is vectorised numpy (a few passes over the map), cheap enough
to run on every sample, and raises an
:class:`~mmallnet.utils.dense_maps.AnnotationError` (a ValueError) naming
the file, what was found and what was expected; the loading transforms add
the sample id (:func:`~mmallnet.utils.dense_maps.sample_context`).

- files: :func:`read_image_file` and :func:`load_npy` turn an unreadable
  or truncated file (OpenCV returns None, numpy raises without the path)
  into an error naming it;
- depth (:func:`check_depth`): float metres, finite, >= 0 (0 = invalid),
  at most ``max_depth`` (default :data:`DEFAULT_MAX_DEPTH`);
- normals (:func:`check_normals_png`, :func:`check_normals`): an 8-bit
  3-channel PNG whose non-zero decoded vectors have unit norm, up to a
  small fraction (:data:`NORMALS_NORM_RANGE`,
  :data:`NORMALS_MAX_BAD_FRACTION`);
- labels (:func:`check_labels`): ``0 .. num_classes - 1`` or the ignore
  value.
"""
import os.path as osp
from typing import Optional, Tuple

import cv2
import numpy as np

from mmallnet.utils.dense_maps import AnnotationError

#: Default bound (m) of :func:`check_depth`: 10x the ~10 m range of the
#: NYUD-v2 Kinect depth and above the 80 m cap of the MLoRE depth metric,
#: while a millimetre map of anything farther than 10 cm exceeds it.
DEFAULT_MAX_DEPTH = 100.0

#: Decoded normals shorter than this are the protocol's invalid (zero)
#: vectors: 8-bit coding cannot store 0 exactly (v = 127 or 128 decodes to
#: -/+0.004 per channel, norm 0.007), so a few grey levels of slack.
NORMALS_ZERO_NORM = 0.05
#: Norm range of a plausible non-zero normal. Unit vectors coded with
#: ``round((n + 1) / 2 * 255)`` decode to norms within 1 +/- 0.007; the
#: wide band tolerates resampled or blurred maps.
NORMALS_NORM_RANGE = (0.5, 1.5)
#: Largest fraction of non-zero normals allowed outside
#: :data:`NORMALS_NORM_RANGE` (e.g. a rim of interpolated pixels at the
#: edge of an invalid region). Random RGB bytes, the typical wrong file,
#: put ~8 % of their pixels outside.
NORMALS_MAX_BAD_FRACTION = 0.02

#: How many offending values an error message lists.
_MAX_LISTED = 10


def _first_index(mask: np.ndarray) -> Tuple[int, ...]:
    return tuple(int(i) for i in np.unravel_index(np.argmax(mask),
                                                  mask.shape))


def read_image_file(path: str, flag: int = cv2.IMREAD_UNCHANGED,
                    expected: str = 'a PNG') -> np.ndarray:
    """Read an image file with :func:`cv2.imread`; fail naming the file.

    Args:
        path (str): The file.
        flag (int): ``cv2.IMREAD_*`` flag. Defaults to unchanged.
        expected (str): What the file should be, for the message.

    Returns:
        np.ndarray: The decoded array.

    Raises:
        FileNotFoundError: The file does not exist.
        AnnotationError: OpenCV cannot decode it (garbage, truncated or
            empty file).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'Annotation file not found: {path}')
    try:
        array = cv2.imread(path, flag)
    except cv2.error as err:
        raise AnnotationError(path, f'OpenCV could not decode the file '
                              f'({err}); expected {expected}.') from err
    if array is None:
        raise AnnotationError(
            path, f'OpenCV could not decode the file ({osp.getsize(path)} '
            f'bytes; truncated or not an image?); expected {expected}.')
    return array


def load_npy(path: str) -> np.ndarray:
    """Load a ``.npy`` array (no pickles); fail naming the file.

    Args:
        path (str): The file.

    Returns:
        np.ndarray: The array.

    Raises:
        FileNotFoundError: The file does not exist.
        AnnotationError: numpy cannot read it (truncated, not a ``.npy``,
            an ``.npz`` archive or a pickled object).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'Annotation file not found: {path}')
    try:
        array = np.load(path, allow_pickle=False)
    except Exception as err:  # numpy raises several types on bad files
        raise AnnotationError(
            path, f'numpy could not read the file ({type(err).__name__}: '
            f'{err}); expected a complete .npy array '
            '(np.save).') from err
    if not isinstance(array, np.ndarray):
        array.close()
        raise AnnotationError(path, 'is an .npz archive; expected a single '
                              '.npy array (np.save).')
    return array


def check_depth(depth: np.ndarray, path: str,
                max_depth: Optional[float] = DEFAULT_MAX_DEPTH) -> None:
    """Check a depth map: float metres, finite, 0 (invalid) or positive.

    Args:
        depth (np.ndarray): The stored array.
        path (str): Its file, for the message.
        max_depth (float, optional): Largest plausible depth (m); None
            skips this bound. Defaults to :data:`DEFAULT_MAX_DEPTH`.

    Raises:
        AnnotationError: Integer (or other non-float) dtype, NaN or
            infinite values, negative values, or values above
            ``max_depth``; the message gives a hint on units.
    """
    if depth.dtype.kind in 'iub':
        hint = ''
        if depth.dtype.kind in 'iu' and depth.size:
            hint = (f' (max {int(depth.max())}); if these are millimetres, '
                    'save depth.astype(np.float32) / 1000')
        raise AnnotationError(
            path, f'depth has integer dtype {depth.dtype}{hint}; expected '
            'float depth in metres, 0 = invalid.')
    if depth.dtype.kind != 'f':
        raise AnnotationError(path, f'depth has dtype {depth.dtype}; '
                              'expected float depth in metres, 0 = invalid.')
    if depth.size == 0:
        return
    finite = np.isfinite(depth)
    if not finite.all():
        bad = ~finite
        raise AnnotationError(
            path, f'{int(bad.sum())} depth values are NaN or infinite '
            f'(first at {_first_index(bad)}); expected finite metres with '
            '0 = invalid (the only invalid value of the protocol), e.g. '
            'np.nan_to_num(depth, nan=0.0).')
    low = float(depth.min())
    if low < 0:
        neg = depth < 0
        raise AnnotationError(
            path, f'{int(neg.sum())} depth values are negative (min {low:g}, '
            f'first at {_first_index(neg)}); expected depth in metres >= 0, '
            '0 = invalid.')
    high = float(depth.max())
    if max_depth is not None and high > max_depth:
        raise AnnotationError(
            path, f'depth reaches {high:g}, above max_depth={max_depth:g} m '
            '(a parameter of the loader, e.g. '
            'LoadMultiTaskAnnotations(max_depth=...)); expected metres. '
            'Values this large look like millimetres: divide by 1000.')


def check_normals_png(raw: np.ndarray, path: str) -> None:
    """Check a normals PNG as OpenCV read it (``IMREAD_UNCHANGED``).

    Args:
        raw (np.ndarray): The decoded file.
        path (str): Its file, for the message.

    Raises:
        AnnotationError: Not 3 channels (grayscale, gray + alpha, RGBA) or
            not 8-bit.
    """
    channels = 1 if raw.ndim == 2 else raw.shape[-1]
    if raw.ndim not in (2, 3) or channels != 3:
        kind = {1: 'grayscale', 2: 'grayscale + alpha', 4: 'RGBA'}.get(
            channels, f'{channels}-channel')
        raise AnnotationError(
            path, f'normals PNG is {kind} (shape {raw.shape}); expected a '
            '3-channel RGB PNG with R, G, B = x, y, z, v = '
            'round((n + 1) / 2 * 255).')
    if raw.dtype != np.uint8:
        raise AnnotationError(
            path, f'normals PNG has dtype {raw.dtype}; expected 8-bit '
            'channels, v = round((n + 1) / 2 * 255).')


def check_normals(normals: np.ndarray,
                  path: str,
                  norm_range: Tuple[float, float] = NORMALS_NORM_RANGE,
                  max_bad_fraction: float = NORMALS_MAX_BAD_FRACTION,
                  zero_norm: float = NORMALS_ZERO_NORM) -> None:
    """Check that decoded normals are unit vectors or invalid (zero).

    Vectors shorter than ``zero_norm`` are invalid pixels and allowed; of
    the others, at most ``max_bad_fraction`` may have a norm outside
    ``norm_range``.

    Args:
        normals (np.ndarray): (H, W, 3) decoded normals.
        path (str): Their file, for the message.
        norm_range (tuple[float, float]): Plausible norms. Defaults to
            :data:`NORMALS_NORM_RANGE`.
        max_bad_fraction (float): Defaults to
            :data:`NORMALS_MAX_BAD_FRACTION`.
        zero_norm (float): Defaults to :data:`NORMALS_ZERO_NORM`.

    Raises:
        AnnotationError: Too many non-zero vectors of implausible norm.
    """
    n = np.asarray(normals, np.float32)
    sq = np.einsum('...c,...c->...', n, n)
    nonzero = sq >= zero_norm * zero_norm
    num_nonzero = int(nonzero.sum())
    if num_nonzero == 0:
        return
    low, high = norm_range
    bad = nonzero & ((sq < low * low) | (sq > high * high))
    num_bad = int(bad.sum())
    if num_bad <= max_bad_fraction * num_nonzero:
        return
    first = _first_index(bad)
    raise AnnotationError(
        path, f'{num_bad / num_nonzero:.1%} of the {num_nonzero} non-zero '
        f'normals ({num_bad} px) have a norm outside [{low:g}, {high:g}] '
        f'(e.g. {float(np.sqrt(sq[first])):.3f} at {first}), more than the '
        f'{max_bad_fraction:.0%} allowed; expected unit normals coded as '
        'v = round((n + 1) / 2 * 255) per channel (R, G, B = x, y, z), '
        'invalid pixels as the zero vector (v = 128).')


def check_labels(label: np.ndarray,
                 path: str,
                 num_classes: Optional[int],
                 ignore_index: int = 255,
                 what: str = 'semseg',
                 offset: int = 0) -> None:
    """Check that labels are ``0 .. num_classes - 1`` or ``ignore_index``.

    Args:
        label (np.ndarray): Integer labels, after any label mapping.
        path (str): Their file, for the message.
        num_classes (int, optional): Number of classes; None skips the
            check.
        ignore_index (int): The ignore value. Defaults to 255.
        what (str): The task, for the message. Defaults to 'semseg'.
        offset (int): Stored value minus label (1 with
            ``reduce_zero_label``), for the message. Defaults to 0.

    Raises:
        AnnotationError: A label outside the classes and not the ignore
            value.
    """
    if num_classes is None:
        return
    bad = label >= num_classes
    bad &= label != ignore_index
    if not bad.any():
        return
    values = np.unique(label[bad]).astype(np.int64)
    listed = values[:_MAX_LISTED].tolist()
    more = f' and {len(values) - _MAX_LISTED} more' if len(
        values) > _MAX_LISTED else ''
    stored = ''
    if offset:
        stored_values = (values[:_MAX_LISTED] + offset).tolist()
        stored = (f' (stored values {stored_values}{more}, '
                  f'reduce_zero_label: stored k -> label k - {offset})')
    raise AnnotationError(
        path, f'{what} labels {listed}{more}{stored} in {int(bad.sum())} px '
        f'(first at {_first_index(bad)}) are outside the {num_classes} '
        f'classes; expected 0..{num_classes - 1} or {ignore_index} '
        '(ignore).')


__all__ = [
    'DEFAULT_MAX_DEPTH', 'NORMALS_ZERO_NORM', 'NORMALS_NORM_RANGE',
    'NORMALS_MAX_BAD_FRACTION', 'read_image_file', 'load_npy',
    'check_depth', 'check_normals_png', 'check_normals', 'check_labels'
]
