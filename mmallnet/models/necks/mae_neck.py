"""ALLNet's MaE neck: Unified Expert plus a mixture of complexity experts.

Per scale ``s``: ``(P~_s, J~_s) = U_s(E_s)`` and
``P_s = P~_s + sum_k gate_k * Expert_k(P~_s)`` with image-level routing.
"""
from typing import Dict, List, Optional, Sequence, Union

import torch.nn as nn
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from mmseg.utils import OptMultiConfig
from torch import Tensor

from ...structures.expert_routing import RoutedFeatures, stack_scales
from ..layers.complexity_mixture import ComplexityMixture
from ..layers.unified_expert import UnifiedExpert

OUTPUT_MODES = ('dual', 'fused')
#: Backbone attributes holding one width per stage, indexed by
#: ``out_indices`` (InternImage ``out_channels``, Swin ``num_features``).
STAGE_WIDTH_ATTRS = ('out_channels', 'num_features')


def backbone_out_channels(backbone: nn.Module) -> Optional[List[int]]:
    """The widths of a backbone's outputs, if it declares them.

    Read from a per-stage width list (:data:`STAGE_WIDTH_ATTRS`) indexed by
    the backbone's ``out_indices``. Backbones without both attributes, or
    whose indices do not fit the list, give None (their widths are checked
    on the first forward instead).

    Args:
        backbone (nn.Module): A built backbone.

    Returns:
        list[int] or None: One width per output map, fine to coarse.
    """
    indices = getattr(backbone, 'out_indices', None)
    if isinstance(indices, int):
        indices = [indices]
    if not isinstance(indices, (list, tuple)) or not indices or not all(
            isinstance(i, int) for i in indices):
        return None
    for attr in STAGE_WIDTH_ATTRS:
        widths = getattr(backbone, attr, None)
        if not isinstance(widths, (list, tuple)) or not all(
                isinstance(w, int) and not isinstance(w, bool)
                for w in widths):
            continue
        if all(-len(widths) <= i < len(widths) for i in indices):
            return [widths[i] for i in indices]
    return None


def check_neck_fits_backbone(neck: nn.Module, backbone: nn.Module) -> None:
    """Build-time check of a neck's ``in_channels`` against the backbone.

    Runs only for necks with a ``check_in_channels`` method (:class:`MaENeck`)
    and backbones that declare their widths (:func:`backbone_out_channels`).

    Args:
        neck (nn.Module): The built neck.
        backbone (nn.Module): The built backbone.

    Raises:
        ValueError: See :meth:`MaENeck.check_in_channels`.
    """
    check = getattr(neck, 'check_in_channels', None)
    widths = backbone_out_channels(backbone)
    if check is None or widths is None:
        return
    indices = tuple(getattr(backbone, 'out_indices'))
    check(widths, f'{type(backbone).__name__} (out_indices {indices}) '
          'declares')


@MODELS.register_module()
class MaENeck(BaseModule):
    """Adaptive mixture-of-complexity-experts neck of `ALLNet
    <https://cvpr.thecvf.com/virtual/2026/poster/37361>`_.

    The experts and their router follow `MoCE-IR
    <https://arxiv.org/abs/2411.18466>`_ with ALLNet's changes: a Unified
    Expert (a Restormer block) that every input takes, and image-level
    routing of the restoration stream.

    The routing is returned with the features, in both output modes, as an
    :class:`~mmallnet.structures.ExpertRouting` (``decisions`` and
    ``gates`` ``(B, S, k)``, every expert's ``probs`` ``(B, S, n)``, noise
    free in eval mode, and the unweighted ``aux_loss`` averaged over
    scales), or None when ``use_experts=False``:

    * ``'dual'`` (for the TCR head): a dict with ``restoration``, the tuple
      of ``P_s`` ``(B, C_s, H_s, W_s)``; ``prediction``, the tuple of
      ``J~_s`` (same shapes); and ``routing``.
    * ``'fused'`` (for a stock decode head such as ``UPerHead`` with the
      same ``in_channels``): a :class:`~mmallnet.structures.RoutedFeatures`,
      the tuple of ``P_s + J~_s`` with a ``routing`` attribute. A stock
      ``EncoderDecoder`` ignores the routing, so its router then learns
      from the task loss only; :class:`~mmallnet.models.segmentors
      .RoutedEncoderDecoder` adds the aux loss and records the routing.

    Args:
        in_channels (Sequence[int]): Channels per input scale.
        num_experts (int): Experts per scale. Defaults to 4.
        top_k (int): Experts per image. Defaults to 1.
        expert_channel_divisors (Sequence[int]): Expert ``i`` has width
            ``C_s // divisor_i``. Defaults to (1, 2, 4, 8).
        expert_windows (Sequence[int]): Attention windows, clamped to the
            feature size. Defaults to (4, 8, 16, 32).
        expert_kernel_sizes (Sequence[int]): Dynamic depthwise kernels.
            Defaults to (3, 5, 7, 9).
        mlp_window (int): Cap on the window-MLP window. Defaults to 8.
        head_dim (int): Target channels per attention head in the experts.
            Defaults to 32.
        ffn_expansion (float): GDFN expansion in the Unified Expert.
            Defaults to 2.66.
        use_experts (bool): When False, ``P_s = P~_s``, no routing and a
            zero aux loss (ablation). Defaults to True.
        output_mode (str): ``'dual'`` or ``'fused'``. Defaults to 'dual'.
        imp_loss_weight (float): Weight of ``CV(Imp)^2``. Defaults to 0.5.
        load_loss_weight (float): Weight of ``CV(Load)^2``.
            Defaults to 0.5.
        use_noise (bool): Exploration noise in training. Defaults to True.
        complexity_bias (bool): Weight importance by expert size.
            Defaults to True.
        ddp_safe (bool): Zero-valued term over unused experts in training,
            so DDP needs no ``find_unused_parameters``. Defaults to True.
        gate_mode (str): Gates of the kept experts: ``'prob'`` (MoCE-IR),
            ``'renorm'`` or ``'straight_through'``; see
            :class:`~mmallnet.models.layers.ImageRouter`.
            Defaults to 'prob'.
        noise_type (str): Exploration noise, ``'normal'`` (MoCE-IR) or
            ``'gumbel'``. Defaults to 'normal'.
        logit_source (str): Router logits from ``'both'`` the content gate
            and the degradation prior, or from the ``'prior'`` alone.
            Defaults to 'both'.
        temperature_range (tuple[float, float]): Range of the router's
            per-image temperature; equal ends fix it. Defaults to
            (0.5, 1.5).
        init_cfg (dict or list[dict], optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 num_experts: int = 4,
                 top_k: int = 1,
                 expert_channel_divisors: Sequence[int] = (1, 2, 4, 8),
                 expert_windows: Sequence[int] = (4, 8, 16, 32),
                 expert_kernel_sizes: Sequence[int] = (3, 5, 7, 9),
                 mlp_window: int = 8,
                 head_dim: int = 32,
                 ffn_expansion: float = 2.66,
                 use_experts: bool = True,
                 output_mode: str = 'dual',
                 imp_loss_weight: float = 0.5,
                 load_loss_weight: float = 0.5,
                 use_noise: bool = True,
                 complexity_bias: bool = True,
                 ddp_safe: bool = True,
                 gate_mode: str = 'prob',
                 noise_type: str = 'normal',
                 logit_source: str = 'both',
                 temperature_range: Sequence[float] = (0.5, 1.5),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if output_mode not in OUTPUT_MODES:
            raise ValueError(f'output_mode must be one of {OUTPUT_MODES}, '
                             f'got {output_mode!r}')
        self.in_channels = list(in_channels)
        self.top_k = top_k
        self.num_experts = num_experts
        self.use_experts = use_experts
        self.output_mode = output_mode
        self.unified = nn.ModuleList([
            UnifiedExpert(c, ffn_expansion=ffn_expansion)
            for c in in_channels
        ])
        if use_experts:
            router_cfg = dict(
                use_noise=use_noise,
                use_complexity_bias=complexity_bias,
                imp_weight=imp_loss_weight,
                load_weight=load_loss_weight,
                gate_mode=gate_mode,
                noise_type=noise_type,
                logit_source=logit_source,
                temperature_range=tuple(temperature_range))
            self.mixtures = nn.ModuleList([
                ComplexityMixture(
                    c,
                    num_experts=num_experts,
                    top_k=top_k,
                    channel_divisors=expert_channel_divisors,
                    windows=expert_windows,
                    kernel_sizes=expert_kernel_sizes,
                    mlp_window=mlp_window,
                    head_dim=head_dim,
                    ddp_safe=ddp_safe,
                    router_cfg=router_cfg) for c in in_channels
            ])
        else:
            self.mixtures = None

    def check_in_channels(self, channels: Sequence[int],
                          source: str = 'the backbone outputs') -> None:
        """Check ``in_channels`` against the widths of the input maps.

        Called on every forward (a comparison of a few ints) and, where the
        backbone declares its output widths, when the segmentor is built.

        Args:
            channels (Sequence[int]): Channels of each input map, fine to
                coarse.
            source (str): Where they come from, for the message. Defaults
                to 'the backbone outputs'.

        Raises:
            ValueError: The number of scales or a width differs; the
                message names ``model.neck.in_channels`` and both lists.
        """
        channels = [int(c) for c in channels]
        if channels == self.in_channels:
            return
        if len(channels) != len(self.in_channels):
            problem = (f'{len(self.in_channels)} scales are configured but '
                       f'{source} {len(channels)} feature maps')
        else:
            wrong = [s for s, (c, e) in enumerate(
                zip(channels, self.in_channels)) if c != e]
            problem = f'the widths differ at scale(s) {wrong}'
        raise ValueError(
            f'MaENeck: `model.neck.in_channels` does not fit the backbone: '
            f'{problem}. Expected {channels} (the channels {source} per '
            f'scale, fine to coarse), got {self.in_channels}. Set '
            f'model.neck.in_channels={channels} (and the decode head\'s '
            '`in_channels` to match), or change the backbone\'s '
            '`out_indices` / width.')

    def forward(self, feats: Sequence[Tensor]
                ) -> Union[Dict[str, object], RoutedFeatures]:
        """Run the neck.

        Args:
            feats (Sequence[Tensor]): One ``(B, C_s, H_s, W_s)`` map per
                scale, fine to coarse.

        Returns:
            dict or RoutedFeatures: See the class docstring.

        Raises:
            ValueError: The maps do not fit ``in_channels`` (number of
                scales or widths).
        """
        self.check_in_channels([x.shape[1] for x in feats],
                               'the backbone outputs')
        restoration: List[Tensor] = []
        prediction: List[Tensor] = []
        per_scale = []
        for s, x in enumerate(feats):
            p, j_tilde = self.unified[s](x)
            if self.mixtures is not None:
                p, routing = self.mixtures[s](p)
                per_scale.append(routing)
            restoration.append(p)
            prediction.append(j_tilde)
        routing = stack_scales(per_scale)
        if self.output_mode == 'fused':
            return RoutedFeatures(
                (p + j for p, j in zip(restoration, prediction)), routing)
        return dict(
            restoration=tuple(restoration),
            prediction=tuple(prediction),
            routing=routing)
