"""One image of a degraded benchmark: degrade, encode, verify, write.

:func:`degrade_one` runs in worker processes; its job is a plain dict, its
result the image's manifest record. An image whose file exists with the
recorded sha256 is kept; re-creating an image must give the recorded
bytes, and a clean image (or depth map) that changed since the copy was
made is an error.
"""
import hashlib
import json
import os
import os.path as osp
from typing import Dict, Optional, Tuple

import cv2
import mmcv

from ..transforms.degradations import BaseDegradation
from ..transforms.loading import load_depth
from .manifest import MANIFEST_NAME, TMP_MARK, jsonable
from .sets import build_transform

_PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 3]


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_bytes(path: str, what: str) -> bytes:
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} file not found: {path}')
    with open(path, 'rb') as f:
        return f.read()


_TRANSFORM_CACHE: Dict[str, BaseDegradation] = {}


def _cached_transform(cfg: dict, seed: int) -> BaseDegradation:
    key = json.dumps([cfg, seed], sort_keys=True)
    if key not in _TRANSFORM_CACHE:
        _TRANSFORM_CACHE[key] = build_transform(cfg, seed, 'a benchmark set')
    return _TRANSFORM_CACHE[key]


def _check_sources(expected: Optional[dict], source_sha: str,
                   depth_sha: Optional[str], job: dict) -> None:
    if expected is None:
        return
    if expected.get('source_sha256') != source_sha:
        raise ValueError(
            f'The clean image {job["img_path"]} (id {job["img_id"]!r}) '
            f'differs from the one the copy in {job["root"]} was made '
            f'from (sha256 {source_sha} != {expected.get("source_sha256")} '
            f'in {MANIFEST_NAME}); write the copy of this data to a new '
            'directory.')
    if depth_sha is not None and expected.get('depth_sha256') not in (
            None, depth_sha):
        raise ValueError(
            f'The depth map {job["depth_path"]} (id {job["img_id"]!r}) '
            f'differs from the one the copy in {job["root"]} was made '
            f'from; write the copy of this data to a new directory.')


def degrade_one(job: dict) -> Tuple[str, dict, str]:
    """Write (or verify) one degraded image. Runs in worker processes.

    Args:
        job (dict): ``root``, ``set``, ``transform``, ``seed``, ``img_id``,
            ``img_path``, ``depth_path``, ``out_path`` and ``expected`` (the
            manifest record, or None).

    Returns:
        tuple[str, dict, str]: The id, its manifest record and
        ``'written'`` or ``'kept'``.
    """
    expected = job['expected']
    src_bytes = _read_bytes(job['img_path'], 'Image')
    source_sha = _sha256_bytes(src_bytes)
    out_path = job['out_path']
    if expected is not None and osp.isfile(out_path):
        with open(out_path, 'rb') as f:
            if _sha256_bytes(f.read()) == expected.get('sha256'):
                depth_sha = None
                if expected.get('depth_sha256') and job['depth_path']:
                    depth_sha = _sha256_bytes(
                        _read_bytes(job['depth_path'], 'Depth'))
                _check_sources(expected, source_sha, depth_sha, job)
                return job['img_id'], expected, 'kept'
    transform = _cached_transform(job['transform'], job['seed'])
    img = mmcv.imfrombytes(src_bytes, flag='color', backend='cv2')
    if img is None:
        raise ValueError(f'Could not decode image {job["img_path"]}.')
    results = dict(
        img=img, img_id=job['img_id'], img_path=job['img_path'],
        img_shape=img.shape[:2], ori_shape=img.shape[:2])
    depth_sha = None
    depth_key = getattr(transform, 'depth_key', None)
    if depth_key is not None and job['depth_path'] is not None:
        depth_bytes = _read_bytes(job['depth_path'], 'Depth')
        depth_sha = _sha256_bytes(depth_bytes)
        results[depth_key] = load_depth(job['depth_path'])
    _check_sources(expected, source_sha, depth_sha, job)
    results = transform(results)
    ok, encoded = cv2.imencode('.png', results['img'], _PNG_PARAMS)
    if not ok:
        raise OSError(f'Could not encode the degraded {job["img_id"]!r} as '
                      'PNG.')
    data = encoded.tobytes()
    record = dict(
        sha256=_sha256_bytes(data),
        source_sha256=source_sha,
        degradation_params=jsonable(results['degradation_params']))
    if depth_sha is not None:
        record['depth_sha256'] = depth_sha
    if expected is not None and expected.get('sha256') != record['sha256']:
        raise RuntimeError(
            f'Re-creating {out_path} gave other bytes than the copy records '
            f'(sha256 {record["sha256"]} != {expected.get("sha256")}): the '
            'degradation code or the numpy / OpenCV versions changed since '
            f'the copy in {job["root"]} was made. Write a new copy to a new '
            'directory.')
    os.makedirs(osp.dirname(out_path), exist_ok=True)
    tmp = f'{out_path}{TMP_MARK}{os.getpid()}'
    with open(tmp, 'wb') as f:
        f.write(data)
    os.replace(tmp, out_path)
    return job['img_id'], record, 'written'
