"""Image-level expert routing of a batch, as a routed neck returns it.

The MaE neck (:class:`mmallnet.models.necks.MaENeck`) returns its routing
with its features, in every output mode, instead of keeping it on the
module: its ``'dual'`` dict has it under ``'routing'``, and its ``'fused'``
tuple (for stock MMSeg heads) is a :class:`RoutedFeatures`, a tuple of maps
with a ``routing`` attribute. :func:`routing_of` reads either. Segmentors
turn it into losses (:func:`routing_losses`) and per-sample metainfo
(:func:`write_routing`, read by ``RoutingMetric`` and the visualizer).
"""
import math
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

#: Metainfo keys a routed model writes into each data sample.
ROUTING_METAINFO_KEYS = ('routing', 'routing_gates', 'routing_probs')


@dataclass(frozen=True)
class ExpertRouting:
    """Which experts each image was sent to, at every routed scale.

    Args:
        decisions (Tensor): ``(B, S, k)`` long, the selected experts of
            each image at each of the ``S`` scales.
        gates (Tensor): ``(B, S, k)`` gates of the selected experts.
        probs (Tensor): ``(B, S, n)`` routing probabilities of all ``n``
            experts (noisy in training, clean in eval mode).
        aux_loss (Tensor): Scalar load-balancing loss, averaged over the
            scales (unweighted).
    """

    decisions: Tensor
    gates: Tensor
    probs: Tensor
    aux_loss: Tensor

    @property
    def num_experts(self) -> int:
        """Experts per scale ``n``."""
        return self.probs.shape[-1]

    def losses(self, weight: float) -> Dict[str, Tensor]:
        """The weighted aux loss and, for the log, each expert's share.

        Args:
            weight (float): Weight of the aux loss.

        Returns:
            dict[str, Tensor]: ``route.loss_aux`` (``weight * aux_loss``)
            and ``route.expert<k>``, the share of (image, scale, slot)
            decisions that picked expert ``k`` (detached).
        """
        losses = {'route.loss_aux': weight * self.aux_loss}
        counts = torch.bincount(
            self.decisions.flatten(), minlength=self.num_experts).float()
        for k, count in enumerate(counts / counts.sum()):
            losses[f'route.expert{k}'] = count.detach()
        return losses

    def sample_metainfo(self, index: int) -> Dict[str, list]:
        """Image ``index``'s routing as plain lists, for its metainfo.

        Returns:
            dict[str, list]: ``routing`` (``[scale][k]`` expert ids),
            ``routing_gates`` (``[scale][k]``) and ``routing_probs``
            (``[scale][n]``).
        """
        return dict(routing=self.decisions[index].tolist(),
                    routing_gates=self.gates[index].tolist(),
                    routing_probs=self.probs[index].tolist())

    def write_to(self, data_samples: Iterable) -> None:
        """Set each sample's routing metainfo (one sample per image)."""
        for i, sample in enumerate(data_samples):
            sample.set_metainfo(self.sample_metainfo(i))


class RoutedFeatures(tuple):
    """A tuple of feature maps that also carries the routing behind them.

    Stock decode heads index it like the tuple a neck returns; segmentors
    read :attr:`routing`.

    Args:
        maps (Iterable[Tensor]): The feature maps, fine to coarse.
        routing (ExpertRouting, optional): Their routing; None when no
            expert was routed.
    """

    routing: Optional[ExpertRouting]

    def __new__(cls, maps: Iterable[Tensor],
                routing: Optional[ExpertRouting]) -> 'RoutedFeatures':
        features = super().__new__(cls, maps)
        features.routing = routing
        return features


def routing_of(features: Any) -> Optional[ExpertRouting]:
    """The routing that a neck output carries, if any.

    Args:
        features: A neck's (or backbone's) output: a dict with a
            ``'routing'`` entry (the MaE neck's ``'dual'`` mode), a
            :class:`RoutedFeatures` (``'fused'`` mode) or anything else.

    Returns:
        ExpertRouting or None: None without a routed neck, or with its
        experts switched off.
    """
    if isinstance(features, RoutedFeatures):
        return features.routing
    if isinstance(features, Mapping):
        routing = features.get('routing')
        if routing is not None and not isinstance(routing, ExpertRouting):
            raise TypeError(
                "routing_of: the neck output's 'routing' entry must be an "
                f'ExpertRouting, got {type(routing).__name__}.')
        return routing
    return None


def type_given_expert_entropy(probs: Tensor, types: Sequence[str]) -> Tensor:
    """``H(T | E)`` per scale, in bits, of a batch's soft routing.

    With ``p_i(e)`` image ``i``'s routing probabilities and ``t_i`` its
    degradation type, the batch's joint is ``P(t, e) = mean_i 1[t_i = t]
    p_i(e)``; ``H(T | E) = -sum P(t, e) log2(P(t, e) / P(e))``, which is
    ``H(T) - I(T; E)``: 0 when the expert names the type, ``H(T)`` when
    the routing ignores it. Differentiable in ``probs``.

    Args:
        probs (Tensor): ``(B, S, n)`` routing probabilities.
        types (Sequence[str]): ``B`` degradation types.

    Returns:
        Tensor: ``(S,)`` conditional entropies in bits.
    """
    if len(types) != probs.shape[0]:
        raise ValueError(f'{len(types)} degradation types for a batch of '
                         f'{probs.shape[0]} images')
    names = sorted(set(types))
    ids = torch.tensor([names.index(t) for t in types], device=probs.device)
    onehot = F.one_hot(ids, len(names)).to(probs.dtype)  # (B, T)
    joint = torch.einsum('bt,bsn->stn', onehot, probs) / probs.shape[0]
    p_expert = joint.sum(dim=1, keepdim=True)
    ratio = joint.clamp_min(1e-12) / p_expert.clamp_min(1e-12)
    return -(joint * torch.log(ratio)).sum(dim=(1, 2)) / math.log(2)


def routing_losses(features: Any,
                   weight: float,
                   type_weight: float = 0.,
                   data_samples: Optional[Sequence] = None
                   ) -> Dict[str, Tensor]:
    """The routing losses of a neck output (none without routing).

    Args:
        features: A neck's output, see :func:`routing_of`.
        weight (float): Weight of the aux loss.
        type_weight (float): Weight of ``route.loss_type``, the mean over
            scales of ``H(T | E)`` (:func:`type_given_expert_entropy`),
            which rewards routing that tells the degradation types apart;
            needs each sample's ``degradation_type``. 0 (the default):
            not computed.
        data_samples (Sequence, optional): The batch's samples, for the
            degradation types.

    Returns:
        dict[str, Tensor]: :meth:`ExpertRouting.losses` (plus
        ``route.loss_type``), or an empty dict.

    Raises:
        KeyError: ``type_weight > 0`` and a sample has no
            ``degradation_type``.
    """
    routing = routing_of(features)
    if routing is None:
        return {}
    losses = routing.losses(weight)
    if type_weight > 0:
        types = []
        for sample in data_samples or []:
            if 'degradation_type' not in sample:
                raise KeyError(
                    '`route_type_loss_weight` > 0 needs each training '
                    "sample's `degradation_type` (set by RandomDegradation "
                    'or DegradedCopy in the train pipeline); '
                    f'{sample.metainfo.get("img_path", "a sample")} has '
                    'none.')
            types.append(str(sample.degradation_type))
        entropy = type_given_expert_entropy(routing.probs, types)
        losses['route.loss_type'] = type_weight * entropy.mean()
    return losses


def write_routing(features: Any, data_samples: Iterable) -> None:
    """Write a neck output's routing into the samples' metainfo, if any.

    Args:
        features: A neck's output, see :func:`routing_of`.
        data_samples (Iterable): One sample per image of the batch.
    """
    routing = routing_of(features)
    if routing is not None:
        routing.write_to(data_samples)


def stack_scales(per_scale: List[Any]) -> Optional[ExpertRouting]:
    """One :class:`ExpertRouting` from the per-scale routings of a neck.

    Args:
        per_scale (list): Per scale, an object with ``indices`` ``(B, k)``,
            ``gates`` ``(B, k)``, ``probs`` ``(B, n)`` and a scalar
            ``aux_loss`` (:class:`mmallnet.models.layers.Routing`).

    Returns:
        ExpertRouting or None: Scales stacked on dim 1 and the aux losses
        averaged; None for an empty list.
    """
    if not per_scale:
        return None
    return ExpertRouting(
        decisions=torch.stack([r.indices for r in per_scale], dim=1),
        gates=torch.stack([r.gates for r in per_scale], dim=1),
        probs=torch.stack([r.probs for r in per_scale], dim=1),
        aux_loss=torch.stack([r.aux_loss for r in per_scale]).mean())
