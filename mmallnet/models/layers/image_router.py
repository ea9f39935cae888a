"""Per-image router of ALLNet's MaE with a complexity-aware aux loss.

For a feature ``x`` with pooled descriptor ``h = GAP(x)``:

* gate logits ``g = W_g h`` and a degradation prior
  ``prior = W_p GAP(|HP(x)|)``, where ``HP`` is a fixed depthwise
  8-neighbour Laplacian (a buffer, never trained);
* a per-image temperature ``T = sigmoid(w_t^T h + b_t) + 0.5``, in
  ``(0.5, 1.5)`` (``temperature_range``; a range of one value fixes it);
* logits ``z = (g + lambda * prior + eps) / T`` with exploration noise
  ``eps ~ N(0, (1/n)^2)`` in training only (``lambda`` learnable, init 1);
* probabilities ``p = softmax(z)``; the top-k experts are kept and their
  gates are the kept probabilities (not renormalised).

Switches for the study of what makes the router specialise (the defaults
are MoCE-IR's routing and aux loss):

* ``gate_mode``: ``'prob'`` (the kept probabilities), ``'renorm'`` (the
  kept probabilities divided by their sum: 1 for top-1, so the task loss
  no longer pulls the chosen expert's probability up) or
  ``'straight_through'`` (the renormalised value forward, the gradient of
  the kept probabilities backward);
* ``noise_type``: ``'normal'`` (``N(0, (1/n)^2)`` before the temperature)
  or ``'gumbel'`` (standard Gumbel noise on the scaled logits, so the
  top-1 choice in training is a sample of ``softmax(z)``);
* ``logit_source``: ``'both'`` (``g + lambda * prior``) or ``'prior'``
  (``lambda * prior`` alone: the choice depends on the feature only through
  its high-frequency energy, which the degradations change most).

The aux loss is ``w_imp * CV(Imp)^2 + w_load * CV(Load)^2``: ``Imp`` is
the batch sum of the noise-free probabilities, weighted per expert by its
normalised parameter count when the complexity bias is on; ``Load`` is
the smooth normal-CDF estimate of how often each expert is selected.
"""
from typing import NamedTuple, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

GATE_MODES = ('prob', 'renorm', 'straight_through')
NOISE_TYPES = ('normal', 'gumbel')
LOGIT_SOURCES = ('both', 'prior')


class Routing(NamedTuple):
    """Routing decision for a batch.

    Attributes:
        indices (Tensor): ``(B, k)`` long, selected experts.
        gates (Tensor): ``(B, k)`` kept probabilities of those experts.
        probs (Tensor): ``(B, n)`` routing probabilities (noisy in
            training).
        aux_loss (Tensor): Scalar load-balancing loss.
    """
    indices: Tensor
    gates: Tensor
    probs: Tensor
    aux_loss: Tensor


def cv_squared(x: Tensor, eps: float = 1e-8) -> Tensor:
    """Squared coefficient of variation ``var(x) / mean(x)^2``.

    Uses the unbiased variance and avoids the square root, so the gradient
    is finite when all entries are equal.

    Args:
        x (Tensor): 1-D tensor with at least two entries.
        eps (float): Added to the mean. Defaults to 1e-8.

    Returns:
        Tensor: Scalar.
    """
    return x.var() / (x.mean() + eps)**2


class ImageRouter(nn.Module):
    """Image-level top-k router with temperature, prior and noise.

    Args:
        channels (int): Channels of the routed feature.
        num_experts (int): Number of experts ``n``.
        top_k (int): Experts kept per image. Defaults to 1.
        complexity (Sequence[float], optional): Per-expert normalised
            parameter counts for the importance bias; set later with
            :meth:`set_complexity` when ``None``. Defaults to None.
        use_complexity_bias (bool): Weight ``Imp`` by the complexity.
            Defaults to True.
        use_noise (bool): Add exploration noise in training.
            Defaults to True.
        imp_weight (float): Weight of ``CV(Imp)^2``. Defaults to 0.5.
        load_weight (float): Weight of ``CV(Load)^2``. Defaults to 0.5.
        prior_scale (float): Initial ``lambda``. Defaults to 1.
        gate_mode (str): ``'prob'``, ``'renorm'`` or
            ``'straight_through'`` (see the module docstring).
            Defaults to 'prob'.
        noise_type (str): ``'normal'`` or ``'gumbel'``.
            Defaults to 'normal'.
        logit_source (str): ``'both'`` or ``'prior'``.
            Defaults to 'both'.
        temperature_range (tuple[float, float]): ``(T_min, T_max)``, the
            temperature is ``T_min + (T_max - T_min) * sigmoid(w_t^T h +
            b_t)``; equal ends fix ``T`` (no temperature layer).
            Defaults to (0.5, 1.5).
    """

    def __init__(self,
                 channels: int,
                 num_experts: int,
                 top_k: int = 1,
                 complexity: Optional[Sequence[float]] = None,
                 use_complexity_bias: bool = True,
                 use_noise: bool = True,
                 imp_weight: float = 0.5,
                 load_weight: float = 0.5,
                 prior_scale: float = 1.,
                 gate_mode: str = 'prob',
                 noise_type: str = 'normal',
                 logit_source: str = 'both',
                 temperature_range: Sequence[float] = (0.5, 1.5)) -> None:
        super().__init__()
        if not 1 <= top_k <= num_experts:
            raise ValueError(f'top_k must be in [1, {num_experts}], '
                             f'got {top_k}')
        for name, value, allowed in (
                ('gate_mode', gate_mode, GATE_MODES),
                ('noise_type', noise_type, NOISE_TYPES),
                ('logit_source', logit_source, LOGIT_SOURCES)):
            if value not in allowed:
                raise ValueError(f'ImageRouter: {name} must be one of '
                                 f'{allowed}, got {value!r}')
        t_min, t_max = (float(t) for t in temperature_range)
        if not 0 < t_min <= t_max:
            raise ValueError('ImageRouter: temperature_range must be '
                             '(T_min, T_max) with 0 < T_min <= T_max, got '
                             f'{tuple(temperature_range)}')
        self.temperature_range = (t_min, t_max)
        self.gate_mode = gate_mode
        self.noise_type = noise_type
        self.logit_source = logit_source
        self.channels = channels
        self.num_experts = num_experts
        self.top_k = top_k
        self.use_complexity_bias = use_complexity_bias
        self.use_noise = use_noise
        self.imp_weight = imp_weight
        self.load_weight = load_weight
        self.noise_std = 1. / num_experts
        # No content gate when the logits come from the prior alone (an
        # unused layer would need DDP's find_unused_parameters).
        self.gate = nn.Linear(channels, num_experts, bias=False) \
            if logit_source == 'both' else None
        self.prior = nn.Linear(channels, num_experts, bias=False)
        self.prior_scale = nn.Parameter(torch.tensor(float(prior_scale)))
        self.temperature = nn.Linear(channels, 1) if t_max > t_min else None
        laplacian = torch.full((3, 3), -1.)
        laplacian[1, 1] = 8.
        self.register_buffer(
            'high_pass',
            laplacian.expand(channels, 1, 3, 3).clone(),
            persistent=False)
        init = torch.ones(num_experts) if complexity is None else \
            torch.as_tensor(complexity, dtype=torch.float)
        self.register_buffer('complexity', init, persistent=False)

    def set_complexity(self, complexity: Sequence[float]) -> None:
        """Set the per-expert normalised parameter counts."""
        value = torch.as_tensor(complexity, dtype=torch.float)
        self.complexity.copy_(value.to(self.complexity.device))

    def logits(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Noise-free numerator ``g + lambda * prior`` and temperature.

        Args:
            x (Tensor): ``(B, C, H, W)``.

        Returns:
            tuple[Tensor, Tensor]: ``(B, n)`` logits and ``(B, 1)``
            temperature.
        """
        h = x.mean(dim=(2, 3))
        hp = F.conv2d(x, self.high_pass, padding=1, groups=self.channels)
        descriptor = hp.abs().mean(dim=(2, 3))
        base = self.prior_scale * self.prior(descriptor)
        if self.gate is not None:
            base = self.gate(h) + base
        t_min, t_max = self.temperature_range
        if self.temperature is None:
            temperature = base.new_full((base.shape[0], 1), t_min)
        else:
            temperature = t_min + (t_max - t_min) * torch.sigmoid(
                self.temperature(h))
        return base, temperature

    def aux_loss(self, clean: Tensor, noisy: Tensor,
                 noise_std: Tensor) -> Tensor:
        """Complexity-weighted importance plus smooth load loss.

        Args:
            clean (Tensor): ``(B, n)`` noise-free scaled logits.
            noisy (Tensor): ``(B, n)`` scaled logits used for selection.
            noise_std (Tensor): ``(B, 1)`` std of the noise in the scaled
                space (``(1/n) / T``); unused with Gumbel noise, whose
                scale there is 1.

        Returns:
            Tensor: Scalar loss.
        """
        if self.num_experts < 2:
            return clean.sum() * 0
        importance = clean.softmax(dim=-1).sum(dim=0)
        if self.use_complexity_bias:
            importance = importance * self.complexity
        if self.top_k < self.num_experts:
            # Expert i is selected when its logit beats the k-th best of
            # the others: the (k+1)-th overall if i is in the top-k,
            # else the k-th.
            top = noisy.topk(self.top_k + 1, dim=-1).values
            in_thr = top[:, self.top_k:self.top_k + 1]
            out_thr = top[:, self.top_k - 1:self.top_k]
            is_in = noisy >= out_thr
            thr = torch.where(is_in, in_thr, out_thr)
            if self.noise_type == 'gumbel':
                # P(clean + G > thr) = 1 - exp(-exp(clean - thr))
                load = -torch.expm1(-torch.exp(clean - thr)).sum(dim=0)
            else:
                normal = torch.distributions.Normal(
                    clean.new_zeros(()), clean.new_ones(()))
                load = normal.cdf((clean - thr) / noise_std).sum(dim=0)
            load_loss = cv_squared(load)
        else:
            load_loss = clean.new_zeros(())
        return (self.imp_weight * cv_squared(importance) +
                self.load_weight * load_loss)

    def _gates(self, kept: Tensor) -> Tensor:
        """Gates of the kept experts for ``gate_mode``.

        Args:
            kept (Tensor): ``(B, k)`` probabilities of the kept experts.

        Returns:
            Tensor: ``(B, k)`` gates.
        """
        if self.gate_mode == 'prob':
            return kept
        renorm = kept / kept.sum(dim=-1, keepdim=True)
        if self.gate_mode == 'renorm':
            return renorm
        return renorm.detach() + kept - kept.detach()

    def forward(self, x: Tensor) -> Routing:
        """Route every image of the batch.

        Args:
            x (Tensor): ``(B, C, H, W)``.

        Returns:
            Routing: Selected experts, gates, probabilities and aux loss.
        """
        base, temperature = self.logits(x)
        clean = base / temperature
        if not (self.training and self.use_noise):
            noisy = clean
        elif self.noise_type == 'gumbel':
            uniform = torch.rand_like(base).clamp_(1e-10, 1. - 1e-7)
            noisy = clean - torch.log(-torch.log(uniform))
        else:
            noise = torch.randn_like(base) * self.noise_std
            noisy = (base + noise) / temperature
        probs = noisy.softmax(dim=-1)
        kept, indices = probs.topk(self.top_k, dim=-1)
        gates = self._gates(kept)
        aux = self.aux_loss(clean, noisy, self.noise_std / temperature)
        return Routing(indices, gates, probs, aux)
