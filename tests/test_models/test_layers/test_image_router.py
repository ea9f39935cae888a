"""Image router: gates, temperature, fixed high-pass, aux loss."""
import pytest
import torch

from mmallnet.models.layers import ImageRouter
from mmallnet.models.layers.image_router import cv_squared


def test_high_pass_is_a_fixed_buffer():
    router = ImageRouter(8, 4)
    names = dict(router.named_parameters())
    assert 'high_pass' not in names
    assert router.high_pass.requires_grad is False
    assert router.high_pass.shape == (8, 1, 3, 3)
    assert router.high_pass[0, 0, 1, 1] == 8
    assert router.high_pass.sum() == 0
    assert 'high_pass' not in router.state_dict()
    assert router.prior_scale.item() == 1


def test_gates_are_kept_probabilities():
    torch.manual_seed(0)
    router = ImageRouter(8, 4, top_k=2).eval()
    x = torch.randn(3, 8, 6, 6)
    r = router(x)
    assert r.indices.shape == r.gates.shape == (3, 2)
    torch.testing.assert_close(r.gates, r.probs.gather(1, r.indices))
    assert (r.gates.sum(1) < 1).all()  # not renormalised
    base, temp = router.logits(x)
    assert ((temp > 0.5) & (temp < 1.5)).all()
    torch.testing.assert_close(r.probs, (base / temp).softmax(-1))


def test_noise_only_in_training():
    torch.manual_seed(0)
    router = ImageRouter(8, 4)
    x = torch.randn(2, 8, 6, 6)
    router.eval()
    assert torch.equal(router(x).probs, router(x).probs)
    router.train()
    assert not torch.equal(router(x).probs, router(x).probs)
    router.use_noise = False
    assert torch.equal(router(x).probs, router(x).probs)


def test_aux_loss_pieces():
    router = ImageRouter(8, 4, complexity=[1., .5, .25, .125])
    uniform = torch.zeros(5, 4)
    std = torch.full((5, 1), .25)
    # Uniform routing: load is balanced, importance follows complexity.
    expected = 0.5 * cv_squared(torch.tensor([1., .5, .25, .125]))
    torch.testing.assert_close(
        router.aux_loss(uniform, uniform, std), expected)
    router.use_complexity_bias = False
    assert router.aux_loss(uniform, uniform, std).abs() < 1e-6
    # Everything on expert 0: both terms are large.
    skewed = torch.tensor([[5., 0., 0., 0.]]).repeat(5, 1)
    assert router.aux_loss(skewed, skewed, std) > 1
    router.imp_weight = router.load_weight = 0
    assert router.aux_loss(skewed, skewed, std) == 0


def test_bad_top_k():
    with pytest.raises(ValueError):
        ImageRouter(8, 4, top_k=5)


def test_bad_switches_name_the_argument():
    for name in ('gate_mode', 'noise_type', 'logit_source'):
        with pytest.raises(ValueError, match=name):
            ImageRouter(8, 4, **{name: 'nope'})


def test_renormalised_gates():
    torch.manual_seed(0)
    router = ImageRouter(8, 4, top_k=2, gate_mode='renorm').eval()
    r = router(torch.randn(3, 8, 6, 6))
    kept = r.probs.gather(1, r.indices)
    torch.testing.assert_close(r.gates, kept / kept.sum(1, keepdim=True))
    torch.testing.assert_close(r.gates.sum(1), torch.ones(3))
    # top-1: the gate is 1, so the task loss reaches no router weight
    router = ImageRouter(8, 4, gate_mode='renorm').eval()
    r = router(torch.randn(3, 8, 6, 6))
    torch.testing.assert_close(r.gates, torch.ones(3, 1))
    r.gates.sum().backward()
    for name, p in router.named_parameters():
        assert p.grad is None or p.grad.abs().max() < 1e-6, name


def test_straight_through_gates():
    torch.manual_seed(0)
    x = torch.randn(3, 8, 6, 6)
    weights = torch.tensor([[1.], [2.], [3.]])
    grads = {}
    for mode in ('prob', 'straight_through'):
        torch.manual_seed(1)
        router = ImageRouter(8, 4, gate_mode=mode).eval()
        r = router(x)
        (r.gates * weights).sum().backward()
        grads[mode] = router.gate.weight.grad.clone()
        if mode == 'straight_through':
            torch.testing.assert_close(r.gates, torch.ones(3, 1))
    # forward as 'renorm', backward as 'prob'
    torch.testing.assert_close(grads['straight_through'], grads['prob'])
    assert grads['prob'].abs().sum() > 0


def test_gumbel_choice_samples_the_softmax():
    torch.manual_seed(0)
    router = ImageRouter(8, 4, noise_type='gumbel').train()
    x = torch.randn(1, 8, 6, 6).expand(20000, -1, -1, -1)
    with torch.no_grad():
        base, temp = router.logits(x[:1])
        r = router(x)
    expected = (base / temp).softmax(-1)[0]
    shares = torch.bincount(r.indices[:, 0], minlength=4) / 20000.
    torch.testing.assert_close(shares, expected, atol=0.015, rtol=0)
    router.eval()
    with torch.no_grad():
        assert torch.equal(router(x[:2]).probs, router(x[:2]).probs)


def test_gumbel_load_estimate():
    router = ImageRouter(8, 4, noise_type='gumbel', imp_weight=0.,
                         load_weight=1.)
    clean = torch.zeros(1, 4)
    noisy = torch.tensor([[3., 2., 1., 0.]])
    # expert 0 is chosen and has to beat 2 (the runner-up); the others
    # have to beat 3: P(0 + G > t) = 1 - exp(-exp(-t))
    load = torch.tensor([2., 3., 3., 3.]).neg().exp().neg().exp().neg() + 1
    torch.testing.assert_close(
        router.aux_loss(clean, noisy, torch.ones(1, 1)), cv_squared(load))


def test_logits_from_the_prior_alone():
    torch.manual_seed(0)
    router = ImageRouter(8, 4, logit_source='prior')
    assert router.gate is None
    assert not any(n.startswith('gate.') for n, _ in
                   router.named_parameters())
    x = torch.randn(2, 8, 6, 6)
    base, _ = router.logits(x)
    hp = torch.nn.functional.conv2d(x, router.high_pass, padding=1,
                                    groups=8)
    torch.testing.assert_close(
        base, router.prior_scale * router.prior(hp.abs().mean((2, 3))))


def test_temperature_range():
    torch.manual_seed(0)
    x = torch.randn(4, 8, 6, 6)
    wide = ImageRouter(8, 4, temperature_range=(0.25, 4.))
    _, temp = wide.logits(x)
    s = torch.sigmoid(wide.temperature(x.mean((2, 3))))
    torch.testing.assert_close(temp, 0.25 + 3.75 * s)
    # equal ends: T is that value and there is no temperature layer
    fixed = ImageRouter(8, 4, temperature_range=(1., 1.)).eval()
    assert fixed.temperature is None
    base, temp = fixed.logits(x)
    assert torch.equal(temp, torch.ones(4, 1))
    torch.testing.assert_close(fixed(x).probs, base.softmax(-1))
    for bad in ((0., 1.), (2., 1.)):
        with pytest.raises(ValueError, match='temperature_range'):
            ImageRouter(8, 4, temperature_range=bad)
