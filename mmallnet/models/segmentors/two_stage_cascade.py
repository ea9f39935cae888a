"""Two-stage "restore, then predict" cascade of a restorer and a predictor."""
import copy
import os.path as osp
from contextlib import contextmanager, nullcontext
from numbers import Number
from typing import Any, Dict, Iterator, List, Optional, Sequence

import torch
from mmengine.config import ConfigDict
from mmengine.logging import print_log
from mmengine.runner import CheckpointLoader
from mmengine.structures import PixelData
from mmseg.models.segmentors.base import BaseSegmentor
from mmseg.registry import MODELS
from mmseg.utils import (
    ConfigType,
    OptConfigType,
    OptMultiConfig,
    OptSampleList,
    SampleList,
    add_prefix,
)
from torch import Tensor

from ...structures.multi_task_data_sample import MultiTaskDataSample
from ...structures.tasks import (
    CLEAN_IMG_KEY,
    DEGRADED_IMG_KEY,
    RESTORED_IMG_KEY,
)
from ...utils.checkpoint_fit import (
    CheckpointMismatchError,
    check_checkpoint_fits,
    checkpoint_state_dict,
)
from ..data_preprocessor import degraded_input
from .multi_task_encoder_decoder import MultiTaskEncoderDecoder

#: The stages, by attribute name (checkpoint key ``<stage>_checkpoint``).
STAGES = ('restorer', 'predictor')


@MODELS.register_module()
class TwoStageCascade(BaseSegmentor):
    """Restore the degraded image, then predict on the restored image.

    The two-stage baseline of the paper (an all-in-one restorer, then a
    multi-task model). Any predictor works: a
    :class:`MultiTaskEncoderDecoder` (the MTL baseline, or ALLNet with or
    without its restoration branch) or a stock MMSeg segmentor
    (``EncoderDecoder``, semseg only).

    Data flow: the cascade's ``data_preprocessor``
    (``MultiTaskDataPreProcessor``) keeps the degraded image in [0, 1] RGB
    (padded like the inputs) as each sample's ``degraded_img``; the
    restorer maps it to ``restored = restorer.restore(degraded)`` (same
    shape, not clamped); the predictor gets ``clamp(restored, 0, 1)``
    (unless ``clamp_restored=False``) re-normalised with
    ``predictor_mean`` / ``predictor_std``, and reads it as its own
    ``degraded_img`` (a :class:`MultiTaskEncoderDecoder`'s head takes the
    [0, 1] image too). The predictor's own ``data_preprocessor`` is never
    run: it is dropped from its config (its ``mean`` / ``std`` must equal
    the cascade's ``predictor_mean`` / ``predictor_std`` and it must
    convert to RGB, else the config is refused).

    Stage checkpoints: ``restorer_checkpoint`` / ``predictor_checkpoint``
    are checkpoints of the stage model trained alone (as ``tools/train.py``
    writes them): their state-dict keys are the stage model's own
    (``backbone.*``, ``decode_head.*``...), no prefix is stripped but
    ``module.``. They are loaded with MMEngine's ``CheckpointLoader`` (the
    project's weights-only loader for local files) when the cascade is
    built and must fit the stage key for key and shape, else
    :class:`CheckpointMismatchError` names the stage and the file.
    :meth:`init_weights` leaves a loaded stage as it is. A checkpoint of
    the whole cascade (keys ``restorer.*`` / ``predictor.*``, written when
    the cascade itself is trained) is loaded with ``load_from`` /
    ``tools/test.py`` instead.

    Modes:

    - ``loss``: the predictor's losses on the restored image, keys as the
      predictor names them (``decode.loss_semseg``...), plus
      ``restorer.loss_restoration`` (``restoration_loss`` on the unclamped
      restored image vs ``gt_clean_img``, un-padded region) when the
      restorer is trainable and ``restoration_loss`` is set.
    - ``predict``: the predictor's predictions (``pred_sem_seg``...; for a
      stock segmentor the ``SegDataSample`` fields ``seg_logits`` /
      ``pred_sem_seg``), plus ``pred_restored``: the restorer's output,
      clamped to [0, 1] and cropped to the un-padded image
      (:meth:`MultiTaskEncoderDecoder.crop_to_image`), in place of a
      restoration the predictor's own head may write; ``degraded_img`` is
      cropped the same way, as the multi-task segmentor does, so
      ``MultiTaskMetric``'s restoration PSNR is computed as for it.
    - ``tensor``: ``dict(restored=<restorer output>, predictor=<the
      predictor's raw output>)``; both stages run, so FLOP counters
      (:func:`~mmallnet.utils.get_model_complexity` with
      :class:`~mmallnet.utils.TensorModeWrapper`,
      ``tools/analysis_tools/get_flops.py``) count both.

    Args:
        restorer (dict): Restorer config; the module must have
            ``restore(img) -> Tensor`` for (B, 3, H, W) RGB in [0, 1].
        predictor (dict): Predictor config (any segmentor).
        restorer_checkpoint (str, optional): Checkpoint of the restorer.
        predictor_checkpoint (str, optional): Checkpoint of the predictor.
        freeze_restorer (bool): Freeze the restorer (no gradients, eval
            mode kept in :meth:`train`). Defaults to True.
        freeze_predictor (bool): Freeze the predictor. Defaults to True;
            set False to train the predictor on restored images.
        predictor_mean (Sequence[Number], optional): RGB mean (0..255)
            the predictor's input is normalised with. Defaults to the data
            preprocessor's ``mean`` (0 if it does not normalise).
        predictor_std (Sequence[Number], optional): RGB std, the same way.
        clamp_restored (bool): Clamp the restored image to [0, 1] before
            the predictor and in the predictions. Defaults to True.
        restoration_loss (dict, optional): Loss of the restored image
            (e.g. ``dict(type='RestorationLoss', loss_weight=0.1)``); only
            with ``freeze_restorer=False``. Defaults to None.
        data_preprocessor (dict, optional): ``MultiTaskDataPreProcessor``
            config.
        init_cfg (dict or list[dict], optional): Initialization config.
    """

    def __init__(self,
                 restorer: ConfigType,
                 predictor: ConfigType,
                 restorer_checkpoint: Optional[str] = None,
                 predictor_checkpoint: Optional[str] = None,
                 freeze_restorer: bool = True,
                 freeze_predictor: bool = True,
                 predictor_mean: Optional[Sequence[Number]] = None,
                 predictor_std: Optional[Sequence[Number]] = None,
                 clamp_restored: bool = True,
                 restoration_loss: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        mean, std = self._predictor_stats(predictor_mean, predictor_std)
        self.register_buffer('predictor_mean', mean.view(-1, 1, 1), False)
        self.register_buffer('predictor_std', std.view(-1, 1, 1), False)
        predictor = self._check_predictor_cfg(predictor, mean, std)

        self.restorer = MODELS.build(copy.deepcopy(restorer))
        if not callable(getattr(self.restorer, 'restore', None)):
            raise TypeError(
                f'TwoStageCascade: `restorer` ({type(self.restorer).__name__}'
                ') has no `restore(img)` method.')
        self.predictor = MODELS.build(predictor)
        if restoration_loss is not None and freeze_restorer:
            raise ValueError(
                'TwoStageCascade: `restoration_loss` is set but '
                '`freeze_restorer=True`; the loss would train nothing (set '
                'freeze_restorer=False or drop restoration_loss).')
        self.loss_restoration = (None if restoration_loss is None else
                                 MODELS.build(restoration_loss))
        self.clamp_restored = clamp_restored
        self.freeze_restorer = freeze_restorer
        self.freeze_predictor = freeze_predictor
        self.checkpoints = dict(
            restorer=restorer_checkpoint, predictor=predictor_checkpoint)
        for stage in STAGES:
            if self.checkpoints[stage] is not None:
                self.load_stage_checkpoint(stage, self.checkpoints[stage])
            if self.is_frozen(stage):
                getattr(self, stage).requires_grad_(False)
        self.tasks = list(getattr(self.predictor, 'tasks', ['semseg']))
        self.num_classes = getattr(self.predictor, 'num_classes', None)
        self.align_corners = getattr(self.predictor, 'align_corners', False)
        self.train()

    # ------------------------------------------------------------------
    # construction
    # ------------------------------------------------------------------
    def _predictor_stats(self, mean: Optional[Sequence[Number]],
                         std: Optional[Sequence[Number]]) -> List[Tensor]:
        """The predictor's normalisation, defaults from the preprocessor."""
        if (mean is None) != (std is None):
            raise ValueError('TwoStageCascade: give both `predictor_mean` and '
                             '`predictor_std` or neither.')
        if mean is None:
            preprocessor = self.data_preprocessor
            if getattr(preprocessor, '_enable_normalize', False):
                return [preprocessor.mean.flatten().clone(),
                        preprocessor.std.flatten().clone()]
            return [torch.zeros(3), torch.ones(3)]
        if len(mean) != 3 or len(std) != 3:
            raise ValueError('TwoStageCascade: `predictor_mean` and '
                             '`predictor_std` need 3 values (RGB, 0..255).')
        return [torch.tensor(mean, dtype=torch.float32),
                torch.tensor(std, dtype=torch.float32)]

    @staticmethod
    def _check_predictor_cfg(cfg: ConfigType, mean: Tensor,
                             std: Tensor) -> ConfigDict:
        """Drop the predictor's data preprocessor after checking it agrees
        with the normalisation the cascade applies."""
        cfg = ConfigDict(copy.deepcopy(cfg))
        own = cfg.pop('data_preprocessor', None)
        if own is None:
            return cfg
        if not own.get('bgr_to_rgb', False) and own.get('mean') is not None:
            raise ValueError(
                'TwoStageCascade: `predictor.data_preprocessor.bgr_to_rgb` '
                'is False, so the predictor was trained on BGR input; the '
                'cascade feeds it the RGB restored image.')
        for key, value in (('mean', mean), ('std', std)):
            given = own.get(key)
            if given is not None and not torch.allclose(
                    torch.tensor(given, dtype=torch.float32), value):
                raise ValueError(
                    f'TwoStageCascade: `predictor.data_preprocessor.{key}` '
                    f'{list(given)} differs from `predictor_{key}` '
                    f'{value.tolist()}; the predictor\'s data preprocessor '
                    f'is not used: set `predictor_{key}` to the values the '
                    'predictor was trained with.')
        return cfg

    def is_frozen(self, stage: str) -> bool:
        """Whether ``stage`` ('restorer' / 'predictor') is frozen."""
        return bool(getattr(self, f'freeze_{stage}'))

    def load_stage_checkpoint(self, stage: str, filename: str) -> None:
        """Load a stage model's own checkpoint into that stage.

        Args:
            stage (str): ``'restorer'`` or ``'predictor'``.
            filename (str): Checkpoint path (or URL).

        Raises:
            FileNotFoundError: A local ``filename`` does not exist.
            CheckpointMismatchError: Its keys or shapes do not fit the
                stage (the message names the stage and the file).
        """
        key = f'{stage}_checkpoint'
        if '://' not in filename and not osp.isfile(filename):
            raise FileNotFoundError(
                f'TwoStageCascade: `{key}` {filename} does not exist; '
                f'expected a checkpoint of the {stage} model.')
        module = getattr(self, stage)
        checkpoint = CheckpointLoader.load_checkpoint(
            filename, map_location='cpu')
        try:
            check_checkpoint_fits(
                module, checkpoint, filename,
                hint=f'`{key}` must be a checkpoint of the {stage} model '
                'trained alone (its own state-dict keys; a TwoStageCascade '
                'checkpoint with `restorer.`/`predictor.` keys is loaded '
                'with load_from instead)')
        except CheckpointMismatchError as error:
            raise CheckpointMismatchError(
                f'TwoStageCascade: `{key}` does not fit the {stage} '
                f'({type(module).__name__}). {error}') from None
        module.load_state_dict(checkpoint_state_dict(checkpoint), strict=True)
        module.is_init = True
        print_log(f'TwoStageCascade: loaded the {stage} from {filename}',
                  logger='current')

    def init_weights(self) -> None:
        """Initialise the weights; a stage loaded from its checkpoint keeps
        the loaded weights (it is marked initialised)."""
        for stage in STAGES:
            if self.checkpoints[stage] is not None:
                getattr(self, stage).is_init = True
        super().init_weights()

    def train(self, mode: bool = True) -> 'TwoStageCascade':
        """Set the training mode; frozen stages stay in eval mode."""
        super().train(mode)
        for stage in STAGES:
            if self.is_frozen(stage):
                getattr(self, stage).eval()
        return self

    # ------------------------------------------------------------------
    # the two stages
    # ------------------------------------------------------------------
    def get_degraded(self, inputs: Tensor,
                     data_samples: OptSampleList = None) -> Tensor:
        """The degraded input (N, 3, H, W) in [0, 1].

        Args:
            inputs (Tensor): Normalised network input (N, 3, H, W).
            data_samples (list[:obj:`MultiTaskDataSample`], optional): The
                samples; their ``degraded_img`` is used when all have it.

        Returns:
            Tensor: The samples' ``degraded_img`` stacked, else ``inputs``
            un-normalised with the data preprocessor's mean/std, / 255,
            clamped to [0, 1].
        """
        return degraded_input(inputs, data_samples, self.data_preprocessor,
                          'TwoStageCascade')

    def restore(self, degraded: Tensor) -> Tensor:
        """Run the restorer (without autograd when it is frozen).

        Args:
            degraded (Tensor): (N, 3, H, W) RGB in [0, 1].

        Returns:
            Tensor: The restored image, same shape, not clamped.
        """
        grad = nullcontext() if not self.freeze_restorer else torch.no_grad()
        with grad:
            restored = self.restorer.restore(degraded)
        if restored.shape != degraded.shape:
            raise ValueError(
                f'TwoStageCascade: `restorer.restore` returned shape '
                f'{tuple(restored.shape)} for an input of shape '
                f'{tuple(degraded.shape)}; expected the same shape.')
        return restored

    def restore_images(self, degraded: Tensor,
                       data_samples: OptSampleList = None) -> Tensor:
        """Restore each image of a padded batch without its padding.

        The restorer sees each image as it would alone: a restorer with
        global operations (Restormer's channel attention pools over the
        whole map) gives other values on a zero-padded image. The padding
        of the result keeps the data preprocessor's padding values.

        Args:
            degraded (Tensor): (N, 3, H, W) RGB in [0, 1], padded.
            data_samples (list[:obj:`MultiTaskDataSample`], optional): Their
                ``img_padding_size`` [left, right, top, bottom]; None or no
                padding: the batch is restored at once.

        Returns:
            Tensor: The restored batch, same shape, not clamped.
        """
        pads = [sample.metainfo.get('img_padding_size', [0, 0, 0, 0])
                for sample in data_samples or []]
        if not any(any(pad) for pad in pads):
            return self.restore(degraded)
        restored = degraded.clone()
        height, width = degraded.shape[2:]
        for i, (left, right, top, bottom) in enumerate(pads):
            region = (slice(i, i + 1), slice(None),
                      slice(top, height - bottom), slice(left, width - right))
            restored[region] = self.restore(degraded[region])
        return restored

    def predictor_image(self, restored: Tensor) -> Tensor:
        """The restored image as the predictor sees it, in [0, 1]."""
        return restored.clamp(0, 1) if self.clamp_restored else restored

    def normalize(self, image: Tensor) -> Tensor:
        """A [0, 1] RGB image normalised with the predictor's mean/std."""
        return (image * 255. - self.predictor_mean) / self.predictor_std

    @contextmanager
    def _as_degraded(self, data_samples: SampleList,
                     image: Tensor) -> Iterator[None]:
        """Let the predictor read ``image`` as the samples' ``degraded_img``
        and put the samples' own degraded image back afterwards."""
        saved = [sample.get(DEGRADED_IMG_KEY) for sample in data_samples]
        for i, sample in enumerate(data_samples):
            sample.set_field(PixelData(data=image[i]), DEGRADED_IMG_KEY)
        try:
            yield
        finally:
            for sample, degraded in zip(data_samples, saved):
                if degraded is None:
                    del sample.degraded_img
                else:
                    sample.set_field(degraded, DEGRADED_IMG_KEY)

    def _stages(self, inputs: Tensor, data_samples: OptSampleList) -> Tensor:
        """Restore; return the unclamped restored image."""
        return self.restore_images(self.get_degraded(inputs, data_samples),
                                   data_samples)

    @staticmethod
    def _default_samples(inputs: Tensor) -> SampleList:
        """Samples saying the input is neither padded nor resized."""
        size = tuple(inputs.shape[2:])
        return [
            MultiTaskDataSample(metainfo=dict(
                ori_shape=size, img_shape=size, pad_shape=size,
                img_padding_size=[0, 0, 0, 0]))
            for _ in range(inputs.shape[0])
        ]

    # ------------------------------------------------------------------
    # BaseSegmentor interface
    # ------------------------------------------------------------------
    def extract_feat(self, inputs: Tensor) -> Any:
        """The predictor's features of the restored image."""
        image = self.predictor_image(self._stages(inputs, None))
        return self.predictor.extract_feat(self.normalize(image))

    def encode_decode(self, inputs: Tensor,
                      batch_data_samples: OptSampleList = None) -> Any:
        """Both stages: the predictor's raw output on the restored image."""
        return self._forward(inputs, batch_data_samples)['predictor']

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """The predictor's losses on the restored image (and the
        restoration loss of a trainable restorer).

        Args:
            inputs (Tensor): Normalised degraded images (N, 3, H, W).
            data_samples (list[:obj:`MultiTaskDataSample`]): Padded samples
                with ``degraded_img`` and the predictor's ground truth
                (and ``gt_clean_img`` for ``restoration_loss``).

        Returns:
            dict[str, Tensor]: The predictor's losses (its own keys) and
            ``restorer.loss_restoration`` when configured.
        """
        if self.freeze_restorer and self.freeze_predictor:
            raise RuntimeError(
                'TwoStageCascade: both stages are frozen '
                '(freeze_restorer=True, freeze_predictor=True), nothing to '
                'train; set freeze_predictor=False to train the predictor '
                'on restored images.')
        restored = self._stages(inputs, data_samples)
        image = self.predictor_image(restored)
        with self._as_degraded(data_samples, image):
            losses = self.predictor.loss(self.normalize(image), data_samples)
        if self.loss_restoration is not None:
            clean = torch.stack([
                sample.get(CLEAN_IMG_KEY).data for sample in data_samples
            ]).to(restored)
            shapes = [sample.img_shape for sample in data_samples]
            name = self.loss_restoration.loss_name
            losses.update(add_prefix(
                {name: self.loss_restoration(restored, clean, shapes)},
                'restorer'))
        return losses

    def predict(self,
                inputs: Tensor,
                data_samples: OptSampleList = None) -> SampleList:
        """The predictor's predictions with the restored image attached.

        Args:
            inputs (Tensor): Normalised degraded images (N, 3, H, W).
            data_samples (list[:obj:`MultiTaskDataSample`], optional): The
                samples; if None, new unpadded ones are made.

        Returns:
            list[:obj:`MultiTaskDataSample`]: The samples with the
            predictor's fields, ``pred_restored`` and the cropped
            ``degraded_img``.
        """
        if data_samples is None:
            data_samples = self._default_samples(inputs)
        degraded = self.get_degraded(inputs, data_samples)
        image = self.predictor_image(self.restore_images(degraded,
                                                         data_samples))
        with self._as_degraded(data_samples, image):
            results = self.predictor.predict(self.normalize(image),
                                             data_samples)
        restored = image.clamp(0, 1)
        for i, sample in enumerate(results):
            meta = sample.metainfo
            crop = MultiTaskEncoderDecoder.crop_to_image
            sample.set_field(
                PixelData(data=crop(restored[i:i + 1], meta)[0]),
                RESTORED_IMG_KEY)
            sample.set_field(
                PixelData(data=crop(degraded[i:i + 1], meta)[0]),
                DEGRADED_IMG_KEY)
        return results

    def _forward(self,
                 inputs: Tensor,
                 data_samples: OptSampleList = None) -> Dict[str, Any]:
        """Both stages without post-processing.

        Returns:
            dict: ``restored`` (the restorer's unclamped output) and
            ``predictor`` (the predictor's ``mode='tensor'`` output).
        """
        if data_samples is None:
            data_samples = self._default_samples(inputs)
        restored = self._stages(inputs, data_samples)
        image = self.predictor_image(restored)
        with self._as_degraded(data_samples, image):
            out = self.predictor(self.normalize(image), data_samples,
                                 mode='tensor')
        return dict(restored=restored, predictor=out)

