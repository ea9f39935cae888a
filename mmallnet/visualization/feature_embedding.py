"""2-D embeddings and cluster scores of ALLNet's features.

The paper's feature analysis: the restoration features ``P`` of the MaE
neck cluster by degradation type, the refined task features ``P''_t`` of
the TCR head's cross-task interaction cluster by task.
:class:`FeatureCollector` records both (pooled per image) while a model
runs; :func:`embed_2d` maps them to the plane (t-SNE or UMAP from their
libraries, PCA otherwise), :func:`silhouette_score` measures how well the
labels separate them, and :func:`plot_embedding` draws the picture.
"""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
from mmengine.logging import print_log

EMBEDDING_METHODS = ('auto', 'tsne', 'umap', 'pca')


def silhouette_score(features: np.ndarray, labels: Sequence) -> float:
    """Mean silhouette coefficient with Euclidean distances.

    For sample ``i`` with mean distance ``a`` to the other members of its
    cluster and ``b`` to the members of the nearest other cluster,
    ``s_i = (b - a) / max(a, b)``; ``s_i = 0`` in a cluster of one
    (Rousseeuw, 1987). 1: tight, well separated clusters; 0: overlapping;
    negative: samples closer to another cluster.

    Args:
        features (np.ndarray): ``(N, D)``.
        labels (Sequence): ``N`` cluster labels (at least two distinct).

    Returns:
        float: The mean of ``s_i``.
    """
    features = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels)
    if features.ndim != 2 or len(features) != len(labels):
        raise ValueError('silhouette_score needs (N, D) features and N '
                         f'labels, got {features.shape} and {len(labels)}')
    names = np.unique(labels)
    if len(names) < 2:
        raise ValueError('silhouette_score needs at least two distinct '
                         f'labels, got {names.tolist()}')
    sq = (features**2).sum(1)
    dist = np.sqrt(np.clip(sq[:, None] + sq[None] - 2 * features @
                           features.T, 0, None))
    members = labels[None] == names[:, None]  # (K, N)
    sums = members.astype(np.float64) @ dist  # (K, N): sum to cluster k
    sizes = members.sum(1)
    own = np.searchsorted(names, labels)
    own_size = sizes[own]
    a = sums[own, np.arange(len(labels))] / np.maximum(own_size - 1, 1)
    means = sums / sizes[:, None]
    means[own, np.arange(len(labels))] = np.inf
    b = means.min(0)
    s = np.where(own_size > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-12),
                 0.)
    return float(s.mean())


def _pca_2d(features: np.ndarray) -> np.ndarray:
    """Project on the two leading principal axes (signs fixed so that each
    axis' largest-magnitude loading is positive)."""
    centred = features - features.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    axes = vt[:2]
    signs = np.sign(axes[np.arange(len(axes)),
                         np.abs(axes).argmax(1)])
    out = centred @ (axes * signs[:, None]).T
    if out.shape[1] < 2:
        out = np.pad(out, ((0, 0), (0, 2 - out.shape[1])))
    return out


def embed_2d(features: np.ndarray,
             method: str = 'auto',
             seed: int = 0) -> Tuple[np.ndarray, str]:
    """Embed features in 2-D.

    Args:
        features (np.ndarray): ``(N, D)``, standardised by the caller if
            wanted.
        method (str): ``'tsne'`` (scikit-learn), ``'umap'`` (umap-learn),
            ``'pca'``, or ``'auto'``: t-SNE when scikit-learn is
            installed, else PCA (said in the log). Defaults to 'auto'.
        seed (int): Seed of t-SNE / UMAP. Defaults to 0.

    Returns:
        tuple[np.ndarray, str]: ``(N, 2)`` coordinates and the method used.

    Raises:
        ValueError: Unknown method.
        ImportError: ``'tsne'`` or ``'umap'`` asked for without its
            library.
    """
    if method not in EMBEDDING_METHODS:
        raise ValueError(f'method must be one of {EMBEDDING_METHODS}, got '
                         f'{method!r}')
    features = np.asarray(features, dtype=np.float64)
    if method == 'auto':
        try:
            import sklearn  # noqa: F401
            method = 'tsne'
        except ImportError:
            print_log('scikit-learn is not installed: embedding with PCA '
                      '(`pip install scikit-learn` for t-SNE).',
                      logger='current')
            method = 'pca'
    if method == 'pca' or len(features) < 5:
        return _pca_2d(features), 'pca'
    if method == 'tsne':
        try:
            from sklearn.manifold import TSNE
        except ImportError as error:
            raise ImportError('method "tsne" needs scikit-learn: pip '
                              'install scikit-learn') from error
        perplexity = float(min(30., (len(features) - 1) / 3.))
        tsne = TSNE(n_components=2, perplexity=perplexity, init='pca',
                    random_state=seed)
        return tsne.fit_transform(features), 'tsne'
    try:
        import umap
    except ImportError as error:
        raise ImportError('method "umap" needs umap-learn: pip install '
                          'umap-learn') from error
    reducer = umap.UMAP(n_components=2, random_state=seed,
                        n_neighbors=min(15, len(features) - 1))
    return reducer.fit_transform(features), 'umap'


def standardise(features: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance per dimension (constant ones stay 0)."""
    features = np.asarray(features, dtype=np.float64)
    std = features.std(0)
    return (features - features.mean(0)) / np.where(std > 0, std, 1.)


def plot_embedding(points: np.ndarray,
                   labels: Sequence[str],
                   title: str,
                   path: Optional[str] = None,
                   markers: Optional[Sequence[str]] = None) -> np.ndarray:
    """Scatter 2-D points coloured by label.

    Args:
        points (np.ndarray): ``(N, 2)``.
        labels (Sequence[str]): ``N`` labels (one colour each).
        title (str): Figure title.
        path (str, optional): PNG to write.
        markers (Sequence[str], optional): ``N`` secondary labels, drawn
            as marker shapes (e.g. the degradation type on a plot coloured
            by task).

    Returns:
        np.ndarray: The picture, ``(H, W, 3)`` uint8 RGB.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    labels = np.asarray(labels)
    shapes = 'osD^vP*X'
    marker_names = (sorted(set(markers)) if markers is not None else [None])
    fig, ax = plt.subplots(figsize=(5.2, 4.4))
    cmap = plt.get_cmap('tab10')
    for i, name in enumerate(sorted(set(labels.tolist()))):
        for j, marker in enumerate(marker_names):
            keep = labels == name
            if marker is not None:
                keep &= np.asarray(markers) == marker
            if not keep.any():
                continue
            ax.scatter(points[keep, 0], points[keep, 1], s=14,
                       color=cmap(i % 10), marker=shapes[j % len(shapes)],
                       label=name if j == 0 or markers is None else None,
                       alpha=0.8, linewidths=0)
    legend = ax.legend(fontsize=7, loc='best', markerscale=1.5)
    if markers is not None:
        ax.add_artist(legend)
        handles = [
            plt.Line2D([], [], color='grey', marker=shapes[j % len(shapes)],
                       linestyle='', label=m)
            for j, m in enumerate(marker_names)
        ]
        ax.legend(handles=handles, fontsize=7, loc='lower right')
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    if path:
        os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
        fig.savefig(path, dpi=120)
    fig.canvas.draw()
    image = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return image


class FeatureCollector:
    """Record ALLNet's ``P`` and ``P''_t`` per image with forward hooks.

    ``P`` is the MaE neck's restoration output at ``scale``, ``P''_t`` the
    refined task maps of the TCR head's cross-task interaction at the same
    scale; both are averaged over space (one vector per image, and per
    task for ``P''_t``). Use as a context manager around the model's test
    steps; the hooks are removed on exit.

    Args:
        model (nn.Module): A segmentor with a ``neck`` giving the
            ``'dual'`` output (:class:`~mmallnet.models.necks.MaENeck`)
            and a ``decode_head`` with CTI at ``scale``
            (:class:`~mmallnet.models.decode_heads.TCRHead`).
        scale (int, optional): Scale index (0 = 1/4). Defaults to the
            coarsest scale with CTI.
    """

    def __init__(self, model: nn.Module, scale: Optional[int] = None) -> None:
        head = getattr(model, 'decode_head', None)
        cti_scales = tuple(getattr(head, 'cti_scales', ()))
        if not cti_scales:
            raise ValueError(
                f'FeatureCollector: the model ({type(model).__name__}, '
                f'decode head {type(head).__name__}) has no cross-task '
                'interaction, so there are no refined task features P\'\'_t; '
                'it needs a TCRHead with use_cti=True (an ALLNet config).')
        if scale is None:
            scale = max(cti_scales)
        if scale not in cti_scales:
            raise ValueError(
                f'FeatureCollector: no CTI at scale {scale}; the decode '
                f'head runs it at scales {list(cti_scales)} '
                '(model.decode_head.interaction_scales).')
        if getattr(model, 'neck', None) is None:
            raise ValueError('FeatureCollector: the model has no neck, so '
                             'there are no restoration features P.')
        self.model = model
        self.scale = scale
        self.restoration: List[np.ndarray] = []
        self.tasks: Dict[str, List[np.ndarray]] = {}
        self._handles: list = []

    @staticmethod
    def _pool(x: torch.Tensor) -> np.ndarray:
        return x.detach().float().mean(dim=(2, 3)).cpu().numpy()

    def _neck_hook(self, module, inputs, output) -> None:
        if not isinstance(output, dict) or 'restoration' not in output:
            raise TypeError(
                'FeatureCollector: the neck must return the "dual" output '
                '(a dict with "restoration"); set '
                "model.neck.output_mode='dual'.")
        self.restoration.append(self._pool(output['restoration'][self.scale]))

    def _cti_hook(self, module, inputs, output) -> None:
        for task, maps in output[1].items():
            self.tasks.setdefault(task, []).append(self._pool(maps))

    def __enter__(self) -> 'FeatureCollector':
        self._handles = [
            self.model.neck.register_forward_hook(self._neck_hook),
            self.model.decode_head.ctis[str(self.scale)].register_forward_hook(
                self._cti_hook)
        ]
        return self

    def __exit__(self, *args) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def arrays(self) -> Tuple[np.ndarray, Dict[str, np.ndarray]]:
        """``P`` ``(N, C)`` and task -> ``P''_t`` ``(N, N_tokens)``."""
        if not self.restoration:
            raise RuntimeError('FeatureCollector: no forward pass recorded.')
        return (np.concatenate(self.restoration),
                {t: np.concatenate(v) for t, v in self.tasks.items()})
