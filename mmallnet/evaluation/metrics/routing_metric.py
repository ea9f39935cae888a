"""Which expert each degradation type is routed to (MaE routing analysis)."""
import os
import os.path as osp
from collections import Counter, defaultdict
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmengine.visualization import Visualizer
from mmseg.registry import METRICS
from prettytable import PrettyTable


def routing_table(results: Sequence[dict], num_experts: int
                  ) -> Dict[str, np.ndarray]:
    """Share of routing decisions per degradation type, scale and expert.

    Args:
        results (Sequence[dict]): Per image ``degradation_type`` (str) and
            ``routing`` (``[scale][k]`` expert ids).
        num_experts (int): Number of experts per scale.

    Returns:
        dict[str, np.ndarray]: Degradation type (plus ``'all'``) ->
        ``(num_scales, num_experts)`` shares; each row sums to 1.
    """
    counts: Dict[str, np.ndarray] = {}
    for result in results:
        routing = np.asarray(result['routing'], dtype=np.int64)
        if routing.ndim != 2:
            raise ValueError('routing must be a [scale][k] list, got shape '
                             f'{routing.shape}')
        if routing.min() < 0 or routing.max() >= num_experts:
            raise ValueError(f'routing holds expert ids {routing.tolist()} '
                             f'outside [0, {num_experts})')
        for key in (result['degradation_type'], 'all'):
            table = counts.setdefault(
                key, np.zeros((routing.shape[0], num_experts)))
            for scale, experts in enumerate(routing):
                np.add.at(table[scale], experts, 1)
    return {
        key: table / table.sum(axis=1, keepdims=True)
        for key, table in counts.items()
    }


def routing_mutual_information(results: Sequence[dict], num_experts: int
                               ) -> Tuple[np.ndarray, float]:
    """Mutual information between degradation type and chosen expert.

    ``I(T; E) = sum_{t,e} p(t, e) log2(p(t, e) / (p(t) p(e)))`` per scale,
    where every routing decision (``k`` per image with top-k) is one draw
    of ``(T, E)``. 0 bit: the choice ignores the degradation; ``H(T)``
    bits (the upper bound, returned too): the type is read off the expert.

    Args:
        results (Sequence[dict]): Per image ``degradation_type`` (str) and
            ``routing`` (``[scale][k]`` expert ids).
        num_experts (int): Number of experts per scale.

    Returns:
        tuple[np.ndarray, float]: ``(num_scales,)`` mutual information in
        bits, and the entropy ``H(T)`` of the degradation types in bits.
    """
    shares = routing_table(results, num_experts)
    counts = Counter(str(r['degradation_type']) for r in results)
    # (scales, types, experts): each type's shares weighted by its images
    joint = np.stack([shares[t] * counts[t] for t in sorted(counts)],
                     axis=1)
    joint = joint / joint.sum(axis=(1, 2), keepdims=True)
    p_type = joint.sum(axis=2, keepdims=True)
    p_expert = joint.sum(axis=1, keepdims=True)
    with np.errstate(divide='ignore', invalid='ignore'):
        terms = joint * np.log2(joint / (p_type * p_expert))
    mutual_info = np.nansum(terms, axis=(1, 2))
    p_t = p_type[0, :, 0]
    type_entropy = float(-(p_t * np.log2(p_t)).sum())
    # Rounding can leave -1e-17 where the choice ignores the type.
    return np.clip(mutual_info, 0., None), type_entropy


def mean_routing_probs(results: Sequence[dict]) -> Dict[str, np.ndarray]:
    """Mean routing probability per degradation type, scale and expert.

    Shows how much the router's (noise-free) probabilities depend on the
    degradation even when the top-1 decision does not change.

    Args:
        results (Sequence[dict]): Per image ``degradation_type`` (str) and
            ``routing_probs`` (``[scale][expert]`` probabilities).

    Returns:
        dict[str, np.ndarray]: Degradation type (plus ``'all'``) ->
        ``(num_scales, num_experts)`` mean probabilities.
    """
    groups: Dict[str, List[np.ndarray]] = defaultdict(list)
    for result in results:
        probs = np.asarray(result['routing_probs'], dtype=np.float64)
        if probs.ndim != 2:
            raise ValueError('routing_probs must be a [scale][expert] list, '
                             f'got shape {probs.shape}')
        groups[result['degradation_type']].append(probs)
        groups['all'].append(probs)
    return {key: np.mean(value, axis=0) for key, value in groups.items()}


def _tabulate(values: Dict[str, np.ndarray], counts: Dict[str, int],
              field_names: List[str], letter: str, fmt: str,
              metrics: Dict[str, float]) -> PrettyTable:
    """One table row per degradation type (then ``'all'``), in percent.

    Also stores every value as ``metrics['<type>/s<scale>.<letter><k>']``.

    Args:
        values (dict[str, np.ndarray]): Type -> ``(num_scales,
            num_experts)`` fractions.
        counts (dict[str, int]): Type -> number of images.
        field_names (list[str]): The table's column names.
        letter (str): ``'E'`` (shares) or ``'p'`` (probabilities).
        fmt (str): Format of the percentages, e.g. ``'.0f'``.
        metrics (dict[str, float]): Filled in place.

    Returns:
        PrettyTable: The table.
    """
    table = PrettyTable()
    table.field_names = field_names
    for key in sorted(k for k in values if k != 'all') + ['all']:
        table.add_row([key, counts[key]] + [
            format(100 * v, fmt) for v in values[key].flatten()
        ])
        for (scale, expert), value in np.ndenumerate(values[key]):
            metrics[f'{key}/s{scale}.{letter}{expert + 1}'] = float(value)
    return table


def plot_routing(shares: Dict[str, np.ndarray],
                 path: Optional[str] = None,
                 mutual_info: Optional[Sequence[float]] = None
                 ) -> np.ndarray:
    """Draw a heatmap per scale: degradation types x experts.

    Args:
        shares (dict[str, np.ndarray]): Output of :func:`routing_table`.
        path (str, optional): Image file to write (e.g. ``routing.png``).
        mutual_info (Sequence[float], optional): ``I(type; expert)`` per
            scale in bits, shown in each panel's title.

    Returns:
        np.ndarray: The picture, ``(H, W, 3)`` uint8 RGB.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    types = sorted(k for k in shares if k != 'all') + ['all']
    num_scales, num_experts = shares['all'].shape
    fig, axes = plt.subplots(
        1, num_scales, figsize=(2.2 + 1.6 * num_experts * num_scales / 2,
                                0.6 * len(types) + 1.4), squeeze=False)
    for scale, ax in enumerate(axes[0]):
        grid = np.stack([shares[t][scale] for t in types])
        ax.imshow(grid, vmin=0, vmax=1, cmap='viridis', aspect='auto')
        for (row, col), value in np.ndenumerate(grid):
            ax.text(col, row, f'{100 * value:.0f}', ha='center',
                    va='center', color='white' if value < 0.6 else 'black',
                    fontsize=8)
        ax.set_xticks(range(num_experts),
                      [f'E{k + 1}' for k in range(num_experts)])
        ax.set_yticks(range(len(types)), types if scale == 0 else [])
        title = f'1/{4 * 2**scale}'
        if mutual_info is not None:
            title += f'\nI = {mutual_info[scale]:.2f} bit'
        ax.set_title(title)
    fig.suptitle('MaE routing: % of images per expert')
    fig.tight_layout()
    if path:
        os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
        fig.savefig(path, dpi=120)
    fig.set_dpi(120)
    fig.canvas.draw()
    image = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return image


@METRICS.register_module()
class RoutingMetric(BaseMetric):
    """Tabulate MaE routing decisions per degradation type.

    Reads the ``routing`` (``[scale][k]`` expert ids) that
    :class:`MultiTaskEncoderDecoder` writes into each prediction's metainfo
    with a routed neck, and the sample's ``degradation_type``. Reports the
    share of images each expert receives, per scale and degradation type
    (keys ``routing/<type>/s<scale>.E<k>``, and ``routing/all/...``), logs
    a table and draws a heatmap. When the predictions also carry
    ``routing_probs`` (every expert's probability), the mean probability
    per type is reported too (``routing/<type>/s<scale>.p<k>``) and
    logged, which shows whether the router's scores depend on the
    degradation even where the top-1 choice does not. How much the choice
    depends on the degradation is summed up per scale as the mutual
    information ``I(type; expert)`` in bits (``routing/s<scale>.MI``, with
    its upper bound ``H(type)`` as ``routing/type_entropy``), logged
    beside the tables and shown on the heatmap. The heatmap goes to
    the current visualizer (``vis_data/vis_image/mae_routing_*.png`` of
    the run with MMSeg's default ``LocalVisBackend``) and, with
    ``plot_path``, to that file too. Add it next to
    :class:`MultiTaskMetric` in ``val_evaluator`` / ``test_evaluator``.

    Args:
        num_experts (int): Experts per scale. Defaults to 4.
        plot_path (str, optional): Heatmap file, written on rank 0.
        add_to_visualizer (bool): Also hand the heatmap to the current
            :class:`~mmengine.visualization.Visualizer`. Defaults to True.
        collect_device (str): Device for collecting results across ranks.
            Defaults to 'cpu'.
        prefix (str): Key prefix. Defaults to 'routing'.
    """

    def __init__(self,
                 num_experts: int = 4,
                 plot_path: Optional[str] = None,
                 add_to_visualizer: bool = True,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = 'routing') -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.num_experts = num_experts
        self.plot_path = plot_path
        self.add_to_visualizer = add_to_visualizer

    @staticmethod
    def _add_to_visualizer(image: np.ndarray) -> None:
        """Hand the heatmap to the current visualizer, if there is one."""
        try:
            visualizer = Visualizer.get_current_instance()
        except RuntimeError:
            print_log('RoutingMetric: no visualizer has been created (no '
                      'runner), so the routing plot is not saved; pass '
                      '`plot_path` to write it to a file.', logger='current')
            return
        visualizer.add_image('mae_routing', image)

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Keep each image's routing and degradation type."""
        for sample in data_samples:
            for key in ('routing', 'degradation_type'):
                if key not in sample:
                    raise KeyError(
                        f'RoutingMetric: prediction of '
                        f'{sample.get("img_path", "an image")} has no '
                        f'"{key}" (routing needs a model with a routed '
                        'MaENeck; degradation_type needs a degradation '
                        'transform in the test pipeline)')
            result = dict(
                routing=sample['routing'],
                degradation_type=str(sample['degradation_type']))
            if 'routing_probs' in sample:
                result['routing_probs'] = sample['routing_probs']
            self.results.append(result)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Shares per type/scale/expert, a logged table and the plot."""
        shares = routing_table(results, self.num_experts)
        counts = dict(Counter(r['degradation_type'] for r in results),
                      all=len(results))
        num_scales = shares['all'].shape[0]
        field_names = ['type', 'images'] + [
            f's{s} E{k + 1}' for s in range(num_scales)
            for k in range(self.num_experts)
        ]
        metrics = {}
        table = _tabulate(shares, counts, field_names, 'E', '.0f', metrics)
        print_log('MaE routing (% of images per expert, per scale):\n' +
                  table.get_string(), logger='current')
        mutual_info, type_entropy = routing_mutual_information(
            results, self.num_experts)
        for scale, value in enumerate(mutual_info):
            metrics[f's{scale}.MI'] = float(value)
        metrics['type_entropy'] = type_entropy
        print_log('MaE routing: I(degradation type; expert) per scale: ' +
                  ', '.join(f'1/{4 * 2**s} {v:.3f}'
                            for s, v in enumerate(mutual_info)) +
                  f' bit (at most H(type) = {type_entropy:.3f} bit)',
                  logger='current')
        with_probs = [r for r in results if 'routing_probs' in r]
        if with_probs:
            if len(with_probs) != len(results):
                raise KeyError(
                    'RoutingMetric: only some predictions carry '
                    '"routing_probs"; expected all or none.')
            prob_table = _tabulate(mean_routing_probs(results), counts,
                                   field_names, 'p', '.1f', metrics)
            print_log('MaE routing (mean probability % per expert, per '
                      'scale):\n' + prob_table.get_string(),
                      logger='current')
        if self.plot_path or self.add_to_visualizer:
            image = plot_routing(shares, self.plot_path, mutual_info)
            if self.plot_path:
                print_log(f'Routing plot written to {self.plot_path}',
                          logger='current')
            if self.add_to_visualizer:
                self._add_to_visualizer(image)
        return metrics
