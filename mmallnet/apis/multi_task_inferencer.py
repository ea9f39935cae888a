"""Run a multi-task model on files, arrays or folders; write every output.

:class:`MultiTaskInferencer` follows ``mmseg.apis.MMSegInferencer`` (call
it on inputs, get predictions and pictures, optionally write them), but is
a plain class rather than an MMEngine ``BaseInferencer``: it streams batch
by batch (preprocess, predict, write), so unless the data samples are asked
for, a folder is held in memory only as the predictions' numpy arrays; and
it builds its model with :func:`init_model` (weights-only loading,
checkpoints that must fit).
"""
import os
import os.path as osp
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.visualization import Visualizer
from mmseg.registry import VISUALIZERS
from rich.progress import track

from mmallnet.visualization import MultiTaskLocalVisualizer

from .inference import init_model
from .inference_outputs import prediction_arrays, write_inference_outputs
from .inference_pipeline import (
    ImageInput,
    build_inference_pipeline,
    pipeline_input,
)

#: File extensions (lower case) read from a folder.
IMAGE_EXTENSIONS = ('.bmp', '.jpeg', '.jpg', '.pgm', '.png', '.ppm', '.tif',
                    '.tiff', '.webp')

InputsType = Union[ImageInput, Sequence[ImageInput]]


def list_images(folder: str) -> List[str]:
    """The image files directly in ``folder``, sorted by name.

    Args:
        folder (str): A directory.

    Returns:
        list[str]: Paths of its files with an :data:`IMAGE_EXTENSIONS`
        extension (any case).

    Raises:
        ValueError: The folder holds no such file.
    """
    names = sorted(
        name for name in os.listdir(folder)
        if osp.splitext(name)[1].lower() in IMAGE_EXTENSIONS
        and osp.isfile(osp.join(folder, name)))
    if not names:
        raise ValueError(f'Folder {folder} holds no image file; looked for '
                         f'the extensions {", ".join(IMAGE_EXTENSIONS)}.')
    return [osp.join(folder, name) for name in names]


def build_visualizer(cfg: Config,
                     dataset_meta: Dict[str, Any]) -> MultiTaskLocalVisualizer:
    """The config's multi-task visualizer, without storage backends.

    Args:
        cfg (Config): The model config; its ``visualizer`` is used when it
            is a :class:`MultiTaskLocalVisualizer` (else a default one).
        dataset_meta (dict): Classes and palettes (semseg and parts).

    Returns:
        MultiTaskLocalVisualizer: A new instance under a name of its own.
    """
    vis_cfg = dict(cfg.get('visualizer') or {})
    kind = vis_cfg.get('type')
    cls = kind if isinstance(kind, type) else VISUALIZERS.get(kind or '')
    if cls is None or not issubclass(cls, MultiTaskLocalVisualizer):
        vis_cfg = dict(type=MultiTaskLocalVisualizer)
    name = f'multi_task_inferencer-{datetime.now().timestamp()}'
    while Visualizer.check_instance_created(name):
        name += '+'
    vis_cfg.update(name=name, vis_backends=None, save_dir=None)
    visualizer = VISUALIZERS.build(vis_cfg)
    visualizer.set_dataset_meta(
        dataset_meta.get('classes'), dataset_meta.get('palette'))
    visualizer.dataset_meta = dict(
        visualizer.dataset_meta,
        **{key: dataset_meta[key]
           for key in ('parts_classes', 'parts_palette')
           if dataset_meta.get(key) is not None})
    return visualizer


class MultiTaskInferencer:
    """Multi-task inference on images, with every output written to disk.

    Args:
        model (str | Path | Config): Config file or object.
        weights (str, optional): Checkpoint of the whole model; see
            :func:`~mmallnet.apis.init_model` (None: a cascade's stage
            checkpoints, else random weights with a warning).
        device (str): Device. Defaults to ``'cpu'``.
        cfg_options (dict, optional): Overrides merged into the config.
        show_progress (bool): Show a progress bar. Defaults to True.

    Examples:
        >>> inferencer = MultiTaskInferencer(CONFIG, CHECKPOINT)
        >>> result = inferencer('photos/', batch_size=4, out_dir='out')
        >>> result['predictions'][0]['depth'].shape   # (H, W)
    """

    def __init__(self,
                 model: Union[str, Path, Config],
                 weights: Optional[str] = None,
                 device: str = 'cpu',
                 cfg_options: Optional[dict] = None,
                 show_progress: bool = True) -> None:
        self.model = init_model(model, weights, device, cfg_options)
        self.cfg = self.model.cfg
        self.pipeline = build_inference_pipeline(self.cfg)
        self.visualizer = build_visualizer(self.cfg, self.model.dataset_meta)
        self.show_progress = show_progress
        # names the samples of array inputs: 00000000, 00000001, ...
        self.num_array_imgs = 0

    def _inputs_to_list(self, inputs: InputsType) -> List[Dict[str, Any]]:
        """Pipeline inputs (``img_path`` / ``img`` and ``img_id``).

        Folders are replaced by their image files (sorted); files are
        named by their stem, arrays by a running 8-digit number.

        Raises:
            FileNotFoundError: A path does not exist.
            ValueError: A folder holds no image, or two files share a
                stem (their outputs would overwrite each other).
        """
        items = list(inputs) if isinstance(inputs, (list, tuple)) else [
            inputs
        ]
        if not items:
            raise ValueError('MultiTaskInferencer got an empty list of '
                             'inputs.')
        results, owners = [], {}
        for item in items:
            if isinstance(item, np.ndarray):
                results.append(
                    pipeline_input(item, f'{self.num_array_imgs:08d}'))
                self.num_array_imgs += 1
                continue
            path = os.fspath(item) if isinstance(item, os.PathLike) else item
            if not isinstance(path, str):
                pipeline_input(item)  # raises the TypeError
            if osp.isdir(path):
                paths = list_images(path)
            elif osp.isfile(path):
                paths = [path]
            else:
                raise FileNotFoundError(f'Input {path} does not exist; '
                                        'expected an image file or a folder.')
            for file in paths:
                stem = osp.splitext(osp.basename(file))[0]
                if stem in owners:
                    raise ValueError(
                        f'Inputs {owners[stem]} and {file} have the same name '
                        f'{stem!r}; their outputs would overwrite each other.')
                owners[stem] = file
                results.append(pipeline_input(file, stem))
        return results

    def _batches(self, items: List[Dict[str, Any]],
                 batch_size: int) -> Iterator[List[Dict[str, Any]]]:
        chunks = [
            items[i:i + batch_size] for i in range(0, len(items), batch_size)
        ]
        if self.show_progress:
            return iter(track(chunks, description='Inference'))
        return iter(chunks)

    @torch.no_grad()
    def forward(self, batch: List[Dict[str, Any]]) -> list:
        """Preprocess a batch of pipeline inputs and predict.

        Returns:
            list[MultiTaskDataSample]: The predicted samples.
        """
        data = pseudo_collate([self.pipeline(item) for item in batch])
        return self.model.test_step(data)

    def __call__(self,
                 inputs: InputsType,
                 return_datasamples: bool = False,
                 batch_size: int = 1,
                 out_dir: str = '',
                 return_vis: bool = False,
                 with_labels: bool = True) -> Union[dict, Any]:
        """Predict every input; write the outputs when ``out_dir`` is set.

        Args:
            inputs (str | Path | np.ndarray | list): An image file, a
                folder (its image files, sorted), an (H, W, 3) BGR uint8
                array, or a list of them.
            return_datasamples (bool): Return the data samples instead of
                numpy arrays. Defaults to False.
            batch_size (int): Images per forward pass. Defaults to 1, the
                test configs' batch size, which reproduces tools/test.py; a
                batch is padded to its largest image, which changes the
                predictions of smaller images in it.
            out_dir (str): Write every output below it
                (:mod:`~mmallnet.apis.inference_outputs`). Defaults to ''
                (nothing written).
            return_vis (bool): Also return the visualizer's RGB pictures.
            with_labels (bool): Write class names into the pictures.

        Returns:
            With ``return_datasamples``: the data sample, or a list for a
            list or folder input. Else a dict: ``predictions`` (per image,
            :func:`~mmallnet.apis.inference_outputs.prediction_arrays`),
            ``visualization`` (RGB pictures when ``return_vis``) and
            ``files`` (per image, output name -> path, when ``out_dir``);
            for a single image each entry is that image's, not a list.
        """
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f'batch_size must be a positive int, got '
                             f'{batch_size!r}.')
        single = not isinstance(inputs, (list, tuple)) and not (
            isinstance(inputs, (str, os.PathLike)) and osp.isdir(inputs))
        items = self._inputs_to_list(inputs)
        samples, predictions, pictures, files = [], [], [], []
        for batch in self._batches(items, batch_size):
            for sample in self.forward(batch):
                if out_dir:
                    files.append(
                        write_inference_outputs(sample, out_dir,
                                                self.model.dataset_meta,
                                                self.visualizer, with_labels))
                if return_vis:
                    if not out_dir:
                        self.visualizer.add_datasample(
                            sample.img_id, None, sample, draw_gt=False,
                            with_labels=with_labels)
                    pictures.append(self.visualizer.get_image())
                if return_datasamples:
                    samples.append(sample)
                else:
                    predictions.append(prediction_arrays(sample))
        if return_datasamples:
            return samples[0] if single else samples
        results = dict(
            predictions=predictions, visualization=pictures, files=files)
        if single:
            results = {key: value[0] if value else value
                       for key, value in results.items()}
        return results
