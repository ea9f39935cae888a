"""Build a multi-task model from a config and a checkpoint; run it on images.

:func:`init_model` and :func:`inference_model` follow
``mmseg.apis.init_model`` / ``inference_model``, with two differences that
keep results honest: a checkpoint is read with the project's weights-only
loader (:func:`~mmallnet.utils.load_local_checkpoint`) and must fit the
model key for key and shape (:func:`~mmallnet.utils.check_checkpoint_fits`),
so weights never silently stay random; and images go through the config's
test pipeline without annotation loading or degradation
(:func:`~mmallnet.apis.inference_pipeline.build_inference_pipeline`).
"""
import copy
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmengine.runner import CheckpointLoader
from mmseg.registry import DATASETS, MODELS

from mmallnet.structures import MultiTaskDataSample
from mmallnet.utils import (
    CheckpointMismatchError,
    check_checkpoint_fits,
    checkpoint_state_dict,
    config_weight_files,
    load_local_checkpoint,
)
from mmallnet.utils.checkpoint_fit import SELF_LOADING_MODELS

from .inference_pipeline import (
    ImageInput,
    build_inference_pipeline,
    pipeline_input,
)

ImagesInput = Union[ImageInput, Sequence[ImageInput]]


def load_checkpoint_file(filename: str) -> Mapping:
    """Read a checkpoint with the weights-only protection kept.

    Args:
        filename (str): A local path, or a URL (MMEngine's loaders).

    Returns:
        Mapping: The checkpoint.

    Raises:
        FileNotFoundError: The local file does not exist.
        UntrustedCheckpointError: The file needs globals outside the
            allow-list (see :mod:`mmallnet.utils.checkpoint_loading`).
        CheckpointMismatchError: The file holds no dict.
    """
    if '://' in filename:
        checkpoint = CheckpointLoader.load_checkpoint(
            filename, map_location='cpu')
    else:
        checkpoint = load_local_checkpoint(filename, map_location='cpu')
    if not isinstance(checkpoint, Mapping):
        raise CheckpointMismatchError(
            f'Checkpoint {filename} holds a {type(checkpoint).__name__}; '
            'expected a dict with a `state_dict` (as tools/train.py writes).')
    return checkpoint


def load_weights(model: torch.nn.Module, checkpoint: Mapping,
                 filename: str) -> None:
    """Load ``checkpoint`` into ``model`` if it fits key for key and shape.

    Args:
        model (nn.Module): The model.
        checkpoint (Mapping): The loaded checkpoint.
        filename (str): Its path, for messages.

    Raises:
        CheckpointMismatchError: A key is missing or unexpected or a shape
            differs (the message names the file and the keys).
    """
    hint = ('init_model loads only a checkpoint of this very model; is it '
            'from another config, or do cfg_options change the model?')
    try:
        check_checkpoint_fits(model, checkpoint, filename, hint=hint)
    except CheckpointMismatchError as error:
        if filename in str(error):
            raise
        raise CheckpointMismatchError(f'Checkpoint {filename}: {error}'
                                      ) from None
    model.load_state_dict(checkpoint_state_dict(checkpoint), strict=True)


def config_dataset_meta(cfg: Config) -> Optional[Dict[str, Any]]:
    """Class names and palettes of the config's test dataset class.

    Reads the registered class's ``METAINFO`` (updated with the dataset
    config's ``metainfo``) without building the dataset; a
    ``DegradedBenchmarkDataset`` is read through its ``dataset_type``.

    Args:
        cfg (Config): The model config.

    Returns:
        dict | None: The metainfo, or None when the config has no test
        dataset or its class has no ``classes``.
    """
    dataset_cfg = (cfg.get('test_dataloader') or {}).get('dataset')
    if not dataset_cfg:
        return None
    kind = dataset_cfg.get('dataset_type', dataset_cfg.get('type'))
    cls = kind if isinstance(kind, type) else DATASETS.get(kind)
    if cls is None or not hasattr(cls, '_load_metainfo'):
        return None
    meta = cls._load_metainfo(dataset_cfg.get('metainfo'))
    return meta if meta.get('classes') else None


def _model_dataset_meta(cfg: Config, checkpoint: Optional[Mapping],
                        checkpoint_path: Optional[str]) -> Dict[str, Any]:
    """The checkpoint's ``meta['dataset_meta']``, else the config's."""
    meta = checkpoint.get('meta') if checkpoint is not None else None
    if isinstance(meta, Mapping) and meta.get('dataset_meta'):
        return copy.deepcopy(dict(meta['dataset_meta']))
    from_config = config_dataset_meta(cfg)
    if from_config is not None:
        return from_config
    where = (f'the checkpoint {checkpoint_path} has no meta["dataset_meta"]'
             if checkpoint_path else 'no checkpoint was given')
    warnings.warn(
        f'No class names or palette: {where} and the config names no test '
        'dataset with METAINFO; label maps are coloured with a generated '
        'palette and drawn without class names.')
    return {}


def init_model(config: Union[str, Path, Config],
               checkpoint: Optional[str] = None,
               device: str = 'cpu',
               cfg_options: Optional[dict] = None) -> torch.nn.Module:
    """Build a model from a config and load its checkpoint.

    Args:
        config (str | Path | Config): Config file or object (a ``Config``
            is copied, not changed).
        checkpoint (str, optional): Checkpoint of the whole model (as
            ``tools/train.py`` writes it). None: a ``TwoStageCascade``
            whose ``restorer_checkpoint`` and ``predictor_checkpoint`` are
            set loads both stages itself; any other model keeps random
            weights (with a warning).
        device (str): Device, e.g. ``'cpu'`` or ``'cuda:0'``. Defaults to
            ``'cpu'``.
        cfg_options (dict, optional): Overrides merged into the config.

    Returns:
        nn.Module: The model in eval mode, with ``cfg`` (the config) and
        ``dataset_meta`` (the checkpoint's ``meta['dataset_meta']``, else
        the test dataset's ``METAINFO``, else ``{}`` with a warning).

    Raises:
        FileNotFoundError: The config or checkpoint file does not exist.
        UntrustedCheckpointError: The checkpoint needs unsafe globals.
        CheckpointMismatchError: The checkpoint does not fit the model.
    """
    if isinstance(config, (str, Path)):
        config = Config.fromfile(str(config))
    elif isinstance(config, Config):
        config = copy.deepcopy(config)
    else:
        raise TypeError('config must be a file name or a Config, got '
                        f'{type(config).__name__}.')
    if cfg_options is not None:
        config.merge_from_dict(cfg_options)
    init_default_scope(config.get('default_scope', 'mmseg'))

    model = MODELS.build(config.model)
    loaded = None
    if checkpoint is not None:
        checkpoint = os.fspath(checkpoint)
        loaded = load_checkpoint_file(checkpoint)
        load_weights(model, loaded, checkpoint)
    else:
        try:
            config_weight_files(config.model)
        except ValueError as error:
            # a cascade's message names the stage files left unset
            why = (f' ({error})' if config.model.type in SELF_LOADING_MODELS
                   else '')
            warnings.warn(
                f'No checkpoint given: the {config.model.type} keeps '
                'randomly initialised weights, so its predictions mean '
                f'nothing{why}.')
    model.dataset_meta = _model_dataset_meta(config, loaded, checkpoint)
    model.cfg = config
    if torch.device(device).type == 'cpu':
        model = revert_sync_batchnorm(model)
    model.to(device)
    model.eval()
    return model


def inference_model(
    model: torch.nn.Module, img: ImagesInput
) -> Union[MultiTaskDataSample, List[MultiTaskDataSample]]:
    """Run the model on one image or a list of images (one batch).

    Args:
        model (nn.Module): A model from :func:`init_model` (it needs
            ``model.cfg``).
        img (str | Path | np.ndarray | list): Image files and / or (H, W, 3)
            BGR uint8 arrays.

    Returns:
        MultiTaskDataSample | list[MultiTaskDataSample]: One sample per
        image (a list for a list input) with every prediction the model
        makes (``pred_sem_seg``, ``pred_depth``, ``pred_normal``,
        ``pred_boundary``, ``pred_saliency``, ``pred_parts``,
        ``pred_restored``...), at the image's size.

    Raises:
        FileNotFoundError: An image file does not exist.
        ValueError: An image cannot be read or is a folder, an array is
            not (H, W, 3) uint8, or the list is empty.
    """
    cfg = getattr(model, 'cfg', None)
    if cfg is None:
        raise AttributeError('The model has no `cfg`; build it with '
                             'mmallnet.apis.init_model.')
    is_batch = isinstance(img, (list, tuple))
    imgs = list(img) if is_batch else [img]
    if not imgs:
        raise ValueError('inference_model got an empty list of images.')
    pipeline = build_inference_pipeline(cfg)
    data: Dict[str, list] = dict(inputs=[], data_samples=[])
    for item in imgs:
        packed = pipeline(pipeline_input(item))
        data['inputs'].append(packed['inputs'])
        data['data_samples'].append(packed['data_samples'])
    with torch.no_grad():
        results = model.test_step(data)
    return results if is_batch else results[0]

