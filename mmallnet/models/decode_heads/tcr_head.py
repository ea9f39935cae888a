"""ALLNet's task collaborative refinement (TCR) decode head.

The head consumes the MaE neck's ``'dual'`` output: per scale ``s`` the
restoration features ``P_s`` and the shared prediction features ``J~_s``.
Going coarse (1/32) to fine (1/4), at every scale:

1. lateral 1x1 convs map ``P_s`` to ``channels`` and ``J~_s`` to one
   ``channels``-wide map ``J~_{t,s}`` per task;
2. the bilinearly upsampled states of the coarser scale are added, the
   restoration state to ``P_s`` and task ``t``'s state to ``J~_{t,s}``,
   and (``merge_convs``) convs mix the merged maps spatially, as an FPN's
   output convs do: a 3x3 conv-norm-act per task, and a zero-initialised
   residual 3x3 conv - GELU - 1x1 (no norm) on ``P_s``;
3. SKFF per task, ``J_{t,s} = s1 * P_s + s2 * J~_{t,s}``;
4. CTI (optional), ``(P_s, {t: P''_t}) = CTI(P_s, {t: J_{t,s}})``: the
   restoration stream is replaced by CTI's output, which carries the
   refined task maps back through a zero-initialised residual;
5. AFU (optional) per task, ``J_{t,s} = AFU_{t,s}(J_{t,s}, P''_t)``
   (``P_s`` in place of ``P''_t`` where CTI did not run).

At 1/4 each ``J_t`` (optionally, ``multi_scale_fusion``, first
concatenated with the task's states of all coarser scales and fused by a
3x3 (``fusion_kernel_size``) conv, as UPerNet's FPN bottleneck does;
``P`` likewise, through a zero-initialised residual conv) goes through the
task's head and ``P``, after a channel LayerNorm, through the restoration
branch of :class:`BaseMultiTaskHead`, whose losses and post-processing are
shared with the baseline's :class:`MultiTaskFPNHead`. SKFF, CTI and AFU
are normalisation-free or use LayerNorm; the merge and fusion convs of the
task streams use ``norm_cfg``. Every part's cost is linear in the number
of pixels.
"""
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import constant_init
from mmseg.registry import MODELS
from torch import Tensor

from ..layers.adaptive_fusion_unit import AdaptiveFusionUnit
from ..layers.cross_task_interaction import CrossTaskInteraction
from ..layers.restormer import ChannelLayerNorm2d
from ..layers.skff import SKFF
from .base_multi_task_head import BaseMultiTaskHead, DecoderOutput

#: Keys of the MaE neck's ``'dual'`` output that the head reads.
DUAL_KEYS = ('restoration', 'prediction')


def _zero_init_residual(*layers: nn.Module) -> nn.Sequential:
    """``nn.Sequential(*layers)`` whose last conv starts at zero, for use
    as a residual branch that is the identity at init."""
    block = nn.Sequential(*layers)
    constant_init(block[-1], 0)
    return block


@MODELS.register_module()
class TCRHead(BaseMultiTaskHead):
    """Task collaborative refinement head of `ALLNet
    <https://cvpr.thecvf.com/virtual/2026/poster/37361>`_ (SKFF + CTI + AFU,
    coarse to fine).

    The two-stream decoder described in the module docstring feeds the task
    heads, the restoration branch, the losses and :meth:`predict_by_feat`
    of :class:`BaseMultiTaskHead`. The output dict has the tasks and
    ``'restoration'`` as keys. The routing aux loss of the neck is not
    handled here; the segmentor adds it.

    Ablations: ``use_cti=False`` and ``use_afu=False`` leave
    "MaE + SKFF fusion + coarse-to-fine"; ``use_image_tokens=False`` drops
    the image-conditioned term of the CTI task tokens (the "+theta_t"
    step). With ``use_cti=False`` the restoration stream never sees the
    task streams and the tasks do not interact. Modules of a disabled
    part are not built. The CTI of the finest scale is not built when
    nothing would read it (``restoration=False`` and ``use_afu=False``).

    Args:
        in_channels (Sequence[int]): Channels of each selected neck scale
            (the same for ``P_s`` and ``J~_s``), ordered fine (1/4) to
            coarse.
        channels (int): Width of both decoder streams and the task heads.
        tasks (Sequence[str]): Task names (at least one), see
            :data:`mmallnet.structures.ALL_TASKS`.
        use_cti (bool): Build the cross-task interaction units.
            Defaults to True.
        use_afu (bool): Build the adaptive fusion units. Defaults to True.
        use_image_tokens (bool): Image-conditioned CTI task tokens; only
            used with ``use_cti``. Defaults to True.
        interaction_scales (Sequence[int]): Indices into the selected
            scales (0 = finest, 1/4) that get CTI / AFU. Defaults to
            (0, 1, 2, 3).
        num_tokens (int, optional): CTI tokens (refined maps) per task
            ``N``. Defaults to ``channels``.
        num_heads (int): Heads of CTI's map refinement (must divide ``N``)
            and of the AFU attention (must divide ``channels``).
            Defaults to 1.
        skff_reduction (int): Squeeze ratio of the SKFF units.
            Defaults to 8.
        merge_convs (bool): After the coarse-to-fine merge of each scale,
            a 3x3 ConvModule (``norm_cfg``, ``act_cfg``) per task stream
            and a zero-initialised residual 3x3 conv - GELU - 1x1 on the
            restoration stream. Our stand-in for the spatial mixing that
            the paper's per-scale Unified Expert does after the merge
            (here the neck runs before it). Defaults to True.
        multi_scale_fusion (bool): Fuse each stream's states of all
            scales at 1/4 before its head: concatenation + 3x3 ConvModule
            per task; for ``P`` a zero-initialised residual 3x3 conv.
            Defaults to False.
        fusion_kernel_size (int): Kernel size (odd) of the multi-scale
            fusion convs; 1 makes them plain channel mixers, about 9x
            cheaper than 3 (the task heads still have a 3x3 conv).
            Defaults to 3.
        **kwargs: Further arguments of :class:`BaseMultiTaskHead`
            (``in_index``, ``num_classes``, ``num_parts_classes``,
            ``task_loss_weights``, ``loss_decode``, ``restoration``,
            ``restoration_channels``, ``restoration_unshuffle``,
            ``restoration_loss``, ``conv_cfg``,
            ``norm_cfg``, ``act_cfg``, ``align_corners``, ``init_cfg``).
            ``norm_cfg`` affects the task heads and the task streams'
            merge and fusion convs.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 channels: int,
                 tasks: Sequence[str],
                 use_cti: bool = True,
                 use_afu: bool = True,
                 use_image_tokens: bool = True,
                 interaction_scales: Sequence[int] = (0, 1, 2, 3),
                 num_tokens: Optional[int] = None,
                 num_heads: int = 1,
                 skff_reduction: int = 8,
                 merge_convs: bool = True,
                 multi_scale_fusion: bool = False,
                 fusion_kernel_size: int = 3,
                 **kwargs) -> None:
        super().__init__(
            in_channels=in_channels, channels=channels, tasks=tasks,
            **kwargs)
        if not self.tasks:
            raise ValueError('TCRHead: `tasks` must name at least one task; '
                             'use MultiTaskFPNHead for restoration only.')

        num_scales = len(self.in_channels)
        scales = [int(s) for s in interaction_scales]
        if len(set(scales)) != len(scales) or any(
                s < 0 or s >= num_scales for s in scales):
            raise ValueError(
                f'TCRHead: `interaction_scales` {list(interaction_scales)} '
                f'must be unique indices in [0, {num_scales}) of the '
                'selected scales (0 = finest).')
        self.interaction_scales = tuple(sorted(scales))
        self.use_cti = use_cti
        self.use_afu = use_afu
        self.use_image_tokens = use_image_tokens
        self.num_tokens = channels if num_tokens is None else num_tokens
        self.num_heads = num_heads
        self.merge_convs = merge_convs
        self.multi_scale_fusion = multi_scale_fusion

        cti_scales = self.interaction_scales if use_cti else ()
        # CTI at 1/4 only feeds restoration and the AFUs.
        if not (self.restoration or use_afu):
            cti_scales = tuple(s for s in cti_scales if s > 0)
        self.cti_scales = cti_scales
        self.afu_scales = self.interaction_scales if use_afu else ()

        self.p_laterals = nn.ModuleList(
            nn.Conv2d(c, channels, 1) for c in self.in_channels)
        if self.restoration:
            # The summed restoration stream is unnormalised; normalise it
            # before the restoration branch (whose convs have no norm).
            self.restoration_norm = ChannelLayerNorm2d(channels)
        self.j_laterals = nn.ModuleList(
            nn.ModuleDict({
                task: nn.Conv2d(c, channels, 1)
                for task in self.tasks
            }) for c in self.in_channels)
        conv_kwargs = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                           act_cfg=self.act_cfg)
        if merge_convs:
            self.j_merge_convs = nn.ModuleList(
                nn.ModuleDict({
                    task: ConvModule(channels, channels, 3, padding=1,
                                     **conv_kwargs)
                    for task in self.tasks
                }) for _ in self.in_channels)
            # The restoration stream stays normalisation-free: a residual
            # 3x3 conv - GELU - 1x1, zero-initialised (identity at init).
            self.p_merge_convs = nn.ModuleList(
                _zero_init_residual(
                    nn.Conv2d(channels, channels, 3, padding=1), nn.GELU(),
                    nn.Conv2d(channels, channels, 1))
                for _ in self.in_channels)
        if multi_scale_fusion:
            k = int(fusion_kernel_size)
            if k < 1 or k % 2 == 0:
                raise ValueError(
                    'TCRHead: `fusion_kernel_size` must be a positive odd '
                    f'integer, got {fusion_kernel_size!r}.')
            self.j_fusion_convs = nn.ModuleDict({
                task: ConvModule(num_scales * channels, channels, k,
                                 padding=k // 2, **conv_kwargs)
                for task in self.tasks
            })
            if self.restoration:
                self.p_fusion_conv = _zero_init_residual(
                    nn.Conv2d(num_scales * channels, channels, k,
                              padding=k // 2))
        self.skffs = nn.ModuleList(
            nn.ModuleDict({
                task: SKFF(channels, height=2, reduction=skff_reduction)
                for task in self.tasks
            }) for _ in self.in_channels)
        self.ctis = nn.ModuleDict({
            str(s): CrossTaskInteraction(
                channels,
                self.tasks,
                num_tokens=self.num_tokens,
                num_heads=num_heads,
                use_image_tokens=use_image_tokens)
            for s in self.cti_scales
        })
        self.afus = nn.ModuleDict({
            str(s): nn.ModuleDict({
                task: AdaptiveFusionUnit(
                    channels,
                    map_channels=(self.num_tokens
                                  if s in self.cti_scales else channels),
                    num_heads=num_heads)
                for task in self.tasks
            })
            for s in self.afu_scales
        })

    def _split_inputs(
            self, inputs: Mapping) -> Tuple[List[Tensor], List[Tensor]]:
        """Check the neck's dual dict and select ``in_index`` from it.

        Args:
            inputs (Mapping): The MaE neck's ``'dual'`` output.

        Returns:
            tuple[list[Tensor], list[Tensor]]: The selected ``P_s`` and
            ``J~_s``, fine to coarse.
        """
        if not isinstance(inputs, Mapping):
            raise ValueError(
                'TCRHead: expected the MaE neck\'s dual-output dict with '
                f'keys {list(DUAL_KEYS)}, got {type(inputs).__name__}; set '
                "the neck's output_mode='dual'.")
        missing = [key for key in DUAL_KEYS if key not in inputs]
        if missing:
            raise ValueError(
                f'TCRHead: the neck output lacks the keys {missing}; '
                f'expected {list(DUAL_KEYS)} (the MaE neck with '
                f"output_mode='dual'), got {list(inputs)}.")
        restoration = self._select_inputs(inputs['restoration'])
        prediction = self._select_inputs(inputs['prediction'])
        for p, j in zip(restoration, prediction):
            if p.shape != j.shape:
                raise ValueError(
                    f'TCRHead: restoration {tuple(p.shape)} and prediction '
                    f'{tuple(j.shape)} features of one scale must have the '
                    'same shape.')
        return restoration, prediction

    def _upsample(self, x: Tensor, like: Tensor) -> Tensor:
        """Bilinearly resize ``x`` to the spatial size of ``like``."""
        return self._resize(x, like.shape[2:])

    def forward_decoder(self, inputs: Mapping) -> DecoderOutput:
        """Run the two-stream coarse-to-fine TCR decoder.

        Args:
            inputs (Mapping): The MaE neck's ``'dual'`` output, with
                tuples ``'restoration'`` (``P_s``) and ``'prediction'``
                (``J~_s``), fine to coarse; other keys are ignored.

        Returns:
            tuple[Tensor, dict[str, Tensor]]: The restoration feature (after
            its channel LayerNorm when the restoration branch is built) and
            task name -> task feature, all ``(B, channels, H/4, W/4)``.
        """
        restoration, prediction = self._split_inputs(inputs)
        p_state: Optional[Tensor] = None
        j_states: Dict[str, Tensor] = dict()
        p_history: List[Tensor] = []
        j_history: Dict[str, List[Tensor]] = {task: [] for task in self.tasks}
        for s in range(len(restoration) - 1, -1, -1):
            p = self.p_laterals[s](restoration[s])
            if p_state is not None:
                p = p + self._upsample(p_state, p)
            if self.merge_convs:
                p = p + self.p_merge_convs[s](p)
            feats = dict()
            for task in self.tasks:
                j = self.j_laterals[s][task](prediction[s])
                if task in j_states:
                    j = j + self._upsample(j_states[task], j)
                if self.merge_convs:
                    j = self.j_merge_convs[s][task](j)
                feats[task] = self.skffs[s][task]([p, j])
            task_maps = None
            if s in self.cti_scales:
                p, task_maps = self.ctis[str(s)](p, feats)
            if s in self.afu_scales:
                afus = self.afus[str(s)]
                feats = {
                    task: afus[task](
                        feat, p if task_maps is None else task_maps[task])
                    for task, feat in feats.items()
                }
            p_state, j_states = p, feats
            p_history.append(p)
            for task, feat in feats.items():
                j_history[task].append(feat)
        if self.multi_scale_fusion:
            j_states = {
                task: self.j_fusion_convs[task](self._stack_scales(states))
                for task, states in j_history.items()
            }
            if self.restoration:
                p_state = p_state + self.p_fusion_conv(
                    self._stack_scales(p_history))
        if self.restoration:
            p_state = self.restoration_norm(p_state)
        return p_state, j_states

    def _stack_scales(self, states: List[Tensor]) -> Tensor:
        """Concatenate coarse-to-fine states at the finest size, finest
        first."""
        return torch.cat([states[-1]] + [
            self._upsample(state, states[-1]) for state in states[-2::-1]
        ], dim=1)
