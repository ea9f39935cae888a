"""Visualizer drawing every task of a multi-task sample in one grid."""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
from mmengine.dist import master_only
from mmengine.structures import BaseDataElement, PixelData
from mmseg.registry import VISUALIZERS
from mmseg.utils import get_classes, get_palette
from mmseg.visualization import SegLocalVisualizer

from mmallnet.evaluation.functional import psnr
from mmallnet.structures.tasks import (
    ALL_TASKS,
    CLEAN_IMG_KEY,
    DEGRADED_IMG_KEY,
    RESTORED_IMG_KEY,
    TASK_SPECS,
)

from .color_maps import (
    depth_to_rgb,
    depth_value_range,
    generate_palette,
    image_to_uint8,
    label_to_rgb,
    normal_to_rgb,
    prob_to_gray,
)

#: Parameter shown in the degraded image's title, first match wins; other
#: types (or no match) fall back to the first scalar parameter.
MAIN_DEGRADATION_PARAMS: Dict[str, Tuple[str, ...]] = {
    'noise': ('sigma', 'std', 'noise_level'),
    'rain': ('density', 'num_streaks', 'amount'),
    'fog': ('beta', 'atmospheric_light', 'A'),
    'blur': ('kernel_size', 'length', 'radius', 'sigma'),
}

_LABEL_TASKS = ('semseg', 'parts')
_PROB_TASKS = ('boundary', 'saliency')
_FONT = cv2.FONT_HERSHEY_SIMPLEX

_Tile = Tuple[str, np.ndarray]


def _to_numpy(data, field: str) -> np.ndarray:
    """Tensor (any device / dtype) or array -> numpy array."""
    if isinstance(data, torch.Tensor):
        data = data.detach().cpu()
        if data.is_floating_point():
            data = data.float()
        return data.numpy()
    if isinstance(data, np.ndarray):
        return data
    raise TypeError(f'`{field}.data` must be a torch.Tensor or np.ndarray, '
                    f'got {type(data).__name__}.')


def _field_data(field_value, field: str) -> np.ndarray:
    if isinstance(field_value, PixelData):
        if 'data' not in field_value:
            raise KeyError(f'PixelData `{field}` has no `data` entry.')
        return _to_numpy(field_value.data, field)
    return _to_numpy(field_value, field)


def _single_channel(field_value, field: str) -> np.ndarray:
    """``(1, H, W)`` or ``(H, W)`` map -> ``(H, W)``."""
    data = _field_data(field_value, field)
    if data.ndim == 3 and data.shape[0] == 1:
        data = data[0]
    if data.ndim != 2:
        raise ValueError(f'`{field}` must have shape (1, H, W) or (H, W), '
                         f'got {tuple(data.shape)}.')
    return data


def _three_channel(field_value, field: str) -> np.ndarray:
    """``(3, H, W)`` map -> ``(H, W, 3)``."""
    data = _field_data(field_value, field)
    if data.ndim != 3 or data.shape[0] != 3:
        raise ValueError(f'`{field}` must have shape (3, H, W), got '
                         f'{tuple(data.shape)}.')
    return np.ascontiguousarray(data.transpose(1, 2, 0))


def _resize_nearest(data: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of ``(H, W, ...)`` arrays of any dtype."""
    height, width = data.shape[:2]
    if (height, width) == tuple(size):
        return data
    rows = np.minimum(
        ((np.arange(size[0]) + 0.5) * height / size[0]).astype(np.int64),
        height - 1)
    cols = np.minimum(
        ((np.arange(size[1]) + 0.5) * width / size[1]).astype(np.int64),
        width - 1)
    return data[rows[:, None], cols[None, :]]


def _resize_image(image: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    if image.shape[:2] == tuple(size):
        return image
    shrink = size[0] < image.shape[0] and size[1] < image.shape[1]
    interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return cv2.resize(image, (size[1], size[0]), interpolation=interpolation)


def _format_value(value) -> str:
    if isinstance(value, float):
        return f'{value:.3g}'
    return str(value)


def degradation_title(metainfo: dict) -> str:
    """Title of the degraded input: type and main parameter.

    Args:
        metainfo (dict): Sample metainfo with optional ``degradation_type``
            (str) and ``degradation_params`` (dict).

    Returns:
        str: E.g. ``'degraded: noise sigma=25'``; ``'degraded'`` when the
        type is unknown.
    """
    deg_type = metainfo.get('degradation_type')
    if deg_type is None:
        return 'degraded'
    title = f'degraded: {deg_type}'
    params = metainfo.get('degradation_params') or {}
    if not isinstance(params, dict):
        raise TypeError(f'metainfo `degradation_params` must be a dict, '
                        f'got {type(params).__name__}.')
    scalars = {
        key: value
        for key, value in params.items()
        if isinstance(value, (int, float)) and not isinstance(value, bool)
    }
    keys = [k for k in MAIN_DEGRADATION_PARAMS.get(deg_type, ())
            if k in scalars] or list(scalars)
    if keys:
        title += f' {keys[0]}={_format_value(scalars[keys[0]])}'
    return title


def _title_strip(text: str, width: int, height: int) -> np.ndarray:
    """Black ``(height, width, 3)`` strip with ``text`` in white."""
    strip = np.zeros((height, width, 3), dtype=np.uint8)
    if height <= 0 or not text:
        return strip
    scale = 0.4 * height / 20
    (text_w, text_h), _ = cv2.getTextSize(text, _FONT, scale, 1)
    if text_w > width - 4:
        scale = max(scale * (width - 4) / text_w, 0.25)
        (text_w, text_h), _ = cv2.getTextSize(text, _FONT, scale, 1)
    cv2.putText(strip, text, (2, (height + text_h) // 2), _FONT, scale,
                (255, 255, 255), 1, cv2.LINE_AA)
    return strip


def _put_class_names(tile: np.ndarray, label: np.ndarray,
                     classes: Sequence[str], ignore_index: int) -> None:
    """Write each present class name at one of its pixels (in place)."""
    for class_id in np.unique(label):
        if class_id == ignore_index or not 0 <= class_id < len(classes):
            continue
        ys, xs = np.nonzero(label == class_id)
        # the class pixel closest to the class centroid
        idx = np.argmin((ys - ys.mean())**2 + (xs - xs.mean())**2)
        text = str(classes[class_id])
        (text_w, text_h), _ = cv2.getTextSize(text, _FONT, 0.35, 1)
        x = int(min(max(xs[idx] - text_w // 2, 0), tile.shape[1] - text_w))
        y = int(min(max(ys[idx] + text_h // 2, text_h), tile.shape[0] - 1))
        x = max(x, 0)
        cv2.putText(tile, text, (x, y), _FONT, 0.35, (0, 0, 0), 2,
                    cv2.LINE_AA)
        cv2.putText(tile, text, (x, y), _FONT, 0.35, (255, 255, 255), 1,
                    cv2.LINE_AA)


def _crop_padding(image: np.ndarray, img_shape) -> np.ndarray:
    """Crop bottom/right padding beyond ``img_shape`` (if given)."""
    if img_shape is None:
        return image
    return image[:int(img_shape[0]), :int(img_shape[1])]


def _render_task(task: str, maps: Dict[str, np.ndarray],
                 size: Tuple[int, int], palette, classes,
                 with_labels: bool) -> Dict[str, np.ndarray]:
    """Render the pred/gt maps of one task to ``size`` RGB tiles."""
    spec = TASK_SPECS[task]
    tiles = {}
    if task in _LABEL_TASKS:
        if palette is None:
            labels = [m[m != spec.ignore_value] for m in maps.values()]
            top = max((int(v.max()) for v in labels if v.size), default=-1)
            count = len(classes) if classes is not None else top + 1
            palette = generate_palette(max(count, top + 1))
        for key, data in maps.items():
            label = _resize_nearest(data, size)
            field = spec.pred_field if key == 'pred' else spec.gt_field
            try:
                tile = label_to_rgb(label, palette, int(spec.ignore_value))
            except ValueError as err:
                raise ValueError(f'`{field}`: {err}') from err
            if with_labels and classes is not None:
                _put_class_names(tile, label, classes,
                                 int(spec.ignore_value))
            tiles[key] = tile
    elif task == 'depth':
        value_range = depth_value_range(*maps.values())
        for key, data in maps.items():
            tiles[key] = depth_to_rgb(_resize_nearest(data, size),
                                      value_range)
    elif task == 'normals':
        for key, data in maps.items():
            tiles[key] = normal_to_rgb(_resize_nearest(data, size))
    else:
        for key, data in maps.items():
            field = spec.pred_field if key == 'pred' else spec.gt_field
            try:
                tiles[key] = prob_to_gray(
                    _resize_nearest(data, size), spec.ignore_value)
            except ValueError as err:
                raise ValueError(f'`{field}`: {err}') from err
    return tiles


def draw_multi_task_sample(data_sample: Optional[BaseDataElement] = None,
                           image: Optional[np.ndarray] = None,
                           palette: Optional[Sequence] = None,
                           classes: Optional[Sequence[str]] = None,
                           parts_palette: Optional[Sequence] = None,
                           parts_classes: Optional[Sequence[str]] = None,
                           draw_gt: bool = True,
                           draw_pred: bool = True,
                           with_labels: bool = False,
                           tile_size: Optional[Tuple[int, int]] = None,
                           title_height: int = 20) -> np.ndarray:
    """Draw a multi-task sample as one RGB grid.

    Row 0 holds the images that exist: the degraded input (``degraded_img``,
    else ``image``), the clean image (``gt_clean_img``, if ``draw_gt``) and
    the restored image (``pred_restored``, if ``draw_pred``; titled with its
    PSNR against the clean image). Then one row per task present, in
    :data:`ALL_TASKS` order: prediction, then ground truth. A column exists
    only if some task has a tile in it; a missing tile of a kept column is
    black. Each cell is a ``title_height`` title strip above the tile.

    Args:
        data_sample (BaseDataElement, optional): A ``MultiTaskDataSample``
            (fields as PixelData of tensors or arrays, any device).
        image (np.ndarray, optional): ``(H, W, 3)`` ``uint8`` RGB input,
            drawn when the sample has no ``degraded_img``.
        palette (Sequence, optional): RGB colour per semseg class. Defaults
            to a generated palette (:func:`generate_palette`).
        classes (Sequence[str], optional): Semseg class names.
        parts_palette (Sequence, optional): RGB colour per part class.
        parts_classes (Sequence[str], optional): Part class names.
        draw_gt (bool): Draw ground truth. Defaults to True.
        draw_pred (bool): Draw predictions. Defaults to True.
        with_labels (bool): Write class names onto label maps (needs the
            class names). Defaults to False.
        tile_size (tuple[int, int], optional): ``(h, w)`` of every tile.
            Defaults to the size of the first drawn image or map.
        title_height (int): Height of the title strips. Defaults to 20.

    Returns:
        np.ndarray: ``(rows * (h + title_height), cols * w, 3)`` ``uint8``
        RGB picture.
    """
    sample = data_sample if data_sample is not None else BaseDataElement()
    metainfo = sample.metainfo
    img_shape = metainfo.get('img_shape')

    images: List[_Tile] = []
    degraded = sample.get(DEGRADED_IMG_KEY)
    if degraded is not None:
        degraded = _crop_padding(
            _three_channel(degraded, DEGRADED_IMG_KEY), img_shape)
        images.append((degradation_title(metainfo), image_to_uint8(degraded)))
    elif image is not None:
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[-1] != 3 or image.dtype != np.uint8:
            raise ValueError(f'`image` must be an (H, W, 3) uint8 RGB array, '
                             f'got shape {image.shape} dtype {image.dtype}.')
        images.append(('input', image))
    clean = sample.get(CLEAN_IMG_KEY) if draw_gt else None
    if clean is not None:
        clean = _crop_padding(_three_channel(clean, CLEAN_IMG_KEY), img_shape)
        images.append(('clean', image_to_uint8(clean)))
    restored = sample.get(RESTORED_IMG_KEY) if draw_pred else None
    if restored is not None:
        restored = _three_channel(restored, RESTORED_IMG_KEY)
        title = 'restored'
        if clean is not None:
            if clean.shape == restored.shape:
                value = psnr(np.clip(restored, 0, 1), clean)
                title += f' PSNR {value:.2f}dB'
            else:
                title += ' (PSNR n/a: shape differs from clean)'
        images.append((title, image_to_uint8(restored)))

    task_maps: Dict[str, Dict[str, np.ndarray]] = {}
    for task in ALL_TASKS:
        spec = TASK_SPECS[task]
        maps = {}
        for key, field, enabled in (('pred', spec.pred_field, draw_pred),
                                    ('gt', spec.gt_field, draw_gt)):
            value = sample.get(field) if enabled else None
            if value is None:
                continue
            if spec.channels == 3:
                maps[key] = _three_channel(value, field)
            else:
                maps[key] = _single_channel(value, field)
        if maps:
            task_maps[task] = maps

    sources = [img for _, img in images] + [
        m for maps in task_maps.values() for m in maps.values()
    ]
    if not sources:
        raise ValueError('Nothing to draw: the data sample has no image or '
                         'task field to draw and no `image` was given.')
    if tile_size is None:
        tile_size = sources[0].shape[:2]
    tile_h, tile_w = (int(v) for v in tile_size)
    if tile_h <= 0 or tile_w <= 0 or title_height < 0:
        raise ValueError(f'tile_size must be positive and title_height >= 0, '
                         f'got {tile_size} and {title_height}.')
    size = (tile_h, tile_w)

    columns = [key for key in ('pred', 'gt')
               if any(key in maps for maps in task_maps.values())]
    rows: List[List[Optional[_Tile]]] = []
    if images:
        rows.append([(title, _resize_image(img, size))
                     for title, img in images])
    for task, maps in task_maps.items():
        if task in _LABEL_TASKS:
            task_palette = palette if task == 'semseg' else parts_palette
            task_classes = classes if task == 'semseg' else parts_classes
        else:
            task_palette = task_classes = None
        tiles = _render_task(task, maps, size, task_palette, task_classes,
                             with_labels)
        rows.append([(f'{task} {key}', tiles[key]) if key in tiles else None
                     for key in columns])

    num_cols = max(len(row) for row in rows)
    cell_h = tile_h + title_height
    canvas = np.zeros((len(rows) * cell_h, num_cols * tile_w, 3),
                      dtype=np.uint8)
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            if cell is None:
                continue
            title, tile = cell
            top, left = r * cell_h, c * tile_w
            canvas[top:top + title_height, left:left + tile_w] = \
                _title_strip(title, tile_w, title_height)
            canvas[top + title_height:top + cell_h, left:left + tile_w] = tile
    return canvas


@VISUALIZERS.register_module()
class MultiTaskLocalVisualizer(SegLocalVisualizer):
    """Visualizer drawing images and every task's prediction and GT.

    One picture per sample (see :func:`draw_multi_task_sample`): the
    degraded input, clean and restored images on top, then one row per task
    with the prediction next to the ground truth.

    Args:
        name (str): Instance name (visualizers are singletons per name).
            Defaults to 'visualizer'.
        image (np.ndarray, optional): Initial RGB image. Defaults to None.
        vis_backends (list, optional): Visual backend configs.
        save_dir (str, optional): Save dir for the backends.
        classes (list, optional): Semseg class names.
        palette (list, optional): Semseg RGB palette. When neither it nor
            ``dataset_name`` is given, a palette is generated.
        dataset_name (str, optional): MMSeg dataset whose classes/palette
            fill the ones not given. Defaults to None (no default dataset,
            unlike :class:`SegLocalVisualizer`'s cityscapes).
        alpha (float): Kept for compatibility; label maps are drawn opaque.
        tile_size (tuple[int, int], optional): ``(h, w)`` of each tile.
            Defaults to the size of the first drawn image or map.
        title_height (int): Height of the title strips. Defaults to 20.

    ``dataset_meta`` keys read: ``classes``, ``palette`` (semseg) and
    ``parts_classes``, ``parts_palette`` (human parts).
    """

    def __init__(self,
                 name: str = 'visualizer',
                 image: Optional[np.ndarray] = None,
                 vis_backends: Optional[List[Dict]] = None,
                 save_dir: Optional[str] = None,
                 classes: Optional[List] = None,
                 palette: Optional[List] = None,
                 dataset_name: Optional[str] = None,
                 alpha: float = 0.8,
                 tile_size: Optional[Tuple[int, int]] = None,
                 title_height: int = 20,
                 **kwargs):
        super().__init__(name, image, vis_backends, save_dir, alpha=alpha,
                         **kwargs)
        self.tile_size = tile_size
        self.title_height = title_height
        self.set_dataset_meta(classes, palette, dataset_name)

    def set_dataset_meta(self,
                         classes: Optional[List] = None,
                         palette: Optional[List] = None,
                         dataset_name: Optional[str] = None) -> None:
        """Set semseg classes and palette (no cityscapes default).

        Args:
            classes (list, optional): Class names.
            palette (list, optional): RGB colour per class.
            dataset_name (str, optional): MMSeg dataset name filling the
                classes / palette not given.
        """
        if dataset_name is not None:
            classes = classes or get_classes(dataset_name)
            palette = palette or get_palette(dataset_name)
        if classes and palette and len(classes) != len(palette):
            raise ValueError(f'classes ({len(classes)}) and palette '
                             f'({len(palette)}) must have the same length.')
        meta = {}
        if classes:
            meta['classes'] = list(classes)
        if palette:
            meta['palette'] = [list(color) for color in palette]
        self.dataset_meta = meta

    @master_only
    def add_datasample(self,
                       name: str,
                       image: np.ndarray,
                       data_sample: Optional[BaseDataElement] = None,
                       draw_gt: bool = True,
                       draw_pred: bool = True,
                       show: bool = False,
                       wait_time: float = 0,
                       out_file: Optional[str] = None,
                       step: int = 0,
                       with_labels: Optional[bool] = True) -> None:
        """Draw a data sample, record it to the backends and save / show it.

        Args:
            name (str): The image identifier.
            image (np.ndarray): ``(H, W, 3)`` RGB ``uint8`` image, drawn as
                the input when the sample has no ``degraded_img``.
            data_sample (MultiTaskDataSample, optional): Sample with
                predictions and / or ground truth. Defaults to None.
            draw_gt (bool): Draw ground truth. Defaults to True.
            draw_pred (bool): Draw predictions. Defaults to True.
            show (bool): Display the drawn image. Defaults to False.
            wait_time (float): The interval of show (s). Defaults to 0.
            out_file (str, optional): Also write the picture here.
            step (int): Global step value to record. Defaults to 0.
            with_labels (bool): Write class names onto label maps.
                Defaults to True.
        """
        meta = self.dataset_meta or {}
        drawn = draw_multi_task_sample(
            data_sample,
            image,
            palette=meta.get('palette'),
            classes=meta.get('classes'),
            parts_palette=meta.get('parts_palette'),
            parts_classes=meta.get('parts_classes'),
            draw_gt=draw_gt,
            draw_pred=draw_pred,
            with_labels=bool(with_labels),
            tile_size=self.tile_size,
            title_height=self.title_height)
        self.set_image(drawn)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        self.add_image(name, drawn, step)
        if out_file is not None:
            out_dir = osp.dirname(osp.abspath(out_file))
            os.makedirs(out_dir, exist_ok=True)
            bgr = np.ascontiguousarray(drawn[..., ::-1])
            if not cv2.imwrite(out_file, bgr):
                raise OSError(f'Failed to write visualization to '
                              f'{out_file!r}.')
