"""The test pipeline of a config, turned into one for images without labels.

A config's test pipeline loads the image, the annotations of every task
and, for the on-the-fly degraded val splits, applies a fixed degradation
(or swaps in the stored degraded copy) before packing. A user's photo has
no annotations and is degraded already, so :func:`build_inference_pipeline`
keeps every other transform as it is and drops those that need ground
truth or degrade the image (:data:`GROUND_TRUTH_TRANSFORMS`). The image
loader reads files as the config says and also takes arrays
(:class:`ImageLoader`). The packed sample keeps no pseudo targets:
``gt_clean_img`` (a copy of the input when nothing degraded it) and the
``degradation_type='clean'`` label are removed.
"""
import copy
import os
import os.path as osp
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import LoadAnnotations, LoadImageFromFile
from mmengine.dataset import Compose
from mmseg.datasets.transforms import LoadDepthAnnotation
from mmseg.registry import TRANSFORMS

from mmallnet.datasets.transforms import (
    BaseDegradation,
    LoadDegradedImage,
    LoadMultiTaskAnnotations,
    LoadPascalContextAnnotations,
)
from mmallnet.structures import CLEAN_IMG_KEY

#: Transforms dropped from the test pipeline: annotation loaders, the
#: stored degraded copy of a benchmark and every synthetic degradation.
GROUND_TRUTH_TRANSFORMS: Tuple[type, ...] = (
    LoadAnnotations, LoadDepthAnnotation, LoadMultiTaskAnnotations,
    LoadPascalContextAnnotations, LoadDegradedImage, BaseDegradation)

#: Metainfo that packing sets by default and that says nothing about a
#: user's image (it is 'clean' only because no transform degraded it).
PSEUDO_METAINFO = ('degradation_type', 'degradation_params')

ImageInput = Union[str, os.PathLike, np.ndarray]


def transform_class(transform: Union[dict, Callable]) -> type:
    """The class of a transform config (``type`` a name or a class).

    Args:
        transform (dict | callable): A pipeline entry.

    Returns:
        type: The registered class (``type(transform)`` for a built one).

    Raises:
        KeyError: The name is not registered in MMSeg's ``TRANSFORMS``.
    """
    if not isinstance(transform, dict):
        return type(transform)
    kind = transform['type']
    if isinstance(kind, type):
        return kind
    cls = TRANSFORMS.get(kind)
    if cls is None:
        raise KeyError(f'Transform {kind!r} of the test pipeline is not '
                       'registered (is its package in custom_imports?).')
    return cls


def _check_array(img: np.ndarray) -> None:
    """Raise unless ``img`` is an (H, W, 3) uint8 image."""
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(
            f'Image array of shape {img.shape} and dtype {img.dtype}: '
            'expected an (H, W, 3) BGR uint8 array (as cv2.imread gives).')


class ImageLoader:
    """Load an image file as the config's loader does, or take an array.

    Args:
        loader_cfg (dict): The config of the test pipeline's
            ``LoadImageFromFile`` (its ``color_type``, ``imdecode_backend``,
            ``to_float32``... apply to files and arrays alike, through
            MMSeg's ``InferencerLoader``).
    """

    def __init__(self, loader_cfg: dict) -> None:
        kwargs = {k: v for k, v in loader_cfg.items() if k != 'type'}
        self.loader = TRANSFORMS.build(dict(type='InferencerLoader', **kwargs))

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        """Load ``results['img_path']`` or check ``results['img']``.

        Raises:
            FileNotFoundError: The image file does not exist.
            ValueError: The path is a folder, the file cannot be decoded
                as an image, or the array is not (H, W, 3) uint8.
        """
        if 'img' in results:
            _check_array(results['img'])
            return self.loader(results)
        path = results['img_path']
        if osp.isdir(path):
            raise ValueError(f'{path} is a folder, expected an image file '
                             '(MultiTaskInferencer reads folders).')
        if not osp.isfile(path):
            raise FileNotFoundError(f'Image file {path} does not exist.')
        try:
            loaded = self.loader(results)
        except Exception as error:  # cv2/PIL errors, mmcv's assertion
            raise ValueError(f'Could not read {path} as an image: {error}'
                             ) from None
        if loaded is None or not isinstance(loaded.get('img'), np.ndarray):
            raise ValueError(f'Could not read {path} as an image.')
        return loaded

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}({self.loader!r})'


def pipeline_input(img: ImageInput,
                   img_id: Optional[str] = None) -> Dict[str, Any]:
    """The pipeline's input dict for an image file or array.

    Args:
        img (str | Path | np.ndarray): The image.
        img_id (str, optional): Name of the sample (its output files).

    Returns:
        dict: ``img_path`` or ``img``, and ``img_id`` when given.
    """
    if isinstance(img, np.ndarray):
        results: Dict[str, Any] = dict(img=img)
    elif isinstance(img, (str, os.PathLike)):
        results = dict(img_path=os.fspath(img))
    else:
        raise TypeError(f'Image input of type {type(img).__name__}: expected '
                        'a file path or an (H, W, 3) BGR uint8 array.')
    if img_id is not None:
        results['img_id'] = img_id
    return results


def strip_pseudo_targets(data: Dict[str, Any]) -> Dict[str, Any]:
    """Remove what packing adds for samples without ground truth.

    Args:
        data (dict): ``inputs`` and ``data_samples`` from the packer.

    Returns:
        dict: The same dict; its sample has no ``gt_clean_img`` and no
        ``degradation_type`` / ``degradation_params`` metainfo.
    """
    sample = data['data_samples']
    if CLEAN_IMG_KEY in sample:
        delattr(sample, CLEAN_IMG_KEY)
    for key in PSEUDO_METAINFO:
        if key in sample.metainfo_keys():
            delattr(sample, key)
    return data


def inference_transforms(pipeline_cfg: Sequence[dict]) -> List[Any]:
    """The test pipeline without ground truth, with :class:`ImageLoader`.

    Args:
        pipeline_cfg (Sequence[dict]): The config's test pipeline.

    Returns:
        list: :class:`ImageLoader` in place of ``LoadImageFromFile``, then
        the kept transform configs in their order.

    Raises:
        ValueError: The pipeline has no ``LoadImageFromFile``.
    """
    transforms: List[Any] = []
    loader_found = False
    for transform in copy.deepcopy(list(pipeline_cfg)):
        cls = transform_class(transform)
        if cls is LoadImageFromFile and not loader_found:
            transforms.append(ImageLoader(transform))
            loader_found = True
        elif not issubclass(cls, GROUND_TRUTH_TRANSFORMS):
            transforms.append(transform)
    if not loader_found:
        names = [transform_class(t).__name__ for t in pipeline_cfg]
        raise ValueError(
            f'The test pipeline {names} has no LoadImageFromFile; the '
            'inference pipeline replaces it to read files and arrays.')
    return transforms


def build_inference_pipeline(cfg: Any) -> Callable[[dict], dict]:
    """Build the pipeline that prepares user images like the test split.

    Args:
        cfg (Config): A model config with
            ``test_dataloader.dataset.pipeline``.

    Returns:
        callable: Maps ``dict(img_path=...)`` or ``dict(img=BGR array)``
        (plus optional ``img_id``) to ``dict(inputs, data_samples)``.

    Raises:
        KeyError: The config has no test pipeline.
    """
    try:
        pipeline_cfg = cfg.test_dataloader.dataset.pipeline
    except AttributeError:
        raise KeyError('The config has no test_dataloader.dataset.pipeline; '
                       'inference prepares images with the test pipeline.'
                       ) from None
    # built from MMSeg's registry, whatever the current default scope
    compose = Compose([
        t if callable(t) else TRANSFORMS.build(t)
        for t in inference_transforms(pipeline_cfg)
    ])

    def pipeline(results: dict) -> dict:
        return strip_pseudo_targets(compose(results))

    return pipeline
