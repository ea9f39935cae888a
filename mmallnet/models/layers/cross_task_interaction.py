"""Cross-task interaction (CTI) unit of ALLNet's TCR head.

Every task ``t`` owns ``N`` tokens of width ``C``:
``theta_t = theta_t^rand + lambda * MLP_t(GAP(J~_t))`` (the second term is
the image-conditioned "+theta_t" of the ablation and can be switched off).
The tokens act as a per-image dynamic 1x1 convolution of the restoration
features, ``P_t = theta_t . LN(P) / sqrt(C)`` (``N`` maps of size
``H x W``). All ``T * N`` tokens attend to each other once (single head);
the same ``TN x TN`` matrix ``A`` mixes the tokens and the stacked maps,
``Theta' = Theta + A Theta`` and ``P' = P_all + A P_all``. The tokens are
refined by an MLP, and each task's maps by a Restormer block (MDTA + GDFN)
after a FiLM shift computed from its tokens; these weights are shared by
the tasks. Restoration gets the refined maps back through a zero-initialised
residual, ``P_out = P + gamma_P * Conv1x1(mean_t P''_t)``.

The cost is linear in ``H * W``: the largest products are
``(TN x C) @ (C x HW)`` and ``(TN x TN) @ (TN x HW)``, and MDTA attends over
channels.
"""
import math
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from torch import Tensor

from .restormer import ChannelLayerNorm2d, RestormerBlock

CTIOutput = Union[Tuple[Tensor, Dict[str, Tensor]],
                  Tuple[Tensor, Dict[str, Tensor], Dict[str, Tensor]]]


class CrossTaskInteraction(nn.Module):
    """Task tokens, cross-task token attention and restoration feedback.

    Args:
        channels (int): Channels ``C`` of the restoration features ``P``
            and of the task features ``J~_t``.
        tasks (Sequence[str]): Task names; their order is the stacking
            order of the tokens and maps.
        num_tokens (int, optional): Tokens (and maps) per task ``N``.
            Defaults to ``channels``.
        num_heads (int): Heads of the MDTA over the ``N`` maps; must divide
            ``N``. Defaults to 1.
        use_image_tokens (bool): Add the image-conditioned term
            ``lambda * MLP_t(GAP(J~_t))`` to the tokens. If False the tokens
            are ``theta_t^rand`` only and ``task_feats`` is not used.
            Defaults to True.
        attn_channels (int, optional): Query/key width ``C_a`` of the
            cross-task attention. Defaults to ``min(C, 256)``.
        ffn_expansion (float): GDFN hidden-width factor of the map
            refinement. Defaults to 2.66.
        token_mlp_ratio (float): Hidden-width factor of the token MLP.
            Defaults to 2.0.
        token_init_std (float): Std of the normal that initialises
            ``theta_t^rand``, truncated at 2 std. Defaults to 0.02.
        image_token_scale (float): Initial value of ``lambda``.
            Defaults to 0.1.
        bias (bool): Whether the convolutions of the Restormer block have a
            bias. Defaults to False.
    """

    def __init__(self,
                 channels: int,
                 tasks: Sequence[str],
                 num_tokens: Optional[int] = None,
                 num_heads: int = 1,
                 use_image_tokens: bool = True,
                 attn_channels: Optional[int] = None,
                 ffn_expansion: float = 2.66,
                 token_mlp_ratio: float = 2.0,
                 token_init_std: float = 0.02,
                 image_token_scale: float = 0.1,
                 bias: bool = False) -> None:
        super().__init__()
        tasks = tuple(tasks)
        if not tasks:
            raise ValueError('CrossTaskInteraction needs at least one task')
        if len(set(tasks)) != len(tasks):
            raise ValueError(f'task names must be unique, got {tasks}')
        num_tokens = channels if num_tokens is None else num_tokens
        attn_channels = (
            min(channels, 256) if attn_channels is None else attn_channels)
        self.channels = channels
        self.tasks = tasks
        self.num_tokens = num_tokens
        self.attn_channels = attn_channels
        self.use_image_tokens = use_image_tokens

        self.task_embeds = nn.Parameter(
            torch.zeros(len(tasks), num_tokens, channels))
        # Truncated at 2 std (``trunc_normal_``'s default bounds are +-2
        # absolute, which would not truncate at std 0.02).
        nn.init.trunc_normal_(
            self.task_embeds,
            std=token_init_std,
            a=-2 * token_init_std,
            b=2 * token_init_std)
        if use_image_tokens:
            hidden = max(channels // 4, 1)
            self.image_token_mlps = nn.ModuleDict({
                task: nn.Sequential(
                    nn.Linear(channels, hidden), nn.GELU(),
                    nn.Linear(hidden, channels))
                for task in tasks
            })
            self.image_token_scale = nn.Parameter(
                torch.tensor(float(image_token_scale)))

        self.map_norm = ChannelLayerNorm2d(channels)
        self.attn_norm = nn.LayerNorm(channels)
        self.attn_query = nn.Linear(channels, attn_channels)
        # A key bias would shift each row of logits by a constant.
        self.attn_key = nn.Linear(channels, attn_channels, bias=False)

        mlp_hidden = int(channels * token_mlp_ratio)
        self.token_norm = nn.LayerNorm(channels)
        self.token_mlp = nn.Sequential(
            nn.Linear(channels, mlp_hidden), nn.GELU(),
            nn.Linear(mlp_hidden, channels))

        self.film = nn.Linear(channels, num_tokens)
        self.refine = RestormerBlock(
            num_tokens, num_heads, ffn_expansion=ffn_expansion, bias=bias)

        self.feedback = nn.Conv2d(num_tokens, channels, 1)
        self.feedback_scale = nn.Parameter(torch.zeros(1))

    def task_tokens(self, task_feats: Dict[str, Tensor],
                    batch_size: int) -> Tensor:
        """Per-image task tokens ``theta_t``.

        Args:
            task_feats (dict[str, Tensor]): Task name -> ``J~_t`` of shape
                ``(B, C, H, W)``; ignored without image tokens.
            batch_size (int): ``B``.

        Returns:
            Tensor: Tokens of shape ``(B, T, N, C)``.
        """
        tokens = self.task_embeds.unsqueeze(0).expand(batch_size, -1, -1,
                                                      -1)
        if not self.use_image_tokens:
            return tokens
        missing = [task for task in self.tasks if task not in task_feats]
        if missing:
            raise KeyError(f'task_feats lacks the tasks {missing}')
        image_terms = [
            self.image_token_mlps[task](task_feats[task].mean(dim=(2, 3)))
            for task in self.tasks
        ]
        image_terms = torch.stack(image_terms, dim=1)
        return tokens + self.image_token_scale * image_terms.unsqueeze(2)

    def cross_task_attention(self, tokens: Tensor) -> Tensor:
        """Single-head attention matrix over all tasks' tokens.

        Args:
            tokens (Tensor): Stacked tokens ``Theta`` of shape
                ``(B, T * N, C)``.

        Returns:
            Tensor: ``A = softmax(Q K^T / sqrt(C_a))`` of shape
            ``(B, T * N, T * N)``; every row sums to 1.
        """
        normed = self.attn_norm(tokens)
        query = self.attn_query(normed)
        key = self.attn_key(normed)
        logits = query @ key.transpose(1, 2) / math.sqrt(self.attn_channels)
        return logits.softmax(dim=-1)

    def forward(self,
                restoration: Tensor,
                task_feats: Dict[str, Tensor],
                return_tokens: bool = False) -> CTIOutput:
        """Let the tasks interact and feed the result back to restoration.

        Args:
            restoration (Tensor): Restoration features ``P`` of shape
                ``(B, C, H, W)``.
            task_feats (dict[str, Tensor]): Task name -> ``J~_t`` of shape
                ``(B, C, H', W')`` (only pooled, so the size may differ).
            return_tokens (bool): Also return the refined tokens.
                Defaults to False.

        Returns:
            tuple: ``P_out`` of shape ``(B, C, H, W)``; a dict task name ->
            refined maps ``P''_t`` of shape ``(B, N, H, W)``; with
            ``return_tokens`` a third dict task name -> refined tokens
            ``Theta''_t`` of shape ``(B, N, C)``.
        """
        batch, channels, height, width = restoration.shape
        num_tasks, num_tokens = len(self.tasks), self.num_tokens
        tokens = self.task_tokens(task_feats, batch).flatten(1, 2)

        # Dynamic 1x1 conv of LN(P) by every task's tokens: (B, TN, HW).
        normed = self.map_norm(restoration).flatten(2)
        maps = tokens @ normed / math.sqrt(channels)

        attn = self.cross_task_attention(tokens)
        tokens = tokens + attn @ tokens
        maps = maps + attn @ maps

        tokens = tokens + self.token_mlp(self.token_norm(tokens))
        tokens = tokens.view(batch, num_tasks, num_tokens, channels)

        # Intra-task refinement, tasks folded into the batch (shared
        # weights), conditioned on the task's tokens by a FiLM shift.
        shift = self.film(tokens.mean(dim=2))
        maps = maps.view(batch * num_tasks, num_tokens, height, width)
        maps = maps + shift.view(batch * num_tasks, num_tokens, 1, 1)
        maps = self.refine(maps).view(batch, num_tasks, num_tokens, height,
                                      width)

        out = restoration + self.feedback_scale * self.feedback(
            maps.mean(dim=1))
        task_maps = dict(zip(self.tasks, maps.unbind(dim=1)))
        if not return_tokens:
            return out, task_maps
        return out, task_maps, dict(zip(self.tasks, tokens.unbind(dim=1)))
