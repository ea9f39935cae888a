"""RoutingMetric: shares of images per expert and degradation type."""
import numpy as np
import pytest

from mmallnet.evaluation.metrics import RoutingMetric
from mmallnet.evaluation.metrics.routing_metric import (
    mean_routing_probs,
    routing_mutual_information,
    routing_table,
)


def samples():
    # Two scales, top-1: rain -> E1 at both scales, fog -> E4 then E2/E4.
    return [
        dict(routing=[[0], [0]], degradation_type='rain'),
        dict(routing=[[0], [0]], degradation_type='rain'),
        dict(routing=[[3], [1]], degradation_type='fog'),
        dict(routing=[[3], [3]], degradation_type='fog'),
    ]


def test_routing_table_shares():
    shares = routing_table(samples(), num_experts=4)
    np.testing.assert_array_equal(shares['rain'], [[1, 0, 0, 0],
                                                   [1, 0, 0, 0]])
    np.testing.assert_array_equal(shares['fog'], [[0, 0, 0, 1],
                                                  [0, .5, 0, .5]])
    np.testing.assert_array_equal(shares['all'], [[.5, 0, 0, .5],
                                                  [.5, .25, 0, .25]])


def test_top2_counts_both_experts():
    shares = routing_table(
        [dict(routing=[[0, 2]], degradation_type='noise')], num_experts=3)
    np.testing.assert_array_equal(shares['noise'], [[.5, 0, .5]])


def test_metric_keys_table_and_plot(tmp_path):
    path = tmp_path / 'routing.png'
    metric = RoutingMetric(num_experts=4, plot_path=str(path))
    metric.process(None, samples())
    results = metric.compute_metrics(metric.results)
    assert results['fog/s1.E2'] == 0.5
    assert results['rain/s0.E1'] == 1.0
    assert results['all/s1.E4'] == 0.25
    # two equally likely types: H(type) = 1 bit; at 1/4 the expert names
    # the type (I = 1); at 1/8 rain -> E1, fog -> E2 or E4: H(E) = 1.5,
    # H(E | type) = 0.5, so I = 1 as well
    assert results['s0.MI'] == pytest.approx(1.)
    assert results['s1.MI'] == pytest.approx(1.)
    assert results['type_entropy'] == pytest.approx(1.)
    assert len(results) == 3 * 2 * 4 + 2 + 1
    assert path.stat().st_size > 1000


def test_mutual_information_exact_values():
    # the choice ignores the type: 0 bit at every scale
    blind = [dict(routing=[[e], [e]], degradation_type=t)
             for t in ('rain', 'fog') for e in (0, 1)]
    mutual_info, type_entropy = routing_mutual_information(blind, 2)
    np.testing.assert_allclose(mutual_info, [0., 0.], atol=1e-12)
    assert type_entropy == pytest.approx(1.)
    # four types, one expert each at 1/4; all to one expert at 1/8
    types = ['noise', 'rain', 'fog', 'blur']
    perfect = [dict(routing=[[i], [2]], degradation_type=t)
               for i, t in enumerate(types) for _ in range(3)]
    mutual_info, type_entropy = routing_mutual_information(perfect, 4)
    np.testing.assert_allclose(mutual_info, [2., 0.], atol=1e-12)
    assert type_entropy == pytest.approx(2.)
    # unequal types (3 noise, 1 rain), noise -> E1, rain -> E2: I = H(T)
    uneven = [dict(routing=[[0]], degradation_type='noise')] * 3 + [
        dict(routing=[[1]], degradation_type='rain')]
    mutual_info, type_entropy = routing_mutual_information(uneven, 2)
    h = -(.75 * np.log2(.75) + .25 * np.log2(.25))
    assert mutual_info[0] == pytest.approx(h)
    assert type_entropy == pytest.approx(h)
    # top-2: rain -> {E1, E2}, fog -> {E3, E4}; each decision is a draw,
    # I = H(E) - H(E | T) = 2 - 1 = 1 bit
    top2 = [dict(routing=[[0, 1]], degradation_type='rain'),
            dict(routing=[[2, 3]], degradation_type='fog')]
    assert routing_mutual_information(top2, 4)[0][0] == pytest.approx(1.)


def test_mean_routing_probabilities():
    probs = [[[.7, .1, .1, .1], [.4, .4, .1, .1]],
             [[.5, .3, .1, .1], [.2, .6, .1, .1]],
             [[.1, .1, .1, .7], [.25, .25, .25, .25]],
             [[.1, .1, .3, .5], [.25, .25, .25, .25]]]
    results = [dict(sample, routing_probs=p)
               for sample, p in zip(samples(), probs)]
    means = mean_routing_probs(results)
    np.testing.assert_allclose(means['rain'], [[.6, .2, .1, .1],
                                               [.3, .5, .1, .1]])
    np.testing.assert_allclose(means['fog'], [[.1, .1, .2, .6],
                                              [.25, .25, .25, .25]])
    np.testing.assert_allclose(means['all'][0], [.35, .15, .15, .35])
    metric = RoutingMetric(num_experts=4, add_to_visualizer=False)
    metric.process(None, results)
    out = metric.compute_metrics(metric.results)
    assert out['rain/s1.p2'] == pytest.approx(.5)
    assert out['fog/s0.p4'] == pytest.approx(.6)
    assert out['rain/s0.E1'] == 1.0
    assert len(out) == 2 * (3 * 2 * 4) + 2 + 1
    # all or none of the predictions must carry the probabilities
    metric = RoutingMetric(num_experts=4, add_to_visualizer=False)
    metric.process(None, results[:1] + samples()[1:])
    with pytest.raises(KeyError, match='routing_probs'):
        metric.compute_metrics(metric.results)


def test_missing_fields_and_bad_ids_raise():
    metric = RoutingMetric()
    with pytest.raises(KeyError, match='routing'):
        metric.process(None, [dict(degradation_type='fog')])
    with pytest.raises(ValueError, match='outside'):
        routing_table([dict(routing=[[5]], degradation_type='fog')], 4)


def test_plot_goes_to_the_current_visualizer(tmp_path):
    from mmengine.visualization import Visualizer
    visualizer = Visualizer.get_instance(
        'routing_metric_test', save_dir=str(tmp_path),
        vis_backends=[dict(type='LocalVisBackend')])
    metric = RoutingMetric(num_experts=4)
    metric.process(None, samples())
    metric.compute_metrics(metric.results)
    vis_image = tmp_path / 'vis_data' / 'vis_image'
    images = list(vis_image.glob('mae_routing_*.png'))
    assert len(images) == 1
    assert visualizer.instance_name == 'routing_metric_test'
    plain = RoutingMetric(num_experts=4, add_to_visualizer=False)
    plain.process(None, samples())
    plain.compute_metrics(plain.results)
    assert len(list(vis_image.glob('*.png'))) == 1
