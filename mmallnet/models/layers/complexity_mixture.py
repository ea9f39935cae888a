"""MaE: a routed mixture of complexity experts with sparse dispatch.

``P = x + sum_{k in top-k} gate_k * Expert_k(x)`` per image. Samples are
dispatched per expert: the samples routed to expert ``e`` are gathered,
the expert runs once on that sub-batch, and its gated output is scattered
back. Unselected experts do no work, in training and at inference, and a
batch gives the same output as its samples run one by one.

For DDP without ``find_unused_parameters``, training adds
``0 * sum(p.sum())`` over the parameters of the experts no sample used,
so every parameter takes part in the graph (with a zero gradient) while
the value is unchanged (``ddp_safe=True``).
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from .complexity_expert import ComplexityExpert
from .image_router import ImageRouter, Routing


def dispatch_experts(x: Tensor, experts: Sequence[nn.Module],
                     indices: Tensor,
                     gates: Tensor) -> Tuple[Tensor, List[int]]:
    """Run each expert once on the samples routed to it.

    Args:
        x (Tensor): ``(B, C, H, W)`` input.
        experts (Sequence[nn.Module]): The experts; each maps
            ``(b, C, H, W)`` to the same shape.
        indices (Tensor): ``(B, k)`` selected experts per sample.
        gates (Tensor): ``(B, k)`` gate of each selected expert.

    Returns:
        tuple[Tensor, list[int]]: ``sum_k gate_k * Expert_k(x)`` per
        sample, and the ids of the experts that ran.
    """
    out = None
    used = []
    for e, expert in enumerate(experts):
        sample, slot = torch.nonzero(indices == e, as_tuple=True)
        if sample.numel() == 0:
            continue
        used.append(e)
        y = expert(x[sample]) * gates[sample, slot].view(-1, 1, 1, 1)
        if out is None:
            out = y.new_zeros((x.shape[0], ) + tuple(y.shape[1:]))
        out = out.index_add(0, sample, y.to(out.dtype))
    if out is None:
        out = torch.zeros_like(x)
    return out, used


def parameter_count(module: nn.Module) -> int:
    """Number of parameters of ``module``."""
    return sum(p.numel() for p in module.parameters())


class ComplexityMixture(nn.Module):
    """Routed mixture of complexity experts (MaE) for one scale.

    Expert ``i`` has width ``channels // channel_divisors[i]``, attention
    window ``windows[i]``, dynamic kernel ``kernel_sizes[i]`` and MLP
    window ``min(windows[i], mlp_window)``. The router's complexity vector
    is the experts' real parameter counts divided by the largest.

    Args:
        channels (int): Channels ``C_s`` of the routed feature.
        num_experts (int): Number of experts. Defaults to 4.
        top_k (int): Experts per image. Defaults to 1.
        channel_divisors (Sequence[int]): Width divisor per expert.
            Defaults to (1, 2, 4, 8).
        windows (Sequence[int]): Attention window per expert.
            Defaults to (4, 8, 16, 32).
        kernel_sizes (Sequence[int]): Dynamic depthwise kernel per expert.
            Defaults to (3, 5, 7, 9).
        mlp_window (int): Cap on the token-mixing window. Defaults to 8.
        head_dim (int): Target channels per head. Defaults to 32.
        ddp_safe (bool): Touch unused experts with a zero term in
            training. Defaults to True.
        router_cfg (dict, optional): Extra keyword arguments of
            :class:`ImageRouter` (``use_noise``, ``imp_weight``, ...).
    """

    def __init__(self,
                 channels: int,
                 num_experts: int = 4,
                 top_k: int = 1,
                 channel_divisors: Sequence[int] = (1, 2, 4, 8),
                 windows: Sequence[int] = (4, 8, 16, 32),
                 kernel_sizes: Sequence[int] = (3, 5, 7, 9),
                 mlp_window: int = 8,
                 head_dim: int = 32,
                 ddp_safe: bool = True,
                 router_cfg: Optional[dict] = None) -> None:
        super().__init__()
        for name, seq in (('channel_divisors', channel_divisors),
                          ('windows', windows), ('kernel_sizes',
                                                 kernel_sizes)):
            if len(seq) != num_experts:
                raise ValueError(f'{name} needs {num_experts} entries, '
                                 f'got {len(seq)}')
        self.ddp_safe = ddp_safe
        self.experts = nn.ModuleList([
            ComplexityExpert(
                channels,
                max(channels // div, 1),
                win,
                kernel_size=ks,
                mlp_window=min(win, mlp_window),
                head_dim=head_dim)
            for div, win, ks in zip(channel_divisors, windows, kernel_sizes)
        ])
        counts = torch.tensor(
            [parameter_count(e) for e in self.experts], dtype=torch.float)
        self.router = ImageRouter(
            channels,
            num_experts,
            top_k,
            complexity=counts / counts.max(),
            **(router_cfg or {}))

    def forward(self, x: Tensor) -> Tuple[Tensor, Routing]:
        """Route and run the selected experts.

        Args:
            x (Tensor): ``(B, C, H, W)``.

        Returns:
            tuple[Tensor, Routing]: ``x + sum_k gate_k * Expert_k(x)`` and
            the routing decision.
        """
        routing = self.router(x)
        mixed, used = dispatch_experts(x, self.experts, routing.indices,
                                       routing.gates)
        out = x + mixed
        if self.ddp_safe and self.training and torch.is_grad_enabled():
            unused = [
                p for e, expert in enumerate(self.experts) if e not in used
                for p in expert.parameters()
            ]
            if unused:
                out = out + sum(p.sum() for p in unused) * 0
        return out, routing
