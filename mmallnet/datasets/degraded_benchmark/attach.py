"""Reading a degraded copy: point a dataset's infos at the stored images.

The ``degraded_root`` / ``degradation`` arguments of the multi-task
datasets (:class:`~mmallnet.datasets.BaseMultiTaskDataset`) call
:func:`attach_degraded_copy`; the transform
:class:`~mmallnet.datasets.transforms.LoadDegradedImage` then swaps the
stored image in. Every stored image is checked against the manifest's
SHA-256 here, once per process (:mod:`.integrity`).
"""
import copy
import os.path as osp
from typing import List

from .integrity import verify_stored_images
from .manifest import MANIFEST_NAME, degraded_image_path, load_manifest


def attach_degraded_copy(data_list: List[dict],
                         degraded_root: str,
                         degradation: str,
                         owner: str,
                         verify_sha256: bool = True) -> List[dict]:
    """Point every data info at its stored degraded image.

    Adds ``degraded_img_path``, ``degradation_type`` (the set name, e.g.
    ``'noise_15'``, so metrics break results down per set) and
    ``degradation_params`` (the manifest's record) to each info, for
    :class:`~mmallnet.datasets.transforms.LoadDegradedImage`.

    Args:
        data_list (list[dict]): Data infos with ``img_id``.
        degraded_root (str): Benchmark directory.
        degradation (str): Set name.
        owner (str): Dataset class name, for error messages.
        verify_sha256 (bool): Check each stored image against the
            manifest's ``sha256`` (hashed once per process, see
            :func:`~.integrity.cached_sha256`). Defaults to True.

    Returns:
        list[dict]: The same list, updated in place.

    Raises:
        KeyError: Unknown set, or ids missing from the copy.
        FileNotFoundError: A recorded image file does not exist.
        ValueError: A stored image does not match its recorded sha256.
    """
    manifest = load_manifest(degraded_root)
    if degradation not in manifest['sets']:
        raise KeyError(f'{owner}: degradation {degradation!r} is not a set '
                       f'of the degraded copy {degraded_root}; it has '
                       f'{list(manifest["sets"])}.')
    images = manifest['images'].get(degradation, {})
    missing = [
        str(info['img_id']) for info in data_list
        if str(info['img_id']) not in images
    ]
    if missing:
        raise KeyError(
            f'{owner}: {len(missing)} of {len(data_list)} ids are missing '
            f'from set {degradation!r} of the degraded copy {degraded_root} '
            f'(e.g. {missing[:5]}); the copy was made from another split or '
            'is incomplete (re-run the tool with the same settings to '
            'finish it).')
    for info in data_list:
        img_id = str(info['img_id'])
        path = degraded_image_path(degraded_root, degradation, img_id)
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'{owner}: degraded image {path} (id {img_id!r}, set '
                f'{degradation!r}) is recorded in {MANIFEST_NAME} but does '
                'not exist; re-run the tool to restore it.')
        info['degraded_img_path'] = path
        info['degradation_type'] = degradation
        info['degradation_params'] = copy.deepcopy(
            images[img_id]['degradation_params'])
    if verify_sha256:
        verify_stored_images(
            degraded_root, degradation,
            [(str(info['img_id']), info['degraded_img_path'],
              images[str(info['img_id'])].get('sha256'))
             for info in data_list], owner)
    return data_list
