"""Maximum-cardinality matching of a candidate graph, kept across thresholds.

The 101-threshold loop of :func:`~.counts.seism_image_counts` only needs
the NUMBER of matched pairs per threshold. :class:`MaxCardinalityMatcher`
keeps a maximum matching up to date while the predicted pixels change
from one threshold to the next, with scipy's maximum flow; its size
equals that of the min-cost assignment of ``correspondPixels`` whenever
that assignment has maximum cardinality (see
:func:`~.counts.seism_image_counts`).
"""
import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import maximum_flow

from .correspondence import CandidateGraph


class MaxCardinalityMatcher:
    """Maximum-cardinality matching of one image's candidate graph, kept up
    to date while the set of predicted pixels changes from threshold to
    threshold.

    The matching itself is found by scipy's maximum flow (Dinic) on the
    residual network of the current matching (unit capacities; source ->
    free ground-truth pixels, ground truth -> predicted pixel along
    unmatched edges, predicted -> its ground-truth partner along matched
    edges, free predicted pixels -> sink); this class only carries the
    matching over between thresholds (warm start) and calls the flow when
    it can have changed:

    - predicted pixels appear (thinning is not monotone in the threshold)
      or it is the first call: flow from every free ground-truth pixel;
    - predicted pixels only disappear: the previous matching ``M`` was
      maximum, so once the pairs of the removed pixels are dropped every
      augmenting path must end at a ground-truth pixel that lost its
      partner (a path avoiding them would have augmented ``M``): flow from
      those pixels only; if none lost its partner, ``M`` stays maximum.

    Args:
        graph (CandidateGraph): The image's candidate graph.
    """

    def __init__(self, graph: CandidateGraph) -> None:
        self.graph = graph
        self.present = np.zeros(graph.cand.size, dtype=bool)
        self.match_p = np.full(graph.cand.size, -1, dtype=np.int64)
        self.match_g = np.full(graph.n_gt, -1, dtype=np.int64)
        self.started = False

    def update(self, present: np.ndarray) -> int:
        """Set the present predicted nodes; return the matching size."""
        present = present & self.graph.has_edge
        removed = self.present & ~present
        added = present & ~self.present
        self.present = present
        gone = removed & (self.match_p >= 0)
        freed = self.match_p[gone]
        self.match_g[freed] = -1
        self.match_p[gone] = -1
        if not self.started:
            self.started = True
            self._seed()
            self._augment(np.flatnonzero(self.match_g < 0))
        elif added.any():
            self._augment(np.flatnonzero(self.match_g < 0))
        elif freed.size:
            self._augment(freed)
        return int(np.count_nonzero(self.match_p >= 0))

    def _seed(self) -> None:
        """Start from the co-located pairs (distance 0): disjoint."""
        g = self.graph
        zero = (g.edge_cost == 0) & self.present[g.edge_pred]
        self.match_p[g.edge_pred[zero]] = g.edge_gt[zero]
        self.match_g[g.edge_gt[zero]] = g.edge_pred[zero]

    def _augment(self, gt_sources: np.ndarray) -> None:
        """Maximum flow between the free predicted pixels and the free
        ground-truth pixels ``gt_sources``, from the smaller side."""
        g = self.graph
        n_g, n_c = g.n_gt, g.cand.size
        keep = self.present[g.edge_pred]
        ep, eg = g.edge_pred[keep], g.edge_gt[keep]
        live_g = np.zeros(n_g, dtype=bool)
        live_g[eg] = True
        gt_sources = gt_sources[live_g[gt_sources]]
        free_p = np.flatnonzero(self.present & (self.match_p < 0))
        if not gt_sources.size or not free_p.size:
            return
        matched = self.match_p[ep] == eg
        # nodes: ground truth [0, n_g), predicted [n_g, n_g + n_c), s, t
        s, t = n_g + n_c, n_g + n_c + 1
        tails = np.concatenate([eg[~matched], n_g + ep[matched]])
        heads = np.concatenate([n_g + ep[~matched], eg[matched]])
        # Dinic explores from the source: start on the side with fewer free
        # nodes (arcs reversed when starting from the predicted side)
        forward = gt_sources.size <= free_p.size
        if not forward:
            tails, heads = heads, tails
        starts, ends = (gt_sources, n_g + free_p) if forward else \
            (n_g + free_p, gt_sources)
        tails = np.concatenate([np.full(starts.size, s), tails, ends])
        heads = np.concatenate([starts, heads, np.full(ends.size, t)])
        cap = sparse.csr_matrix(
            (np.ones(tails.size, dtype=np.int32), (tails, heads)),
            shape=(t + 1, t + 1))
        result = maximum_flow(cap, s, t, method='dinic')
        if result.flow_value == 0:
            return
        flow = result.flow
        pos = np.flatnonzero(flow.data > 0)
        u = np.searchsorted(flow.indptr, pos, side='right') - 1
        v = flow.indices[pos].astype(np.int64)
        if not forward:
            u, v = v, u
        pair = (u < n_g) & (v >= n_g) & (v < s)  # gt -> pred: pair up
        split = (u >= n_g) & (u < s) & (v < n_g)  # pred -> its gt: undo
        old_p = u[split] - n_g
        self.match_g[self.match_p[old_p]] = -1
        self.match_p[old_p] = -1
        new_p, new_g = v[pair] - n_g, u[pair]
        self.match_p[new_p] = new_g
        self.match_g[new_g] = new_p
