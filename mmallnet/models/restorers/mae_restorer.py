"""MaE as an independent all-in-one restoration network (MoCE-IR-shaped).

ALLNet's MaE "can serve as an independent network": here it is the
decoder of `MoCE-IR <https://arxiv.org/abs/2411.18466>`_'s asymmetric
encoder-decoder, with one image-level routed mixture of complexity experts
per decoder level.
"""
from typing import Optional, Sequence, Tuple, Union

import torch.nn as nn
from mmseg.registry import MODELS
from mmseg.utils import OptMultiConfig
from torch import Tensor

from ...structures.expert_routing import ExpertRouting, stack_scales
from ..layers.complexity_mixture import ComplexityMixture
from ..layers.image_router import Routing
from .dense_restorer import DenseRestorer


@MODELS.register_module()
class MaERestorer(DenseRestorer):
    """All-in-one restorer with routed complexity experts, after `MoCE-IR
    <https://arxiv.org/abs/2411.18466>`_, using `ALLNet
    <https://cvpr.thecvf.com/virtual/2026/poster/37361>`_'s MaE.

    The encoder-decoder of :class:`DenseRestorer` (same presets); each
    decoder level ends with a :class:`~mmallnet.models.layers
    .ComplexityMixture`: ``x + sum_{top-k} gate_k * Expert_k(x)`` with
    image-level routing and the complexity-biased aux loss
    (``0.5 CV(Imp)^2 + 0.5 CV(Load)^2``). Only the selected experts run,
    in training and at inference, dispatched per expert
    (:func:`~mmallnet.models.layers.dispatch_experts`), so a batch gives
    its samples' outputs one by one.

    Deviations from MoCE-IR: the experts are ALLNet's three-branch experts
    (window attention, dynamic depthwise gate, window MLP) with widths
    ``C / (1, 2, 4, 8)`` and windows ``4, 8, 16, 32``, not MoCE-IR's
    low-rank FFT-attention experts (widths ``C / (8, 4, 2, 1)``); one
    mixture per decoder level after its Restormer blocks, not one inside
    every decoder block with a shared MDTA path and cross-attention
    fusion; the router is MaE's (pooled features plus a fixed high-pass
    prior and a per-image temperature) instead of a frequency embedding
    of the latent; noise is off in eval mode; no conv bias in the blocks.

    Args:
        arch (str or dict): See :class:`DenseRestorer`. Defaults to
            'base' (MoCE-IR's sizes).
        in_channels (int): Image channels. Defaults to 3.
        ffn_expansion (float): GDFN expansion. Defaults to 2 (MoCE-IR).
        bias (bool): Conv bias inside the blocks. Defaults to False.
        zero_init_last (bool): Zero the output conv (identity at
            initialisation). Defaults to True.
        num_experts (int): Experts per level. Defaults to 4.
        top_k (int): Experts per image. Defaults to 1.
        expert_channel_divisors (Sequence[int]): Expert ``i`` has width
            ``C_level // divisor_i``. Defaults to (1, 2, 4, 8).
        expert_windows (Sequence[int]): Attention windows, clamped to the
            feature size. Defaults to (4, 8, 16, 32).
        expert_kernel_sizes (Sequence[int]): Dynamic depthwise kernels.
            Defaults to (3, 5, 7, 9).
        mlp_window (int): Cap on the window-MLP window. Defaults to 8.
        head_dim (int): Target channels per expert attention head.
            Defaults to 32.
        router_cfg (dict, optional): Extra :class:`~mmallnet.models.layers
            .ImageRouter` arguments (``use_noise``, ``use_complexity_bias``,
            ``imp_weight``, ``load_weight``). Defaults to None.
        ddp_safe (bool): Zero-valued term over unused experts in
            training (DDP without ``find_unused_parameters``).
            Defaults to True.
        init_cfg (dict or list[dict], optional): Initialisation config.
    """

    def __init__(self,
                 arch: Union[str, dict] = 'base',
                 in_channels: int = 3,
                 ffn_expansion: float = 2.,
                 bias: bool = False,
                 zero_init_last: bool = True,
                 num_experts: int = 4,
                 top_k: int = 1,
                 expert_channel_divisors: Sequence[int] = (1, 2, 4, 8),
                 expert_windows: Sequence[int] = (4, 8, 16, 32),
                 expert_kernel_sizes: Sequence[int] = (3, 5, 7, 9),
                 mlp_window: int = 8,
                 head_dim: int = 32,
                 router_cfg: Optional[dict] = None,
                 ddp_safe: bool = True,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(
            arch=arch,
            in_channels=in_channels,
            ffn_expansion=ffn_expansion,
            bias=bias,
            zero_init_last=zero_init_last,
            init_cfg=init_cfg)
        if not 1 <= top_k <= num_experts:
            raise ValueError(f'`model.restorer.top_k` must be in [1, '
                             f'num_experts={num_experts}], got {top_k}.')
        for name, seq in (('expert_channel_divisors',
                           expert_channel_divisors),
                          ('expert_windows', expert_windows),
                          ('expert_kernel_sizes', expert_kernel_sizes)):
            if len(seq) != num_experts:
                raise ValueError(f'`model.restorer.{name}` needs one entry '
                                 f'per expert (num_experts={num_experts}), '
                                 f'got {list(seq)}.')
        self.num_experts = num_experts
        self.top_k = top_k
        self.mixtures = nn.ModuleList([
            ComplexityMixture(
                width,
                num_experts=num_experts,
                top_k=top_k,
                channel_divisors=expert_channel_divisors,
                windows=expert_windows,
                kernel_sizes=expert_kernel_sizes,
                mlp_window=mlp_window,
                head_dim=head_dim,
                ddp_safe=ddp_safe,
                router_cfg=router_cfg) for width in self.widths[:3]
        ])

    def decode_level(self, level: int, x: Tensor) -> Tuple[Tensor, Routing]:
        """Decoder blocks of ``level``, then its routed mixture.

        Args:
            level (int): 0 (full resolution) to 2.
            x (Tensor): ``(B, C_level, H_level, W_level)``.

        Returns:
            tuple[Tensor, Routing]: The features and the level's routing.
        """
        return self.mixtures[level](self.decoders[level](x))

    def make_routing(self, per_level: Sequence[Routing]
                     ) -> Optional[ExpertRouting]:
        """Stack the levels' routings, fine to coarse (``S = 3``: L1, L2,
        L3); the aux loss is their mean."""
        return stack_scales(list(per_level))
